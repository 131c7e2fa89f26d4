#!/usr/bin/env bash
# Differential test of `aetherctl crypto` against libsodium, py_ecc, ckzg and a Python
# ECVRF reference. Usage: tests/differential/run.sh [--count N] [--seed N] [--aetherctl PATH] [-v]
#
# Installs the pinned reference packages into .venv/ at the repository root (created with
# `python3 -m venv`; pip runs only when requirements.txt or the Python version changed).
# Where python3-venv/ensurepip is missing it falls back to `pip install --target`.
# Needs target/debug/aetherctl (cargo build -p aetherctl) unless --aetherctl/AETHERCTL says otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
requirements="$here/requirements.txt"
python="${PYTHON:-python3}"

key="$( { cat "$requirements"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)"
pip_flags=(--quiet --disable-pip-version-check --no-input)

if "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    venv="$root/.venv"
    marker="$venv/.differential-requirements-$key"
    if [[ ! -x "$venv/bin/python" ]]; then
        "$python" -m venv "$venv"
    fi
    if [[ ! -e "$marker" ]]; then
        echo "differential: installing reference packages into $venv" >&2
        "$venv/bin/python" -m pip install "${pip_flags[@]}" -r "$requirements"
        rm -f "$venv"/.differential-requirements-*
        touch "$marker"
    fi
    exec "$venv/bin/python" "$here/differential.py" "$@"
else
    echo "differential: python3 venv/ensurepip is missing (Debian: apt-get install python3-venv);" \
         "falling back to pip install --target" >&2
    target="$root/.venv/differential-site"
    marker="$target/.differential-requirements-$key"
    if [[ ! -e "$marker" ]]; then
        echo "differential: installing reference packages into $target" >&2
        rm -rf "$target"
        "$python" -m pip install "${pip_flags[@]}" --target "$target" -r "$requirements"
        touch "$marker"
    fi
    PYTHONPATH="$target${PYTHONPATH:+:$PYTHONPATH}" exec "$python" "$here/differential.py" "$@"
fi
