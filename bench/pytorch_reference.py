"""PyTorch side of the side-by-side training/sampling benchmark (Debian's python3-torch, the libtorch our shim links):

    /usr/bin/python3 bench/pytorch_reference.py [--case NAME|all] [--threads N] [--warmup W] [--steps S] [--bf16-model] [--json]

The models are the library's presets written as plain nn.Modules — the same layers, order, kernel sizes, channel
counts, norms, activations, time embeddings, attention and resampling as src/Diffusion.Architectures (module names
follow the same state_dict paths, so `summary <preset>` lines up row for row). Each model's parameter count is checked
against the preset's at start-up.

Cases (names and configs are shared with the C# side):
  mlp2d_train_b1024       mlp-seed,      batch 1024 × 2
  unet28_train_b64        unet28,        batch 64 × 1 × 28 × 28
  dit28_train_b64         dit28,         batch 64 × 1 × 28 × 28
  unet3d32_train_b2       unet3d32,      batch 2 × 1 × 32³
  ddpm_cifar10_fwd_b8     ddpm-cifar10,  batch 8 × 3 × 32 × 32, eval-mode forward under torch.inference_mode() at t = 500
  mlp2d_sample_em_n10000  mlp-seed,      1000 reverse VP-SDE Euler–Maruyama steps on 10,000 points, torch.inference_mode()

A training "step" is one optimisation step of continuous VP-SDE denoising score matching (beta 0.1 → 20, t ~ U[1e-5, 1],
eps-prediction, loss mean((eps_hat − z)²), the network sees t·999) on one fixed batch x0 ~ N(0, I): forward, backward,
Adam (lr 1e-4, default betas/eps) and zero_grad(set_to_none=True). seconds_per_step is total timed time / timed steps
(not a median). For the EM case a step is one EM step: --warmup is the number of EM steps in an untimed warm-up run,
--steps the number of timed full 1000-step runs (default 1), and seconds_per_step = total time / (1000 · runs); the JSON
"steps" field then counts EM steps.

--bf16-model casts the whole model to bfloat16 (model.to(torch.bfloat16), inputs cast in, the output cast back to
float32 for the loss): what a PyTorch 1.13 user on CPU can do instead of mixed precision, since torch.autocast('cpu',
bfloat16) fails on these U-Nets in group_norm. Weights, norm statistics, softmax and Adam's state are then all bfloat16,
so it is a speed reference, not a training recipe; a case whose forward fails that way reports "error".

peak_rss_mib is the process's ru_maxrss, which only grows: with --case all it is cumulative over the cases run so far,
so for an honest per-case number run one case per process (the side-by-side driver does).

Pass --threads explicitly: Debian's torch 1.13 defaults to 1 intra-op thread on the 2-vCPU dev VM (torch.get_num_threads()
is 1 there although 2 CPUs are usable). Timings on that VM drift by ±20–30 % at 1 thread and sometimes by several times at
2 threads (the host's other tenants), so compare implementations from interleaved, repeated runs, not from a single one.

Equivalence with the C# models was checked once (not part of this script): with this script's weights loaded into the C#
presets by state_dict name (every name and shape matched), the forwards agreed to float32 rounding (max |diff| ≤ 1.4e-5).
"""
import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BETA_MIN, BETA_MAX = 0.1, 20.0


# ----------------------------------------------------------------------------------------------------------------------
# Time embeddings
# ----------------------------------------------------------------------------------------------------------------------

def timestep_embedding(t, dim, shift=1.0, flip_sin_to_cos=False, max_period=10000.0):
    """DDPM's get_timestep_embedding (shift 1, [sin, cos]); DiT/GLIDE's timestep_embedding is shift 0, [cos, sin]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / (half - shift))
    args = t.float()[:, None] * freqs[None]
    parts = [torch.cos(args), torch.sin(args)] if flip_sin_to_cos else [torch.sin(args), torch.cos(args)]
    return torch.cat(parts, dim=1)


class TimestepEmbedding(nn.Module):
    """diffusers' TimestepEmbedding: linear_1 → SiLU → linear_2."""

    def __init__(self, in_dim, dim):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, dim)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(x)))


# ----------------------------------------------------------------------------------------------------------------------
# mlp-seed
# ----------------------------------------------------------------------------------------------------------------------

