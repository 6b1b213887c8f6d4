"""Fixtures shared by the device driver tests: a sample ticket and a running simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from device_drivers.cli import sample_ticket
from device_drivers.simulator import PrinterSimulator
from device_drivers.ticket import TicketPrint


@pytest.fixture
def ticket() -> TicketPrint:
    return sample_ticket()


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[PrinterSimulator]:
    with PrinterSimulator(tmp_path / "out", pty=True, control=("127.0.0.1", 0)) as sim:
        yield sim


@pytest.fixture
def tcp_url(simulator: PrinterSimulator) -> str:
    assert simulator.tcp_address is not None
    host, port = simulator.tcp_address
    return f"tcp://{host}:{port}"
