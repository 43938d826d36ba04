#!/usr/bin/env python3
"""Data-parallel training on one machine: 1 process x 2 threads against 2 processes x 1 thread (diffusion train --nproc 2).

For each training case it runs `diffusion train --json` both ways, alternating (so that whatever else the machine does
hits both alike), and prints steps/s, the threads each process used, the time rank 0 spent in the gradient all-reduce
per step, and the all-reduce's algorithmic bandwidth on loopback (ring: 2(N-1)/N x gradient bytes per step). Then the
projection of README "Data-parallel training": the ring all-reduce time per step of ddpm-cifar10 and dit-b-2 on N
machines at 10 and 100 Gb/s. Not a timed test: numbers on a shared machine are only comparable side by side.

  python3 bench/data_parallel.py [--reps 2] [--cases mlp,unet28,dit28,unet3d32] [--no-build]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "src", "Diffusion.Cli", "bin", "Release", "net10.0", "diffusion.dll")
# name: (model, data, global batch, steps) - the bench cases' models and batches (BenchmarkCase.cs), fewer steps.
CASES = {
    "mlp": ("mlp-seed", "moons", 1024, 300),
    "unet28": ("unet28", "fashion-mnist", 64, 12),
    "dit28": ("dit28", "fashion-mnist", 64, 12),
    "unet3d32": ("unet3d32", "phantom3d", 2, 12),
}
# Trainable parameters (tests/Snapshot summaries): float32 gradients all-reduced every step.
PROJECTED = {"ddpm-cifar10": 35_746_307, "dit-b-2": 130_512_416}


def train(model, data, batch, steps, nproc):
    out = tempfile.mkdtemp(prefix="ddp-bench-")
    try:
        args = ["dotnet", CLI, "train", "--model", model, "--data", data, "--batch", str(batch), "--steps", str(steps),
                "--checkpoint-every", "0", "--out", os.path.join(out, "run"), "--json"]
        env = dict(os.environ)
        if nproc > 1:
            args += ["--nproc", str(nproc)]
        else:
            env["DOTNET_PROCESSOR_COUNT"] = "2"
        run = subprocess.run(args, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"{' '.join(args)} failed:\n{run.stdout}\n{run.stderr}")
        line = [l for l in run.stdout.splitlines() if l.rstrip().endswith("}") and "{" in l][-1]
        return json.loads(line[line.index("{"):])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def ring_seconds(nbytes, n, gbit):
    return 2 * (n - 1) / n * nbytes / (gbit * 1e9 / 8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["dotnet", "build", os.path.join(ROOT, "src", "Diffusion.Cli"), "-c", "Release", "-nologo", "-v", "quiet"], check=True)
    print("| case | processes x threads | steps/s | all-reduce ms/step | loopback bus bandwidth |")
    print("|---|---|---|---|---|")
    bandwidths = []
    for name in a.cases.split(","):
        model, data, batch, steps = CASES[name]
        results = {1: [], 2: []}
        for _ in range(a.reps):
            for nproc in (1, 2):
                results[nproc].append(train(model, data, batch, steps, nproc))
        for nproc in (1, 2):
            rs = results[nproc]
            rate = sorted(r["steps"] / r["seconds"] for r in rs)
            reduce_ms = [1000 * r["allreduce_seconds"] / r["steps"] for r in rs]
            cell = "–"
            if nproc > 1:
                per_step = min(r["allreduce_seconds"] / r["steps"] for r in rs)
                bw = 2 * (nproc - 1) / nproc * rs[0]["gradient_bytes"] / per_step
                bandwidths.append(bw)
                cell = f"{bw / 1e9:.2f} GB/s ({rs[0]['gradient_bytes'] / 1e6:.1f} MB/step)"
            print(f"| {name} (batch {batch}) | {nproc} x {rs[0]['threads']} | {' / '.join(f'{x:.1f}' for x in rate)} | "
                  f"{' / '.join(f'{x:.1f}' for x in reduce_ms)} | {cell} |")
    print()
    print("Ring all-reduce of float32 gradients, 2(N-1)/N x bytes at the link rate (s/step):")
    print("| model | gradient MB | N | 10 Gb/s | 100 Gb/s |")
    print("|---|---|---|---|---|")
    for model, params in PROJECTED.items():
        for n in (2, 8, 64):
            nbytes = 4 * params
            print(f"| {model} | {nbytes / 1e6:.0f} | {n} | {ring_seconds(nbytes, n, 10):.3f} | {ring_seconds(nbytes, n, 100):.4f} |")


if __name__ == "__main__":
    main()
