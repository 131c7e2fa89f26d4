#!/usr/bin/env bash
# A local multi-validator devnet on loopback, in .devnet/ at the repository root.
#
#   scripts/devnet.sh [start]   build (release), create keys and genesis if absent, write
#                               each node's config.toml, start every node that is not
#                               running, wait until all answer getHealth "ok"
#   scripts/devnet.sh stop      SIGTERM every recorded node, SIGKILL after
#                               DEVNET_STOP_TIMEOUT s; keeps .devnet/ unless DEVNET_RESET=1
#
# Layout (node i = 0..N-1; N comes from genesis.json once it exists):
#
#   .devnet/genesis.json, faucet.json    `aetherctl cluster init` (never overwritten)
#   .devnet/node-<i>/                    node i's keys; config.toml, node.log, ledger/
#   .devnet/cluster.json                 {"nodes": [{name, pid, rpc, tpu, metrics, ledger}]}
#
#   port (node i)             tpu (udp)    rpc         metrics     cluster listen (udp)
#                             8003 + 10i   8899 + 10i  9898 + 10i  8100 + 10i
#
# Environment:
#   AETHER_BIN_DIR       directory with aether-validator and aetherctl; when set nothing
#                        is built (default: cargo build --release into
#                        ${CARGO_TARGET_DIR:-target}/release)
#   CARGO                cargo command (default: cargo)
#   DEVNET_VALIDATORS    validators created by the first start (default: 4)
#   DEVNET_PORT_OFFSET   added to every port above (default: 0)
#   DEVNET_TIMEOUT       seconds to wait for every node's getHealth (default: 60)
#   DEVNET_STOP_TIMEOUT  seconds to wait after SIGTERM before SIGKILL (default: 10)
#   DEVNET_RESET=1       with stop: delete .devnet/ (keys, genesis, ledgers) afterwards
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DEVNET_DIR="$ROOT/.devnet"
CLUSTER_JSON="$DEVNET_DIR/cluster.json"
GENESIS="$DEVNET_DIR/genesis.json"

DEVNET_VALIDATORS=${DEVNET_VALIDATORS:-4}
DEVNET_PORT_OFFSET=${DEVNET_PORT_OFFSET:-0}
DEVNET_TIMEOUT=${DEVNET_TIMEOUT:-60}
DEVNET_STOP_TIMEOUT=${DEVNET_STOP_TIMEOUT:-10}
# Lines of a failing node's log shown when the devnet does not come up.
LOG_TAIL_LINES=40

die() {
    echo "devnet: error: $*" >&2
    exit 1
}

say() {
    echo "devnet: $*"
}

is_uint() {
    [[ $1 =~ ^[0-9]+$ ]]
}

for setting in DEVNET_VALIDATORS DEVNET_PORT_OFFSET DEVNET_TIMEOUT DEVNET_STOP_TIMEOUT; do
    is_uint "${!setting}" || die "$setting must be a non-negative integer (got '${!setting}')"
done
[ "$DEVNET_VALIDATORS" -ge 1 ] || die "DEVNET_VALIDATORS must be at least 1"
command -v python3 >/dev/null || die "python3 is required (JSON handling)"

# ---- ports and addresses of node i ----
tpu_port() { echo $((8003 + 10 * $1 + DEVNET_PORT_OFFSET)); }
rpc_port() { echo $((8899 + 10 * $1 + DEVNET_PORT_OFFSET)); }
metrics_port() { echo $((9898 + 10 * $1 + DEVNET_PORT_OFFSET)); }
listen_port() { echo $((8100 + 10 * $1 + DEVNET_PORT_OFFSET)); }
rpc_url() { echo "http://127.0.0.1:$(rpc_port "$1")"; }

# ---- processes ----

