"""Sign-in attempts, rate-limited: password guessing is slowed to a few tries per
window, without letting a stranger lock an adviser out.

Failed password sign-ins are counted over ``window`` seconds, three ways:

- per account *and* address (``per_account``, 5): a guesser at one address gets five
  tries at a username, while the adviser at their own desk signs in as usual;
- per address (``per_address``, 20): one address guessing at many usernames;
- per account from anywhere (``per_account * ACCOUNT_SPREAD``, 50): guessing at one
  username from many addresses. Only an attacker with dozens of addresses reaches it.

An attempt is counted from the moment it starts (``begin``), not when its password
check ends, so attempts sent all at once cannot slip past the limit together; a
correct password (``end(ok=True)``) clears its account's counts. Over a limit, an
attempt is refused without checking (``RateLimited``, with the seconds until the
oldest counted failure leaves the window). In memory: a restart forgets, which costs
an attacker nothing they could not get by waiting out the window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from queue_server.core.errors import WalkinError

#: the account-wide limit is this many times the per-address one
ACCOUNT_SPREAD = 10


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
        self._limits = {
            "pair": per_account,
            "address": per_address,
            "account": per_account * ACCOUNT_SPREAD,
        }
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._pending: dict[tuple[str, str], int] = {}

    def _keys(self, address: str, username: str) -> Iterable[tuple[str, str]]:
        name = username.lower()
        yield ("pair", f"{address}|{name}")
        yield ("address", address)
        yield ("account", name)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def begin(self, address: str, username: str) -> None:
        """Start an attempt: ``RateLimited`` if it must not even be tried, else it
        counts (as pending) until ``end``."""
        now = self.clock()
        keys = list(self._keys(address, username))
        for key in keys:
            times = self._recent(key, now)
            if len(times) + self._pending.get(key, 0) >= self._limits[key[0]]:
                oldest = times[0] if times else now
                wait = max(1, round(oldest + self.window - now))
                raise RateLimited(
                    f"Too many failed sign-ins; try again in {wait} seconds. "
                    "If you have forgotten your password, ask your centre manager.",
                    retry_after_seconds=wait,
                )
        for key in keys:
            self._pending[key] = self._pending.get(key, 0) + 1

    def end(self, address: str, username: str, ok: bool) -> None:
        """Finish an attempt begun with ``begin``: a failure is counted, a success
        clears the account's failures."""
        now = self.clock()
        for key in self._keys(address, username):
            left = self._pending.get(key, 0) - 1
            if left > 0:
                self._pending[key] = left
            else:
                self._pending.pop(key, None)
            if ok:
                if key[0] != "address":
                    self._failures.pop(key, None)
            else:
                self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 10_000:  # a flood of addresses: keep memory bounded
            for key in list(self._failures):
                self._recent(key, now)


class RequestLimiter:
    """Requests from one key (an address) counted over ``window`` seconds: up to
    ``limit`` pass, more are refused (``RateLimited``, with the seconds until the oldest
    leaves the window). For visitors' forms, which need no password to guess but must
    not be a way to flood the database. In memory, bounded, forgotten on restart."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def hit(self, key: str) -> None:
        """Count one request from ``key``; ``RateLimited`` if it is over the limit (a
        refused request is not counted)."""
        self.check(key)
        self.count(key)

    def check(self, key: str) -> None:
        """``RateLimited`` if one more request from ``key`` would be over the limit;
        counts nothing (``count`` does, e.g. only once the request did something)."""
        now = self.clock()
        times = self._seen.get(key)
        if times is None:
            return
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            wait = max(1, round(times[0] + self.window - now))
            raise RateLimited(
                f"Too many requests; try again in {wait} seconds.", retry_after_seconds=wait
            )

    def count(self, key: str) -> None:
        """Count one request from ``key``."""
        now = self.clock()
        self._seen.setdefault(key, deque()).append(now)
        if len(self._seen) > 10_000:  # a flood of addresses: keep memory bounded
            for other in list(self._seen):
                recent = self._seen[other]
                while recent and recent[0] <= now - self.window:
                    recent.popleft()
                if not recent:
                    del self._seen[other]
