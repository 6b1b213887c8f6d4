#!/usr/bin/env bash
# The demo centre, from a fresh clone: installs what it needs, then `walkin demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh demo
exec .venv/bin/walkin demo "$@"
