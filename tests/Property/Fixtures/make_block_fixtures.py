#!/usr/bin/python3
"""Reference outputs for the block oracle tests, computed with PyTorch (Debian's torch 1.13: run with /usr/bin/python3).

Each fixture holds named weights (diffusers / DiT state_dict names), inputs and the expected output, as JSON.
The blocks are written out with torch.nn modules in the form of diffusers' ResnetBlock2D and DiT's DiTBlock.
Regenerate with:  /usr/bin/python3 tests/Property/Fixtures/make_block_fixtures.py
"""
import json, math, os
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
here = os.path.dirname(os.path.abspath(__file__))


class ResnetBlock(nn.Module):
    """diffusers ResnetBlock2D/3D (pre-activation), time_embedding_norm 'default' or 'scale_shift'."""

    def __init__(self, cin, cout, temb, groups, eps, scale_shift, rank, factor):
        super().__init__()
        conv = nn.Conv2d if rank == 2 else nn.Conv3d
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = conv(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, 2 * cout if scale_shift else cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = conv(cout, cout, 3, padding=1)
        self.conv_shortcut = conv(cin, cout, 1) if cin != cout else None
        self.scale_shift, self.rank, self.factor = scale_shift, rank, factor

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        e = self.time_emb_proj(F.silu(temb))[(...,) + (None,) * self.rank]
        if self.scale_shift:
            scale, shift = e.chunk(2, dim=1)
            h = self.norm2(h) * (1 + scale) + shift
        else:
            h = self.norm2(h + e)
        h = self.conv2(F.silu(h))
        skip = x if self.conv_shortcut is None else self.conv_shortcut(x)
        return (skip + h) / self.factor


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.qkv, self.proj, self.heads = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim), heads

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        a = (q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5
        x = (a.softmax(-1) @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class DiTBlock(nn.Module):
    """DiT models.py DiTBlock (adaLN-Zero), with the adaLN linear given random weights so it is exercised."""

    def __init__(self, dim, heads, ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x, c):
        sm, cm, gm, sp, cp, gp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gm.unsqueeze(1) * self.attn(modulate(self.norm1(x), sm, cm))
        return x + gp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), sp, cp))


def dump(name, module, inputs, output, config):
    def flat(t):
        return {"shape": list(t.shape), "data": t.detach().double().flatten().tolist()}
    body = {
        "config": config,
        "params": {k: flat(v) for k, v in module.state_dict().items()},
        "inputs": {k: flat(v) for k, v in inputs.items()},
        "output": flat(output),
    }
    with open(os.path.join(here, name + ".json"), "w") as f:
        json.dump(body, f)


cases = [
    ("resblock2d_additive", dict(cin=16, cout=32, temb=24, groups=8, eps=1e-6, scale_shift=False, rank=2, factor=1.0), [2, 16, 6, 5]),
    ("resblock3d_scaleshift", dict(cin=8, cout=8, temb=12, groups=4, eps=1e-6, scale_shift=True, rank=3, factor=math.sqrt(2)), [2, 8, 4, 3, 5]),
]
with torch.no_grad():
    for name, cfg, shape in cases:
        m = ResnetBlock(**cfg)
        for p in m.parameters():  # non-trivial norms too
            p.add_(torch.randn_like(p) * 0.1)
        x, t = torch.randn(shape), torch.randn(shape[0], cfg["temb"])
        dump(name, m, {"x": x, "temb": t}, m(x, t), cfg)

    m = DiTBlock(32, 4, 4.0)
    x, c = torch.randn(2, 9, 32), torch.randn(2, 32)
    dump("dit_block", m, {"x": x, "c": c}, m(x, c), dict(dim=32, heads=4, ratio=4.0, tokens=9))
print("wrote fixtures to", here)
