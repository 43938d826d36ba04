#!/usr/bin/env python3
"""Runs each benchmark case in Diffusion (C#) and in PyTorch, alternating, and prints the ratio C#/PyTorch.

Every measurement is a fresh process running one case (so peak RSS is the case's own). Rounds alternate
C#, PyTorch on 1 thread, PyTorch on 2 threads, so drifts in machine load hit all sides alike; each side's
time is its median over the rounds. PyTorch gets its best thread count for the case; our side runs with
its defaults (the thread policy chooses). Run with Debian's python3-torch:

    /usr/bin/python3 bench/side_by_side.py [--rounds 3] [--case NAME ...] [--markdown] [--tuned-malloc] [--precision bf16 [--paired]]

With --tuned-malloc PyTorch also runs with glibc's mmap and trim thresholds raised (through glibc's
MALLOC_*_THRESHOLD_ variables), so that it too reuses freed buffers as our caching allocator does, to show what
is left of our lead once PyTorch stops page-faulting its activations.

With --precision bf16 our side runs mixed precision (`diffusion bench --precision bf16`, README, Precision) on the
image cases, beside our own float32, PyTorch float32 and PyTorch with the whole model cast to bfloat16 (where that
runs); the ratio is ours in bf16 over PyTorch float32 at its best thread count, and GFLOP/s is measured against the
bfloat16 matmul peak (a 2048³ torch.mm of bfloat16 tensors, oneDNN's AVX512-BF16 kernel).

With --precision bf16 --paired the run is only the issue's target: ours in bf16 against PyTorch float32 on two threads
with tuned malloc (its best side in every run so far), alternating, one pair per round; each round's ratio is taken
within the pair, and the median of those ratios is reported. On a VM whose speed drifts by 20-50 % over minutes, a
ratio of two runs a minute apart is steadier than a ratio of two medians gathered over half an hour.

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
IMAGE_CASES = ["unet28_train_b64", "dit28_train_b64", "unet3d32_train_b2", "ddpm_cifar10_fwd_b8"]
CLI = os.path.join(ROOT, "src", "Diffusion.Cli", "bin", "Release", "net10.0", "diffusion.dll")
REFERENCE = os.path.join(ROOT, "bench", "pytorch_reference.py")


# glibc thresholds that keep freed buffers in the process (our shim sets them for its small buffers and caches its
# large ones itself, native/src/allocator.cpp), handed to PyTorch through glibc's own environment tunables: by default
# PyTorch maps and page-faults its larger activations afresh at every op.
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def run_json(command, env=None):
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT, env=env).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def ours(case, precision="fp32"):
    return run_json(["dotnet", CLI, "bench", "--case", case, "--precision", precision, "--json"])


def pytorch(case, threads, tuned_malloc=False, bf16_model=False):
    env = {**os.environ, **TUNED_MALLOC} if tuned_malloc else None
    return run_json([sys.executable, REFERENCE, "--case", case, "--threads", str(threads), "--json"]
                    + (["--bf16-model"] if bf16_model else []), env)


def bf16_matmul_gflops(threads):
    """The bfloat16 matrix-multiply peak: a 2048³ torch.mm of bfloat16 tensors (oneDNN, AVX512-BF16), best of 5."""
    code = (
        "import time, torch; torch.set_num_threads(%d); n = 2048\n"
        "a, b = torch.randn(n, n).bfloat16(), torch.randn(n, n).bfloat16()\n"
        "a @ b\n"
        "print(2 * n ** 3 / min((lambda s: (a @ b, time.perf_counter() - s)[1])(time.perf_counter()) for _ in range(5)) / 1e9)" % threads)
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()[0])


def main_bf16(args):
    """Ours in bf16 and fp32, PyTorch fp32 and PyTorch with the model cast to bf16, alternating per round."""
    peak = {n: bf16_matmul_gflops(n) for n in (1, 2)}
    print("  " + "; ".join(f"2048³ bf16 matmul on {n} thread{'s' if n > 1 else ''}: {g:.0f} GFLOP/s" for n, g in peak.items()),
          file=sys.stderr)
    sides = ["bf16", "fp32", (1, False), (2, False), (1, True), (2, True)] if args.tuned_malloc else ["bf16", "fp32", (1, False), (2, False)]
    sides += [("bf16-model", 1), ("bf16-model", 2)]
    rows = []
    for case in [c for c in args.case if c in IMAGE_CASES]:
        runs = {side: [] for side in sides}
        for r in range(args.rounds):
            for side in sides:
                if side in ("bf16", "fp32"):
                    result = ours(case, side)
                elif side[0] == "bf16-model":
                    result = pytorch(case, side[1], bf16_model=True)
                else:
                    result = pytorch(case, *side)
                runs[side].append(result)
                time_text = "fails: " + result["error"] if "error" in result else f"{result['seconds_per_step'] * 1e3:.3f} ms/step"
                print(f"  round {r + 1} {case} {side}: {time_text}", file=sys.stderr, flush=True)
        median = {side: statistics.median(x["seconds_per_step"] for x in results) if all("error" not in x for x in results) else None
                  for side, results in runs.items()}
        fp32_best = min(median[s] for s in sides if isinstance(s, tuple) and s[0] != "bf16-model")
        fp32_default = min(median[(1, False)], median[(2, False)])  # PyTorch as it runs out of the box
        cast = [median[s] for s in sides if isinstance(s, tuple) and s[0] == "bf16-model" and median[s] is not None]
        threads = runs["bf16"][0]["threads"]
        gflops = 2 * runs["bf16"][0]["macs_per_step"] / median["bf16"] / 1e9
        rows.append({
            "case": case, "ours_bf16_ms": median["bf16"] * 1e3, "ours_threads": threads, "ours_fp32_ms": median["fp32"] * 1e3,
            "pytorch_fp32_best_ms": fp32_best * 1e3, "ratio_bf16_vs_pytorch_fp32": median["bf16"] / fp32_best,
            "pytorch_fp32_default_ms": fp32_default * 1e3, "ratio_bf16_vs_pytorch_fp32_default": median["bf16"] / fp32_default,
            "ratio_bf16_vs_ours_fp32": median["bf16"] / median["fp32"],
            "pytorch_bf16_model_ms": min(cast) * 1e3 if cast else None,
            "pytorch_bf16_model_error": None if cast else runs[("bf16-model", 1)][0].get("error"),
            "ours_bf16_gflops": gflops, "bf16_peak_gflops": peak[threads],
            "ours_bf16_peak_rss_mib": max(x["peak_rss_mib"] for x in runs["bf16"]),
            "ours_fp32_peak_rss_mib": max(x["peak_rss_mib"] for x in runs["fp32"]),
        })
    header = ["case", "Diffusion bf16 ms/step (threads)", "Diffusion fp32", "PyTorch fp32 default malloc", "ratio bf16 / it",
              "PyTorch fp32 best" + (" (incl. tuned malloc)" if args.tuned_malloc else ""), "ratio bf16 / PyTorch fp32", "ratio bf16 / our fp32", "PyTorch model cast to bf16",
              "Diffusion bf16 GFLOP/s (% of bf16 matmul peak)", "peak RSS bf16 / fp32 (MiB)"]
    lines = [[r["case"], f"{r['ours_bf16_ms']:.2f} ({r['ours_threads']})", f"{r['ours_fp32_ms']:.2f}", f"{r['pytorch_fp32_default_ms']:.2f}",
              f"{r['ratio_bf16_vs_pytorch_fp32_default']:.2f}", f"{r['pytorch_fp32_best_ms']:.2f}",
              f"{r['ratio_bf16_vs_pytorch_fp32']:.2f}", f"{r['ratio_bf16_vs_ours_fp32']:.2f}",
              f"{r['pytorch_bf16_model_ms']:.2f}" if r["pytorch_bf16_model_ms"] is not None else f"fails ({r['pytorch_bf16_model_error']})",
              f"{r['ours_bf16_gflops']:.1f} ({100 * r['ours_bf16_gflops'] / r['bf16_peak_gflops']:.0f}%)",
              f"{r['ours_bf16_peak_rss_mib']:.0f} / {r['ours_fp32_peak_rss_mib']:.0f}"] for r in rows]
    print_table(header, lines, args.markdown)
    print("; ".join(f"2048³ bf16 matmul on {n} thread{'s' if n > 1 else ''}: {g:.0f} GFLOP/s" for n, g in peak.items()))
    for r in rows:
        print(json.dumps(r))


def main_bf16_paired(args):
    """Ours in bf16 against PyTorch fp32 (two threads, tuned malloc), one pair per round; the median of per-pair ratios."""
    pytorch_side = (2, True)
    lines, rows = [], []
    for case in [c for c in args.case if c in IMAGE_CASES]:
        pairs = []
        for r in range(args.rounds):
            mine, theirs = ours(case, "bf16"), pytorch(case, *pytorch_side)
            pairs.append((mine["seconds_per_step"], theirs["seconds_per_step"]))
            print(f"  round {r + 1} {case}: bf16 {pairs[-1][0] * 1e3:.1f} ms, PyTorch fp32 {pairs[-1][1] * 1e3:.1f} ms, "
                  f"ratio {pairs[-1][0] / pairs[-1][1]:.3f}", file=sys.stderr, flush=True)
        ratios = [m / t for m, t in pairs]
        rows.append({"case": case, "rounds": len(pairs), "ours_bf16_ms": [m * 1e3 for m, _ in pairs],
                     "pytorch_fp32_2t_tuned_ms": [t * 1e3 for _, t in pairs], "paired_ratios": ratios,
                     "median_ratio": statistics.median(ratios)})
        lines.append([case, " / ".join(f"{m * 1e3:.0f}" for m, _ in pairs), " / ".join(f"{t * 1e3:.0f}" for _, t in pairs),
                      " / ".join(f"{x:.2f}" for x in ratios), f"{statistics.median(ratios):.2f}"])
    print_table(["case", "Diffusion bf16 ms/step, each round", "PyTorch fp32 (2 threads, tuned malloc), each round",
                 "ratio within each round", "median ratio"], lines, args.markdown)
    for r in rows:
        print(json.dumps(r))


def print_table(header, lines, markdown):
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(header)]
        for line in [header] + lines:
            print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))


def matmul_gflops(threads):
    """The machine's single-precision matrix-multiply rate: a 2048³ product, best of 5, in a fresh process, from both
    GEMMs libtorch carries here — torch.mm (the system BLAS, OpenBLAS) and oneDNN's sgemm (what our linear layers run)."""
    code = (
        "import ctypes, time, torch; torch.set_num_threads(%d); n = 2048\n"
        "a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)\n"
        "f = ctypes.CDLL('libdnnl.so.2').dnnl_sgemm\n"
        "f.argtypes = [ctypes.c_char, ctypes.c_char] + [ctypes.c_int64] * 3 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int64,"
        " ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, ctypes.c_void_p, ctypes.c_int64]\n"
        "onednn = lambda: f(b'N', b'N', n, n, n, 1.0, a.data_ptr(), n, b.data_ptr(), n, 0.0, c.data_ptr(), n)\n"
        "def best(fn):\n"
        "    fn(); return 2 * n ** 3 / min((lambda s: (fn(), time.perf_counter() - s)[1])(time.perf_counter()) for _ in range(5)) / 1e9\n"
        "print(best(lambda: a @ b), best(onednn))" % threads)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    return {"openblas": float(out[0]), "onednn": float(out[1])}


