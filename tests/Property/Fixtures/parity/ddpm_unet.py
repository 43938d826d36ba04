"""DDPM U-Net reference: a transcription of diffusers' UNet2DModel, generalised to 3-D.

Transcribed from huggingface/diffusers @ 58eb52c0803ea9af3abec60841c2a093bdf1f951:
  src/diffusers/models/unets/unet_2d.py          UNet2DModel.__init__/forward
  src/diffusers/models/unets/unet_2d_blocks.py   DownBlock2D, AttnDownBlock2D, UNetMidBlock2D, UpBlock2D, AttnUpBlock2D
  src/diffusers/models/resnet.py                 ResnetBlock2D (time_embedding_norm="default", output_scale_factor=1)
  src/diffusers/models/downsampling.py           Downsample2D (use_conv=True; padding=0 pads (0, 1, 0, 1) first)
  src/diffusers/models/upsampling.py             Upsample2D (nearest x2, then 3x3 conv)
  src/diffusers/models/embeddings.py             get_timestep_embedding, Timesteps, TimestepEmbedding
  src/diffusers/models/attention_processor.py    Attention + AttnProcessor (group_norm, to_q/k/v, to_out.0, residual)
with the settings of Google's converted DDPM checkpoints (google/ddpm-cifar10-32): flip_sin_to_cos=False,
freq_shift=1, downsample_padding=0, attention_head_dim=None (1 head), act silu, eps 1e-6.

How this corresponds to the original DDPM (yang-song/score_sde_pytorch @ cb1f359f4aadf0ff9a5e122fe8fffc9451fd6e44,
models/ddpm.py, a port of diffusion_tf models/unet.py): conv_in = the first conv3x3; each level's ResnetBlockDDPM
(GroupNorm_0, Conv_0, Dense_0, GroupNorm_1, Conv_1, NIN_0) = resnets.j (norm1, conv1, time_emb_proj, norm2, conv2,
conv_shortcut: a 1x1 conv has NIN's parameter count); AttnBlock (GroupNorm_0, NIN_0..3) = attentions.j
(group_norm, to_q, to_k, to_v, to_out.0); Downsample (F.pad(x, (0, 1, 0, 1)) then a stride-2 3x3 conv with padding 0,
TF 'SAME') = downsamplers.0.conv with downsample_padding=0; Upsample = upsamplers.0.conv; the two time Dense layers
= time_embedding.linear_1/linear_2. The skip stack is the same (conv_in's output, every ResBlock/attention output and
every downsample), popped in reverse with concat([h, skip]). One known difference: score_sde's ddpm.py applies the
up-path attention once per level after all its ResBlocks, while diffusion_tf and diffusers apply it after every
up ResBlock; this transcription follows diffusers (and diffusion_tf).

Generalised for this library (marked "ours" below): Conv3d / 5-D tensors when the config's size has 3 dims (pad
(0, 1, 0, 1, 0, 1) for 'same'); norm="instance" = GroupNorm with one group per channel; attention heads from
attention_heads; metadata_embedding (Linear -> SiLU -> Linear on the metadata vector, added to the time embedding
like class_embedding); the class table has num_classes + 1 rows (the null class); downsample_padding "symmetric" =
diffusers' downsample_padding=1 (pad 1 on every side inside the conv). time_embedding="fourier" uses score_sde's
GaussianFourierProjection (models/layerspp.py: W, no log, [sin, cos]) -- see the notes at FourierProjection.
"""

import torch
import torch.nn as nn

from ddpm_unet_blocks import AttnBlock, Downsample, FourierProjection, ResnetBlock, TimestepEmbedding, Upsample, conv, get_timestep_embedding


class DownBlock(nn.Module):
    """DownBlock2D / AttnDownBlock2D (attentions present iff the level has attention)."""

    def __init__(self, rank, cin, cout, n, temb, groups, eps, attn, heads, add_down, padding):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock(rank, cin if j == 0 else cout, cout, temb, groups(cin if j == 0 else cout), groups(cout), eps) for j in range(n)])
        if attn:
            self.attentions = nn.ModuleList([AttnBlock(cout, heads, groups(cout), eps) for _ in range(n)])
        self.has_attn = attn
        if add_down:
            self.downsamplers = nn.ModuleList([Downsample(rank, cout, padding)])
        self.add_down = add_down

    def forward(self, h, temb):
        out = ()
        for j, resnet in enumerate(self.resnets):
            h = resnet(h, temb)
            if self.has_attn:
                h = self.attentions[j](h)
            out += (h,)
        if self.add_down:
            h = self.downsamplers[0](h)
            out += (h,)
        return h, out


class UpBlock(nn.Module):
    """UpBlock2D / AttnUpBlock2D: resnet j reads cat([h, skip]) with skips popped from the end."""

    def __init__(self, rank, cin, prev, cout, n, temb, groups, eps, attn, heads, add_up):
        super().__init__()
        resnets = []
        for j in range(n):
            res_skip = cin if j == n - 1 else cout
            rin = prev if j == 0 else cout
            resnets.append(ResnetBlock(rank, rin + res_skip, cout, temb, groups(rin + res_skip), groups(cout), eps))
        self.resnets = nn.ModuleList(resnets)
        if attn:
            self.attentions = nn.ModuleList([AttnBlock(cout, heads, groups(cout), eps) for _ in range(n)])
        self.has_attn = attn
        if add_up:
            self.upsamplers = nn.ModuleList([Upsample(rank, cout)])
        self.add_up = add_up

    def forward(self, h, res, temb):
        for j, resnet in enumerate(self.resnets):
            skip = res[-1]
            res = res[:-1]
            h = resnet(torch.cat([h, skip], dim=1), temb)
            if self.has_attn:
                h = self.attentions[j](h)
        if self.add_up:
            h = self.upsamplers[0](h)
        return h


