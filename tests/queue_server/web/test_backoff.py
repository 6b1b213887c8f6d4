"""One reconnect rule for every client: the Python ``Backoff`` and the pages'
``backoff.js`` give the same waits, and no page script keeps a rule of its own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from queue_server.client import Backoff

STATIC = Path(__file__).resolve().parents[3] / "queue_server" / "web" / "static"


def ceilings(backoff: Backoff, n: int) -> list[float]:
    return [backoff.next_delay() for _ in range(n)]


def test_each_wait_is_drawn_below_a_ceiling_that_doubles_up_to_the_maximum() -> None:
    highest = Backoff(0.25, 10.0, draw=lambda low, high: high)
    assert ceilings(highest, 8) == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    highest.reset()
    assert highest.next_delay() == 0.25
    lowest = Backoff(0.25, 10.0, draw=lambda low, high: low)
    assert ceilings(lowest, 3) == [0.0, 0.0, 0.0]


def test_real_draws_stay_between_zero_and_the_ceiling() -> None:
    backoff = Backoff(0.1, 2.0)
    for _ in range(200):
        ceiling = backoff.ceiling
        assert 0 <= backoff.next_delay() <= ceiling


@pytest.mark.parametrize("bounds", [(0, 1), (-1, 1), (2, 1)])
def test_impossible_bounds_are_refused(bounds: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="minimum <= maximum"):
        Backoff(*bounds)


async def test_the_pages_follow_the_same_rule(staff_page: Any) -> None:
    page = await staff_page("/counter", user=None)
    highest = await page.evaluate(
        """() => {
            const b = WalkinBackoff.create(250, 10000, () => 1);
            const waits = Array.from({length: 8}, () => b.nextDelay());
            b.reset();
            waits.push(b.nextDelay());
            return waits;
        }"""
    )
    python = Backoff(0.25, 10.0, draw=lambda low, high: high)
    expected = [round(d * 1000) for d in ceilings(python, 8)] + [250]
    assert highest == expected
    drawn = await page.evaluate(
        """() => {
            const b = WalkinBackoff.create(100, 2000);
            return Array.from({length: 50}, () => [b.ceiling, b.nextDelay()]);
        }"""
    )
    assert all(0 <= delay <= ceiling for ceiling, delay in drawn)
    with pytest.raises(Exception, match="minimum <= maximum"):
        await page.evaluate("() => WalkinBackoff.create(0, 10)")


def test_no_page_script_keeps_a_reconnect_rule_of_its_own() -> None:
    doubling = re.compile(r"backoff\s*\*\s*2|\*\s*2\s*,\s*MAX_BACKOFF")
    own_rules = [
        path.name
        for path in STATIC.glob("*.js")
        if path.name != "backoff.js" and doubling.search(path.read_text(encoding="utf-8"))
    ]
    assert own_rules == []
    # every page whose scripts use the shared rule loads it first
    for page in STATIC.glob("*.html"):
        scripts = re.findall(r'src="/static/([\w.-]+\.js)"', page.read_text(encoding="utf-8"))
        users = [
            name
            for name in scripts
            if "WalkinBackoff" in (STATIC / name).read_text(encoding="utf-8")
            and name != "backoff.js"
        ]
        if users:
            assert "backoff.js" in scripts, page.name
            assert scripts.index("backoff.js") < scripts.index(users[0]), page.name


def test_no_python_module_keeps_a_reconnect_rule_of_its_own() -> None:
    root = STATIC.parents[2]
    doubling = re.compile(r"backoff\s*\*\s*2|uniform\(\s*0\s*,\s*backoff")
    own_rules = [
        str(path.relative_to(root))
        for package in ("queue_server", "kiosk", "display_board", "device_drivers", "speech")
        for path in (root / package).rglob("*.py")
        if doubling.search(path.read_text(encoding="utf-8"))
    ]
    assert own_rules == []
