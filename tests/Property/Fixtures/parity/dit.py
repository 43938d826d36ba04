"""DiT reference: a transcription of facebookresearch/DiT @ ed81ce2229091fd4ecc9a223645f95cf379d582b, models.py
(modulate, TimestepEmbedder, LabelEmbedder, DiTBlock, FinalLayer, DiT.forward/unpatchify, get_2d_sincos_pos_embed*),
with timm's PatchEmbed, Attention and Mlp inlined as DiT instantiates them (timm 0.9 vision_transformer.py, unpinned in DiT's environment.yml; the non-fused path, as torch 1.13 has no F.scaled_dot_product_attention:
PatchEmbed = Conv2d(k=p, s=p) + flatten(2).transpose(1, 2); Attention(qkv_bias=True) = qkv -> (3, N, heads, T, d)
-> softmax((q * d^-0.5) k^T) v -> proj; Mlp = fc1 -> GELU(approximate="tanh") -> fc2).
Eval mode: LabelEmbedder.forward(labels, train=False) uses the labels as given (label == num_classes is the null class).
Ours: num_classes=0 (dit28) has no y_embedder and c = t_emb (models.py would build an empty table and need y).
"""
import math

import numpy as np
import torch
import torch.nn as nn


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def timestep_embedding(t, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half)  # (half)
    args = t[:, None].float() * freqs[None]  # (N, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # (N, dim)


class Attention(nn.Module):  # timm
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)  # (3, B, H, N, d)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)  # (B, H, N, N)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):  # timm, act_layer=GELU(approximate="tanh")
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class PatchEmbed(nn.Module):  # timm
    def __init__(self, patch, cin, dim):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, kernel_size=patch, stride=patch, bias=True)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # (N, T, D)


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden, freq=256):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(freq, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.freq = freq

    def forward(self, t):
        return self.mlp(timestep_embedding(t, self.freq))


class LabelEmbedder(nn.Module):
    def __init__(self, num_classes, hidden, dropout_prob):
        super().__init__()
        self.embedding_table = nn.Embedding(num_classes + int(dropout_prob > 0), hidden)

    def forward(self, labels):  # train=False, force_drop_ids=None: no token_drop
        return self.embedding_table(labels)


class DiTBlock(nn.Module):
    def __init__(self, hidden, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden, heads)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden, int(hidden * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden, bias=True))

    def forward(self, x, c):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    def __init__(self, hidden, patch, cout):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden, patch * patch * cout, bias=True)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden, bias=True))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


def get_2d_sincos_pos_embed(embed_dim, grid_size):
    grid_h = np.arange(grid_size, dtype=np.float32)
    grid_w = np.arange(grid_size, dtype=np.float32)
    grid = np.meshgrid(grid_w, grid_h)  # here w goes first
    grid = np.stack(grid, axis=0).reshape([2, 1, grid_size, grid_size])
    emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])
    emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=1)  # (G*G, D)


def get_1d_sincos_pos_embed_from_grid(embed_dim, pos):
    omega = np.arange(embed_dim // 2, dtype=np.float64)
    omega /= embed_dim / 2.
    omega = 1. / 10000**omega
    pos = pos.reshape(-1)
    out = np.einsum('m,d->md', pos, omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


class DiT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.in_channels = cfg["in_channels"]
        self.out_channels = self.in_channels * 2 if cfg["learn_sigma"] else self.in_channels
        self.patch_size = p = cfg["patch_size"]
        hidden = cfg["hidden_size"]
        self.x_embedder = PatchEmbed(p, self.in_channels, hidden)
        self.t_embedder = TimestepEmbedder(hidden, cfg.get("frequency_embedding_size", 256))
        self.conditional = cfg["num_classes"] > 0
        if self.conditional:
            self.y_embedder = LabelEmbedder(cfg["num_classes"], hidden, cfg["class_dropout_prob"])
        num_patches = (cfg["input_size"] // p) ** 2
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, hidden), requires_grad=False)
        self.blocks = nn.ModuleList([DiTBlock(hidden, cfg["num_heads"], cfg["mlp_ratio"]) for _ in range(cfg["depth"])])
        self.final_layer = FinalLayer(hidden, p, self.out_channels)

    def unpatchify(self, x):
        c, p = self.out_channels, self.patch_size
        h = w = int(x.shape[1] ** 0.5)
        x = x.reshape(shape=(x.shape[0], h, w, p, p, c))
        x = torch.einsum('nhwpqc->nchpwq', x)
        return x.reshape(shape=(x.shape[0], c, h * p, h * p))

    def forward(self, x, t, y=None):
        x = self.x_embedder(x) + self.pos_embed  # (N, T, D)
        c = self.t_embedder(t)  # (N, D)
        if self.conditional:
            c = c + self.y_embedder(y)
        for block in self.blocks:
            x = block(x, c)  # (N, T, D)
        x = self.final_layer(x, c)  # (N, T, p*p*C_out)
        return self.unpatchify(x)  # (N, C_out, H, W)


def run(cfg, inputs):
    model = DiT(cfg)
    grid = cfg["input_size"] // cfg["patch_size"]
    extra = {"pos_embed_official": torch.from_numpy(get_2d_sincos_pos_embed(cfg["hidden_size"], grid)).float().unsqueeze(0)}
    return model, lambda: model(inputs["x"], inputs["t"], inputs.get("labels")), extra
