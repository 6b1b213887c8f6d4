"""``walkin serve --cpus`` (``queue_server.affinity``): what a CPU list means, which are
refused, and where the server and its report process go. The kernel's own answer for a
real server's threads is in ``test_cli.py``; here ``os.sched_*affinity`` stand for a
four-CPU machine."""

from __future__ import annotations

import argparse
import os

import pytest

from queue_server import affinity


@pytest.fixture
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> list[frozenset[int]]:
    """A machine whose process may use CPUs 0-3; the sets the process was given."""
    given: list[frozenset[int]] = []
    allowed = {0, 1, 2, 3}
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(allowed))
    monkeypatch.setattr(os, "sched_setaffinity", lambda _pid, cpus: given.append(frozenset(cpus)))
    monkeypatch.setattr(affinity, "_report_cpus", None)
    return given


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("1", {1}), ("0,2", {0, 2}), ("2-3", {2, 3}), (" 0 , 2-3 ", {0, 2, 3}), ("1-1", {1})],
)
def test_a_cpu_list(four_cpus: list[frozenset[int]], text: str, cpus: set[int]) -> None:
    assert affinity.parse_cpus(text) == cpus


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4", "CPU 4 is not one this machine lets the server use: choose from 0-3"),
        ("2-6", "CPU 4-6 is not one this machine lets the server use: choose from 0-3"),
        ("x", "'x' is not a list of CPU numbers: give e.g. 1, or 0,2, or 2-3 (this machine "
         "lets the server use 0-3)"),
        ("", "'' is not a list of CPU numbers"),
        ("3-1", "'3-1' in '3-1' is not a CPU number or a range low-high"),
    ],
)  # fmt: skip
def test_a_list_it_cannot_have(four_cpus: list[frozenset[int]], text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        affinity.parse_cpus(text)
    assert message in str(refused.value)


def test_the_server_on_its_cpus_and_its_reports_on_the_others(
    four_cpus: list[frozenset[int]],
) -> None:
    assert affinity.report_cpus() is None  # not pinned: reports where they start
    affinity.pin(frozenset({1}))
    assert four_cpus == [{1}]
    assert affinity.report_cpus() == {0, 2, 3}


def test_given_every_cpu_its_reports_share_them(four_cpus: list[frozenset[int]]) -> None:
    affinity.pin(frozenset({0, 1, 2, 3}))
    assert affinity.report_cpus() == {0, 1, 2, 3}


def test_cpu_numbers_are_listed_as_ranges() -> None:
    assert affinity._listing(frozenset({0, 1, 2, 5, 7, 8})) == "0-2,5,7-8"
    assert affinity._listing(frozenset()) == "none"
