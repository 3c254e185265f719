"""Box's rate limits (per acting user and per class of call) and quality-of-service throttling.

Box's developer guide ("Rate Limits") documents, per user: general API calls 1000 per minute,
file uploads 240 per minute, search 6 per second and 60 per minute, plus search 12 per second
per enterprise. Over a budget Box answers 429 with ``retry-after: <seconds>`` and its JSON
``rate_limit_exceeded`` error.

The emulator keeps, for every (acting user, class, budget), the times of the calls it let
through in the last window (a sliding log). A call is refused when any of its budgets is full;
``retry-after`` is the time until the oldest of those calls leaves the window (rounded up to
whole seconds), so a client that waits exactly that long finds a free slot. How Box counts
exactly (sliding or fixed windows, whether refused calls count, whether uploads and searches
also count as general calls) is *(unconfirmed)*: here refused calls do not count and each call
belongs to exactly one class.

Time runs on the emulator's clock multiplied by :attr:`RateLimits.time_scale`: at
``time_scale=60`` a minute's budget refills in one real second, and ``retry-after`` is given
in those scaled ("Box") seconds (sleep ``retry_after / time_scale`` real seconds, which is what
:meth:`boxjwt.testing.BoxEmulator.sleep` does).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["BOX_RATE_LIMITS", "Budget", "RateClass", "RateLimiter", "RateLimits", "Throttle"]

RateClass = Literal["general", "upload", "search"]
"""The classes of calls Box budgets separately."""

_ENTERPRISE: Final = "*enterprise*"
_Key = tuple[str, str, int]


@dataclass(frozen=True)
class Budget:
    """``calls`` per ``seconds`` (Box seconds: scaled by :attr:`RateLimits.time_scale`)."""

    calls: int
    seconds: float

    def __post_init__(self) -> None:
        calls: object = self.calls
        if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
            raise ValueError(f"Budget.calls must be an integer >= 1, not {self.calls!r}")
        if not self.seconds > 0:
            raise ValueError(f"Budget.seconds must be > 0, not {self.seconds!r}")


@dataclass(frozen=True)
class RateLimits:
    """The budgets the emulator enforces (defaults: Box's documented ones) and its time scale.

    ::

        BoxEmulator(rate_limits=True)                       # Box's budgets, real time
        BoxEmulator(rate_limits=RateLimits(time_scale=60))  # a minute's budget per real second
        BoxEmulator(rate_limits=RateLimits(general=(Budget(10, 1),)))   # custom budgets

    - ``general``: every API call that is neither an upload nor a search, per acting user.
    - ``upload``: ``POST /api/2.0/files/content``, per acting user.
    - ``search``: ``GET /2.0/search``, per acting user; ``search_enterprise``: the same calls
      for the whole enterprise.
    - ``time_scale``: Box seconds per second of the emulator's clock (``60``: tests run a
      minute's budget in a second); ``retry-after`` is in Box seconds.
    - ``retry_after=False``: 429s without ``retry-after`` (Box sends some of those too).
    """

    general: tuple[Budget, ...] = (Budget(1000, 60),)
    upload: tuple[Budget, ...] = (Budget(240, 60),)
    search: tuple[Budget, ...] = (Budget(6, 1), Budget(60, 60))
    search_enterprise: tuple[Budget, ...] = (Budget(12, 1),)
    time_scale: float = 1.0
    retry_after: bool = True

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise ValueError(f"RateLimits.time_scale must be > 0, not {self.time_scale!r}")
        for name in ("general", "upload", "search", "search_enterprise"):
            budgets = getattr(self, name)
            if not all(isinstance(b, Budget) for b in budgets):
                raise ValueError(f"RateLimits.{name} must be a tuple of Budget")

    def budgets(self, rate_class: RateClass) -> tuple[Budget, ...]:
        """The per-user budgets of a class."""
        budgets: tuple[Budget, ...] = getattr(self, rate_class)
        return budgets


BOX_RATE_LIMITS: Final = RateLimits()
"""Box's documented budgets, in real time."""


@dataclass(frozen=True)
class Refusal:
    """Why a call was refused and what ``retry-after`` to send (``None``: no header)."""

    reason: str
    """The class whose budget was full (``"general"``, ``"upload"``, ``"search"``,
    ``"search_enterprise"``) or ``"qos"``."""
    retry_after: int | None


class RateLimiter:
    """Sliding-log budgets per (acting user, class). Thread-safe."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._logs: dict[_Key, deque[float]] = {}

    def now(self) -> float:
        """The limiter's time: the clock in Box seconds."""
        return self._clock() * self.limits.time_scale

    def _keys(self, user_id: str, rate_class: RateClass) -> list[tuple[_Key, Budget]]:
        budgets = self.limits.budgets(rate_class)
        keys: list[tuple[_Key, Budget]] = [
            ((user_id, rate_class, i), b) for i, b in enumerate(budgets)
        ]
        if rate_class == "search":
            keys += [
                ((_ENTERPRISE, "search_enterprise", i), b)
                for i, b in enumerate(self.limits.search_enterprise)
            ]
        return keys

    def admit(self, user_id: str, rate_class: RateClass) -> Refusal | None:
        """Count the call against every budget it falls under, or refuse it (not counted)."""
        now = self.now()
        keys = self._keys(user_id, rate_class)
        with self._lock:
            wait, reason = 0.0, ""
            for key, budget in keys:
                log = self._logs.setdefault(key, deque())
                horizon = now - budget.seconds
                while log and log[0] <= horizon:
                    log.popleft()
                if len(log) >= budget.calls:
                    frees_at = log[len(log) - budget.calls] + budget.seconds
                    if frees_at - now >= wait:
                        wait, reason = frees_at - now, key[1]
            if reason:
                seconds = max(1, math.ceil(wait)) if self.limits.retry_after else None
                return Refusal(reason, seconds)
            for key, _budget in keys:
                self._logs[key].append(now)
            return None


class Throttle:
    """Quality-of-service throttling: while active, ``share`` of the matching API calls get a
    429 whatever the budgets (Box does this to migration tools under load).

    Deterministic: of every run of calls, exactly ``floor(n * share)`` of the first ``n`` are
    refused, spread evenly. Made by :meth:`boxjwt.testing.BoxEmulator.throttle`.
    """

    def __init__(
        self,
        *,
        share: float,
        seconds: float | None,
        retry_after: int | None,
        user_id: str | None,
        start: float,
        clock: Callable[[], float],
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share!r}")
        if seconds is not None and not seconds > 0:
            raise ValueError(f"seconds must be > 0 (or None: until stopped), not {seconds!r}")
        if retry_after is not None and (isinstance(retry_after, bool) or retry_after < 0):
            raise ValueError(f"retry_after must be a whole number >= 0 or None: {retry_after!r}")
        self.share = share
        self.retry_after = retry_after
        self.user_id = user_id
        self._until = None if seconds is None else start + seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._stopped = False
        self.seen = 0
        """Matching calls while active."""
        self.refused = 0
        """Calls this throttle answered with 429."""

    def __repr__(self) -> str:
        return (
            f"Throttle(share={self.share}, active={self.active}, seen={self.seen}, "
            f"refused={self.refused})"
        )

    @property
    def active(self) -> bool:
        """Whether the window is still open (and :meth:`stop` was not called)."""
        return not self._stopped and (self._until is None or self._clock() < self._until)

    def stop(self) -> None:
        """End the throttling now."""
        self._stopped = True

    def take(self, user_id: str) -> Refusal | None:
        """Whether this call (acting as ``user_id``) is refused."""
        if (self.user_id is not None and user_id != self.user_id) or not self.active:
            return None
        with self._lock:
            self.seen += 1
            if int(self.seen * self.share + 1e-9) <= int((self.seen - 1) * self.share + 1e-9):
                return None
            self.refused += 1
        return Refusal("qos", self.retry_after)
