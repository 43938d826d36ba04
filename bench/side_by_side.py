#!/usr/bin/env python3
"""Runs each benchmark case in Diffusion (C#) and in PyTorch, alternating, and prints the ratio C#/PyTorch.

Every measurement is a fresh process running one case (so peak RSS is the case's own). Rounds alternate
C#, PyTorch on 1 thread, PyTorch on 2 threads, so drifts in machine load hit all sides alike; each side's
time is its median over the rounds. PyTorch gets its best thread count for the case; our side runs with
its defaults (the thread policy chooses). Run with Debian's python3-torch:

    /usr/bin/python3 bench/side_by_side.py [--rounds 3] [--case NAME ...] [--markdown]

Builds the CLI first (dotnet build -c Release) unless --no-build is given.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = ["mlp2d_train_b1024", "unet28_train_b64", "dit28_train_b64", "unet3d32_train_b2",
         "ddpm_cifar10_fwd_b8", "mlp2d_sample_em_n10000"]
CLI = os.path.join(ROOT, "src", "Diffusion.Cli", "bin", "Release", "net10.0", "diffusion.dll")
REFERENCE = os.path.join(ROOT, "bench", "pytorch_reference.py")


def run_json(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def ours(case):
    return run_json(["dotnet", CLI, "bench", "--case", case, "--json"])


def pytorch(case, threads):
    return run_json([sys.executable, REFERENCE, "--case", case, "--threads", str(threads), "--json"])


def matmul_gflops(threads):
    """The machine's single-precision matrix-multiply rate: a 2048³ torch.mm (OpenBLAS), best of 5, in a fresh process."""
    code = (
        "import time, torch; torch.set_num_threads(%d); a = torch.randn(2048, 2048); b = torch.randn(2048, 2048); a @ b\n"
        "best = min((lambda s: (a @ b, time.perf_counter() - s)[1])(time.perf_counter()) for _ in range(5))\n"
        "print(2 * 2048 ** 3 / best / 1e9)" % threads)
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", nargs="*", default=CASES, choices=CASES)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["dotnet", "build", "-c", "Release", "-nologo", "-v", "quiet", "-clp:ErrorsOnly",
                        os.path.join(ROOT, "src", "Diffusion.Cli")], check=True)

    peak = {n: matmul_gflops(n) for n in (1, 2)}
    print(f"  matmul peak (2048³ sgemm): {peak[1]:.1f} GFLOP/s on 1 thread, {peak[2]:.1f} on 2", file=sys.stderr)
    rows = []
    for case in args.case:
        runs = {"ours": [], 1: [], 2: []}
        for r in range(args.rounds):
            for side in ("ours", 1, 2):
                result = ours(case) if side == "ours" else pytorch(case, side)
                runs[side].append(result)
                print(f"  round {r + 1} {case} {'diffusion' if side == 'ours' else f'pytorch/{side}t'}: "
                      f"{result['seconds_per_step'] * 1e3:.3f} ms/step", file=sys.stderr, flush=True)
        median = {side: statistics.median(x["seconds_per_step"] for x in results) for side, results in runs.items()}
        best = 1 if median[1] <= median[2] else 2
        rows.append({
            "case": case,
            "ours_ms": median["ours"] * 1e3,
            "ours_threads": runs["ours"][0]["threads"],
            "pytorch_1t_ms": median[1] * 1e3,
            "pytorch_2t_ms": median[2] * 1e3,
            "pytorch_best_threads": best,
            "ratio": median["ours"] / median[best],
            "ours_gflops": 2 * runs["ours"][0]["macs_per_step"] / median["ours"] / 1e9,
            "ours_peak_rss_mib": max(x["peak_rss_mib"] for x in runs["ours"]),
            "pytorch_peak_rss_mib": max(x["peak_rss_mib"] for x in runs[best]),
        })

    header = ["case", "Diffusion ms/step (threads)", "PyTorch 1 thread", "PyTorch 2 threads", "ratio C#/PyTorch best",
              "Diffusion GFLOP/s (% of matmul peak)", "peak RSS C# / PyTorch (MiB)"]
    lines = [[r["case"], f"{r['ours_ms']:.2f} ({r['ours_threads']})", f"{r['pytorch_1t_ms']:.2f}",
              f"{r['pytorch_2t_ms']:.2f}", f"{r['ratio']:.2f}",
              f"{r['ours_gflops']:.1f} ({100 * r['ours_gflops'] / peak[r['ours_threads']]:.0f}%)",
              f"{r['ours_peak_rss_mib']:.0f} / {r['pytorch_peak_rss_mib']:.0f}"] for r in rows]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(header)]
        for line in [header] + lines:
            print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))
    print(f"matmul peak (2048³ sgemm): {peak[1]:.1f} GFLOP/s on 1 thread, {peak[2]:.1f} GFLOP/s on 2")
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