class MlpScoreNet(nn.Module):
    """concat(x, sinusoidal(t, 32)) → Linear → SiLU → (Linear → SiLU) × 2 → Linear (MlpConfig defaults)."""

    def __init__(self, data_dim=2, hidden=128, time_dim=32, depth=3):
        super().__init__()
        self.time_dim = time_dim
        layers = [nn.Linear(data_dim + time_dim, hidden), nn.SiLU()]
        for _ in range(depth - 1):
            layers += [nn.Linear(hidden, hidden), nn.SiLU()]
        layers.append(nn.Linear(hidden, data_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x, t):
        return self.net(torch.cat([x, timestep_embedding(t, self.time_dim).to(x.dtype)], dim=1))


# ----------------------------------------------------------------------------------------------------------------------
# U-Net (DDPM layout, 2-D or 3-D), state_dict names as diffusers' UNet2DModel
# ----------------------------------------------------------------------------------------------------------------------

def conv_nd(dims, *args, **kwargs):
    return (nn.Conv2d if dims == 2 else nn.Conv3d)(*args, **kwargs)


class ResnetBlock(nn.Module):
    """Pre-activation ResBlock: conv1(SiLU(norm1(x))) + proj(SiLU(temb)); conv2(dropout(SiLU(norm2(h)))); + skip."""

    def __init__(self, dims, in_ch, out_ch, temb_ch, groups, eps, dropout):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch, eps=eps)
        self.conv1 = conv_nd(dims, in_ch, out_ch, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_ch, out_ch)
        self.norm2 = nn.GroupNorm(groups, out_ch, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = conv_nd(dims, out_ch, out_ch, 3, padding=1)
        self.conv_shortcut = conv_nd(dims, in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        e = self.time_emb_proj(F.silu(temb))
        h = h + e.view(*e.shape, *([1] * (x.dim() - 2)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        skip = x if self.conv_shortcut is None else self.conv_shortcut(x)
        return skip + h


class AttentionBlock(nn.Module):
    """x + to_out(MHA(GroupNorm(x))) over all positions; separate to_q/to_k/to_v linears (DDPM's AttnBlock)."""

    def __init__(self, ch, groups, eps, heads=1):
        super().__init__()
        self.heads = heads
        self.group_norm = nn.GroupNorm(groups, ch, eps=eps)
        self.to_q = nn.Linear(ch, ch)
        self.to_k = nn.Linear(ch, ch)
        self.to_v = nn.Linear(ch, ch)
        self.to_out = nn.ModuleList([nn.Linear(ch, ch)])

    def forward(self, x):
        n, c = x.shape[:2]
        d = c // self.heads
        h = self.group_norm(x).flatten(2).transpose(1, 2)  # (N, L, C)
        q = self.to_q(h).view(n, -1, self.heads, d).transpose(1, 2)  # (N, heads, L, d)
        k = self.to_k(h).view(n, -1, self.heads, d).transpose(1, 2)
        v = self.to_v(h).view(n, -1, self.heads, d).transpose(1, 2)
        attn = (q @ k.transpose(-2, -1) * d ** -0.5).softmax(dim=-1)
        a = (attn @ v).transpose(1, 2).reshape(n, -1, c)  # (N, L, C)
        return x + self.to_out[0](a).transpose(1, 2).reshape(x.shape)


class Downsample(nn.Module):
    """The presets' default DownsamplePadding 'same': one zero row/column after the end, then a stride-2 conv (DDPM)."""

    def __init__(self, dims, ch):
        super().__init__()
        self.conv = conv_nd(dims, ch, ch, 3, stride=2, padding=0)
        self.pad = (0, 1) * dims

    def forward(self, x):
        return self.conv(F.pad(x, self.pad))


class Upsample(nn.Module):
    def __init__(self, dims, ch):
        super().__init__()
        self.conv = conv_nd(dims, ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownBlock(nn.Module):
    def __init__(self, dims, in_ch, out_ch, layers, attention, downsample, res_kw, groups, eps, heads):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock(dims, in_ch if i == 0 else out_ch, out_ch, **res_kw) for i in range(layers))
        self.attentions = nn.ModuleList(AttentionBlock(out_ch, groups, eps, heads) for _ in range(layers)) if attention else None
        self.downsamplers = nn.ModuleList([Downsample(dims, out_ch)]) if downsample else None

    def forward(self, x, temb):
        skips = []
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class UpBlock(nn.Module):
    def __init__(self, dims, in_ch, out_ch, skip_chs, attention, upsample, res_kw, groups, eps, heads):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock(dims, (in_ch if i == 0 else out_ch) + s, out_ch, **res_kw) for i, s in enumerate(skip_chs))
        self.attentions = nn.ModuleList(AttentionBlock(out_ch, groups, eps, heads) for _ in skip_chs) if attention else None
        self.upsamplers = nn.ModuleList([Upsample(dims, out_ch)]) if upsample else None

    def forward(self, x, skips, temb):
        for i, resnet in enumerate(self.resnets):
            x = resnet(torch.cat([x, skips.pop()], dim=1), temb)
            if self.attentions is not None:
                x = self.attentions[i](x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class UNet(nn.Module):
    """DDPM's U-Net (Ho et al. 2020 App. B) over 2-D (H, W) or 3-D (D, H, W) inputs: concat skips from conv_in, every
    ResBlock and every downsample; NumResBlocks + 1 ResBlocks per up level; mid = ResBlock → [attention] → ResBlock."""

    def __init__(self, in_ch, size, ch, ch_mult, num_res_blocks, attn_resolutions, mid_attention=True, groups=32,
                 eps=1e-6, dropout=0.0, heads=1):
        super().__init__()
        dims, levels, temb = len(size), len(ch_mult), 4 * ch
        self.ch = ch
        res_kw = dict(temb_ch=temb, groups=groups, eps=eps, dropout=dropout)
        blk_kw = dict(res_kw=res_kw, groups=groups, eps=eps, heads=heads)
        self.time_embedding = TimestepEmbedding(ch, temb)
        self.conv_in = conv_nd(dims, in_ch, ch, 3, padding=1)

        skip_chs, cur = [ch], ch
        self.down_blocks = nn.ModuleList()
        for i, m in enumerate(ch_mult):
            out = ch * m
            res = max(size) // 2 ** i
            self.down_blocks.append(DownBlock(dims, cur, out, num_res_blocks, res in attn_resolutions, i < levels - 1, **blk_kw))
            skip_chs += [out] * num_res_blocks + ([out] if i < levels - 1 else [])
            cur = out

        self.mid_block = nn.Module()
        self.mid_block.resnets = nn.ModuleList([ResnetBlock(dims, cur, cur, **res_kw), ResnetBlock(dims, cur, cur, **res_kw)])
        self.mid_block.attentions = nn.ModuleList([AttentionBlock(cur, groups, eps, heads)]) if mid_attention else None

        self.up_blocks = nn.ModuleList()
        for i in reversed(range(levels)):
            out = ch * ch_mult[i]
            res = max(size) // 2 ** i
            consumed = [skip_chs.pop() for _ in range(num_res_blocks + 1)]
            self.up_blocks.append(UpBlock(dims, cur, out, consumed, res in attn_resolutions, i > 0, **blk_kw))
            cur = out

        self.conv_norm_out = nn.GroupNorm(groups, cur, eps=eps)
        self.conv_act = nn.SiLU()
        self.conv_out = conv_nd(dims, cur, in_ch, 3, padding=1)

    def forward(self, x, t):
        emb = self.time_embedding(timestep_embedding(t, self.ch).to(x.dtype))  # float32 features, cast for a bf16 model
        h = self.conv_in(x)
        skips = [h]
        for block in self.down_blocks:
            h, produced = block(h, emb)
            skips += produced
        h = self.mid_block.resnets[0](h, emb)
        if self.mid_block.attentions is not None:
            h = self.mid_block.attentions[0](h)
        h = self.mid_block.resnets[1](h, emb)
        for block in self.up_blocks:
            h = block(h, skips, emb)
        return self.conv_out(self.conv_act(self.conv_norm_out(h)))


# ----------------------------------------------------------------------------------------------------------------------
# DiT (facebookresearch/DiT models.py, timm's Attention/Mlp inlined; no label embedder, no learned sigma)
# ----------------------------------------------------------------------------------------------------------------------

def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class PatchEmbed(nn.Module):
    def __init__(self, patch, in_ch, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_ch, dim, patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # (N, T, D)


class TimestepEmbedder(nn.Module):
    def __init__(self, dim, freq_dim=256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t):
        return self.mlp(timestep_embedding(t, self.freq_dim, shift=0.0, flip_sin_to_cos=True).to(self.mlp[0].weight.dtype))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(n, t, d))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class DiTBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x, c):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    def __init__(self, dim, patch, out_ch):
        super().__init__()
        self.norm_final = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(dim, patch * patch * out_ch)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


def sincos_pos_embed_2d(dim, grid):
    """MAE/DiT get_2d_sincos_pos_embed: token (i, j) → [sin(jω), cos(jω), sin(iω), cos(iω)], ω_m = 10000^(−m/(D/4))."""
    q = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(q, dtype=torch.float64) / q)
    i, j = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64), indexing="ij")
    oj, oi = j.reshape(-1, 1) * omega, i.reshape(-1, 1) * omega
    return torch.cat([oj.sin(), oj.cos(), oi.sin(), oi.cos()], dim=1).float()  # (G², D)


