#!/usr/bin/env bash
# The GPU check, run on a machine with an NVIDIA GPU and driver but no Rust toolchain:
# the CUDA correctness tests on every vector and 40,000 random signatures, then
# the sigverify throughput probe (aether-bench sigverify's measurement) for cpu and cuda at batches of 1k, 8k and 64k, and a table.
# Finishes in about two minutes (hard limits below keep it under eight).
#
#   kernels/device-check.sh [BUNDLE_DIR]     (default: kernels/device-bundle)
#
# The bundle comes from kernels/make-device-bundle.sh (`make device-bundle`). Logs and
# the table also go to $OUT when that variable names a directory.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bundle=$(cd "${1:-$here/device-bundle}" && pwd) || { echo "no bundle; run make device-bundle" >&2; exit 2; }
log=${OUT:-/tmp}/device-check.log
: >"$log"
say() { echo "$@" | tee -a "$log"; }

export AETHER_CUDA=1 AETHER_VECTORS_DIR="$bundle/vectors"
say "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$log"
say "host: $(nproc) cores"

say "== CUDA correctness (every vector, 40,000 random signatures, batch sizes 1..20,000)"
timeout 300 "$bundle/cuda_backend" --include-ignored --test-threads=1 --nocapture 2>&1 | tee -a "$log"
tests_status=${PIPESTATUS[0]}
say "correctness exit status: $tests_status"

say "== throughput"
results=$bundle/results.jsonl
: >"$results"
for batch in 1024 8192 65536; do
  for backend in cpu cuda; do
    if line=$(timeout 60 "$bundle/sigverify_bench" --backend "$backend" --batch "$batch" --seconds 3 --json 2>>"$log"); then
      say "$line"
      echo "$line" >>"$results"
    else
      say "{\"backend\": \"$backend\", \"batch\": $batch, \"error\": \"failed, see log\"}"
    fi
  done
done

say "== chunk size (signatures per launch; default 16384), cuda at batch 65536"
for chunk in 4096 32768 65536; do
  say "chunk $chunk: $(AETHER_CUDA_CHUNK=$chunk timeout 60 "$bundle/sigverify_bench" --backend cuda --batch 65536 --seconds 2 --json 2>&1)"
done

say "== host share alone (SHA-512 + packing on $(nproc) cores), batch 65536"
AETHER_BENCH_HOST_PREPARE=1 timeout 60 "$bundle/sigverify_bench" --backend cpu --batch 65536 --seconds 1 2>&1 | tee -a "$log"

python3 - "$results" <<'PY' | tee -a "$log"
import json, sys
rows = {}
for line in open(sys.argv[1]):
    record = json.loads(line)
    rows.setdefault(record["batch"], {})[record["backend"]] = record["verifies_per_s"]
print("| batch | cpu verifies/s | cuda verifies/s | cuda / cpu |")
print("|---:|---:|---:|---:|")
for batch in sorted(rows):
    cpu, cuda = rows[batch].get("cpu"), rows[batch].get("cuda")
    ratio = f"{cuda / cpu:.1f}x" if cpu and cuda else "-"
    fmt = lambda value: f"{value:,.0f}" if value else "failed"
    print(f"| {batch:,} | {fmt(cpu)} | {fmt(cuda)} | {ratio} |")
PY
[ "$tests_status" = 0 ] || { say "CUDA CORRECTNESS TESTS FAILED"; exit 1; }
