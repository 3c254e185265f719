"""Per-user pacing for Box's rate limits, shared back-off after a 429, adaptive rate.

Transport-free: nothing here sends a request or imports an HTTP library. A session asks for a
:class:`RatePermit` before each Box request (``acquire`` blocks; ``reserve`` + ``recheck``
let an asyncio twin await the delay instead), sends, and reports the answer with
``record_response``.

**Pacing** is GCRA (virtual scheduling): for every (subject, class) and every
:class:`RateLimit` of that class the limiter keeps a theoretical arrival time ``tat``. A
reservation takes the earliest time allowed by every limit, ``send = max(now, pause_until,
tat_i - tolerance_i)``, then moves each ``tat_i = max(send, tat_i) + interval_i``. That is a
few float operations under a short lock; the caller then sleeps *without any lock*. Slots are
handed out in arrival order, so no thread starves.

**Pauses.** A 429 pauses its (subject, class) for every thread until ``retry-after`` (or a
jittered exponential back-off when Box gives none). A pause inserts a gap into the schedule:
slots not yet sent move back by the gap, in the same order and spacing, and new reservations
start after it at the steady rate (no burst). A thread woken from its sleep re-checks for
pauses recorded since its reservation (:meth:`RateLimiter.recheck`).

**Adaptive rate.** 429s that keep coming while we pace under the budget mean Box's
quality-of-service throttling: every *fresh* 429 after the first of an episode (a request sent
after the previous pause was decided; requests already in flight do not count) multiplies that
class's rate for that subject by ``decrease`` (down to ``min_factor``). After ``quiet_period``
seconds without a 429 the rate climbs back linearly by ``recovery_rate`` per second until it
reaches the budget again.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any, Final

from boxjwt._ratepolicy import (
    RATE_CLASSES,
    RateClass,
    RateLimit,
    RateLimiterStats,
    RatePolicy,
    _Counters,
)
from boxjwt.exceptions import ConfigurationError

__all__ = ["RateLimiter", "RatePermit", "shared_rate_limiter"]

logger = logging.getLogger("boxjwt")


class RatePermit:
    """The right to send one request, at ``send_at`` (limiter clock). Hand it back to
    ``record_response``. Its attributes are read-only to the caller."""

    __slots__ = (
        "_owner",
        "_paced",
        "_remote_send_at",
        "enterprise",
        "epoch",
        "rate_class",
        "reserved_at",
        "send_at",
        "subject",
    )

    def __init__(
        self,
        owner: RateLimiter,
        *,
        subject: str,
        rate_class: RateClass,
        enterprise: str | None,
        reserved_at: float,
        send_at: float,
        epoch: int,
        remote_send_at: float | None = None,
    ) -> None:
        self._owner = owner
        self.subject = subject
        self.rate_class: RateClass = rate_class
        self.enterprise = enterprise
        self.reserved_at = reserved_at
        """Limiter-clock time of the reservation."""
        self.send_at = send_at
        """Limiter-clock time the request may go (moved back by pauses recorded since)."""
        self.epoch = epoch
        self._paced = send_at > reserved_at
        self._remote_send_at = remote_send_at

    @property
    def delay(self) -> float:
        """Seconds from the reservation to ``send_at``."""
        return max(0.0, self.send_at - self.reserved_at)

    def __repr__(self) -> str:
        return (
            f"RatePermit(subject={self.subject!r}, rate_class={self.rate_class!r}, "
            f"delay={self.delay:.3f})"
        )


# --------------------------------------------------------------------------- state


class _Track:
    """The state of one (subject, class): schedule, pauses, adaptive rate."""

    __slots__ = (
        "dropped",
        "episode",
        "factor_base",
        "last_429",
        "pause_until",
        "pauses",
        "remote_pause",
        "strikes",
        "tats",
        "unrecovered",
    )

    def __init__(self, windows: int) -> None:
        self.tats = [-math.inf] * windows
        self.pause_until = -math.inf
        self.pauses: list[tuple[int, float, float]] = []  # (epoch, start, gap), oldest first
        self.dropped = 0  # epoch of the newest record dropped from ``pauses``
        self.episode = -math.inf  # when the latest pause was decided
        self.last_429: float | None = None
        self.factor_base = 1.0
        self.strikes = 0
        self.unrecovered = False  # the rate was lowered and has not been logged as recovered
        self.remote_pause: object = None  # RedisRateLimiter: identity of the last pause mirrored

    def steady(self, steps: tuple[tuple[float, float], ...], floor: float) -> float:
        """:meth:`earliest` then :meth:`commit` at the full rate (``factor`` 1), from each
        limit's precomputed ``(interval, tolerance)``: the common case, in one pass."""
        tats = self.tats
        send = floor
        for tat, (_interval, tolerance) in zip(tats, steps, strict=True):
            send = max(send, tat - tolerance)
        for i, (interval, _tolerance) in enumerate(steps):
            tat = tats[i]
            tats[i] = (tat if tat > send else send) + interval
        return send

    def earliest(self, limits: Sequence[RateLimit], factor: float, floor: float) -> float:
        send = floor
        for tat, limit in zip(self.tats, limits, strict=True):
            send = max(send, tat - (limit.burst - 1) * limit.interval / factor)
        return send

    def commit(self, limits: Sequence[RateLimit], factor: float, send: float) -> None:
        for i, limit in enumerate(limits):
            self.tats[i] = max(send, self.tats[i]) + limit.interval / factor

    def insert_gap(
        self, limits: Sequence[RateLimit], factor: float, start: float, end: float
    ) -> None:
        """Move the schedule back by ``end - start`` from ``start``; restart at ``end`` at the
        steady rate (no burst right after a pause)."""
        for i, limit in enumerate(limits):
            tat = self.tats[i]
            if tat > start:
                tat += end - start
            self.tats[i] = max(tat, end + (limit.burst - 1) * limit.interval / factor)
        self.pause_until = end

    def idle(self, now: float, policy: RatePolicy) -> bool:
        return (
            now >= max(self.tats, default=-math.inf)
            and now >= self.pause_until
            and (self.last_429 is None or now - self.last_429 > policy.quiet_period)
            and policy.factor_at(self.factor_base, self.last_429, now) >= 1.0
        )


