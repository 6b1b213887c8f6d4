"""What a board shows and announces, decided from the queue server's pushes. No I/O.

The rules (the web board's ``queue_server/web/static/board-state.js`` follows the same
ones; ``tests/display_board/call_scenarios.json`` checks both against one table):

- A call is identified by its ``call_id`` (one per call or recall). A ``call_id`` is
  announced at most once, whatever arrives later: the same push twice, a snapshot after
  a reconnect, a server restart.
- The first snapshot after the board starts shows the recent calls and announces none of
  them: they are history.
- A snapshot after a reconnect replaces what is shown (it is the whole truth). Calls in
  it the board already knew are shown, not announced. Calls made while the board was
  away are announced (oldest first) only if they are less than ``announce_window``
  old by the server's clock; older ones are shown, silently.
- A board may be limited to some counters (by name) and some services (by code, matched
  through the service's ticket prefix, since a call does not name its service).
- The latest call is shown large, the ones before it in a list; a ticket called again
  (a recall, or at another counter after a transfer) moves to the top, once.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from speech.call import Call

#: how many call_ids a board remembers (a busy centre makes a few hundred calls a day)
REMEMBERED_CALLS = 2000
DEFAULT_HISTORY = 6
DEFAULT_ANNOUNCE_WINDOW = timedelta(seconds=60)

_PREFIX = re.compile(r"^([^\d]*)")


def number_prefix(number: str) -> str:
    """The letters before a ticket number's digits: ``"H023"`` -> ``"H"``."""
    match = _PREFIX.match(number)
    return match.group(1).strip("- ").upper() if match else ""


@dataclass(frozen=True, slots=True)
class BoardFilter:
    """Which calls a board shows: ``None`` means all. Counter names compare without
    regard to case or surrounding spaces; services are codes (``housing``)."""

    counters: frozenset[str] | None = None
    services: frozenset[str] | None = None

    @classmethod
    def build(
        cls, counters: Iterable[str] | None = None, services: Iterable[str] | None = None
    ) -> BoardFilter:
        def clean(values: Iterable[str] | None) -> frozenset[str] | None:
            if values is None:
                return None
            cleaned = frozenset(v.strip().casefold() for v in values if v.strip())
            return cleaned or None

        return cls(counters=clean(counters), services=clean(services))


@dataclass
class BoardView:
    """What the screen shows now."""

    latest: Call | None = None
    previous: list[Call] = field(default_factory=list)
    #: waiting per service code, only the services this board shows
    waiting: dict[str, int] = field(default_factory=dict)
    #: service code -> name, for the optional waiting panel
    service_names: dict[str, str] = field(default_factory=dict)
    counters: dict[str, str] = field(default_factory=dict)
    centre_name: str = ""
    #: the centre's IANA time zone, for the board's clock
    timezone: str = ""
    connected: bool = False
    #: service codes in the filter that the centre does not have
    unknown_services: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Update:
    """What a message changed: calls to announce (oldest first) and whether to flash."""

    announce: tuple[Call, ...] = ()
    flash: bool = False
    redraw: bool = False


class BoardState:
    """Feed it every push (``apply``) and ``connection_lost()`` when the link drops;
    read ``view``. Not thread-safe; one per board."""

    def __init__(
        self,
        board_filter: BoardFilter | None = None,
        *,
        history: int = DEFAULT_HISTORY,
        announce_window: timedelta = DEFAULT_ANNOUNCE_WINDOW,
    ) -> None:
        self.filter = board_filter or BoardFilter()
        self.history = history
        self.announce_window = announce_window
        self.view = BoardView()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._snapshots = 0
        self._prefixes: frozenset[str] | None = None

    # ------------------------------------------------------------ input

    def apply(self, message: Mapping[str, Any]) -> Update:
        """Take one push; unknown types change nothing."""
        kind = message.get("type")
        if kind == "snapshot":
            return self._snapshot(message)
        if kind == "call":
            return self._call(Call.from_message(message))
        if kind == "queue":
            self._queue(message)
            return Update(redraw=True)
        if kind == "counters":
            self.view.counters = {
                str(c["name"]): str(c.get("state", "")) for c in message.get("counters", [])
            }
            return Update(redraw=True)
        return Update()

    def connection_lost(self) -> Update:
        self.view.connected = False
        return Update(redraw=True)

    def shows(self, call: Call) -> bool:
        """Whether this board shows (and announces) the call."""
        counters = self.filter.counters
        if counters is not None and call.counter.strip().casefold() not in counters:
            return False
        if self.filter.services is not None:
            prefixes = self._prefixes or frozenset()
            return number_prefix(call.number) in prefixes
        return True

    # ------------------------------------------------------------ the rules

    def _snapshot(self, message: Mapping[str, Any]) -> Update:
        first = self._snapshots == 0
        self._snapshots += 1
        centre = message.get("centre") or {}
        self.view.centre_name = str(centre.get("name", ""))
        self.view.timezone = str(centre.get("timezone", ""))
        self._learn_services(centre.get("services") or [])
        self.view.counters = {
            str(c["name"]): str(c.get("state", "")) for c in centre.get("counters") or []
        }
        self._queue(message.get("queue") or {})
        self.view.connected = True

        calls = [Call.from_message(m) for m in message.get("recent_calls") or []]
        calls.sort(key=lambda c: c.at, reverse=True)
        shown = self._newest_per_ticket(c for c in calls if self.shows(c))
        self.view.latest = shown[0] if shown else None
        self.view.previous = shown[1 : self.history + 1]

        server_time = _parse_time(message.get("server_time"))
        announce: list[Call] = []
        for call in reversed(shown):  # oldest first
            if call.call_id in self._seen:
                continue
            self._remember(call.call_id)
            recent = server_time is not None and server_time - call.at <= self.announce_window
            if not first and recent:
                announce.append(call)
        return Update(announce=tuple(announce), flash=bool(announce), redraw=True)

    def _call(self, call: Call) -> Update:
        if call.call_id in self._seen or not self.shows(call):
            return Update()
        self._remember(call.call_id)
        shown = [call] + ([self.view.latest] if self.view.latest else []) + self.view.previous
        shown = self._newest_per_ticket(shown)
        self.view.latest = shown[0]
        self.view.previous = shown[1 : self.history + 1]
        return Update(announce=(call,), flash=True, redraw=True)

    def _queue(self, message: Mapping[str, Any]) -> None:
        waiting = message.get("waiting") or {}
        wanted = self.filter.services
        self.view.waiting = {
            str(code): int(count)
            for code, count in waiting.items()
            if wanted is None or str(code).casefold() in wanted
        }

    def _learn_services(self, services: list[Mapping[str, Any]]) -> None:
        self.view.service_names = {str(s["code"]): str(s.get("name", s["code"])) for s in services}
        wanted = self.filter.services
        if wanted is None:
            self._prefixes = None
            return
        by_code = {str(s["code"]).casefold(): str(s.get("prefix", "")).upper() for s in services}
        self._prefixes = frozenset(by_code[c] for c in wanted if c in by_code)
        self.view.unknown_services = sorted(c for c in wanted if c not in by_code)

    @staticmethod
    def _newest_per_ticket(calls: Iterable[Call]) -> list[Call]:
        """Newest first, each ticket number once (its latest call)."""
        out: list[Call] = []
        numbers: set[str] = set()
        for call in calls:
            if call.number not in numbers:
                numbers.add(call.number)
                out.append(call)
        return out

    def _remember(self, call_id: str) -> None:
        self._seen[call_id] = None
        while len(self._seen) > REMEMBERED_CALLS:
            self._seen.popitem(last=False)


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
