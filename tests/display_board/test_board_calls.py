"""The board's rules (display_board/calls.py): the shared scenario table, which the web
board's board-state.js must also pass (test_web_board.py), and a few cases of its own."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from display_board.calls import BoardFilter, BoardState, number_prefix
from speech.call import Call

SCENARIOS = json.loads((Path(__file__).with_name("call_scenarios.json")).read_text())["scenarios"]


def state_for(options: dict[str, Any]) -> BoardState:
    return BoardState(
        BoardFilter.build(options.get("counters"), options.get("services")),
        history=options.get("history", 6),
        announce_window=timedelta(seconds=options.get("announce_window_seconds", 60)),
    )


def observed(state: BoardState, update: Any, expect: dict[str, Any]) -> dict[str, Any]:
    view = state.view
    seen = {
        "latest": view.latest.call_id if view.latest else None,
        "previous": [c.call_id for c in view.previous],
        "announce": [c.call_id for c in update.announce],
        "flash": update.flash,
        "connected": view.connected,
    }
    if "waiting" in expect:
        seen["waiting"] = view.waiting
    return seen


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario(scenario: dict[str, Any]) -> None:
    state = state_for(scenario["options"])
    for i, step in enumerate(scenario["steps"]):
        update = state.connection_lost() if step.get("lost") else state.apply(step["push"])
        assert observed(state, update, step["expect"]) == step["expect"], f"step {i}"


def test_the_table_covers_every_rule() -> None:
    names = " ".join(s["name"] for s in SCENARIOS)
    for rule in (
        "first snapshot",
        "twice",
        "recall",
        "reconnect",
        "restart",
        "newest",
        "counter",
        "service",
    ):
        assert rule in names


def test_a_call_is_read_from_its_message() -> None:
    call = Call.from_message(
        {
            "type": "call",
            "call_id": "H001@x#0",
            "number": "H001",
            "counter": "Counter 1",
            "at": "2026-11-24T10:00:00+00:00",
            "recall": 0,
            "language": "pl",
        }
    )
    assert (call.number, call.counter, call.language, call.at.minute) == (
        "H001",
        "Counter 1",
        "pl",
        0,
    )
    with pytest.raises(KeyError):
        Call.from_message({"number": "H001"})


@pytest.mark.parametrize(
    ("number", "prefix"), [("H023", "H"), ("AB-007", "AB"), ("042", ""), ("h1", "H")]
)
def test_number_prefix(number: str, prefix: str) -> None:
    assert number_prefix(number) == prefix


def test_a_service_filter_reports_services_the_centre_does_not_have() -> None:
    state = BoardState(BoardFilter.build(services=["housing", "libraries"]))
    state.apply(
        {
            "type": "snapshot",
            "centre": {"services": [{"code": "housing", "name": "Housing", "prefix": "H"}]},
            "recent_calls": [],
        }
    )
    assert state.view.unknown_services == ["libraries"]


def test_the_board_forgets_old_call_ids_but_not_recent_ones() -> None:
    state = BoardState()
    state.apply({"type": "snapshot", "recent_calls": []})
    for i in range(2100):
        state.apply(
            {
                "type": "call",
                "call_id": f"H{i}#0",
                "number": f"H{i:03d}",
                "counter": "Counter 1",
                "at": "2026-11-24T10:00:00+00:00",
            }
        )
    assert len(state._seen) == 2000
    again = state.apply(
        {
            "type": "call",
            "call_id": "H2099#0",
            "number": "H2099",
            "counter": "Counter 1",
            "at": "2026-11-24T10:00:00+00:00",
        }
    )
    assert again.announce == ()
