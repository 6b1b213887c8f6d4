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
# On every core (pytest-xdist): each worker is a process with its own PostgreSQL
# database, Chromium, Kivy window and temporary folders (tests/conftest.py), and takes
# the next test when it is free (worksteal: a few tests are much longer than the rest).
# WALKIN_TEST_WORKERS=0 runs everything in this one process (e.g. for pdb); a shuffled
# order, to show a test that leans on another's leftovers: scripts/test.sh -p randomly
exec .venv/bin/python -m pytest -n "${WALKIN_TEST_WORKERS:-auto}" --dist worksteal \
    --durations=20 "$@"
