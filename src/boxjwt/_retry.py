"""A bounded retry policy (tenacity underneath) that only reads ``retryable``/``retry_after``.

Classifying *whether* something may be retried lives with whoever understands the failure (the
token endpoint, the API session): they put ``retryable`` and ``retry_after`` on their exceptions,
or pass predicates for HTTP responses. This module only decides *when*: how long to wait, and
when to give up. Everything is bounded (attempts and total time), and the sleeper, clock and
random source are injectable so tests never sleep.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, cast

import attrs
import tenacity

from boxjwt.exceptions import ConfigurationError

__all__ = [
    "RetryEvent",
    "RetryPolicy",
    "default_retry_after",
    "default_retryable",
    "parse_retry_after",
]

T = TypeVar("T")


def default_retryable(exc: BaseException) -> bool:
    """True when ``exc`` says it may be retried (a ``retryable`` attribute that is true)."""
    return getattr(exc, "retryable", False) is True


def default_retry_after(outcome: object) -> float | None:
    """The ``retry_after`` attribute of an exception (or result), when it has one."""
    value = getattr(outcome, "retry_after", None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``now`` (Unix seconds, ideally the server's ``Date``) is needed for the date form; without
    it the local clock is used. Anything unreadable, negative or not finite gives None.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
        seconds = max(seconds, 0.0)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _future(state: tenacity.RetryCallState) -> tenacity.Future:
    # tenacity sets ``outcome`` before it calls retry/stop/wait/before_sleep/error callbacks.
    return cast(tenacity.Future, state.outcome)


@attrs.frozen
class RetryEvent:
    """What the policy reports to ``on_retry`` before each wait.

    ``attempt`` is the attempt that failed (from 1), ``delay`` the wait chosen (seconds),
    ``elapsed`` the seconds since the first attempt, and ``outcome`` the exception raised or the
    result judged retryable (e.g. a ``requests.Response``).
    """

    attempt: int
    delay: float
    elapsed: float
    outcome: Any


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigurationError(f"RetryPolicy.{attribute.name} must be a number >= 0")


def _attempts(_inst: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError("RetryPolicy.max_attempts must be an integer >= 1")


def _jitter(_inst: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ConfigurationError("RetryPolicy.jitter must be in [0, 1)")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When to try again, and when to give up. Immutable; share it freely.

    - ``max_attempts``: attempts in all, the first included (default 6: one try and Box's SDKs'
      5 retries). ``max_attempts=1`` disables retrying.
    - ``max_total_time``: seconds (by ``clock``) after which no new attempt starts; a wait that
      would cross it is not taken, the last error is raised instead.
    - ``max_retry_after``: a server's ``Retry-After`` is honoured up to this many seconds.
    - Without a ``Retry-After``, the wait before retry *n* (first retry: n = 0) is
      ``min(backoff_max, backoff_base * 2**n) * U(1 - jitter, 1 + jitter)``
      (Box SDKs: base 1 s, jitter 0.5).
    - ``sleep``, ``clock`` (monotonic seconds) and ``rng`` are injectable so tests never sleep;
      ``on_retry`` is called with a :class:`RetryEvent` before every wait.

    Use :meth:`call` for functions whose exceptions carry ``retryable`` / ``retry_after`` and
    :meth:`run` for anything else (e.g. retrying HTTP responses by predicate).
    """

    max_attempts: int = attrs.field(default=6, validator=_attempts)
    max_total_time: float = attrs.field(default=120.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    backoff_base: float = attrs.field(default=1.0, validator=_non_negative)
    backoff_max: float = attrs.field(default=30.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.5, validator=_jitter)
    sleep: Callable[[float], None] = attrs.field(default=time.sleep, eq=False, repr=False)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, eq=False, repr=False)
    rng: random.Random = attrs.field(factory=random.Random, eq=False, repr=False)
    on_retry: Callable[[RetryEvent], None] | None = attrs.field(default=None, eq=False, repr=False)
    _rng_lock: threading.Lock = attrs.field(
        factory=threading.Lock, init=False, eq=False, repr=False
    )

    def backoff(self, retry_index: int) -> float:
        """The jittered exponential wait before retry ``retry_index`` (0 for the first retry)."""
        exponent = min(max(retry_index, 0), 62)
        base = min(self.backoff_max, self.backoff_base * (2.0**exponent))
        if not self.jitter:
            return base
        with self._rng_lock:
            factor = self.rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return base * factor

    def delay_for(self, retry_index: int, retry_after: float | None) -> float:
        """The wait before retry ``retry_index``: the (capped) ``retry_after``, else backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(retry_index)

    def call(
        self,
        fn: Callable[[], T],
        *,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> T:
        """Call ``fn`` until it returns, retrying exceptions whose ``retryable`` is true.

        Waits honour the exception's ``retry_after`` (capped). The last exception is re-raised
        unchanged when the policy gives up.
        """
        return self.run(fn, on_retry=on_retry)

    def run(
        self,
        fn: Callable[[], T],
        *,
        retry_exception: Callable[[BaseException], bool] = default_retryable,
        retry_result: Callable[[T], bool] | None = None,
        retry_after: Callable[[Any], float | None] = default_retry_after,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> T:
        """The general form: retry exceptions and/or results by predicate.

        ``retry_exception(exc)`` and ``retry_result(result)`` decide whether an outcome may be
        retried; ``retry_after(outcome)`` gives the server's requested wait in seconds (or None
        for backoff). When the policy gives up, the last exception is raised or the last result
        returned, so the caller turns it into an error as usual.
        """
        start = self.clock()
        # Fast path: the first attempt runs outside tenacity, so a call that succeeds (nearly
        # every call) costs nothing beyond ``fn`` itself. Only a retryable first outcome enters
        # the loop below, which replays that outcome as its attempt 1.
        first_error: BaseException | None = None
        try:
            first_result = fn()
        except Exception as exc:
            if not retry_exception(exc):
                raise
            first_error = exc
        else:
            if retry_result is None or not retry_result(first_result):
                return first_result
        replayed = False

        def attempt() -> T:
            nonlocal replayed
            if replayed:
                return fn()
            replayed = True
            if first_error is not None:
                raise first_error
            return first_result

        delays: dict[int, float] = {}

        def outcome_of(state: tenacity.RetryCallState) -> Any:
            fut = _future(state)
            return fut.exception() if fut.failed else fut.result()

        def delay(state: tenacity.RetryCallState) -> float:
            # Memoised per attempt: tenacity versions differ on whether stop or wait runs first.
            n = state.attempt_number
            if n not in delays:
                delays[n] = self.delay_for(n - 1, retry_after(outcome_of(state)))
            return delays[n]

        def should_retry(state: tenacity.RetryCallState) -> bool:
            fut = _future(state)
            if fut.failed:
                exc = fut.exception()
                return exc is not None and retry_exception(exc)
            return retry_result is not None and retry_result(fut.result())

        def should_stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= self.max_attempts:
                return True
            return self.clock() - start + delay(state) > self.max_total_time

        def before_sleep(state: tenacity.RetryCallState) -> None:
            event = RetryEvent(
                attempt=state.attempt_number,
                delay=delay(state),
                elapsed=self.clock() - start,
                outcome=outcome_of(state),
            )
            for hook in (self.on_retry, on_retry):
                if hook is not None:
                    hook(event)

        def do_sleep(seconds: float) -> None:
            if seconds > 0:
                self.sleep(seconds)

        def give_up(state: tenacity.RetryCallState) -> Any:
            return _future(state).result()  # re-raises the last exception unchanged

        retrying = tenacity.Retrying(
            sleep=do_sleep,
            stop=should_stop,
            wait=delay,
            retry=should_retry,
            before_sleep=before_sleep,
            retry_error_callback=give_up,
            reraise=True,
        )
        result: T = retrying(attempt)
        return result