class MidBlock(nn.Module):
    """UNetMidBlock2D: resnet, [attention, resnet]; without attention (add_attention=False) two resnets."""

    def __init__(self, rank, ch, temb, groups, eps, attn, heads):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock(rank, ch, ch, temb, groups(ch), groups(ch), eps) for _ in range(2)])
        self.attentions = nn.ModuleList([AttnBlock(ch, heads, groups(ch), eps)] if attn else [])

    def forward(self, h, temb):
        h = self.resnets[0](h, temb)
        if len(self.attentions):
            h = self.attentions[0](h)
        return self.resnets[1](h, temb)


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        for key, value in (("down", "strided_conv"), ("up", "nearest_conv"), ("skip", "concat")):
            if cfg.get(key, value) != value:
                raise NotImplementedError(f"{key}={cfg[key]}: only the DDPM layout ({value}) is transcribed")
        size = cfg["size"]
        self.rank = rank = len(size)
        ch, mult, n = cfg["channels"], cfg["channel_mult"], cfg["num_res_blocks"]
        outs = [ch * m for m in mult]
        temb = cfg.get("time_embed_mult", 4) * ch
        eps = cfg.get("norm_eps", 1e-6)
        heads = cfg.get("attention_heads", 1)
        instance = cfg.get("norm", "group") == "instance"
        groups = (lambda c: c) if instance else (lambda c: cfg.get("norm_groups", 32))
        padding = {"same": 0, "symmetric": 1}[cfg.get("downsample_padding", "same")]
        levels = len(mult)
        attn = [max(d >> i for d in size) in cfg.get("attention_resolutions", [16]) for i in range(levels)]

        self.conv_in = conv(rank, cfg.get("in_channels", 3), ch, 3, padding=1)
        self.fourier = cfg.get("time_embedding", "sinusoidal") == "fourier"
        if self.fourier:
            self.time_proj = FourierProjection(ch, cfg.get("fourier_scale", 16))
        self.ch = ch
        self.flip, self.shift = cfg.get("flip_sin_to_cos", False), cfg.get("freq_shift", 1)  # diffusers' Timesteps(flip_sin_to_cos, freq_shift)
        self.time_embedding = TimestepEmbedding(2 * ch if self.fourier else ch, temb)
        self.num_classes = cfg.get("num_classes", 0)
        if self.num_classes > 0:
            self.class_embedding = nn.Embedding(self.num_classes + 1, temb)  # ours: + the null class
        if cfg.get("metadata_dim", 0) > 0:
            self.metadata_embedding = TimestepEmbedding(cfg["metadata_dim"], temb)  # ours; Linear -> SiLU -> Linear
        self.down_blocks = nn.ModuleList()
        out = outs[0]
        for i in range(levels):
            cin, out = out, outs[i]
            self.down_blocks.append(DownBlock(rank, cin, out, n, temb, groups, eps, attn[i], heads, i < levels - 1, padding))
        self.mid_block = MidBlock(rank, outs[-1], temb, groups, eps, cfg.get("mid_attention", True), heads)
        rev = list(reversed(outs))
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i in range(levels):
            prev, out = out, rev[i]
            cin = rev[min(i + 1, levels - 1)]
            self.up_blocks.append(UpBlock(rank, cin, prev, out, n + 1, temb, groups, eps, attn[levels - 1 - i], heads, i < levels - 1))
        self.conv_norm_out = nn.GroupNorm(groups(outs[0]), outs[0], eps=eps)
        self.conv_act = nn.SiLU()
        self.conv_out = conv(rank, outs[0], cfg.get("out_channels") or cfg.get("in_channels", 3), 3, padding=1)

    def forward(self, sample, timesteps, class_labels=None, metadata=None):
        t_emb = self.time_proj(timesteps) if self.fourier else get_timestep_embedding(timesteps, self.ch, self.flip, self.shift)  # (N, C | 2C)
        emb = self.time_embedding(t_emb)  # (N, T)
        if self.num_classes > 0:
            emb = emb + self.class_embedding(class_labels)
        if metadata is not None:
            emb = emb + self.metadata_embedding(metadata)
        sample = self.conv_in(sample)  # (N, C, *S)
        res = (sample,)
        for block in self.down_blocks:
            sample, r = block(sample, emb)
            res += r
        sample = self.mid_block(sample, emb)
        for block in self.up_blocks:
            k = len(block.resnets)
            r, res = res[-k:], res[:-k]
            sample = block(sample, r, emb)
        sample = self.conv_act(self.conv_norm_out(sample))
        return self.conv_out(sample)  # (N, C_out, *S)


def run(cfg, inputs):
    model = UNet(cfg)
    return model, lambda: model(inputs["x"], inputs["t"], inputs.get("labels"), inputs.get("metadata"))
