"""Rate limits and throttling, the part of the facade that turns them on and counts them
(``BoxEmulator`` inherits it). The mechanics live in ``_ratelimit``, the checks in ``_access``."""

from __future__ import annotations

import os
import time

from boxjwt.testing._ratelimit import RateLimits, Throttle
from boxjwt.testing._state import EnterpriseState

__all__ = ["RATE_LIMITS_ENV", "Traffic", "rate_limits_from_env"]

RATE_LIMITS_ENV = "BOXJWT_EMULATOR_RATE_LIMITS"
"""Environment variable giving the default of ``BoxEmulator(rate_limits=...)``."""


def rate_limits_from_env(value: str | None) -> RateLimits | None:
    """``BOXJWT_EMULATOR_RATE_LIMITS``: unset, ``""``, ``0``, ``off``, ``false``, ``no``: no
    limits; ``on``, ``true``, ``yes``, ``box``: Box's budgets in real time; a number: Box's
    budgets at that time scale (``60``: a minute per second)."""
    text = (value or "").strip().lower()
    if text in ("", "0", "off", "false", "no"):
        return None
    if text in ("on", "true", "yes", "box"):
        return RateLimits()
    try:
        return RateLimits(time_scale=float(text))
    except ValueError:
        raise ValueError(
            f"{RATE_LIMITS_ENV}={value!r}: use on/off or a time scale such as 60"
        ) from None


class Traffic:
    """Rate limits, throttles and the 429 counts, over an :class:`EnterpriseState`."""

    state: EnterpriseState

    # ------------------------------------------------------------------ rate limits

    @property
    def rate_limits(self) -> RateLimits | None:
        """The budgets enforced (``None``: no rate limits). Assign ``True`` (Box's budgets,
        real time), a :class:`~boxjwt.testing.RateLimits`, or ``False``/``None`` (off);
        every assignment starts the counts afresh."""
        limiter = self.state.rate_limiter
        return limiter.limits if limiter is not None else None

    @rate_limits.setter
    def rate_limits(self, value: bool | RateLimits | None) -> None:
        if value is None:
            value = rate_limits_from_env(os.environ.get(RATE_LIMITS_ENV))
        elif value is True:
            value = RateLimits()
        elif value is False:
            value = None
        elif not isinstance(value, RateLimits):
            raise TypeError("rate_limits must be True, False, None or a RateLimits")
        self.state.set_rate_limits(value)

    @property
    def time_scale(self) -> float:
        """Box seconds per clock second on the rate-limit timeline (1 when limits are off)."""
        limits = self.rate_limits
        return limits.time_scale if limits is not None else 1.0

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` Box seconds (a ``retry-after``): ``seconds / time_scale`` of the
        clock. With a :class:`~boxjwt.testing.FakeClock` it advances that clock instead of
        sleeping. Pass it as a client's ``sleep=`` to honour 429s at the emulator's pace."""
        real = max(seconds, 0.0) / self.time_scale
        advance = getattr(self.state.clock, "advance", None)
        if callable(advance):
            advance(real)
        else:
            time.sleep(real)

    def throttle(
        self,
        share: float = 1.0,
        *,
        seconds: float | None = 60.0,
        retry_after: int | None = 10,
        user: str | None = None,
    ) -> Throttle:
        """Quality-of-service throttling, whatever the budgets: for ``seconds`` (Box seconds on
        the rate-limit timeline; ``None``: until :meth:`Throttle.stop`), ``share`` of the API
        calls (of ``user`` only, when given) get Box's 429 with ``retry-after: retry_after``
        (``None``: no header). Deterministic: exactly ``floor(n * share)`` of ``n`` calls."""
        throttle = Throttle(
            share=share,
            seconds=seconds,
            retry_after=retry_after,
            user_id=user,
            start=self.state.box_seconds(),
            clock=self.state.box_seconds,
        )
        with self.state.lock:
            self.state.throttles = [t for t in self.state.throttles if t.active] + [throttle]
        return throttle

    def rate_limited(self, user: str | None = None) -> int:
        """How many 429s rate limits and throttles answered (to calls acting as ``user``, or
        in all). Scripted faults are not counted."""
        with self.state.lock:
            refusals = self.state.refusals
            return refusals[user] if user is not None else sum(refusals.values())

    def rate_limited_by_user(self) -> dict[str, int]:
        """The 429s of :meth:`rate_limited`, per acting user ID."""
        with self.state.lock:
            return dict(self.state.refusals)
