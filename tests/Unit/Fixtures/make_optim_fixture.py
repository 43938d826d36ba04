"""Writes optim_fixture.json: PyTorch 1.13 optimizer trajectories that OptimizerFixtureTests replay.

Run with Debian's python (torch 1.13): /usr/bin/python3 tests/Unit/Fixtures/make_optim_fixture.py

Each case runs STEPS steps on two small float32 params with fixed gradients (seeded randn, so
they do not depend on the params). Param "b" gets no gradient on step 3 (index 2): PyTorch then
skips it, and its own step count (Adam's bias correction) falls one behind param "a"'s.
foreach=False pins PyTorch's single-tensor path, the one the shim mirrors.
"""
import json
import os

import torch

STEPS = 5
SKIP_B_AT = 2

CASES = {
    "sgd": (torch.optim.SGD, dict(lr=0.1)),
    "sgd_momentum": (torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    "sgd_dampening_wd": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.1)),
    "sgd_nesterov_wd": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "sgd_maximize": (torch.optim.SGD, dict(lr=0.1, momentum=0.5, maximize=True)),
    "adam": (torch.optim.Adam, dict(lr=0.01)),
    "adam_wd_betas": (torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    "adam_amsgrad_wd": (torch.optim.Adam, dict(lr=0.02, weight_decay=0.05, amsgrad=True)),
    "adam_maximize": (torch.optim.Adam, dict(lr=0.01, maximize=True)),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    "adamw_amsgrad": (torch.optim.AdamW, dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
}


def values(t):
    return [float(v) for v in t.detach().flatten().tolist()]


def run(cls, kwargs):
    gen = torch.Generator().manual_seed(1234)
    a = torch.randn(3, 4, generator=gen).requires_grad_()
    b = torch.randn(5, generator=gen).requires_grad_()
    params = {"a": a, "b": b}
    initial = {k: values(p) for k, p in params.items()}
    opt = cls([a, b], foreach=False, **kwargs)
    steps = []
    for step in range(STEPS):
        grads = {}
        for name, p in params.items():
            if name == "b" and step == SKIP_B_AT:
                p.grad = None
                continue
            g = torch.randn(p.shape, generator=gen) * (1 + step)
            p.grad = g
            grads[name] = values(g)
        opt.step()
        steps.append({"grads": grads, "params": {k: values(p) for k, p in params.items()}})
    return {
        "optimizer": cls.__name__,
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
        "shapes": {k: list(p.shape) for k, p in params.items()},
        "initial": initial,
        "steps": steps,
    }


def main():
    out = {"torch": torch.__version__, "cases": {name: run(cls, kw) for name, (cls, kw) in CASES.items()}}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_fixture.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {path} ({len(CASES)} cases, torch {torch.__version__})")


if __name__ == "__main__":
    main()
