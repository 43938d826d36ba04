#!/usr/bin/python3
"""EDM preconditioning and loss parity: python3 edm_precond.py CASE_DIR

Transcribed from NVlabs/edm @008a4e5316c8e3bfe61a62f874bddba254295afb, training/networks.py (EDMPrecond.forward)
and training/loss.py (EDMLoss.__call__), with three changes, each marked below: the wrapped model is the seed notes'
MLP (../Property/Fixtures/parity/mlp_seed.py) instead of a U-Net, so σ is reshaped to (N, 1) for (N, D) data rather
than (N, 1, 1, 1) for images; the loss's two draws (rnd_normal and the unit noise) are inputs, so both sides see the
same ones; no labels, fp16 or augmentation.

CASE_DIR holds what the C# test wrote: config.json (the MLP's ModelConfig), weights.safetensors (its state dict),
inputs.safetensors (x, sigma, sigma_data (1), y, rnd_normal, noise). Writes theirs.safetensors: d (EDMPrecond's
output for x at sigma) and loss (EDMLoss's per-element loss for y)."""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the fixtures

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity"))
import mlp_seed  # noqa: E402
import safetensors_io  # noqa: E402


class EDMPrecond(torch.nn.Module):
    def __init__(self, model, sigma_data=0.5):
        super().__init__()
        self.sigma_data = sigma_data
        self.model = model

    def forward(self, x, sigma):
        x = x.to(torch.float32)
        sigma = sigma.to(torch.float32).reshape(-1, 1)  # changed: (N, 1) for (N, D) data; the reference has (-1, 1, 1, 1)

        c_skip = self.sigma_data ** 2 / (sigma ** 2 + self.sigma_data ** 2)
        c_out = sigma * self.sigma_data / (sigma ** 2 + self.sigma_data ** 2).sqrt()
        c_in = 1 / (self.sigma_data ** 2 + sigma ** 2).sqrt()
        c_noise = sigma.log() / 4

        F_x = self.model((c_in * x), c_noise.flatten())
        D_x = c_skip * x + c_out * F_x.to(torch.float32)
        return D_x


class EDMLoss:
    def __init__(self, P_mean=-1.2, P_std=1.2, sigma_data=0.5):
        self.P_mean = P_mean
        self.P_std = P_std
        self.sigma_data = sigma_data

    def __call__(self, net, images, rnd_normal, noise):
        # changed: rnd_normal = torch.randn([images.shape[0], 1, 1, 1]) and randn_like(y) are given, shaped for (N, D)
        rnd_normal = rnd_normal.reshape(-1, 1)
        sigma = (rnd_normal * self.P_std + self.P_mean).exp()
        weight = (sigma ** 2 + self.sigma_data ** 2) / (sigma * self.sigma_data) ** 2
        y = images
        n = noise * sigma
        D_yn = net(y + n, sigma)
        loss = weight * ((D_yn - y) ** 2)
        return loss


def main(d):
    torch.set_num_threads(1)
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    inputs = safetensors_io.load(os.path.join(d, "inputs.safetensors"))
    model = mlp_seed.SimpleScoreNetwork(cfg["data_dim"], cfg["hidden"], cfg["time_dim"], cfg["depth"], cfg.get("activation", "si_lu"))
    model.load_state_dict(safetensors_io.load(os.path.join(d, "weights.safetensors")), strict=True)
    model.eval()
    sigma_data = float(inputs["sigma_data"][0])
    net = EDMPrecond(model, sigma_data)
    with torch.no_grad():
        d_x = net(inputs["x"], inputs["sigma"])
        loss = EDMLoss(sigma_data=sigma_data)(net, inputs["y"], inputs["rnd_normal"], inputs["noise"])
    safetensors_io.save(os.path.join(d, "theirs.safetensors"), {"d": d_x.contiguous(), "loss": loss.contiguous()})


if __name__ == "__main__":
    main(sys.argv[1])
