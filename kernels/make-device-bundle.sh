#!/usr/bin/env bash
# Builds what kernels/device-check.sh runs on a GPU machine that has no Rust toolchain:
# the CUDA test executable and the sigverify throughput probe (examples/sigverify_bench.rs,
# `aether-bench sigverify`'s measurement without aether-bench's node dependencies, which
# take many minutes to build) in release, stripped; the shipped PTX and
# cubin, the Ed25519 vectors and the script, into kernels/device-bundle (git-ignored,
# well under the 64 MiB a device call may carry).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bundle=$here/device-bundle
cargo=${CARGO:-cargo}
cd "$root"
"$cargo" build --release -p aether-kernels --example sigverify_bench
test_binary=$("$cargo" test --release -p aether-kernels --test cuda_backend --no-run --message-format=json \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "cuda_backend":
        print(m["executable"])')
target_dir=$("$cargo" metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
rm -rf "$bundle"
mkdir -p "$bundle/vectors"
cp "$test_binary" "$bundle/cuda_backend"
cp "$target_dir/release/examples/sigverify_bench" "$bundle/sigverify_bench"
strip "$bundle/cuda_backend" "$bundle/sigverify_bench"
cp "$here"/cuda/*.ptx "$here"/cuda/*.cubin "$here/device-check.sh" "$bundle/"
cp "$root"/../shared/vectors/ed25519/* "$bundle/vectors/"
du -sh "$bundle"
