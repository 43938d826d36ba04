#!/usr/bin/env bash
# Issue 14's quality target: unet28 on Fashion-MNIST (VP, batch 64, 500 steps) trained in fp32 and in bf16 with the
# same three seeds, alternating; each run's mean loss over its last 100 steps, then 500 samples (DPM-Solver++(2M),
# log-SNR, 10 steps, sampled in the run's own precision) scored by ImageStats and FD-FMNIST. Prints a markdown table
# and the bf16/fp32 ratio of the mean losses.
#   bench/bf16_quality.sh [OUT_DIR]
set -euo pipefail
out=${1:-runs/bf16-quality}
cli=${DIFFUSION_CLI:-"dotnet $(dirname "$0")/../src/Diffusion.Cli/bin/Release/net10.0/diffusion.dll"}  # DIFFUSION_CLI: a copied build, so the tree can be rebuilt meanwhile
mkdir -p "$out"
rows="$out/rows.jsonl"
: > "$rows"
for seed in 0 1 2; do
  for precision in fp32 bf16; do
    run="$out/$precision-$seed"
    rm -rf "$run"
    train=$($cli train --model unet28 --data fashion-mnist --sde vp --batch 64 --lr 5e-4 --warmup 100 --steps 500 \
      --checkpoint-every 0 --seed "$seed" --precision "$precision" --out "$run" --json | tail -1)
    sample=$($cli sample --checkpoint "$run" --sampler dpmpp-2m --grid logsnr --steps 10 --n 500 --seed 0 --metrics --json | tail -1)
    echo "{\"precision\":\"$precision\",\"seed\":$seed,\"train\":$train,\"sample\":$sample}" | tee -a "$rows" | cut -c1-160
  done
done
/usr/bin/python3 - "$rows" <<'PY'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| precision | seed | mean loss (last 100 steps) | s/step | pixel mean RMSE | pixel std RMSE | FD-FMNIST (N = 500) |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    t, s = r["train"], r["sample"]
    print(f"| {r['precision']} | {r['seed']} | {t['mean_loss']:.5f} | {t['seconds'] / t['steps']:.3f} | {s['pixel_mean_rmse']:.4f} | {s['pixel_std_rmse']:.4f} | {s['fd_fmnist']:.1f} |")
mean = {p: st.mean(r["train"]["mean_loss"] for r in rows if r["precision"] == p) for p in ("fp32", "bf16")}
fd = {p: st.mean(r["sample"]["fd_fmnist"] for r in rows if r["precision"] == p) for p in ("fp32", "bf16")}
print(f"\nmean loss fp32 {mean['fp32']:.5f}, bf16 {mean['bf16']:.5f}: bf16/fp32 = {mean['bf16'] / mean['fp32']:.4f}; mean FD fp32 {fd['fp32']:.1f}, bf16 {fd['bf16']:.1f}")
PY
