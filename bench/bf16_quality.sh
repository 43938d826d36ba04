#!/usr/bin/env bash
# Issue 14's quality targets: a model trained in fp32 and in bf16 with the same three seeds, alternating; each run's mean
# loss over its last 100 steps, then samples drawn in the run's own precision and scored. Prints a markdown table, the
# bf16/fp32 ratio of the mean losses and the means of the sample metric.
#   unet28 (default): Fashion-MNIST, VP, batch 64, 500 steps; 500 samples with DPM-Solver++(2M), log-SNR, 10 steps,
#     scored by ImageStats and FD-FMNIST.
#   mlp-seed: moons, VP, batch 512, 8000 steps (the README's moons quality recipe); 10,000 Euler–Maruyama samples in
#     500 steps, scored by the sliced Wasserstein distance to fresh points.
#   bench/bf16_quality.sh [unet28|mlp-seed] [OUT_DIR]
set -euo pipefail
model=${1:-unet28}
case "$model" in
  unet28)
    train_args=(--model unet28 --data fashion-mnist --sde vp --batch 64 --lr 5e-4 --warmup 100 --steps 500)
    sample_args=(--sampler dpmpp-2m --grid logsnr --steps 10 --n 500) ;;
  mlp-seed)
    train_args=(--model mlp-seed --data moons --steps 8000 --batch 512)
    sample_args=(--sampler em --steps 500 --n 10000) ;;
  *) echo "usage: $0 [unet28|mlp-seed] [OUT_DIR]" >&2; exit 2 ;;
esac
out=${2:-runs/bf16-quality-$model}
cli=${DIFFUSION_CLI:-"dotnet $(dirname "$0")/../src/Diffusion.Cli/bin/Release/net10.0/diffusion.dll"}  # DIFFUSION_CLI: a copied build, so the tree can be rebuilt meanwhile
mkdir -p "$out"
rows="$out/rows.jsonl"
: > "$rows"
for seed in 0 1 2; do
  for precision in fp32 bf16; do
    run="$out/$precision-$seed"
    rm -rf "$run"
    train=$($cli train "${train_args[@]}" --checkpoint-every 0 --seed "$seed" --precision "$precision" --out "$run" --json | tail -1)
    sample=$($cli sample --checkpoint "$run" "${sample_args[@]}" --seed 0 --metrics --json | tail -1)
    echo "{\"precision\":\"$precision\",\"seed\":$seed,\"train\":$train,\"sample\":$sample}" | tee -a "$rows" | cut -c1-160
  done
done
/usr/bin/python3 - "$rows" <<'PY'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
images = rows[0]["sample"].get("fd_fmnist") is not None
metrics = [("pixel mean RMSE", "pixel_mean_rmse", 4), ("pixel std RMSE", "pixel_std_rmse", 4), ("FD-FMNIST (N = 500)", "fd_fmnist", 1)] \
    if images else [("SWD (10,000 samples)", "swd", 4)]
print("| precision | seed | mean loss (last 100 steps) | s/step | " + " | ".join(m[0] for m in metrics) + " |")
print("|---|---|---|---|" + "---|" * len(metrics))
for r in rows:
    t, s = r["train"], r["sample"]
    cells = " | ".join(f"{s[key]:.{digits}f}" for _, key, digits in metrics)
    print(f"| {r['precision']} | {r['seed']} | {t['mean_loss']:.5f} | {t['seconds'] / t['steps']:.4f} | {cells} |")
mean = {p: st.mean(r["train"]["mean_loss"] for r in rows if r["precision"] == p) for p in ("fp32", "bf16")}
_, key, digits = metrics[-1]
score = {p: st.mean(r["sample"][key] for r in rows if r["precision"] == p) for p in ("fp32", "bf16")}
print(f"\nmean loss fp32 {mean['fp32']:.5f}, bf16 {mean['bf16']:.5f}: bf16/fp32 = {mean['bf16'] / mean['fp32']:.4f}; "
      f"mean {key} fp32 {score['fp32']:.{digits}f}, bf16 {score['bf16']:.{digits}f}: bf16/fp32 = {score['bf16'] / score['fp32']:.4f}")
PY
