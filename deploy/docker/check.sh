#!/usr/bin/env bash
# Checks the container devnet without Docker (CI machines have no registry to pull the
# base images from):
#
# 1. The Dockerfile copies every workspace member's top-level directory (a member it
#    misses breaks the image build), and docker-compose.yml runs node-0 .. node-3 with
#    the same published ports as `make devnet` (a contract tools rely on).
# 2. The containers' entrypoint, deploy/docker/devnet-node.sh, brings up a working
#    4-validator cluster: `init` once, then `run` per node exactly as the compose file
#    starts it — every node on its own address (127.0.0.11 .. 127.0.0.14 here, a
#    container address there) with the container ports, node 0 found by name
#    resolution — until `health` answers on every node and every node finalizes blocks.
#
#   deploy/docker/check.sh BIN_DIR    (BIN_DIR holds aether-validator and aetherctl)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN_DIR=${1:?usage: deploy/docker/check.sh BIN_DIR}
VALIDATORS=4
FINAL_SLOT_WANTED=4
WAIT_SECONDS=90

say() { echo "docker-check: $*"; }
fail() {
    echo "docker-check: FAILED: $*" >&2
    exit 1
}

# ---- 1. static ----
members=$(python3 - "$ROOT/Cargo.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
block = re.search(r"members\s*=\s*\[(.*?)\]", text, re.S).group(1)
print("\n".join(sorted({m.split("/")[0] for m in re.findall(r'"([^"]+)"', block)})))
PY
)
for top in $members; do
    grep -Eq "^COPY +$top(/| )" "$HERE/Dockerfile" \
        || fail "the Dockerfile does not copy workspace member directory '$top'"
done
compose="$HERE/docker-compose.yml"
for index in $(seq 0 $((VALIDATORS - 1))); do
    service=$(awk -v name="  node-$index:" '$0 == name { found = 1; next } found && /^  [^ ]/ { exit } found' "$compose")
    [ -n "$service" ] || fail "docker-compose.yml has no service node-$index"
    grep -q "NODE_INDEX: \"$index\"" <<<"$service" || fail "node-$index does not set NODE_INDEX $index"
    for port in "$((8003 + 10 * index)):8003/udp" "$((8899 + 10 * index)):8899" "$((9898 + 10 * index)):9898"; do
        grep -q "\"127.0.0.1:$port\"" <<<"$service" || fail "node-$index does not publish 127.0.0.1:$port"
    done
done
say "Dockerfile copies every workspace member ($(echo $members | wc -w)); compose publishes the devnet ports"

# ---- 2. the entrypoint ----
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
export PATH="$BIN_DIR:$PATH"
export DEVNET_DIR="$work/devnet" DEVNET_VALIDATORS=$VALIDATORS
address() { echo "127.0.0.$((11 + $1))"; }

"$HERE/devnet-node.sh" init >"$work/init.log" 2>&1 || fail "init: $(cat "$work/init.log")"
"$HERE/devnet-node.sh" init >>"$work/init.log" 2>&1
grep -q "keeping the existing cluster" "$work/init.log" || fail "a second init did not keep the cluster"
for index in $(seq 0 $((VALIDATORS - 1))); do
    NODE_INDEX=$index BIND_ADDRESS=$(address "$index") ENTRYPOINT_HOST=$(address 0) \
        RUST_LOG=warn "$HERE/devnet-node.sh" run >"$work/node-$index.log" 2>&1 &
    pids+=($!)
done

finalized() {
    curl --silent --max-time 2 -H 'Content-Type: application/json' \
        -d '{"jsonrpc":"2.0","id":1,"method":"getSlot","params":[{"commitment":"finalized"}]}' \
        "http://$(address "$1"):8899" | python3 -c 'import json, sys; print(json.load(sys.stdin)["result"])' 2>/dev/null \
        || echo 0
}

deadline=$((SECONDS + WAIT_SECONDS))
while true; do
    ready=0
    for index in $(seq 0 $((VALIDATORS - 1))); do
        kill -0 "${pids[$index]}" 2>/dev/null || fail "node-$index exited: $(tail -5 "$work/node-$index.log")"
        if BIND_ADDRESS=$(address "$index") "$HERE/devnet-node.sh" health \
            && [ "$(finalized "$index")" -ge "$FINAL_SLOT_WANTED" ]; then
            ready=$((ready + 1))
        fi
    done
    [ "$ready" -eq "$VALIDATORS" ] && break
    [ "$SECONDS" -lt "$deadline" ] || {
        for index in $(seq 0 $((VALIDATORS - 1))); do
            echo "--- node-$index (finalized $(finalized "$index"))" >&2
            tail -5 "$work/node-$index.log" >&2
        done
        fail "not every node was healthy with finalized slot >= $FINAL_SLOT_WANTED within ${WAIT_SECONDS}s"
    }
    sleep 1
done
grep -q "entrypoints \[\"$(address 0):8100\"\]" "$work/node-1.log" \
    || fail "node-1 did not take node-0's resolved address as its entrypoint"
say "the entrypoint ran $VALIDATORS validators on their own addresses; all healthy and finalizing (slot >= $FINAL_SLOT_WANTED)"
