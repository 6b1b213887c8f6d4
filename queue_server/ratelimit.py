"""Sign-in attempts, rate-limited: password guessing from one address, or at one
account from many, is slowed to a few tries per window.

Only failures count. After ``per_account`` failed passwords for one username within
``window``, or ``per_address`` failed hellos from one address, further attempts are
refused without checking (``RateLimited``, with the seconds until the oldest failure
leaves the window). A correct password clears that username's count (not the address's).
In memory: a restart forgets, which costs an attacker nothing they could not get by
waiting out the window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from queue_server.core.errors import WalkinError


class RateLimited(WalkinError):
    code = "rate_limited"


class SignInLimiter:
    def __init__(
        self,
        per_account: int = 5,
        per_address: int = 20,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.clock = clock
        self._limits = {"account": per_account, "address": per_address}
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def _keys(self, address: str, username: str | None) -> Iterable[tuple[str, str]]:
        yield ("address", address)
        if username:
            yield ("account", username.lower())

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, address: str, username: str | None) -> None:
        """Raise ``RateLimited`` if this attempt must not even be tried."""
        now = self.clock()
        for key in self._keys(address, username):
            times = self._recent(key, now)
            if len(times) >= self._limits[key[0]]:
                wait = max(1, round(times[0] + self.window - now))
                raise RateLimited(
                    f"Too many failed sign-ins; try again in {wait} seconds. "
                    "If you have forgotten your password, ask your centre manager.",
                    retry_after_seconds=wait,
                )

    def failed(self, address: str, username: str | None) -> None:
        now = self.clock()
        for key in self._keys(address, username):
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 10_000:  # a flood of addresses: keep memory bounded
            for key in list(self._failures):
                self._recent(key, now)

    def succeeded(self, address: str, username: str | None) -> None:
        if username:
            self._failures.pop(("account", username.lower()), None)
