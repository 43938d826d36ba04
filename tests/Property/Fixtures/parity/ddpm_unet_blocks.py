"""Layers of the DDPM U-Net reference (ddpm_unet.py): diffusers' get_timestep_embedding, TimestepEmbedding,
ResnetBlock2D, Attention + AttnProcessor, Downsample2D, Upsample2D, and score_sde's GaussianFourierProjection,
each generalised to 3-D. Sources and commits: see ddpm_unet.py's docstring."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(rank, cin, cout, kernel, stride=1, padding=0):
    return (nn.Conv2d if rank == 2 else nn.Conv3d)(cin, cout, kernel, stride=stride, padding=padding)


def get_timestep_embedding(timesteps, embedding_dim, flip_sin_to_cos=False, downscale_freq_shift=1, scale=1, max_period=10000):
    # embeddings.py get_timestep_embedding, verbatim but for the odd-dim padding (our dims are even).
    half_dim = embedding_dim // 2
    exponent = -math.log(max_period) * torch.arange(start=0, end=half_dim, dtype=torch.float32)  # (h)
    exponent = exponent / (half_dim - downscale_freq_shift)
    emb = torch.exp(exponent)
    emb = timesteps[:, None].float() * emb[None, :]  # (N, h)
    emb = scale * emb
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)  # (N, 2h)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half_dim:], emb[:, :half_dim]], dim=-1)
    return emb


class FourierProjection(nn.Module):
    """score_sde layerspp.py GaussianFourierProjection: [sin(2*pi*t*W), cos(2*pi*t*W)], W frozen, t as given.
    diffusers' GaussianFourierProjection differs: its default log=True takes log(t) first, its parameter is
    named `weight` (not `W`), and UNet2DModel divides the output by t when time_embedding_type="fourier"."""

    def __init__(self, embedding_size, scale=16.0):
        super().__init__()
        self.W = nn.Parameter(torch.randn(embedding_size) * scale, requires_grad=False)

    def forward(self, x):
        x_proj = x[:, None] * self.W[None, :] * 2 * math.pi  # (N, h); score_sde writes `* 2 * np.pi`
        return torch.cat([torch.sin(x_proj), torch.cos(x_proj)], dim=-1)  # (N, 2h)


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.linear_1 = nn.Linear(cin, dim)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, sample):
        return self.linear_2(self.act(self.linear_1(sample)))


class ResnetBlock(nn.Module):
    """resnet.py ResnetBlock2D, time_embedding_norm="default", output_scale_factor=1, eval (dropout off)."""

    def __init__(self, rank, cin, cout, temb, groups_in, groups_out, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups_in, cin, eps=eps, affine=True)
        self.conv1 = conv(rank, cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups_out, cout, eps=eps, affine=True)
        self.conv2 = conv(rank, cout, cout, 3, padding=1)
        self.conv_shortcut = conv(rank, cin, cout, 1) if cin != cout else None
        self.rank = rank

    def forward(self, input_tensor, temb):
        h = F.silu(self.norm1(input_tensor))
        h = self.conv1(h)  # (N, Cout, *S)
        t = self.time_emb_proj(F.silu(temb))  # (N, Cout)
        h = h + t.reshape(*t.shape, *([1] * self.rank))  # temb[:, :, None, None]
        h = F.silu(self.norm2(h))
        h = self.conv2(h)
        if self.conv_shortcut is not None:
            input_tensor = self.conv_shortcut(input_tensor)
        return input_tensor + h


class AttnBlock(nn.Module):
    """attention_processor.py Attention(residual_connection=True, bias=True) with AttnProcessor."""

    def __init__(self, channels, heads, groups, eps):
        super().__init__()
        self.heads = heads
        self.scale = (channels // heads) ** -0.5
        self.group_norm = nn.GroupNorm(groups, channels, eps=eps, affine=True)
        self.to_q = nn.Linear(channels, channels)
        self.to_k = nn.Linear(channels, channels)
        self.to_v = nn.Linear(channels, channels)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels), nn.Dropout(0.0)])

    def head_to_batch_dim(self, t):  # (N, L, C) -> (N*heads, L, C/heads)
        n, l, c = t.shape
        return t.reshape(n, l, self.heads, c // self.heads).permute(0, 2, 1, 3).reshape(n * self.heads, l, c // self.heads)

    def batch_to_head_dim(self, t):  # (N*heads, L, d) -> (N, L, heads*d)
        nh, l, d = t.shape
        return t.reshape(nh // self.heads, self.heads, l, d).permute(0, 2, 1, 3).reshape(nh // self.heads, l, d * self.heads)

    def forward(self, hidden_states):
        residual = hidden_states
        shape = hidden_states.shape
        n, c = shape[0], shape[1]
        h = hidden_states.view(n, c, -1).transpose(1, 2)  # (N, L, C), L = H*W (or D*H*W)
        h = self.group_norm(h.transpose(1, 2)).transpose(1, 2)
        q = self.head_to_batch_dim(self.to_q(h))
        k = self.head_to_batch_dim(self.to_k(h))
        v = self.head_to_batch_dim(self.to_v(h))
        scores = torch.baddbmm(torch.empty(q.shape[0], q.shape[1], k.shape[1], dtype=q.dtype), q, k.transpose(-1, -2), beta=0, alpha=self.scale)
        probs = scores.float().softmax(dim=-1)  # upcast_softmax (a no-op in float32)
        h = self.batch_to_head_dim(torch.bmm(probs, v))  # (N, L, C)
        h = self.to_out[1](self.to_out[0](h))
        h = h.transpose(-1, -2).reshape(shape)
        return h + residual


class Downsample(nn.Module):
    """downsampling.py Downsample2D(use_conv=True): padding=0 pads bottom/right by one (TF 'SAME'), padding=1 all round."""

    def __init__(self, rank, channels, padding):
        super().__init__()
        self.rank, self.padding = rank, padding
        self.conv = conv(rank, channels, channels, 3, stride=2, padding=padding)

    def forward(self, h):
        if self.padding == 0:
            h = F.pad(h, (0, 1) * self.rank, mode="constant", value=0)
        return self.conv(h)


class Upsample(nn.Module):
    def __init__(self, rank, channels):
        super().__init__()
        self.conv = conv(rank, channels, channels, 3, padding=1)

    def forward(self, h):
        return self.conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))