_MAX_PAUSE_RECORDS: Final = 32
_SWEEP_EVERY: Final = 1024


def _check_class(rate_class: object) -> RateClass:
    if rate_class not in RATE_CLASSES:
        raise ConfigurationError(
            f"rate_class must be one of {', '.join(RATE_CLASSES)}, not {rate_class!r}"
        )
    return rate_class


def _check_subject(subject: object, what: str = "subject") -> str:
    if not isinstance(subject, str) or not subject:
        raise ConfigurationError(f"the rate-limit {what} must be a non-empty string")
    return subject


def _clean_retry_after(value: float | None) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


class RateLimiter:
    """Paces Box requests per subject and rate class; one limiter serves many threads.

    ::

        limiter = boxjwt.RateLimiter()                       # Box's budgets, a little under
        s = boxjwt.AsUserSession(auth, user_id="12345", rate_limiter=limiter)

    ``policy``: the budgets and back-off rules (:class:`RatePolicy`). ``clock`` (monotonic
    seconds), ``sleep`` and ``rng`` are injectable so tests never sleep.
    :meth:`RateLimiter.disabled` makes a limiter that never waits but still counts.

    The protocol a session follows (an asyncio session awaits the delays instead)::

        permit = limiter.reserve(subject, "general")          # never blocks
        delay = permit.delay
        while delay > 0:                                      # no lock is held while waiting
            time.sleep(delay)
            delay = limiter.recheck(permit)                   # pauses decided meanwhile
        response = send()
        limiter.record_response(permit, response.status_code, retry_after)

    or simply ``permit = limiter.acquire(subject, "general")`` for the first three lines.
    Subjects are opaque strings (the session uses the user Box charges); ``enterprise``, when
    given, also applies the policy's per-enterprise limits (search).
    """

    def __init__(
        self,
        policy: RatePolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if policy is not None and not isinstance(policy, RatePolicy):
            raise ConfigurationError("policy must be a boxjwt.RatePolicy (or None)")
        self._policy = RatePolicy() if policy is None else policy
        self._clock = clock
        self._sleep = sleep
        self._rng = random.Random() if rng is None else rng  # noqa: S311 - jitter, not secrets
        self._enabled = True
        self._lock = threading.Lock()
        self._tracks: dict[tuple[str, RateClass], _Track] = {}
        self._counters = {cls: _Counters() for cls in RATE_CLASSES}
        #: Per class, each limit's ``(interval, tolerance)`` at the full rate (the policy is
        #: immutable): the fast path of :meth:`_schedule`.
        self._steps = {
            cls: tuple(
                (limit.interval, (limit.burst - 1) * limit.interval)
                for limit in self._policy.limits(cls)
            )
            for cls in RATE_CLASSES
        }
        self._epochs = itertools.count(1)
        self._epoch = 0
        self._since_sweep = 0

    @classmethod
    def disabled(cls, *, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        """A limiter that never waits or pauses (boxjwt before 0.2) but still counts requests
        and 429s: pass it as ``rate_limiter=`` to turn pacing off."""
        limiter = RateLimiter(clock=clock)
        limiter._enabled = False
        return limiter

    def __repr__(self) -> str:
        state = "" if self._enabled else ", disabled"
        return f"{type(self).__name__}(subjects={len(self._tracks)}{state})"

    @property
    def enabled(self) -> bool:
        """False for :meth:`disabled` limiters."""
        return self._enabled

    @property
    def policy(self) -> RatePolicy:
        """The budgets and back-off rules."""
        return self._policy

    @property
    def clock(self) -> Callable[[], float]:
        """The clock of ``send_at`` and ``reserved_at``."""
        return self._clock

    # ------------------------------------------------------------------ the protocol

    def acquire(
        self, subject: str, rate_class: RateClass = "general", *, enterprise: str | None = None
    ) -> RatePermit:
        """Reserve a slot and sleep until it (re-checking pauses on waking); return the permit."""
        permit = self.reserve(subject, rate_class, enterprise=enterprise)
        if permit.send_at <= permit.reserved_at:
            return permit  # nearly every request: no wait
        delay = permit.delay
        while delay > 0:
            self._sleep(delay)
            delay = self.recheck(permit)
        return permit

    def reserve(
        self, subject: str, rate_class: RateClass = "general", *, enterprise: str | None = None
    ) -> RatePermit:
        """Take the next slot of ``subject``'s ``rate_class`` budget; never blocks."""
        cls = _check_class(rate_class)
        if type(subject) is not str or not subject:
            subject = _check_subject(subject)
        if enterprise is not None and (type(enterprise) is not str or not enterprise):
            enterprise = _check_subject(enterprise, "enterprise")
        with self._lock:
            now = self._clock()
            send = self._schedule(subject, cls, enterprise, now) if self._enabled else now
            permit = RatePermit(
                self,
                subject=subject,
                rate_class=cls,
                enterprise=enterprise,
                reserved_at=now,
                send_at=send,
                epoch=self._epoch,
            )
            if send > now:
                self._count_reservation(cls, send - now)
            else:
                self._counters[cls].requests += 1
            return permit

    def wait_time(self, permit: RatePermit) -> float:
        """Seconds from now until ``permit``'s slot (0: send now), counting pauses recorded
        since it was reserved."""
        owner = permit._owner
        if owner is not self:
            return owner.wait_time(permit)
        with self._lock:
            now = self._clock()
            if permit.epoch != self._epoch:
                self._shift(permit)
            return max(0.0, permit.send_at - now)

    def recheck(self, permit: RatePermit) -> float:
        """After sleeping until ``permit``'s slot: the seconds it was moved back meanwhile by
        pauses (0: send now). It does not read the clock, so a sleep that returns at once (a
        test's stand-in) cannot make a caller spin."""
        owner = permit._owner
        if owner is not self:
            return owner.recheck(permit)
        with self._lock:
            if permit.epoch == self._epoch:
                return 0.0
            before = permit.send_at
            self._shift(permit)
            return max(0.0, permit.send_at - before)

    def record_response(
        self, permit: RatePermit, status: int, retry_after: float | None = None
    ) -> None:
        """Report the answer to ``permit``'s request. Only a 429 changes anything: it pauses
        the permit's (subject, class) for every thread, and lowers its rate when 429s keep
        coming (see the module documentation)."""
        owner = permit._owner
        if owner is not self:
            owner.record_response(permit, status, retry_after)
            return
        if status == 429:
            self._throttled(permit.subject, permit.rate_class, retry_after, permit.send_at)

    def on_429(
        self,
        subject: str,
        rate_class: RateClass = "general",
        retry_after: float | None = None,
        *,
        sent_at: float | None = None,
    ) -> None:
        """A 429 for a request made without a permit (``sent_at``: when it was sent, limiter
        clock; ``None`` counts it as fresh evidence)."""
        self._throttled(_check_subject(subject), _check_class(rate_class), retry_after, sent_at)

    # ------------------------------------------------------------------ introspection

    def rate_factor(self, subject: str, rate_class: RateClass = "general") -> float:
        """The adaptive rate of ``subject``'s ``rate_class``: 1.0 is the full budget."""
        with self._lock:
            track = self._tracks.get((subject, rate_class))
            if track is None:
                return 1.0
            return self._policy.factor_at(track.factor_base, track.last_429, self._clock())

    def paused_for(self, subject: str, rate_class: RateClass = "general") -> float:
        """Seconds left of the current pause of ``subject``'s ``rate_class`` (0: none)."""
        with self._lock:
            track = self._tracks.get((subject, rate_class))
            return 0.0 if track is None else max(0.0, track.pause_until - self._clock())

    def snapshot(self) -> RateLimiterStats:
        """The counters and current adaptive rates, as an immutable snapshot."""
        with self._lock:
            now = self._clock()
            classes = {cls: counters.freeze() for cls, counters in self._counters.items()}
            factors = {}
            for key, track in self._tracks.items():
                factor = self._policy.factor_at(track.factor_base, track.last_429, now)
                if factor < 1.0:
                    factors[key] = factor
        return RateLimiterStats(
            enabled=self._enabled,
            backend=self._backend(),
            classes=MappingProxyType(classes),
            rate_factors=MappingProxyType(factors),
        )

    def _backend(self) -> str:
        return "local"

    # ------------------------------------------------------------------ internals (locked)

    def _track(self, key: tuple[str, RateClass], windows: int) -> _Track:
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track(windows)
        return track

    def _schedule(self, subject: str, cls: RateClass, enterprise: str | None, now: float) -> float:
        steps = self._steps[cls]
        track = self._tracks.get((subject, cls))
        if track is None:
            track = self._tracks[subject, cls] = _Track(len(steps))
        elif track.factor_base < 1.0 or track.unrecovered:
            return self._schedule_adapted(track, subject, cls, enterprise, now)
        floor = now if now > track.pause_until else track.pause_until
        if cls != "search" or enterprise is None:  # only search has enterprise limits
            send = track.steady(steps, floor)
        else:
            send = self._search_slot(track, steps, enterprise, floor)
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self._sweep(now)
        return send

    def _search_slot(
        self, track: _Track, steps: tuple[tuple[float, float], ...], enterprise: str, floor: float
    ) -> float:
        """A search slot at the full rate: the subject's and the enterprise's limits."""
        limits = self._policy.limits("search")
        elimits = self._policy.enterprise_limits("search")
        send = track.earliest(limits, 1.0, floor)
        if elimits:
            etrack = self._track((f"enterprise:{enterprise}", "search"), len(elimits))
            send = etrack.earliest(elimits, 1.0, send)
            etrack.commit(elimits, 1.0, send)
        track.commit(limits, 1.0, send)
        return send

    def _schedule_adapted(
        self, track: _Track, subject: str, cls: RateClass, enterprise: str | None, now: float
    ) -> float:
        """:meth:`_schedule` for a track whose rate was lowered after 429s."""
        policy = self._policy
        limits = policy.limits(cls)
        factor = policy.factor_at(track.factor_base, track.last_429, now)
        if track.unrecovered and factor >= 1.0:
            track.unrecovered = False
            logger.info("the %s request rate of %s is back to its full budget", cls, subject)
        send = track.earliest(limits, factor, max(now, track.pause_until))
        elimits = policy.enterprise_limits(cls)
        if enterprise is not None and elimits:
            etrack = self._track((f"enterprise:{enterprise}", cls), len(elimits))
            send = etrack.earliest(elimits, 1.0, send)
            etrack.commit(elimits, 1.0, send)
        track.commit(limits, factor, send)
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self._sweep(now)
        return send

    def _sweep(self, now: float) -> None:
        """Forget idle (subject, class) states, so that 100,000 users do not mean 100,000."""
        self._since_sweep = 0
        if len(self._tracks) > _SWEEP_EVERY:
            for key in [k for k, t in self._tracks.items() if t.idle(now, self._policy)]:
                del self._tracks[key]

    def _count_reservation(self, cls: RateClass, delay: float) -> None:
        counters = self._counters[cls]
        counters.requests += 1
        if delay > 0:
            counters.paced += 1
            counters.wait += delay
            counters.max_wait = max(counters.max_wait, delay)

    def _shift(self, permit: RatePermit) -> None:
        """Move ``permit`` back by the pauses recorded since its reservation."""
        track = self._tracks.get((permit.subject, permit.rate_class))
        before = permit.send_at
        if track is not None:
            if permit.epoch < track.dropped:
                # records this permit needed were dropped: at least wait out the current pause
                permit.send_at = max(permit.send_at, track.pause_until)
            for epoch, start, gap in track.pauses:
                if epoch > permit.epoch:
                    permit.send_at = max(permit.send_at, start) + gap
        permit.epoch = self._epoch
        extra = permit.send_at - before
        if extra > 0:
            counters = self._counters[permit.rate_class]
            if not permit._paced:
                permit._paced = True
                counters.paced += 1
            counters.wait += extra
            counters.max_wait = max(counters.max_wait, permit.send_at - permit.reserved_at)

    def _record_pause(self, track: _Track, start: float, gap: float) -> None:
        self._epoch = next(self._epochs)
        track.pauses.append((self._epoch, start, gap))
        if len(track.pauses) > _MAX_PAUSE_RECORDS:
            track.dropped = track.pauses.pop(0)[0]

    def _throttled(
        self, subject: str, cls: RateClass, retry_after: float | None, sent_at: float | None
    ) -> None:
        retry_after = _clean_retry_after(retry_after)
        with self._lock:
            counters = self._counters[cls]
            counters.throttled += 1
            if not self._enabled:
                return
            policy = self._policy
            now = self._clock()
            limits = policy.limits(cls)
            track = self._track((subject, cls), len(limits))
            factor = policy.factor_at(track.factor_base, track.last_429, now)
            if track.last_429 is not None and now - track.last_429 > policy.quiet_period:
                track.strikes = 0
            fresh = sent_at is None or sent_at > track.episode
            track.factor_base, track.last_429 = factor, now
            decreased = False
            if fresh:
                if track.strikes >= 1 and factor > policy.min_factor:
                    track.factor_base = max(policy.min_factor, factor * policy.decrease)
                    track.unrecovered = decreased = True
                    counters.rate_decreases += 1
                track.strikes = min(track.strikes + 1, 63)
                track.episode = now
            if retry_after is not None:
                wait = min(retry_after, policy.max_pause)
            else:
                wait = policy.backoff(track.strikes - 1, self._rng) if fresh else 0.0
            end = now + wait
            new_pause = wait > 0 and end > track.pause_until  # retry-after: 0 pauses nothing
            if new_pause:
                start = max(now, track.pause_until)
                gap = end - start
                track.insert_gap(limits, track.factor_base, start, end)
                self._record_pause(track, start, gap)
                if fresh:
                    counters.pauses += 1
            new_factor = track.factor_base
        _log_throttle(
            subject,
            cls,
            retry_after=retry_after,
            wait=wait,
            new_pause=fresh and new_pause,
            decreased=decreased,
            factor=new_factor,
        )


def _log_throttle(
    subject: str,
    cls: RateClass,
    *,
    retry_after: float | None,
    wait: float,
    new_pause: bool,
    decreased: bool,
    factor: float,
) -> None:
    if new_pause:
        told = "retry-after" if retry_after is not None else "back-off, no retry-after"
        logger.warning(
            "Box answered 429 (rate limit) to a %s request of %s: every thread pauses %s "
            "requests of %s for %.1f s (%s)",
            cls,
            subject,
            cls,
            subject,
            wait,
            told,
        )
    elif wait > 0 or retry_after is None:
        logger.debug("429 for %s requests of %s inside a pause already decided", cls, subject)
    else:
        logger.debug("429 with retry-after: 0 for %s requests of %s: no pause", cls, subject)
    if decreased:
        logger.warning(
            "429s keep coming for %s requests of %s while paced under the budget (Box's "
            "quality-of-service throttling): lowering their rate to %.0f %% of the budget; it "
            "recovers gradually once the 429s stop",
            cls,
            subject,
            factor * 100,
        )


_SHARED: weakref.WeakKeyDictionary[Any, RateLimiter] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def shared_rate_limiter(
    owner: object, *, clock: Callable[[], float], sleep: Callable[[float], None]
) -> RateLimiter:
    """The one default limiter of ``owner`` (an authenticator), made on first use with Box's
    budgets; forgotten with its owner."""
    with _SHARED_LOCK:
        limiter = _SHARED.get(owner)
        if limiter is None:
            limiter = _SHARED[owner] = RateLimiter(clock=clock, sleep=sleep)
        return limiter