class DiT(nn.Module):
    def __init__(self, input_size=28, patch_size=4, in_channels=1, hidden_size=192, depth=6, num_heads=3, mlp_ratio=4.0):
        super().__init__()
        self.patch, self.out_ch, self.grid = patch_size, in_channels, input_size // patch_size
        self.x_embedder = PatchEmbed(patch_size, in_channels, hidden_size)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid ** 2, hidden_size), requires_grad=False)
        self.blocks = nn.ModuleList(DiTBlock(hidden_size, num_heads, mlp_ratio) for _ in range(depth))
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_ch)
        self.initialize_weights()

    def initialize_weights(self):
        def _basic_init(m):
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        self.apply(_basic_init)
        self.pos_embed.data.copy_(sincos_pos_embed_2d(self.pos_embed.shape[-1], self.grid).unsqueeze(0))
        w = self.x_embedder.proj.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        nn.init.zeros_(self.x_embedder.proj.bias)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)

    def unpatchify(self, x):
        n, p, c, g = x.shape[0], self.patch, self.out_ch, self.grid
        x = x.reshape(n, g, g, p, p, c)
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(n, c, g * p, g * p)

    def forward(self, x, t):
        x = self.x_embedder(x) + self.pos_embed  # (N, T, D)
        c = self.t_embedder(t)  # (N, D)
        for block in self.blocks:
            x = block(x, c)
        return self.unpatchify(self.final_layer(x, c))  # (N, C, H, W)