# True when pid $1 is a live aether-validator (not a zombie, not a reused pid).
node_alive() {
    local pid=$1 cmdline
    is_uint "$pid" && [ "$pid" -gt 0 ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [ -r "/proc/$pid/cmdline" ]; then
        # A zombie's cmdline is empty; a reused pid runs something else.
        cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
        [[ $cmdline == *aether-validator* ]] || return 1
    fi
    return 0
}

# Prints "name pid" per node recorded in cluster.json (nothing when it is absent).
recorded_nodes() {
    [ -f "$CLUSTER_JSON" ] || return 0
    python3 - "$CLUSTER_JSON" <<'PY'
import json, sys
try:
    with open(sys.argv[1]) as file:
        nodes = json.load(file)["nodes"]
    for node in nodes:
        print(node["name"], int(node["pid"]))
except (OSError, ValueError, KeyError, TypeError) as error:
    sys.exit(f"devnet: error: {sys.argv[1]} is not a devnet cluster file ({error}); delete it if no devnet node is running")
PY
}

# The recorded pid of node $1 (empty when none).
recorded_pid() {
    recorded_nodes | awk -v name="$1" '$1 == name { print $2 }'
}

# ---- JSON-RPC ----

# Prints the JSON-RPC result of method $2 at URL $1 as compact JSON; fails when the
# node does not answer or answers with an error.
rpc_call() {
    local response
    response=$(curl --silent --show-error --fail --max-time 2 \
        -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\"}" "$1" 2>/dev/null) || return 1
    python3 -c '
import json, sys
reply = json.loads(sys.argv[1])
if "result" not in reply:
    sys.exit(1)
print(json.dumps(reply["result"]))
' "$response" 2>/dev/null
}

healthy() {
    [ "$(rpc_call "$1" getHealth || true)" = '"ok"' ]
}

# ---- start ----

build() {
    if [ -n "${AETHER_BIN_DIR:-}" ]; then
        BIN_DIR=$AETHER_BIN_DIR
    else
        local target_dir=${CARGO_TARGET_DIR:-$ROOT/target}
        [[ $target_dir == /* ]] || target_dir="$ROOT/$target_dir"
        say "building release binaries"
        (cd "$ROOT" && ${CARGO:-cargo} build --release -p aether-validator -p aetherctl)
        BIN_DIR="$target_dir/release"
    fi
    for binary in aether-validator aetherctl; do
        [ -x "$BIN_DIR/$binary" ] || die "$BIN_DIR/$binary not found (build it, or set AETHER_BIN_DIR)"
    done
}

init_cluster() {
    if [ -f "$GENESIS" ]; then
        say "using existing keys and genesis in $DEVNET_DIR"
        return
    fi
    say "creating $DEVNET_VALIDATORS validator key sets, faucet and genesis in $DEVNET_DIR"
    "$BIN_DIR/aetherctl" cluster init --validators "$DEVNET_VALIDATORS" --out "$DEVNET_DIR" \
        || die "aetherctl cluster init failed; if a previous init was interrupted, remove $DEVNET_DIR (DEVNET_RESET=1 make devnet-stop)"
}

# The number of validators in genesis.json.
validator_count() {
    python3 -c '
import json, sys
with open(sys.argv[1]) as file:
    print(len(json.load(file)["validators"]))
' "$GENESIS" || die "cannot read the validator list of $GENESIS"
}

# A TOML basic string; paths with quotes, backslashes or control characters are refused
# rather than escaped.
toml_string() {
    [[ $1 != *[\"\\[:cntrl:]]* ]] || die "unsupported character in path: $1"
    printf '"%s"' "$1"
}

write_config() {
    local index=$1 node_dir="$DEVNET_DIR/node-$1" entrypoints
    [ -d "$node_dir" ] || die "$node_dir is missing (genesis lists node-$index)"
    if [ "$index" -eq 0 ]; then
        entrypoints="[]"
    else
        entrypoints="[\"127.0.0.1:$(listen_port 0)\"]"
    fi
    cat >"$node_dir/config.toml.tmp" <<EOF
# Written by scripts/devnet.sh on every start; edits are overwritten.

[node]
ledger = $(toml_string "$node_dir/ledger")
keys = $(toml_string "$node_dir")
# requestAirdrop from the genesis faucet (a devnet: the faucet key is a local file).
faucet = true
faucet_keypair = $(toml_string "$DEVNET_DIR/faucet.json")

[network]
tpu = "127.0.0.1:$(tpu_port "$index")"
rpc = "127.0.0.1:$(rpc_port "$index")"
metrics = "127.0.0.1:$(metrics_port "$index")"

[cluster]
genesis = $(toml_string "$GENESIS")
listen = "127.0.0.1:$(listen_port "$index")"
entrypoints = $entrypoints
EOF
    mv "$node_dir/config.toml.tmp" "$node_dir/config.toml"
}

# Starts node $1 detached from this shell; prints its pid.
start_node() {
    local index=$1 node_dir="$DEVNET_DIR/node-$1"
    echo "==== $(date -u +%Y-%m-%dT%H:%M:%SZ) devnet start: $BIN_DIR/aether-validator run --config $node_dir/config.toml" \
        >>"$node_dir/node.log"
    # A background job of a non-interactive shell is not a process-group leader, so
    # setsid execs in place and $! is the validator's own pid.
    setsid nohup "$BIN_DIR/aether-validator" run --config "$node_dir/config.toml" \
        </dev/null >>"$node_dir/node.log" 2>&1 &
    echo $!
}

# Writes cluster.json (atomically); argument i is node i's pid.
write_cluster_json() {
    python3 -c '
import json, os, sys
path, devnet_dir, offset, pids = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
nodes = [
    {
        "name": f"node-{index}",
        "pid": int(pid),
        "rpc": f"http://127.0.0.1:{8899 + 10 * index + offset}",
        "tpu": f"127.0.0.1:{8003 + 10 * index + offset}",
        "metrics": f"http://127.0.0.1:{9898 + 10 * index + offset}/metrics",
        "ledger": os.path.join(devnet_dir, f"node-{index}", "ledger"),
    }
    for index, pid in enumerate(pids)
]
with open(path + ".tmp", "w") as file:
    json.dump({"nodes": nodes}, file, indent=2)
    file.write("\n")
os.replace(path + ".tmp", path)
' "$CLUSTER_JSON" "$DEVNET_DIR" "$DEVNET_PORT_OFFSET" "$@"
}

# The last lines of node $1's log from its latest start (the log is appended to).
print_log_tail() {
    local log="$DEVNET_DIR/node-$1/node.log" start
    echo "---- node-$1: $log (latest start, at most $LOG_TAIL_LINES lines) ----" >&2
    if [ ! -f "$log" ]; then
        echo "(no log)" >&2
        return
    fi
    start=$(grep -n '^==== .* devnet start: ' "$log" | tail -n 1 | cut -d: -f1 || true)
    tail -n "+${start:-1}" "$log" | tail -n "$LOG_TAIL_LINES" >&2
}

# Waits until every node answers getHealth "ok"; on timeout or a node's exit, prints
# the failing nodes' logs and fails.
wait_healthy() {
    local count=$1 deadline=$((SECONDS + DEVNET_TIMEOUT)) index pending
    say "waiting up to ${DEVNET_TIMEOUT}s for $count nodes to answer getHealth"
    while true; do
        pending=()
        for ((index = 0; index < count; index++)); do
            healthy "$(rpc_url "$index")" && continue
            if ! node_alive "${PIDS[index]}"; then
                say "node-$index (pid ${PIDS[index]}) exited" >&2
                print_log_tail "$index"
                die "devnet did not come up; stop the rest with: make devnet-stop"
            fi
            pending+=("$index")
        done
        [ "${#pending[@]}" -eq 0 ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            for index in "${pending[@]}"; do
                say "node-$index: no healthy answer at $(rpc_url "$index") after ${DEVNET_TIMEOUT}s" >&2
                print_log_tail "$index"
            done
            die "devnet did not come up within ${DEVNET_TIMEOUT}s (DEVNET_TIMEOUT); nodes left running for inspection: make status, make devnet-stop"
        fi
        sleep 1
    done
}

start() {
    command -v curl >/dev/null || die "curl is required (getHealth)"
    command -v setsid >/dev/null || die "setsid is required (util-linux)"

    # Already running: every recorded pid alive.
    local name pid total=0 alive=0
    recorded_nodes >/dev/null || exit 1
    while read -r name pid; do
        total=$((total + 1))
        node_alive "$pid" && alive=$((alive + 1))
    done < <(recorded_nodes)
    if [ "$total" -gt 0 ] && [ "$alive" -eq "$total" ]; then
        say "already running ($total nodes, $CLUSTER_JSON); make status shows them, make devnet-stop stops them"
        return 0
    fi

    build
    mkdir -p "$DEVNET_DIR"
    init_cluster
    local count index
    count=$(validator_count)
    PIDS=()
    for ((index = 0; index < count; index++)); do
        write_config "$index"
        pid=$(recorded_pid "node-$index")
        if [ -n "$pid" ] && node_alive "$pid"; then
            say "node-$index already running (pid $pid)"
            PIDS[index]=$pid
            continue
        fi
        # Something else on the RPC port would answer getHealth for this node.
        if curl --silent --max-time 1 -o /dev/null "$(rpc_url "$index")"; then
            die "$(rpc_url "$index") already answers, but not from a recorded devnet node (a stray validator?)"
        fi
        PIDS[index]=$(start_node "$index")
        say "started node-$index (pid ${PIDS[index]}): rpc $(rpc_url "$index"), log $DEVNET_DIR/node-$index/node.log"
    done
    write_cluster_json "${PIDS[@]}"
    wait_healthy "$count"
    say "devnet up: $count validators ($CLUSTER_JSON); make status, make devnet-stop"
}

# ---- stop ----

stop() {
    local name pid names=() pids=() index poll failed=0 signalled=0
    recorded_nodes >/dev/null || exit 1
    while read -r name pid; do
        names+=("$name")
        pids+=("$pid")
    done < <(recorded_nodes)
    if [ "${#pids[@]}" -eq 0 ]; then
        say "no devnet recorded ($CLUSTER_JSON absent); nothing to stop"
    fi
    for index in "${!pids[@]}"; do
        if node_alive "${pids[index]}"; then
            kill -TERM "${pids[index]}" 2>/dev/null || true
            signalled=$((signalled + 1))
            say "${names[index]}: SIGTERM sent to pid ${pids[index]}"
        else
            say "${names[index]}: pid ${pids[index]} not running"
        fi
    done
    for index in "${!pids[@]}"; do
        pid=${pids[index]}
        # Polls every 0.2 s: DEVNET_STOP_TIMEOUT s after SIGTERM, then 5 s after SIGKILL.
        for ((poll = 0; poll < DEVNET_STOP_TIMEOUT * 5; poll++)); do
            node_alive "$pid" || break
            sleep 0.2
        done
        node_alive "$pid" || continue
        say "${names[index]}: still running after ${DEVNET_STOP_TIMEOUT}s; SIGKILL to pid $pid"
        kill -KILL "$pid" 2>/dev/null || true
        for ((poll = 0; poll < 25; poll++)); do
            node_alive "$pid" || break
            sleep 0.2
        done
        if node_alive "$pid"; then
            say "${names[index]}: pid $pid survived SIGKILL" >&2
            failed=1
        fi
    done
    [ "$failed" -eq 0 ] || die "some nodes could not be stopped; $DEVNET_DIR kept"
    if [ "${DEVNET_RESET:-0}" = 1 ]; then
        rm -rf -- "$DEVNET_DIR"
        say "stopped; deleted $DEVNET_DIR (keys, genesis, ledgers)"
    elif [ "${#pids[@]}" -gt 0 ]; then
        say "stopped $signalled running node(s); $DEVNET_DIR kept (make devnet resumes the same chain; DEVNET_RESET=1 make devnet-stop deletes it)"
    fi
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    -h | --help | help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" ;;
    *) die "unknown command '$1' (start | stop)" ;;
esac
