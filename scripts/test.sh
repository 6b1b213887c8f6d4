#!/usr/bin/env bash
# The whole test suite, from a fresh clone: lint, types, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
echo "== ruff"
.venv/bin/ruff check .
echo "== mypy (queue_server/core)"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
