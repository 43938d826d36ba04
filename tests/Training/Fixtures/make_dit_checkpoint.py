#!/usr/bin/python3
"""Writes a DiT training checkpoint as facebookresearch/DiT's train.py saves one, for the import tests:
python3 make_dit_checkpoint.py OUT

OUT/config.json           our model config (a small class-conditional, learned-σ DiT), read by the C# side
OUT/checkpoint.pt         torch.save({"model": sd, "ema": sd_ema, "opt": AdamW state, "args": {...}}) — train.py's layout,
                          with args as a plain dict (train.py's argparse.Namespace is a global the restricted reader refuses)
OUT/inputs.safetensors, OUT/outputs.safetensors   x, t, labels (incl. the null class) and the EMA model's output y

The reference is the transcription of facebookresearch/DiT @ ed81ce2 models.py in tests/Property/Fixtures/parity/dit.py
(imported, not copied). Every weight is redrawn (DiT's init zeroes adaLN and the final layer, which would hide the blocks).
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the fixtures

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "parity"))
import dit  # noqa: E402
import safetensors_io  # noqa: E402

CONFIG = {"kind": "dit", "input_size": 8, "patch_size": 2, "in_channels": 4, "hidden_size": 32, "depth": 2, "num_heads": 4,
          "mlp_ratio": 4.0, "class_dropout_prob": 0.1, "num_classes": 10, "learn_sigma": True, "frequency_embedding_size": 256,
          "target": "noise"}


def redrawn(model, generator):
    return {name: (torch.randn(t.shape, generator=generator) / max(1, t.shape[-1]) ** 0.5 if t.dim() > 1 else 0.1 * torch.randn(t.shape, generator=generator))
            if name != "pos_embed" else t.clone() for name, t in model.state_dict().items()}


def main(out):
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    model, ema = dit.DiT(CONFIG), dit.DiT(CONFIG)
    model.load_state_dict(redrawn(model, g))
    ema.load_state_dict(redrawn(ema, g))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model(torch.randn(2, 4, 8, 8, generator=g), torch.tensor([1.0, 2.0]), torch.tensor([0, 1])).square().mean().backward()
    opt.step()
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "args": {"model": "DiT-tiny", "epochs": 1}},
               os.path.join(out, "checkpoint.pt"))
    x = torch.randn(4, 4, 8, 8, generator=g)
    t = torch.tensor([0.0, 17.0, 500.0, 999.0])
    labels = torch.tensor([0, 3, 9, 10])  # 10 = the null class
    ema.eval()
    with torch.no_grad():
        y = ema(x, t, labels)  # (4, 8, 8, 8): ε and the variance interpolation
    safetensors_io.save(os.path.join(out, "inputs.safetensors"), {"x": x, "t": t, "labels": labels})
    safetensors_io.save(os.path.join(out, "outputs.safetensors"), {"y": y.contiguous()})
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(CONFIG, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1])
