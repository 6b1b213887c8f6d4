"""The suite runs in parallel (scripts/test.sh: pytest-xdist), so it refuses what would
let two tests clash: listening on a fixed port, writing into the repository
(tests/conftest.py, "isolation")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def a_port_from_elsewhere() -> int:
    """A free port this process never asked the OS for (as a hard-coded number would be)."""
    probe = (
        "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
    )
    return int(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout
    )


def test_port_zero_and_the_port_it_gave_are_fine(no_fixed_ports: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with socket.socket() as sock:  # a server restarted on its own port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    assert no_fixed_ports.take() == []


def test_a_fixed_port_is_noticed(no_fixed_ports: Any) -> None:
    port = a_port_from_elsewhere()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    # taken here, so that this test itself passes; any other test fails at its teardown
    assert no_fixed_ports.take() == [f"127.0.0.1:{port}"]


def test_a_run_that_writes_into_the_repository_or_uses_a_fixed_port_fails(
    tmp_path: Path,
) -> None:
    left = ROOT / "tests" / f".isolation-probe-{uuid.uuid4().hex}.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WALKIN_", "PYTEST_"))}
    env |= {
        "CI": "true",
        "WALKIN_PROBE_FILE": str(left),
        "WALKIN_PROBE_PORT": str(a_port_from_elsewhere()),
    }
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                f"--basetemp={tmp_path / 'basetemp'}",
                "tests/isolation_probe.py",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        left.unlink(missing_ok=True)
    out = run.stdout
    assert run.returncode == 1, out
    assert f"+ tests/{left.name}" in out, out
    assert "listened on a fixed port (127.0.0.1:" in out, out
    # both probe tests pass their call; the port fails its teardown, the write the run
    assert "2 passed, 1 error" in out, out
