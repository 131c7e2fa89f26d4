#!/usr/bin/env bash
# The devnet containers' entrypoint (deploy/docker/docker-compose.yml); in the image as
# /usr/local/bin/devnet-node.sh.
#
#   devnet-node.sh init     aetherctl cluster init into $DEVNET_DIR unless genesis.json exists
#   devnet-node.sh run      write $DEVNET_DIR/node-$NODE_INDEX/config.toml, exec the validator
#   devnet-node.sh health   exit 0 when the local node answers getHealth "ok"
#
# Environment:
#   DEVNET_DIR           the shared volume (default: /devnet)
#   DEVNET_VALIDATORS    validators created by init (default: 4)
#   NODE_INDEX           this node's index (run)
#   ENTRYPOINT_HOST      node 0's service name (default: node-0); resolved to an address
#                        because the config takes socket addresses
#   CLUSTER_PORT         cluster listen port in every container (default: 8100)
#   RPC_PORT             JSON-RPC port in every container (default: 8899)
#   BIND_ADDRESS         address every socket binds to (default: this container's IPv4
#                        address). Not 0.0.0.0: the node advertises its bound cluster and
#                        TPU addresses to its peers through gossip, and 0.0.0.0 would send
#                        them to themselves. Published ports reach it all the same.
set -euo pipefail

DEVNET_DIR=${DEVNET_DIR:-/devnet}
DEVNET_VALIDATORS=${DEVNET_VALIDATORS:-4}
ENTRYPOINT_HOST=${ENTRYPOINT_HOST:-node-0}
CLUSTER_PORT=${CLUSTER_PORT:-8100}
RPC_PORT=${RPC_PORT:-8899}
# Seconds to wait for the entrypoint's name to resolve (node-0 may start later).
RESOLVE_TIMEOUT=60

die() {
    echo "devnet-node: error: $*" >&2
    exit 1
}

init() {
    if [ -f "$DEVNET_DIR/genesis.json" ]; then
        echo "devnet-node: $DEVNET_DIR/genesis.json exists; keeping the existing cluster"
        return
    fi
    exec aetherctl cluster init --validators "$DEVNET_VALIDATORS" --out "$DEVNET_DIR"
}

# An IPv4 address of host $1, waiting for it to resolve.
resolve() {
    local address deadline=$((SECONDS + RESOLVE_TIMEOUT))
    while true; do
        address=$(getent ahostsv4 "$1" | awk 'NR == 1 { print $1 }' || true)
        if [ -n "$address" ]; then
            echo "$address"
            return
        fi
        [ "$SECONDS" -lt "$deadline" ] || die "cannot resolve $1 after ${RESOLVE_TIMEOUT}s"
        sleep 1
    done
}

# The address the node binds to (and advertises).
bind_address() {
    if [ -n "${BIND_ADDRESS:-}" ]; then
        echo "$BIND_ADDRESS"
    else
        resolve "$HOSTNAME"
    fi
}

run() {
    [[ ${NODE_INDEX:-} =~ ^[0-9]+$ ]] || die "NODE_INDEX must be set to the node's index"
    local node_dir="$DEVNET_DIR/node-$NODE_INDEX" entrypoints address
    address=$(bind_address)
    [ -f "$DEVNET_DIR/genesis.json" ] || die "$DEVNET_DIR/genesis.json missing (the init service did not run)"
    [ -d "$node_dir" ] || die "$node_dir missing (genesis has fewer validators?)"
    if [ "$NODE_INDEX" -eq 0 ]; then
        entrypoints="[]"
    else
        entrypoints="[\"$(resolve "$ENTRYPOINT_HOST"):$CLUSTER_PORT\"]"
    fi
    cat >"$node_dir/config.toml" <<TOML
# Written by devnet-node.sh at every container start; edits are overwritten.

[node]
ledger = "$node_dir/ledger"
keys = "$node_dir"
faucet = false

[network]
tpu = "$address:8003"
rpc = "$address:$RPC_PORT"
metrics = "$address:9898"

[cluster]
genesis = "$DEVNET_DIR/genesis.json"
listen = "$address:$CLUSTER_PORT"
entrypoints = $entrypoints
TOML
    echo "devnet-node: node-$NODE_INDEX on $address, entrypoints $entrypoints"
    exec aether-validator run --config "$node_dir/config.toml"
}

health() {
    curl --silent --fail --max-time 2 -H 'Content-Type: application/json' \
        -d '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' "http://$(bind_address):$RPC_PORT" \
        | grep -Eq '"result"[[:space:]]*:[[:space:]]*"ok"'
}

case "${1:-}" in
    init) init ;;
    run) run ;;
    health) health ;;
    *) die "usage: devnet-node.sh init | run | health" ;;
esac
