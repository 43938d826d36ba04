"""The seed notes' MLP: SimpleScoreNetwork from /work/shared/seeds/000_7f7cb4b239c1ba9e.txt ("The SimpleScoreNetwork
Architecture", from notebooks/diffusion/02_sde_formulation/02_sde_formulation.ipynb / genailab.diffusion), generalised
to depth hidden layers (the notes: 3) and transcribed as written there:
    self.net = nn.Sequential(nn.Linear(data_dim + time_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, hidden_dim),
                             nn.SiLU(), nn.Linear(hidden_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, data_dim))
The notes show only __init__: the forward and the time features are described, not listed ("Time embedding:
Sinusoidal encoding of time (like Transformer positional encoding)"). The forward here is net(cat([x, emb(t)], -1)),
and emb is DDPM's get_timestep_embedding (sin first, frequencies 10000^(-i/(h-1))), the form our MlpConfig documents;
what this checks against an independent source is the layer stack and its state_dict names (net.0, net.2, ...).
"""
import math

import torch
import torch.nn as nn


def get_timestep_embedding(timesteps, embedding_dim):
    # diffusers embeddings.py get_timestep_embedding(flip_sin_to_cos=False, downscale_freq_shift=1), = DDPM's
    half_dim = embedding_dim // 2
    exponent = -math.log(10000) * torch.arange(start=0, end=half_dim, dtype=torch.float32)
    exponent = exponent / (half_dim - 1)
    emb = timesteps[:, None].float() * torch.exp(exponent)[None, :]  # (N, h)
    return torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)  # (N, 2h)


class SimpleScoreNetwork(nn.Module):
    def __init__(self, data_dim=2, hidden_dim=128, time_dim=32, depth=3, activation="si_lu"):
        super().__init__()
        if activation not in ("si_lu", "silu"):
            raise NotImplementedError(f"activation={activation}: the notes use SiLU")
        self.time_dim = time_dim
        layers = [nn.Linear(data_dim + time_dim, hidden_dim), nn.SiLU()]
        for _ in range(depth - 1):
            layers += [nn.Linear(hidden_dim, hidden_dim), nn.SiLU()]
        layers.append(nn.Linear(hidden_dim, data_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x, t):
        return self.net(torch.cat([x, get_timestep_embedding(t, self.time_dim)], dim=-1))  # (N, data_dim)


def run(cfg, inputs):
    model = SimpleScoreNetwork(cfg["data_dim"], cfg["hidden"], cfg["time_dim"], cfg["depth"], cfg.get("activation", "si_lu"))
    return model, lambda: model(inputs["x"], inputs["t"])
