#!/usr/bin/env bash
# One row per devnet node recorded in .devnet/cluster.json (written by scripts/devnet.sh):
# name, whether its pid is alive, and from JSON-RPC getStatus its slot, finalized slot,
# peers and last vote round ("-" where getStatus has no such field). A node that does
# not answer says so in its row.
#
# Exits 0 when every node answered, 1 otherwise (or when no devnet is recorded).
# DEVNET_RPC_TIMEOUT: seconds to wait for each node's answer (default: 2).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
CLUSTER_JSON="$ROOT/.devnet/cluster.json"
DEVNET_RPC_TIMEOUT=${DEVNET_RPC_TIMEOUT:-2}

command -v python3 >/dev/null || { echo "devnet-status: error: python3 is required" >&2; exit 1; }
if [ ! -f "$CLUSTER_JSON" ]; then
    echo "devnet-status: no devnet recorded ($CLUSTER_JSON absent); start one with: make devnet" >&2
    exit 1
fi

exec python3 - "$CLUSTER_JSON" "$DEVNET_RPC_TIMEOUT" <<'PY'
import json
import os
import sys
import urllib.error
import urllib.request

path, timeout = sys.argv[1], float(sys.argv[2])


def alive(pid):
    """A live aether-validator: not a zombie and not a reused pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return b"aether-validator" in file.read()
    except OSError:
        return True  # no /proc: kill -0 is all we can tell


def get_status(url):
    """getStatus's result (a dict), or raises with a short reason."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getStatus"}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.load(response)
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"HTTP {error.code}") from error
    except urllib.error.URLError as error:
        raise RuntimeError(str(getattr(error.reason, "strerror", None) or error.reason)) from error
    except (OSError, ValueError) as error:  # timeouts, resets, bad JSON
        raise RuntimeError(str(error) or type(error).__name__) from error
    if not isinstance(reply, dict):
        raise RuntimeError("not a JSON-RPC reply")
    if "error" in reply:
        message = reply["error"].get("message", "") if isinstance(reply["error"], dict) else ""
        raise RuntimeError(f"RPC error: {message}")
    result = reply.get("result")
    if not isinstance(result, dict):
        raise RuntimeError("getStatus result is not an object")
    return result


try:
    with open(path) as file:
        nodes = json.load(file)["nodes"]
except (OSError, ValueError, KeyError, TypeError) as error:
    sys.exit(f"devnet-status: error: {path} is not a devnet cluster file: {error}")

FIELDS = ("slot", "finalized_slot", "peers", "last_vote_round")
header = ("node", "pid", "alive", "slot", "finalized", "peers", "last_vote", "rpc")
rows = []
answered = 0
for node in nodes:
    name, pid, url = node.get("name", "?"), node.get("pid"), node.get("rpc", "")
    is_alive = isinstance(pid, int) and pid > 0 and alive(pid)
    try:
        status = get_status(url)
    except RuntimeError as error:
        cells = ["-"] * len(FIELDS)
        note = f"{url}: not answering ({error})"
    else:
        answered += 1
        cells = ["-" if status.get(field) is None else str(status[field]) for field in FIELDS]
        note = url
    rows.append((str(name), str(pid), "yes" if is_alive else "no", *cells, note))

widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header) - 1)]
numeric = {1, 3, 4, 5, 6}
for row in [header, *rows]:
    cells = [
        cell.rjust(width) if column in numeric else cell.ljust(width)
        for column, (cell, width) in enumerate(zip(row, widths))
    ]
    print("  ".join(cells + [row[-1]]))

sys.exit(0 if nodes and answered == len(nodes) else 1)
PY
