#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   ./bootstrap.sh demo   install what is missing, build, run the main job (diffusion demo)
#   ./bootstrap.sh test   install what is missing, build, run every test project, print "N passed, N failed, N skipped"
#   ./bootstrap.sh bench  install what is missing, build, run the benchmark cases side by side with PyTorch
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-demo}
case "$mode" in demo | test | bench) ;; *) echo "usage: $0 demo|test|bench" >&2; exit 2 ;; esac

# ---- prerequisites ----
if ! command -v dotnet >/dev/null 2>&1 || ! dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
  cat >&2 <<'MSG'
The .NET 10 SDK is required and was not found. Install it, then run this again:
  wget https://dot.net/v1/dotnet-install.sh && bash dotnet-install.sh --channel 10.0 && export PATH="$HOME/.dotnet:$PATH"
(or: https://learn.microsoft.com/dotnet/core/install/linux-debian)
MSG
  exit 1
fi

# OpenBLAS (OpenMP build, so it follows torch.set_num_threads): Debian's libtorch calls whichever BLAS the system
# selects, and the reference BLAS it otherwise gets is ~15× slower for matrix multiplies.
# libgloo-dev: the gloo headers the process groups (torch.distributed, train --nproc) are compiled against.
# libdnnl-dev: oneDNN's headers, for the bf16 channels-last convolutions the shim runs on the oneDNN libtorch loads.
packages=(libtorch-dev libgloo-dev libdnnl-dev libopenblas0-openmp g++ cmake dataset-fashion-mnist)
# Debian's python3-torch (the same libtorch) makes the PyTorch reference fixtures and runs interop tests.
# bench/pytorch_reference.py runs the benchmark cases on it. python3 itself (named, not left to python3-torch's
# dependencies) checks the PNG writer with its zlib. The tests that need these or dataset-fashion-mnist are skipped
# with the reason where they are missing, so CI must have them all for those tests to run.
[ "$mode" != demo ] && packages+=(python3 python3-torch)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- build (the native shim is built by dotnet build through CMake) ----
dotnet build Diffusion.sln -c Release -nologo -v quiet -clp:ErrorsOnly

if [ "$mode" = demo ]; then
  exec dotnet src/Diffusion.Cli/bin/Release/net10.0/diffusion.dll demo
fi
if [ "$mode" = bench ]; then
  exec /usr/bin/python3 bench/side_by_side.py --no-build --markdown --tuned-malloc
fi

# ---- tests: every project, then one summed line ----
log=$(mktemp)
status=0
dotnet test Diffusion.sln -c Release --no-build -nologo 2>&1 | tee "$log" || status=$?
awk '
  /(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+/ {
    gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
  }
  END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit $status
