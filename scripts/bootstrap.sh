#!/usr/bin/env bash
# Make this checkout ready to run: Debian packages, then a virtualenv in .venv with
# Walkin and the extras asked for: `scripts/bootstrap.sh demo` (kiosk, board, printer
# simulator: what `make demo` uses) or `scripts/bootstrap.sh test` (that and the test
# tools; the default). Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS="${1:-test}"
case "$EXTRAS" in
    demo|test) ;;
    *) echo "bootstrap: unknown extras '$EXTRAS' (use demo or test)" >&2; exit 2 ;;
esac

PYTHON="${PYTHON:-python3}"
VENV=.venv

missing=()
while read -r pkg _; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done < scripts/debian-packages.txt

if ((${#missing[@]})); then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    elif command -v sudo >/dev/null; then
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "bootstrap: please install these Debian packages first: ${missing[*]}" >&2
        exit 1
    fi
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "bootstrap: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when the project's requirements changed (one stamp per set of extras).
stamp="$VENV/.walkin-installed-$EXTRAS"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "bootstrap: installing Walkin with its $EXTRAS extras into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]" 2>&1 | grep -v "^WARNING: Location" || true
    # the server, and the kiosk's and board's stack (both sets of extras have them)
    "$VENV/bin/python" -c "import queue_server.cli, device_drivers.printer, escpos, PIL" \
        || { echo "bootstrap: installing Walkin failed" >&2; exit 1; }
    echo "$want" > "$stamp"
fi
