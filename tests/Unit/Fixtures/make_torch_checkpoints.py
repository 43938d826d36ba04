#!/usr/bin/python3
"""Writes PyTorch checkpoints for TorchCheckpointTests into OUTDIR, at test time, with Debian's torch 1.13.

    /usr/bin/python3 make_torch_checkpoints.py OUTDIR MARKER

Good files, each with NAME.expected.json ({tensor: {dtype, shape, hex}}, hex = the contiguous bytes):
  flat.pt         every dtype the reader supports, views saved as they are (transposed, sliced with an offset,
                  expanded with stride 0, two tensors sharing one storage), 0-d and empty tensors
  flat_p4.pt      the same dict pickled with protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL)
  nested.pt       DiT-style {"model", "ema", "opt", "args", "step", "train": {"ema"}}; expected = the "ema" dict
Refused files: legacy.pt (the pre-1.6 format), evil_*.pt (globals that would run MARKER-touching code if a
plain unpickler loaded them; nothing here loads them), extent.pt (a view reaching past its storage),
module.pt (a whole nn.Module).
"""
import builtins
import collections
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import torch

OUT, MARKER = sys.argv[1], sys.argv[2]


def raw_bytes(t):
    # view(uint8) reinterprets the contiguous storage; 0-dim tensors are flattened first.
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def expected(sd):
    return {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "hex": raw_bytes(v).hex()}
            for k, v in sd.items()}


def write(name, obj, sd, **kwargs):
    torch.save(obj, os.path.join(OUT, name + ".pt"), **kwargs)
    if sd is not None:
        with open(os.path.join(OUT, name + ".expected.json"), "w") as f:
            json.dump(expected(sd), f)


def flat():
    g = torch.Generator().manual_seed(17)
    sd = collections.OrderedDict()
    special = torch.tensor([0.0, -0.0, float("inf"), -float("inf"), float("nan"), 1e-40, 65504.0, -3.25])
    for dtype in [torch.float32, torch.float64, torch.float16, torch.bfloat16]:
        sd["float." + str(dtype).replace("torch.", "")] = torch.cat([torch.randn(6, generator=g), special]).to(dtype).reshape(2, 7)
    for dtype, lo, hi in [(torch.int64, -2**62, 2**62), (torch.int32, -2**31, 2**31 - 1), (torch.int16, -2**15, 2**15 - 1),
                          (torch.int8, -128, 127), (torch.uint8, 0, 255)]:
        sd["int." + str(dtype).replace("torch.", "")] = torch.randint(lo, hi, (3, 4), generator=g, dtype=dtype)
    sd["bool"] = torch.randn(5, generator=g) > 0
    sd["view.transposed"] = torch.randn(3, 5, generator=g, dtype=torch.float64).t()          # stride (1, 5)
    grid = torch.arange(40, dtype=torch.int32).reshape(5, 8)
    sd["view.sliced"] = grid[1:, 1::3]                                                      # offset 9, stride (8, 3)
    sd["view.expanded"] = torch.tensor([1.5, -2.0], dtype=torch.bfloat16).expand(3, 2)    # stride (0, 1)
    sd["view.permuted"] = torch.randn(2, 3, 4, generator=g).permute(2, 0, 1)
    base = torch.randn(12, generator=g, dtype=torch.float16)
    sd["shared.whole"] = base.view(3, 4)
    sd["shared.middle"] = base[4:10]                                                        # same storage, offset 4
    sd["scalar.f64"] = torch.tensor(2.718281828459045, dtype=torch.float64)
    sd["scalar.i64"] = torch.tensor(-7)
    sd["empty.f32"] = torch.zeros(0, 4)
    sd["empty.bool"] = torch.zeros(3, 0, dtype=torch.bool)
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    return sd


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3, 4)
        self.norm = torch.nn.BatchNorm1d(4)   # num_batches_tracked: an int64 0-d tensor
        self.blocks = torch.nn.ModuleList([torch.nn.Linear(4, 4) for _ in range(2)])


def nested():
    torch.manual_seed(3)
    model, ema = Net(), Net()
    ema.load_state_dict(model.state_dict())
    with torch.no_grad():
        for p in ema.parameters():
            p.mul_(0.5)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.proj(torch.randn(2, 3)).sum().backward()
    opt.step()
    sd = ema.state_dict()   # carries _metadata (an OrderedDict attribute, pickled with BUILD)
    checkpoint = {"model": model.state_dict(), "ema": sd, "opt": opt.state_dict(),
                  "args": {"model": "DiT-S/8", "lr": 1e-4, "image_size": 32, "cfg": None, "tags": ["a", "b"], "betas": (0.9, 0.999)},
                  "step": 1200, "train": {"ema": sd}}
    write("nested", checkpoint, sd)


class Evil:
    """Pickles as a call of `function(*args)`; torch.save only writes the call down."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def evil():
    touch = "touch " + MARKER
    write("evil_os_system", {"w": torch.ones(2), "x": Evil(os.system, touch)}, None)
    write("evil_eval", {"x": Evil(builtins.eval, f"__import__('os').system({touch!r})")}, None)
    write("evil_popen", {"x": Evil(subprocess.Popen, ["touch", MARKER])}, None)
    write("evil_stack_global", {"x": Evil(os.system, touch)}, None, pickle_protocol=4)
    write("module", torch.nn.Linear(2, 2), None)


class FakeStorage:
    pass


def extent():
    """A hand-made archive: a view of 4 × 3 with stride 3 at offset 2 over a storage of 12 floats (reaches 13)."""
    storage = FakeStorage()
    view = Evil(torch._utils._rebuild_tensor_v2, storage, 2, (4, 3), (3, 1), False, collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", 12) if obj is storage else None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump({"w": view})
    with zipfile.ZipFile(os.path.join(OUT, "extent.pt"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("extent/data.pkl", buffer.getvalue())
        z.writestr("extent/data/0", torch.arange(12, dtype=torch.float32).numpy().tobytes())
        z.writestr("extent/version", "3\n")


sd = flat()
write("flat", sd, sd)
write("flat_p4", sd, sd, pickle_protocol=4)
write("legacy", sd, None, _use_new_zipfile_serialization=False)
nested()
evil()
extent()
