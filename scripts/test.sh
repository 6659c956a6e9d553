#!/usr/bin/env bash
# Run the test suite from a fresh checkout. Same as the README's one-liner:
#   python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/python -m pytest
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not e2e" -x`.
# Tests marked `postgres` skip unless GROUNDSWELL_TEST_POSTGRES_URL is set
# (`.ci/run` starts a throwaway server via scripts/ci_postgres.sh and sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    echo "[test.sh] creating virtualenv .venv with $(python3 --version)"
    python3 -m venv .venv
fi
echo "[test.sh] installing the project with its dev extras: pip install -q -e '.[dev]'"
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
echo "[test.sh] running: python -m pytest $(printf "%q " "$@")"
exec .venv/bin/python -m pytest "$@"
