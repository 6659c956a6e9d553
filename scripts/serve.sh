#!/usr/bin/env bash
# Run the service from a fresh checkout: creates .venv if missing, installs the project,
# then execs `groundswell serve` with any extra arguments (e.g. --host 0.0.0.0 --port 8000).
# Configuration comes from GROUNDSWELL_* environment variables (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    echo "[serve.sh] creating virtualenv .venv with $(python3 --version)"
    python3 -m venv .venv
fi
echo "[serve.sh] installing the project: pip install -q -e ."
.venv/bin/pip install -q --disable-pip-version-check -e .
echo "[serve.sh] exec groundswell serve $*"
exec .venv/bin/groundswell serve "$@"
