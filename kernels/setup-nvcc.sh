#!/usr/bin/env bash
# Installs NVIDIA's nvcc from PyPI into kernels/.venv-cuda (git-ignored) and prints its
# path. Quick when already installed (no network). Pinned to CUDA 13.0: the lent GPU
# machines run driver 580 (CUDA 13.0), which rejects PTX from newer compilers.
#
#   kernels/setup-nvcc.sh             install if needed, print the nvcc path
#   kernels/setup-nvcc.sh --path-only print the path if installed, else fail
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${AETHER_NVCC_VENV:-$here/.venv-cuda}
find_nvcc() { compgen -G "$venv/lib/python3*/site-packages/nvidia/cu13/bin/nvcc" | head -n 1; }
if nvcc=$(find_nvcc) && [ -n "$nvcc" ]; then
  echo "$nvcc"
  exit 0
fi
if [ "${1:-}" = "--path-only" ]; then
  exit 1
fi
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  "nvidia-cuda-nvcc==13.0.*" "nvidia-nvvm==13.0.*" "nvidia-cuda-crt==13.0.*" \
  "nvidia-cuda-runtime==13.0.*" >&2
nvcc=$(find_nvcc)
[ -n "$nvcc" ] || { echo "setup-nvcc.sh: nvcc missing after install" >&2; exit 1; }
echo "$nvcc"
