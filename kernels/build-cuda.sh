#!/usr/bin/env bash
# Compiles every kernels/cuda/*.cu to PTX (ISA 9.0, target sm_90) and an sm_90 cubin,
# written next to the source. The outputs are committed: the CUDA backend embeds them,
# so neither CI nor the GPU machine needs a compiler to run it.
#
#   kernels/build-cuda.sh [OUTPUT_DIR]    (default: kernels/cuda)
#
# nvcc: $NVCC, else the venv that kernels/setup-nvcc.sh creates, else nvcc on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/cuda}
nvcc=${NVCC:-$("$here/setup-nvcc.sh" --path-only 2>/dev/null || command -v nvcc || true)}
if [ -z "$nvcc" ] || [ ! -x "$nvcc" ]; then
  echo "build-cuda.sh: no nvcc (run kernels/setup-nvcc.sh or set NVCC)" >&2
  exit 2
fi
mkdir -p "$out"
for source in "$here"/cuda/*.cu; do
  name=$(basename "$source" .cu)
  "$nvcc" -arch=sm_90 -O3 -ptx "$source" -o "$out/$name.ptx"
  "$nvcc" -arch=sm_90 -O3 -cubin "$source" -o "$out/$name.cubin"
  echo "built $out/$name.ptx and $out/$name.cubin"
done
