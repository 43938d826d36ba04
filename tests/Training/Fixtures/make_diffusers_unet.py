#!/usr/bin/python3
"""Writes a diffusers-format DDPM pipeline folder for the import tests: python3 make_diffusers_unet.py OUT CASE

OUT/unet/config.json                       UNet2DModel's config, in diffusers' own keys and values
OUT/unet/diffusion_pytorch_model.safetensors  random weights (every tensor redrawn), diffusers' state_dict names
OUT/unet/diffusion_pytorch_model.bin       the same state dict written by torch.save (diffusers' older weight format)
OUT/scheduler/scheduler_config.json        the DDPMScheduler config
OUT/inputs.safetensors, OUT/outputs.safetensors  x, t and the reference model's output y

CASE "ddpm" has google/ddpm-cifar10-32's settings (flip_sin_to_cos false, freq_shift 1, downsample_padding 0,
attention_head_dim null), shrunk to 16x16 and block_out_channels [32, 64]; CASE "defaults" has UNet2DModel's defaults
(flip_sin_to_cos true, freq_shift 0, downsample_padding 1, norm_eps 1e-5) with attention_head_dim 32 (2 heads at 64 channels).
The reference is the transcription of diffusers' UNet2DModel in tests/Property/Fixtures/parity/ddpm_unet.py (imported, not
copied); the diffusers config is translated to its settings here, following diffusers' own UNet2DModel.__init__.
"""
import json
import math
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the fixtures

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "parity"))
import ddpm_unet  # noqa: E402
import safetensors_io  # noqa: E402

DDPM = {
    "_class_name": "UNet2DModel",
    "_diffusers_version": "0.0.4",
    "act_fn": "silu",
    "attention_head_dim": None,
    "block_out_channels": [32, 64],
    "center_input_sample": False,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
    "downsample_padding": 0,
    "flip_sin_to_cos": False,
    "freq_shift": 1,
    "in_channels": 3,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-06,
    "norm_num_groups": 8,
    "out_channels": 3,
    "sample_size": 16,
    "time_embedding_type": "positional",
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
}
DDPM_SCHEDULER = {
    "_class_name": "DDPMScheduler",
    "_diffusers_version": "0.1.1",
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "beta_start": 0.0001,
    "clip_sample": True,
    "num_train_timesteps": 1000,
    "trained_betas": None,
    "variance_type": "fixed_large",
}
DEFAULTS = {
    "_class_name": "UNet2DModel",
    "_diffusers_version": "0.27.2",
    "act_fn": "silu",
    "add_attention": True,
    "attention_head_dim": 32,
    "attn_norm_num_groups": None,
    "block_out_channels": [32, 64],
    "center_input_sample": False,
    "class_embed_type": None,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
    "downsample_padding": 1,
    "downsample_type": "conv",
    "dropout": 0.0,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 3,
    "layers_per_block": 1,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 8,
    "num_class_embeds": None,
    "num_train_timesteps": None,
    "out_channels": 3,
    "resnet_time_scale_shift": "default",
    "sample_size": [16, 16],
    "time_embedding_type": "positional",
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
    "upsample_type": "conv",
}
DEFAULTS_SCHEDULER = {
    "_class_name": "DDPMScheduler",
    "_diffusers_version": "0.27.2",
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "beta_start": 0.0001,
    "clip_sample": True,
    "clip_sample_range": 1.0,
    "dynamic_thresholding_ratio": 0.995,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "rescale_betas_zero_snr": False,
    "sample_max_value": 1.0,
    "steps_offset": 0,
    "thresholding": False,
    "timestep_spacing": "leading",
    "trained_betas": None,
    "variance_type": "fixed_small",
}


def transcription_config(d):
    """diffusers' UNet2DModel settings -> the transcription's (ddpm_unet.py) settings, as UNet2DModel.__init__ builds them."""
    size = d["sample_size"] if isinstance(d["sample_size"], list) else [d["sample_size"]] * 2
    ch = d["block_out_channels"]
    attn = [i for i, t in enumerate(d["down_block_types"]) if t == "AttnDownBlock2D"]
    head_dim = d.get("attention_head_dim")
    heads = {c // head_dim for c in [ch[i] for i in attn] + [ch[-1]]} if head_dim else {1}  # AttnDownBlock2D/mid: channels // head_dim
    assert len(heads) == 1, heads
    return {
        "kind": "unet", "size": size, "in_channels": d["in_channels"], "out_channels": d["out_channels"],
        "channels": ch[0], "channel_mult": [c // ch[0] for c in ch], "num_res_blocks": d["layers_per_block"],
        "attention_resolutions": [max(size) >> i for i in attn], "mid_attention": d.get("add_attention", True),
        "attention_heads": heads.pop(), "norm_groups": d["norm_num_groups"], "norm_eps": d["norm_eps"],
        "flip_sin_to_cos": d["flip_sin_to_cos"], "freq_shift": d["freq_shift"],
        "downsample_padding": {0: "same", 1: "symmetric"}[d["downsample_padding"]],
    }


def main(out, case):
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    unet_cfg, sched_cfg, seed = {"ddpm": (DDPM, DDPM_SCHEDULER, 1), "defaults": (DEFAULTS, DEFAULTS_SCHEDULER, 2)}[case]
    torch.manual_seed(seed)
    model = ddpm_unet.UNet(transcription_config(unet_cfg))
    with torch.no_grad():  # redraw every tensor (the zero/one inits would hide mis-mapped norms, biases and outputs)
        for name, p in model.state_dict().items():
            if p.dim() > 1:
                p.copy_(torch.randn_like(p) / math.sqrt(p[0].numel()))
            elif name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    model.eval()
    x = torch.randn(2, unet_cfg["in_channels"], 16, 16)
    t = torch.tensor([17.0, 803.0])
    with torch.no_grad():
        y = model(x, t)
    os.makedirs(os.path.join(out, "unet"), exist_ok=True)
    os.makedirs(os.path.join(out, "scheduler"), exist_ok=True)
    with open(os.path.join(out, "unet", "config.json"), "w", encoding="utf-8") as f:
        json.dump(unet_cfg, f, indent=2)
    with open(os.path.join(out, "scheduler", "scheduler_config.json"), "w", encoding="utf-8") as f:
        json.dump(sched_cfg, f, indent=2)
    safetensors_io.save(os.path.join(out, "unet", "diffusion_pytorch_model.safetensors"), model.state_dict())
    # The same weights as diffusers' older .bin (a torch.save zip of the state dict), for `import pytorch`.
    torch.save(model.state_dict(), os.path.join(out, "unet", "diffusion_pytorch_model.bin"))
    safetensors_io.save(os.path.join(out, "inputs.safetensors"), {"x": x, "t": t})
    safetensors_io.save(os.path.join(out, "outputs.safetensors"), {"y": y.contiguous()})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
