#!/usr/bin/python3
"""Parity driver: python3 run_parity.py CASE_DIR...

Each CASE_DIR holds what the C# test wrote: config.json (ModelConfig.ToJson(), "kind" picks the transcription),
weights.safetensors (our state dict), inputs.safetensors (x, t[, labels][, metadata]). The reference model is built
from the config, loads the weights with strict=True (every name and shape must match), runs in eval mode under
no_grad, and writes theirs.safetensors: y (the output) plus any extra reference tensors the transcription returns."""
import json
import os
import sys
import traceback

sys.dont_write_bytecode = True  # no __pycache__ beside the fixtures

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

FAMILIES = {"unet": "ddpm_unet", "dit": "dit", "uvit": "uvit", "mlp": "mlp_seed"}


def main(dirs):
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for d in dirs:
        try:
            run_case(d)
        except Exception:  # one broken case must not hide the others; its test reports this text
            with open(os.path.join(d, "error.txt"), "w", encoding="utf-8") as f:
                f.write(traceback.format_exc())


def run_case(d):
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    module = __import__(FAMILIES[cfg["kind"]])
    inputs = safetensors_io.load(os.path.join(d, "inputs.safetensors"))
    built = module.run(cfg, inputs)
    model, forward, extra = built if len(built) == 3 else (*built, {})
    model.load_state_dict(safetensors_io.load(os.path.join(d, "weights.safetensors")), strict=True)
    model.eval()
    with torch.no_grad():
        y = forward()
    safetensors_io.save(os.path.join(d, "theirs.safetensors"), {"y": y.contiguous(), **extra})


if __name__ == "__main__":
    main(sys.argv[1:])
