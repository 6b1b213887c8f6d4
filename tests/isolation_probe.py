"""Not collected with the suite (the name does not start with ``test_``): tests/test_isolation.py
runs these in a pytest of their own, to show that the suite notices tests that would trip
over each other when run in parallel."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def test_writes_into_the_repository() -> None:
    Path(os.environ["WALKIN_PROBE_FILE"]).write_text("left behind by a test\n")


def test_listens_on_a_fixed_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", int(os.environ["WALKIN_PROBE_PORT"])))
        sock.listen()