def describe(rates):
    return "; ".join(f"2048³ sgemm on {n} thread{'s' if n > 1 else ''}: OpenBLAS (torch.mm) {r['openblas']:.0f} GFLOP/s, "
                     f"oneDNN {r['onednn']:.0f} GFLOP/s" for n, r in rates.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", nargs="*", default=CASES, choices=CASES)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--tuned-malloc", action="store_true",
                        help="also run PyTorch with our glibc malloc settings and report that ratio too")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="bf16: our mixed precision on the image cases, beside PyTorch fp32 and PyTorch cast to bf16")
    parser.add_argument("--paired", action="store_true",
                        help="with --precision bf16: only ours in bf16 against PyTorch fp32 (2 threads, tuned malloc), "
                             "the median of per-round ratios")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["dotnet", "build", "-c", "Release", "-nologo", "-v", "quiet", "-clp:ErrorsOnly",
                        os.path.join(ROOT, "src", "Diffusion.Cli")], check=True)
    if args.paired and args.precision != "bf16":
        parser.error("--paired compares bf16 runs: add --precision bf16")
    if args.precision == "bf16":
        return main_bf16_paired(args) if args.paired else main_bf16(args)

    rates = {n: matmul_gflops(n) for n in (1, 2)}
    peak = {n: max(r.values()) for n, r in rates.items()}
    print(f"  {describe(rates)}", file=sys.stderr)
    # "ours", then PyTorch as (threads, tuned malloc)
    sides = ["ours", (1, False), (2, False)] + ([(1, True), (2, True)] if args.tuned_malloc else [])
    rows = []
    for case in args.case:
        runs = {side: [] for side in sides}
        for r in range(args.rounds):
            for side in sides:
                result = ours(case) if side == "ours" else pytorch(case, *side)
                runs[side].append(result)
                name = "diffusion" if side == "ours" else f"pytorch/{side[0]}t{' tuned malloc' if side[1] else ''}"
                print(f"  round {r + 1} {case} {name}: {result['seconds_per_step'] * 1e3:.3f} ms/step", file=sys.stderr, flush=True)
        median = {side: statistics.median(x["seconds_per_step"] for x in results) for side, results in runs.items()}
        best = 1 if median[(1, False)] <= median[(2, False)] else 2
        row = {
            "case": case,
            "ours_ms": median["ours"] * 1e3,
            "ours_threads": runs["ours"][0]["threads"],
            "pytorch_1t_ms": median[(1, False)] * 1e3,
            "pytorch_2t_ms": median[(2, False)] * 1e3,
            "pytorch_best_threads": best,
            "ratio": median["ours"] / median[(best, False)],
            "ours_gflops": 2 * runs["ours"][0]["macs_per_step"] / median["ours"] / 1e9,
            "ours_peak_rss_mib": max(x["peak_rss_mib"] for x in runs["ours"]),
            "pytorch_peak_rss_mib": max(x["peak_rss_mib"] for x in runs[(best, False)]),
        }
        if args.tuned_malloc:
            tuned = min(median[(1, True)], median[(2, True)])
            row.update(pytorch_tuned_ms=tuned * 1e3, ratio_tuned=median["ours"] / tuned)
        rows.append(row)

    header = ["case", "Diffusion ms/step (threads)", "PyTorch 1 thread", "PyTorch 2 threads", "ratio C#/PyTorch best",
              "Diffusion GFLOP/s (% of sgemm peak)", "peak RSS C# / PyTorch (MiB)"]
    lines = [[r["case"], f"{r['ours_ms']:.2f} ({r['ours_threads']})", f"{r['pytorch_1t_ms']:.2f}",
              f"{r['pytorch_2t_ms']:.2f}", f"{r['ratio']:.2f}",
              f"{r['ours_gflops']:.1f} ({100 * r['ours_gflops'] / peak[r['ours_threads']]:.0f}%)",
              f"{r['ours_peak_rss_mib']:.0f} / {r['pytorch_peak_rss_mib']:.0f}"] for r in rows]
    if args.tuned_malloc:
        header[5:5] = ["PyTorch best, tuned malloc", "ratio vs tuned"]
        for line, r in zip(lines, rows):
            line[5:5] = [f"{r['pytorch_tuned_ms']:.2f}", f"{r['ratio_tuned']:.2f}"]
    print_table(header, lines, args.markdown)
    print(describe(rates))
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