# ----------------------------------------------------------------------------------------------------------------------
# Presets and cases
# ----------------------------------------------------------------------------------------------------------------------

PRESETS = {
    "mlp-seed": (lambda: MlpScoreNet(), 37_762),
    "unet28": (lambda: UNet(1, (28, 28), 32, (1, 2, 2), 1, (7,), groups=8, dropout=0.0), 1_112_801),
    "dit28": (lambda: DiT(28, 4, 1, 192, 6, 3), 4_174_864),
    "unet3d32": (lambda: UNet(1, (32, 32, 32), 16, (1, 2, 2), 1, (), mid_attention=False, groups=8, dropout=0.0), 715_185),
    "ddpm-cifar10": (lambda: UNet(3, (32, 32), 128, (1, 2, 2, 2), 2, (16,), groups=32, dropout=0.1), 35_746_307),
}

# case: (kind, preset, input shape, default warm-up, default timed steps)
CASES = {
    "mlp2d_train_b1024": ("train", "mlp-seed", (1024, 2), 50, 500),
    "unet28_train_b64": ("train", "unet28", (64, 1, 28, 28), 2, 6),
    "dit28_train_b64": ("train", "dit28", (64, 1, 28, 28), 2, 6),
    "unet3d32_train_b2": ("train", "unet3d32", (2, 1, 32, 32, 32), 2, 8),
    "ddpm_cifar10_fwd_b8": ("forward", "ddpm-cifar10", (8, 3, 32, 32), 1, 8),
    "mlp2d_sample_em_n10000": ("sample_em", "mlp-seed", (10000, 2), 10, 1),
}

EM_STEPS = 1000


def build(preset):
    make, expected = PRESETS[preset]
    model = make()
    count = sum(p.numel() for p in model.parameters())
    if count != expected:
        sys.exit(f"error: {preset} has {count:,} parameters, expected {expected:,}")
    return model, count


def log_mean_coeff(t):
    return -0.25 * t ** 2 * (BETA_MAX - BETA_MIN) - 0.5 * t * BETA_MIN


def bcast(v, x):
    return v.view(-1, *([1] * (x.dim() - 1)))


