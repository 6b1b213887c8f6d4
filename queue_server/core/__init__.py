"""The queue's domain, with no I/O: no asyncio, sockets, database or wall clock.

A clock is passed in as ``now``. See ``centre.Centre`` for the entry point:
``decide(command, now) -> Decision`` then ``apply(decision.events)``.

The names below are imported when first asked for (PEP 562), not with the package:
``walkin --help`` and any command that needs only ``core.errors`` (or one other
module) then does not pay for the whole domain's import (issue 12, "Fast start").
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .centre import Centre, Decision, format_number, prefix_of
    from .errors import WalkinError
    from .estimate import WaitEstimate, estimate_wait, estimate_waits

#: each name this package offers, and the module it comes from
_FROM = {
    "Centre": ".centre",
    "Decision": ".centre",
    "format_number": ".centre",
    "prefix_of": ".centre",
    "WalkinError": ".errors",
    "WaitEstimate": ".estimate",
    "estimate_wait": ".estimate",
    "estimate_waits": ".estimate",
}

__all__ = [
    "Centre",
    "Decision",
    "WaitEstimate",
    "WalkinError",
    "estimate_wait",
    "estimate_waits",
    "format_number",
    "prefix_of",
]


def __getattr__(name: str) -> Any:
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # (asked once)
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_FROM])
