"""The dashboard's staffing advice: the ``staffing_advice`` reply (docs/protocol.md).

A profile is fitted from the centre's own days in the database (``history_profile``)
and the advice simulated (``staffing_advice.advise``) in a worker thread, off the
event loop. The work is seconds of both cores, so it is capped:

- one advice is worked out at a time in the whole server; a request for another while
  one runs is refused with ``unavailable`` and ``retry_after_seconds`` (a manager
  cannot queue up work that starves the queue itself);
- a request for the advice already being worked out waits for that one;
- each advice is kept for the rest of the centre's day, per (weekday, weeks,
  configuration, database): asking again, or from another dashboard, costs nothing.
  The next day, with one more day of history, it is worked out afresh.

The dashboard simulates ``DAYS`` days per number of advisers (the command's default is
20): enough to rank the options, quick enough to wait for.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from queue_server.core.errors import NotFound, OperatorError, Unavailable, WalkinError
from queue_server.core.model import CentreSetup
from queue_server.net import protocol as p
from queue_server.store import Store

log = logging.getLogger("walkin.server")

#: generated days simulated per number of advisers
DAYS = 10
#: advice kept per key; the oldest goes first
CACHE_SIZE = 32
#: what a refused request is told to wait
RETRY_AFTER_SECONDS = 15

_cache: dict[tuple[Any, ...], dict[str, Any]] = {}
_running: dict[tuple[Any, ...], asyncio.Future[dict[str, Any]]] = {}


def _work(store: Store, setup: CentreSetup, weekday: int, weeks: int, today: Any) -> dict[str, Any]:
    from queue_server.simulation.history_profile import fit_profile
    from queue_server.simulation.staffing_advice import advise, day_for_weekday
    from queue_server.simulation.staffing_output import advice_dict

    day_for_weekday(setup, weekday, today)  # closed that weekday: say so first
    fitted = fit_profile(store, setup, weekday, weeks, today)
    advice = advise(setup, fitted.profile, weekday, days=DAYS, seed=0, start=today)
    data = advice_dict(advice)
    data["fitted_from"] = {
        "days": [d.isoformat() for d in fitted.days],
        "tickets": fitted.tickets,
        "bookings": fitted.bookings,
        "notes": fitted.notes,
    }
    return data


async def staffing_advice(
    store: Store, setup: CentreSetup, message: p.StaffingAdvice, now: datetime
) -> dict[str, Any]:
    """The ``staffing_advice`` reply: ``{"advice": ...}`` (``advice_dict``'s shape plus
    ``fitted_from``). ``NotFound`` when the centre has no such days in the database or
    is closed that weekday; ``Unavailable`` while another advice is being worked out."""
    from queue_server.simulation.staffing_advice import WEEKDAYS

    weekday = WEEKDAYS.index(message.weekday)
    today = now.astimezone(setup.tz).date()
    key = (message.weekday, message.weeks, repr(setup), id(store), today)
    if key in _cache:
        return {"advice": _cache[key], "cached": True}
    if key in _running:
        return {"advice": await asyncio.shield(_running[key]), "cached": True}
    if _running:
        raise Unavailable(
            "The staffing advice for another day is being worked out; try again shortly.",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    _running[key] = future
    try:
        data = await asyncio.to_thread(_work, store, setup, weekday, message.weeks, today)
    except OperatorError as exc:
        error: WalkinError = NotFound(exc.message, weekday=message.weekday)
        future.set_exception(error)
        raise error from None
    except Exception as exc:
        log.exception("working out the staffing advice failed")
        error = Unavailable("The staffing advice could not be worked out. Try again later.")
        future.set_exception(error)
        raise error from exc
    else:
        future.set_result(data)
        while len(_cache) >= CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = data
        return {"advice": data, "cached": False}
    finally:
        del _running[key]
        if future.done() and not future.cancelled():
            future.exception()  # retrieved, so asyncio does not log it when nobody waited
