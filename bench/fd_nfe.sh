#!/usr/bin/env bash
# FD-FMNIST against NFE for one Fashion-MNIST checkpoint (README, "FD-FMNIST vs NFE"): every sampler at a few step
# counts, N samples each from the same seed, one `diffusion sample --metrics --json` line per run appended to OUT,
# then the plot and the markdown table. Runs already in OUT (same sampler, grid and steps) are skipped, so an
# interrupted study resumes.
#   bench/fd_nfe.sh CHECKPOINT [N] [OUT.jsonl] [PNG]
set -euo pipefail
checkpoint=${1:?usage: bench/fd_nfe.sh CHECKPOINT [N] [OUT.jsonl] [PNG]}
n=${2:-500}
out=${3:-fd-nfe.jsonl}
png=${4:-docs/fd-fmnist-nfe.png}
cli="dotnet $(dirname "$0")/../src/Diffusion.Cli/bin/Release/net10.0/diffusion.dll"
touch "$out"
# sampler grid steps: EM (the reverse SDE), DDIM (= euler on the uniform-t grid), DPM-Solver++(2M) on log-SNR, EDM Heun on Karras.
runs=(
  "euler uniform 10" "dpmpp-2m logsnr 10" "edm-heun karras 5"
  "euler uniform 20" "dpmpp-2m logsnr 20" "edm-heun karras 10"
  "euler uniform 50" "dpmpp-2m logsnr 50" "edm-heun karras 18"
  "em - 50" "em - 100" "em - 200" "em - 500"
)
for run in "${runs[@]}"; do
  set -- $run
  sampler=$1 grid=$2 steps=$3
  key="\"sampler\":\"$sampler\",\"grid\":$([ "$grid" = - ] && echo null || echo "\"$grid\""),\"steps\":$steps,"
  if grep -qF "$key" "$out"; then echo "have $sampler $grid $steps"; continue; fi
  args=(sample --checkpoint "$checkpoint" --sampler "$sampler" --steps "$steps" --n "$n" --batch 250 --seed 0 --metrics --json)
  [ "$grid" = - ] || args+=(--grid "$grid")
  $cli "${args[@]}" | tail -1 >> "$out"
  tail -1 "$out" | cut -c1-160
done
$cli classifier plot-nfe "$out" --out "$png"
