"""The queue's domain, with no I/O: no asyncio, sockets, database or wall clock.

A clock is passed in as ``now``. See ``centre.Centre`` for the entry point:
``decide(command, now) -> Decision`` then ``apply(decision.events)``.
"""

from .centre import Centre, Decision, format_number, prefix_of
from .errors import WalkinError
from .estimate import WaitEstimate, estimate_wait, estimate_waits

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
