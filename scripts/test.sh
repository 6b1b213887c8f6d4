#!/usr/bin/env bash
# The whole test suite, from a fresh clone: lint, types, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (queue_server/core)"
.venv/bin/mypy
echo "== pytest"
# One worker more than the cores (pytest-xdist): each worker is a process with its own
# PostgreSQL database, Chromium, Kivy window and temporary folders (tests/conftest.py),
# and takes the next test when it is free (worksteal: a few tests are much longer than
# the rest). A third of the suite's time on 2 cores is tests waiting (for a server to
# fail over, a timeout, a browser), so the extra worker fills it: 11 min 38 s against
# 14 min with one a core (docs/performance.md, section 7).
# WALKIN_TEST_WORKERS=0 runs everything in this one process (e.g. for pdb); a shuffled
# order, to show a test that leans on another's leftovers: scripts/test.sh -p randomly
workers="${WALKIN_TEST_WORKERS:-$(($(nproc) + 1))}"
exec .venv/bin/python -m pytest -n "$workers" --dist worksteal --durations=20 "$@"
