#!/usr/bin/env bash
# GPU readiness in one command (see benchmarks/gpu_check.py and docs/sizing.md):
#   bash benchmarks/gpu_check.sh [--dry] [--out DIR] [--wheelhouse DIR] [--budget-s 480]
# Uses $GRIDSIGHT_PYTHON, else the repository's .venv, which it creates (python3 -m venv) on a
# host that has none -- the install step then fills it from the wheelhouse.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${GRIDSIGHT_PYTHON:-$root/.venv/bin/python}"
if [[ ! -x "$py" ]]; then
    if [[ -n "${GRIDSIGHT_PYTHON:-}" ]]; then
        echo "gpu_check: GRIDSIGHT_PYTHON=$GRIDSIGHT_PYTHON is not an executable" >&2
        exit 1
    fi
    if ! command -v python3 >/dev/null; then
        echo "gpu_check: no $root/.venv and no python3 to create it with" >&2
        exit 1
    fi
    python3 -m venv "$root/.venv" || { echo "gpu_check: could not create $root/.venv (python3 -m venv)" >&2; exit 1; }
fi
export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false
exec "$py" "$root/benchmarks/gpu_check.py" "$@"