def run_train(model, shape, warmup, steps):
    model.train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    x0 = torch.randn(shape)
    n = shape[0]

    def step():
        t = torch.rand(n) * (1 - 1e-5) + 1e-5
        z = torch.randn_like(x0)
        lm = log_mean_coeff(t)
        alpha, sigma = bcast(torch.exp(lm), x0), bcast(torch.sqrt(-torch.expm1(2 * lm)), x0)
        xt = alpha * x0 + sigma * z
        eps_hat = model(xt, t * 999)
        assert eps_hat.shape == x0.shape
        loss = ((eps_hat - z) ** 2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps, steps


def run_forward(model, shape, warmup, steps):
    model.eval()
    x = torch.randn(shape)
    t = torch.full((shape[0],), 500.0)
    with torch.inference_mode():
        for _ in range(warmup):
            model(x, t)
        start = time.perf_counter()
        for _ in range(steps):
            out = model(x, t)
        elapsed = time.perf_counter() - start
    assert out.shape == x.shape
    return elapsed / steps, steps


def em_sample(model, shape, num_steps, eps=1e-3):
    """Reverse VP-SDE Euler–Maruyama as score_sde's EulerMaruyamaPredictor; the last step returns the mean."""
    x = torch.randn(shape)
    ts = torch.linspace(1.0, eps, EM_STEPS + 1).tolist()
    n = shape[0]
    for k in range(num_steps):
        t, dt = ts[k], ts[k + 1] - ts[k]
        vec_t = torch.full((n,), t)
        beta = (BETA_MIN + vec_t * (BETA_MAX - BETA_MIN))[:, None]
        std = torch.sqrt(-torch.expm1(2 * log_mean_coeff(vec_t)))[:, None]
        score = -model(x, vec_t * 999) / std
        drift = -0.5 * beta * x - beta * score
        x_mean = x + drift * dt
        if k == EM_STEPS - 1:
            return x_mean
        x = x_mean + torch.sqrt(beta) * math.sqrt(-dt) * torch.randn_like(x)
    return x


def run_sample_em(model, shape, warmup, runs):
    model.eval()
    with torch.inference_mode():
        if warmup:
            em_sample(model, shape, warmup)
        start = time.perf_counter()
        for _ in range(runs):
            out = em_sample(model, shape, EM_STEPS)
        elapsed = time.perf_counter() - start
    assert out.shape == shape
    return elapsed / (runs * EM_STEPS), runs * EM_STEPS


RUNNERS = {"train": run_train, "forward": run_forward, "sample_em": run_sample_em}


class CastToBf16(nn.Module):
    """The model with every tensor in bfloat16: x cast in (t stays float32: its sine features are cast after they are
    formed, as bfloat16 cannot hold t up to 999), the output cast back to float32."""

    def __init__(self, model):
        super().__init__()
        self.model = model.to(torch.bfloat16)

    def forward(self, x, t):
        return self.model(x.to(torch.bfloat16), t).float()


def run_case(name, warmup, steps, bf16_model=False):
    kind, preset, shape, default_warmup, default_steps = CASES[name]
    warmup = default_warmup if warmup is None else warmup
    steps = default_steps if steps is None else steps
    torch.manual_seed(0)
    model, params = build(preset)
    precision = "bf16-model" if bf16_model else "fp32"
    if bf16_model:
        model = CastToBf16(model)
    try:
        seconds, timed = RUNNERS[kind](model, shape, warmup, steps)
    except RuntimeError as e:  # e.g. an op without a bfloat16 kernel, or mixed dtypes inside the model
        if not bf16_model:
            raise
        return {"impl": "pytorch", "case": name, "precision": precision, "error": str(e).splitlines()[0]}
    return {
        "precision": precision,
        "impl": "pytorch",
        "case": name,
        "seconds_per_step": seconds,
        "threads": torch.get_num_threads(),
        "params": params,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "steps": timed,
        "warmup": warmup,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", default="all", choices=["all", *CASES], help="one case, or all in turn (default)")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads(N), with one inter-op thread (default: torch's default)")
    ap.add_argument("--warmup", type=int, help="untimed steps first (default per case; EM: steps of the warm-up run)")
    ap.add_argument("--steps", type=int, help="timed steps (default per case; EM: full 1000-step runs)")
    ap.add_argument("--bf16-model", action="store_true", help="cast the model and its inputs to bfloat16 (see above)")
    ap.add_argument("--json", action="store_true", help="one JSON line per case on stdout")
    args = ap.parse_args()
    if args.threads is not None:
        if args.threads < 1:
            ap.error("--threads must be ≥ 1")
        torch.set_num_interop_threads(1)
        torch.set_num_threads(args.threads)
    if args.steps is not None and args.steps < 1:
        ap.error("--steps must be ≥ 1")
    if args.warmup is not None and args.warmup < 0:
        ap.error("--warmup must be ≥ 0")
    for name in (CASES if args.case == "all" else [args.case]):
        r = run_case(name, args.warmup, args.steps, args.bf16_model)
        if args.json:
            print(json.dumps(r), flush=True)
        elif "error" in r:
            print(f"{r['case']:24s} {r['precision']} fails: {r['error']}", flush=True)
        else:
            print(f"{r['case']:24s} {r['seconds_per_step'] * 1e3:10.3f} ms/step  threads {r['threads']}  "
                  f"params {r['params']:>11,}  steps {r['steps']} (+{r['warmup']} warm-up)  peak RSS {r['peak_rss_mib']:.0f} MiB",
                  flush=True)


if __name__ == "__main__":
    main()
