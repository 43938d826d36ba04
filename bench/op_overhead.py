"""PyTorch side of bench/Micro's OpOverhead, on Debian's python3-torch (same libtorch):
   /usr/bin/python3 bench/op_overhead.py"""
import timeit

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
a, b = torch.randn(4, generator=g), torch.randn(4, generator=g)
x, w, bias = torch.randn(64, 128, generator=g), torch.randn(128, 128, generator=g), torch.randn(128, generator=g)
hidden = torch.randn(1024, 128, generator=g)


class ResBlock(torch.nn.Module):
    """The same block as Diffusion.Blocks.ResBlock's default: GroupNorm(32) → SiLU → conv3×3 → + temb → GroupNorm → SiLU → conv3×3, identity skip."""

    def __init__(self, ch=32, temb=128):
        super().__init__()
        self.norm1, self.conv1 = torch.nn.GroupNorm(32, ch, eps=1e-6), torch.nn.Conv2d(ch, ch, 3, padding=1)
        self.time_emb_proj = torch.nn.Linear(temb, ch)
        self.norm2, self.conv2 = torch.nn.GroupNorm(32, ch, eps=1e-6), torch.nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return x + h


block = ResBlock()
image, temb = torch.randn(4, 32, 16, 16, generator=g), torch.randn(4, 128, generator=g)
cases = {
    "add (4 elements)": lambda: a.add(b),
    "add_ in place (4 elements)": lambda: a.add_(b),
    "linear 64x128 -> 128": lambda: F.linear(x, w, bias),
    "silu 1024x128": lambda: F.silu(hidden),
    "gelu tanh 1024x128": lambda: F.gelu(hidden, approximate="tanh"),
    "ResBlock forward 4x32x16x16": lambda: block(image, temb),
}
with torch.no_grad():
    for name, fn in cases.items():
        n, seconds = timeit.Timer(fn).autorange()
        best = min(timeit.Timer(fn).repeat(5, n)) / n
        print(f"{name:32s} {best * 1e6:10.2f} us")
