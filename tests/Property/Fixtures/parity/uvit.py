"""U-ViT reference: a transcription of baofff/U-ViT @ ce551708dc9cde9818d2af7d84dfadfeb7bd9034, libs/uvit.py
(timestep_embedding, unpatchify, Attention in its 'math' mode -- Debian's torch 1.13 has no
F.scaled_dot_product_attention, so uvit.py itself would pick 'math' (or xformers) here --, Block with skip_linear,
PatchEmbed, UViT with mlp_time_embed, label_emb (num_classes > 0: 2 extras tokens, label first), conv final layer)
and libs/timm.py Mlp (fc1 -> nn.GELU() exact -> fc2). Labels are passed iff num_classes > 0, as the repository's
training scripts do.
"""
import math

import torch
import torch.nn as nn


def timestep_embedding(timesteps, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half)
    args = timesteps[:, None].float() * freqs[None]  # (N, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # (N, dim)


def unpatchify(x, channels):
    # einops 'B (h w) (p1 p2 C) -> B C (h p1) (w p2)'
    patch = int((x.shape[2] // channels) ** 0.5)
    h = w = int(x.shape[1] ** .5)
    B = x.shape[0]
    x = x.reshape(B, h, w, patch, patch, channels).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(B, channels, h * patch, w * patch)


class Attention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, L, C = x.shape
        qkv = self.qkv(x).reshape(B, L, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)  # 'B L (K H D) -> K B H L D'
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale  # (B, H, L, L)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, L, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, qkv_bias, skip=False):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.skip_linear = nn.Linear(2 * dim, dim) if skip else None

    def forward(self, x, skip=None):
        if self.skip_linear is not None:
            x = self.skip_linear(torch.cat([x, skip], dim=-1))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch, cin, dim):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class UViT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, depth = cfg["embed_dim"], cfg["depth"]
        heads, ratio, qkv_bias = cfg["num_heads"], cfg["mlp_ratio"], cfg["qkv_bias"]
        self.embed_dim, self.in_chans = d, cfg["in_chans"]
        self.num_classes = cfg["num_classes"] if cfg["num_classes"] > 0 else -1
        self.patch_embed = PatchEmbed(cfg["patch_size"], self.in_chans, d)
        num_patches = (cfg["img_size"] // cfg["patch_size"]) ** 2
        self.time_embed = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d)) if cfg["mlp_time_embed"] else nn.Identity()
        if self.num_classes > 0:
            self.label_emb = nn.Embedding(self.num_classes, d)
            self.extras = 2
        else:
            self.extras = 1
        self.pos_embed = nn.Parameter(torch.zeros(1, self.extras + num_patches, d))
        self.in_blocks = nn.ModuleList([Block(d, heads, ratio, qkv_bias) for _ in range(depth // 2)])
        self.mid_block = Block(d, heads, ratio, qkv_bias)
        self.out_blocks = nn.ModuleList([Block(d, heads, ratio, qkv_bias, skip=cfg["skip"]) for _ in range(depth // 2)])
        self.norm = nn.LayerNorm(d)
        self.decoder_pred = nn.Linear(d, cfg["patch_size"] ** 2 * self.in_chans, bias=True)
        self.final_layer = nn.Conv2d(self.in_chans, self.in_chans, 3, padding=1) if cfg["conv"] else nn.Identity()

    def forward(self, x, timesteps, y=None):
        x = self.patch_embed(x)  # (N, L, D)
        B, L, D = x.shape
        time_token = self.time_embed(timestep_embedding(timesteps, self.embed_dim)).unsqueeze(dim=1)  # (N, 1, D)
        x = torch.cat((time_token, x), dim=1)
        if y is not None:
            x = torch.cat((self.label_emb(y).unsqueeze(dim=1), x), dim=1)  # (N, extras + L, D)
        x = x + self.pos_embed
        skips = []
        for blk in self.in_blocks:
            x = blk(x)
            skips.append(x)
        x = self.mid_block(x)
        for blk in self.out_blocks:
            x = blk(x, skips.pop())
        x = self.decoder_pred(self.norm(x))  # (N, extras + L, p*p*C)
        x = x[:, self.extras:, :]
        return self.final_layer(unpatchify(x, self.in_chans))  # (N, C, H, W)


def run(cfg, inputs):
    model = UViT(cfg)
    return model, lambda: model(inputs["x"], inputs["t"], inputs.get("labels"))
