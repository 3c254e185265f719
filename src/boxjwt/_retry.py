"""A bounded retry policy (tenacity underneath) that only reads ``retryable``/``retry_after``.

Classifying *whether* something may be retried lives with whoever understands the failure (the
token endpoint, the API session): they put ``retryable`` and ``retry_after`` on their exceptions,
or pass predicates for HTTP responses. This module only decides *when*: how long to wait, and
when to give up. Everything is bounded (attempts and total time), and the sleeper, clock and
random source are injectable so tests never sleep.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import tenacity
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from boxjwt._http import parse_retry_after
from boxjwt.exceptions import ConfigurationError

__all__ = [
    "RetryEvent",
    "RetryPolicy",
    "default_retry_after",
    "default_retryable",
    "log_retry",
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


def _outcome(state: tenacity.RetryCallState) -> Any:
    """The exception raised, or the result returned, by the attempt ``state`` describes."""
    future = state.outcome
    if future is None:  # pragma: no cover - tenacity sets it before any strategy runs
        return None
    return future.exception() if future.failed else future.result()


def _last_outcome(state: tenacity.RetryCallState) -> Any:
    """Giving up: re-raise the last exception unchanged, or return the last result."""
    future = state.outcome
    assert future is not None  # noqa: S101 - tenacity sets it before giving up
    return future.result()


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


def log_retry(
    log: logging.Logger,
    method: str,
    url: str | None,
    event: RetryEvent,
    *,
    paced: bool,
    status: int | None = None,
    request_id: str | None = None,
) -> None:
    """The warning for a Box request whose failed attempt will be retried, for every transport
    (``status`` and ``request_id``: of Box's answer, when the outcome was one; ``paced``: a
    429 then waits out the user's shared pause rather than ``event.delay``)."""
    when = f"in {event.delay:.1f} s"
    if status is None:
        what = type(event.outcome).__name__
    else:
        if paced and status == 429:
            when = "after the user's shared pause"
        what = f"HTTP {status}" + (f", Box request id {request_id}" if request_id else "")
    log.warning(
        "%s %s: attempt %d failed (%s); retrying %s", method, url, event.attempt, what, when
    )


class _wait_jitter(wait_base):  # noqa: N801 - named like tenacity's strategies
    """``inner``'s wait times ``U(1 - jitter, 1 + jitter)`` drawn from ``rng``.

    Box's SDKs: ``2**n * 1 s * U(0.5, 1.5)``. (tenacity's own random waits draw from the
    ``random`` module, which tests could not make deterministic.)
    """

    def __init__(
        self, inner: wait_base, jitter: float, rng: random.Random, lock: threading.Lock
    ) -> None:
        self.inner = inner
        self.jitter = jitter
        self.rng = rng
        self.lock = lock

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        base = self.inner(retry_state)
        if not self.jitter:
            return base
        with self.lock:
            factor = self.rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return base * factor


class _wait_retry_after(wait_base):  # noqa: N801 - named like tenacity's strategies
    """The server's requested wait (``retry_after(outcome)``) up to ``cap``; else ``fallback``."""

    def __init__(
        self,
        retry_after: Callable[[Any], float | None],
        cap: float,
        fallback: wait_base,
    ) -> None:
        self.retry_after = retry_after
        self.cap = cap
        self.fallback = fallback

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        seconds = self.retry_after(_outcome(retry_state))
        if seconds is None:
            return self.fallback(retry_state)
        return min(max(seconds, 0.0), self.cap)


def _state_at(attempt: int) -> tenacity.RetryCallState:
    """A tenacity call state just after attempt number ``attempt`` (for :meth:`backoff`)."""
    state = tenacity.RetryCallState(None, None, (), {})  # type: ignore[arg-type]
    state.attempt_number = attempt
    return state


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
      would reach it is not taken, the last error is raised instead.
    - ``max_retry_after``: a server's ``Retry-After`` is honoured up to this many seconds.
    - Without a ``Retry-After``, the wait before retry *n* (first retry: n = 0) is
      ``min(backoff_max, backoff_base * 2**n) * U(1 - jitter, 1 + jitter)``
      (Box SDKs: base 1 s, jitter 0.5).
    - ``sleep``, ``clock`` (monotonic seconds) and ``rng`` are injectable so tests never sleep;
      ``on_retry`` is called with a :class:`RetryEvent` before every wait.

    Built from tenacity's strategies: ``stop_after_attempt | stop_before_delay``,
    ``retry_if_exception | retry_if_result``, and ``wait_exponential`` with jitter behind a
    wait that prefers the server's ``Retry-After``. The first attempt runs outside tenacity,
    so a call that succeeds costs nothing beyond itself.

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
    _backoff: wait_base = attrs.field(init=False, eq=False, repr=False)
    _stop: stop_base = attrs.field(init=False, eq=False, repr=False)

    @_backoff.default
    def _make_backoff(self) -> wait_base:
        exponential = tenacity.wait_exponential(
            multiplier=self.backoff_base, max=self.backoff_max, exp_base=2
        )
        return _wait_jitter(exponential, self.jitter, self.rng, self._rng_lock)

    @_stop.default
    def _make_stop(self) -> stop_base:
        return tenacity.stop_after_attempt(self.max_attempts) | tenacity.stop_before_delay(
            self.max_total_time
        )

    def backoff(self, retry_index: int) -> float:
        """The jittered exponential wait before retry ``retry_index`` (0 for the first retry)."""
        return self._backoff(_state_at(max(retry_index, 0) + 1))

    def delay_for(self, retry_index: int, retry_after: float | None) -> float:
        """The wait before retry ``retry_index``: the (capped) ``retry_after``, else backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(retry_index)

    def next_delay(self, attempt: int, elapsed: float, retry_after: float | None) -> float | None:
        """After attempt number ``attempt`` (from 1) failed retryably, ``elapsed`` seconds after
        the first began: the wait before the next attempt, or None to give up.

        The decision :meth:`run` makes through tenacity, as a pure function for a transport that
        cannot block (the asyncio twin awaits the wait): :meth:`delay_for` (``retry_after``
        capped, else jittered backoff), unless ``max_attempts`` were made or the wait would
        reach ``max_total_time``.
        """
        if attempt >= self.max_attempts:
            return None
        delay = self.delay_for(attempt - 1, retry_after)
        if elapsed + delay >= self.max_total_time:
            return None
        return delay

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
        # every call) costs nothing beyond ``fn`` itself. Only a retryable first outcome goes
        # to tenacity, as the outcome of its attempt 1.
        try:
            result = fn()
        except Exception as exc:
            if not retry_exception(exc):
                raise
            first: tuple[BaseException | None, Any] = (exc, None)
        else:
            if retry_result is None or not retry_result(result):
                return result
            first = (None, result)
        retrying = self._retrying(retry_exception, retry_result, retry_after, on_retry, start)
        outcome: T = self._drive(retrying, fn, first, start)
        return outcome

    def _retrying(
        self,
        retry_exception: Callable[[BaseException], bool],
        retry_result: Callable[[T], bool] | None,
        retry_after: Callable[[Any], float | None],
        on_retry: Callable[[RetryEvent], None] | None,
        start: float,
    ) -> tenacity.Retrying:
        retry: tenacity.retry_base = tenacity.retry_if_exception(retry_exception)
        if retry_result is not None:
            retry = retry | tenacity.retry_if_result(retry_result)
        hooks = [hook for hook in (self.on_retry, on_retry) if hook is not None]

        def before_sleep(state: tenacity.RetryCallState) -> None:
            event = RetryEvent(
                attempt=state.attempt_number,
                delay=state.upcoming_sleep,
                elapsed=self.clock() - start,
                outcome=_outcome(state),
            )
            for hook in hooks:
                hook(event)

        return tenacity.Retrying(
            sleep=self._nap,
            stop=self._stop,
            wait=_wait_retry_after(retry_after, self.max_retry_after, self._backoff),
            retry=retry,
            before_sleep=before_sleep,
            retry_error_callback=_last_outcome,
        )

    def _drive(
        self,
        retrying: tenacity.Retrying,
        fn: Callable[[], Any],
        first: tuple[BaseException | None, Any],
        start: float,
    ) -> Any:
        """``Retrying.__call__``'s loop, with two differences: attempt 1 already happened (its
        outcome is ``first``), and times come from ``self.clock`` (tenacity reads
        ``time.monotonic`` itself), so ``stop_before_delay`` honours the injected clock."""
        retrying.begin()
        state = tenacity.RetryCallState(retrying, fn=None, args=(), kwargs={})
        state.start_time = start
        error, result = first
        if error is not None:
            state.set_exception((type(error), error, error.__traceback__))
        else:
            state.set_result(result)
        state.outcome_timestamp = self.clock()
        while True:
            action = retrying.iter(state)
            if isinstance(action, tenacity.DoAttempt):
                try:
                    value = fn()
                except BaseException as exc:  # noqa: BLE001 - the retry strategy decides
                    state.set_exception((type(exc), exc, exc.__traceback__))
                else:
                    state.set_result(value)
                state.outcome_timestamp = self.clock()
            elif isinstance(action, tenacity.DoSleep):
                state.prepare_for_next_attempt()
                retrying.sleep(action)
            else:
                return action

    def _nap(self, seconds: float) -> None:
        if seconds > 0:
            self.sleep(seconds)
