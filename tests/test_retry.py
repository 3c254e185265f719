"""RetryPolicy: bounded attempts and time, backoff with jitter, Retry-After; never sleeps."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from boxjwt._retry import (
    RetryEvent,
    RetryPolicy,
    default_retry_after,
    default_retryable,
    parse_retry_after,
)
from boxjwt.exceptions import (
    ConfigurationError,
    InvalidSubjectError,
    TokenRateLimitedError,
    TokenServerError,
    TransportError,
)
from boxjwt.testing import FakeClock


class FixedRandom(random.Random):
    """``uniform`` always returns one end of the range."""

    def __init__(self, pick: str) -> None:
        super().__init__(0)
        self.pick = pick

    def uniform(self, a: float, b: float) -> float:
        return a if self.pick == "low" else b


def policy(clock: FakeClock, **kwargs: object) -> RetryPolicy:
    kwargs.setdefault("jitter", 0.0)
    return RetryPolicy(sleep=clock.sleep, clock=clock, **kwargs)  # type: ignore[arg-type]


def failing(
    *errors: BaseException, result: object = "ok"
) -> tuple[Callable[[], object], list[int]]:
    calls: list[int] = []

    def fn() -> object:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return fn, calls


def server_error(retry_after: float | None = None) -> TokenServerError:
    return TokenServerError("boom", status_code=503, retry_after=retry_after)


# --------------------------------------------------------------------------- configuration


def test_defaults_match_box_sdks() -> None:
    p = RetryPolicy()
    assert p.max_attempts == 6  # one try + Box SDKs' 5 retries
    assert p.backoff_base == 1.0
    assert p.jitter == 0.5
    assert p.max_total_time > 0
    assert p.max_retry_after > 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"max_attempts": 2.5},
        {"max_total_time": -1},
        {"max_total_time": float("nan")},
        {"max_retry_after": "5"},
        {"backoff_base": -0.1},
        {"backoff_max": False},
        {"jitter": 1.0},
        {"jitter": -0.1},
        {"jitter": True},
    ],
)
def test_invalid_settings_are_configuration_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen_and_evolvable() -> None:
    p = RetryPolicy(max_attempts=3)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        p.max_attempts = 4  # type: ignore[misc]
    q = attrs.evolve(p, max_attempts=4)
    assert (p.max_attempts, q.max_attempts) == (3, 4)
    assert RetryPolicy(sleep=print) == RetryPolicy()  # callables are not part of equality
    assert "sleep" not in repr(p)


# --------------------------------------------------------------------------- waits


def test_backoff_doubles_and_is_capped() -> None:
    p = RetryPolicy(jitter=0.0, backoff_base=1.0, backoff_max=10.0)
    assert [p.backoff(n) for n in range(6)] == [1, 2, 4, 8, 10, 10]
    assert p.backoff(10_000) == 10.0  # no overflow
    assert p.backoff(-3) == 1.0


def test_backoff_jitter_bounds() -> None:
    low = RetryPolicy(rng=FixedRandom("low"))
    high = RetryPolicy(rng=FixedRandom("high"))
    assert [low.backoff(n) for n in range(5)] == [0.5, 1, 2, 4, 8]
    assert [high.backoff(n) for n in range(5)] == [1.5, 3, 6, 12, 24]


@given(st.integers(min_value=0, max_value=100), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_jitter_band(n: int, seed: int) -> None:
    p = RetryPolicy(rng=random.Random(seed))
    nominal = min(p.backoff_max, 2.0**n)
    assert 0.5 * nominal <= p.backoff(n) <= 1.5 * nominal


def test_delay_for_prefers_capped_retry_after() -> None:
    p = RetryPolicy(jitter=0.0, max_retry_after=30.0)
    assert p.delay_for(0, 2.0) == 2.0
    assert p.delay_for(3, 0.0) == 0.0
    assert p.delay_for(0, 3600.0) == 30.0
    assert p.delay_for(0, -5.0) == 0.0
    assert p.delay_for(2, None) == 4.0


# --------------------------------------------------------------------------- call


def test_success_first_time_never_waits() -> None:
    clock = FakeClock(1000.0)
    fn, calls = failing()
    assert policy(clock).call(fn) == "ok"
    assert (len(calls), clock.sleeps) == (1, [])


def test_retryable_errors_back_off_exponentially() -> None:
    clock = FakeClock(1000.0)
    fn, calls = failing(server_error(), server_error(), TransportError("reset"))
    assert policy(clock).call(fn) == "ok"
    assert len(calls) == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_permanent_error_is_raised_after_one_call() -> None:
    clock = FakeClock(1000.0)
    err = InvalidSubjectError("bad sub")
    fn, calls = failing(err)
    with pytest.raises(InvalidSubjectError) as info:
        policy(clock).call(fn)
    assert info.value is err
    assert (len(calls), clock.sleeps) == (1, [])


def test_unrelated_exceptions_are_not_retried() -> None:
    clock = FakeClock(1000.0)
    fn, calls = failing(KeyError("bug"))
    with pytest.raises(KeyError):
        policy(clock).call(fn)
    assert len(calls) == 1


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    clock = FakeClock(1000.0)
    errors = [server_error() for _ in range(10)]
    fn, calls = failing(*errors)
    with pytest.raises(TokenServerError) as info:
        policy(clock, max_attempts=4).call(fn)
    assert info.value is errors[3]
    assert len(calls) == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_max_attempts_one_disables_retrying() -> None:
    clock = FakeClock(1000.0)
    fn, calls = failing(server_error())
    with pytest.raises(TokenServerError):
        policy(clock, max_attempts=1).call(fn)
    assert (len(calls), clock.sleeps) == (1, [])


def test_total_time_budget_stops_before_an_overlong_wait() -> None:
    clock = FakeClock(1000.0)
    fn, calls = failing(*[server_error() for _ in range(10)])
    with pytest.raises(TokenServerError):
        policy(clock, max_attempts=10, max_total_time=10.0).call(fn)
    # waits 1 + 2 + 4 = 7; the next (8) would end at 15 > 10: give up instead
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert len(calls) == 4


def test_total_time_counts_time_spent_in_attempts() -> None:
    clock = FakeClock(1000.0)
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        clock.advance(8.0)  # each attempt takes 8 s (e.g. a slow server)
        raise server_error()

    with pytest.raises(TokenServerError):
        policy(clock, max_total_time=20.0).call(slow)
    # after 1: 8 s + wait 1 = 9 ok; after 2: 17 s + 2 = 19 ok; after 3: 27 s: stop
    assert clock.sleeps == [1.0, 2.0]
    assert len(calls) == 3


def test_retry_after_is_honoured_and_capped() -> None:
    clock = FakeClock(1000.0)
    fn, calls = failing(
        TokenRateLimitedError("429", retry_after=2.0),
        TokenRateLimitedError("429", retry_after=500.0),
        server_error(retry_after=0.0),
        TokenRateLimitedError("429"),  # no Retry-After: backoff for retry #4 (index 3)
    )
    assert policy(clock, max_retry_after=30.0, max_total_time=100.0).call(fn) == "ok"
    assert len(calls) == 5
    assert clock.sleeps == [2.0, 30.0, 8.0]  # the zero wait is not slept at all


def test_retry_after_beyond_the_budget_gives_up_at_once() -> None:
    clock = FakeClock(1000.0)
    fn, calls = failing(TokenRateLimitedError("429", retry_after=50.0))
    with pytest.raises(TokenRateLimitedError):
        policy(clock, max_total_time=10.0, max_retry_after=60.0).call(fn)
    assert (len(calls), clock.sleeps) == (1, [])


def test_on_retry_hooks_receive_events() -> None:
    clock = FakeClock(1000.0)
    policy_events: list[RetryEvent] = []
    call_events: list[RetryEvent] = []
    err1, err2 = server_error(), TokenRateLimitedError("slow down", retry_after=3.0)
    fn, _ = failing(err1, err2)
    p = policy(clock, on_retry=policy_events.append)
    assert p.call(fn, on_retry=call_events.append) == "ok"
    assert policy_events == call_events
    assert [(e.attempt, e.delay, e.outcome) for e in call_events] == [
        (1, 1.0, err1),
        (2, 3.0, err2),
    ]
    assert call_events[1].elapsed == 1.0


def test_real_sleep_and_clock_are_defaults() -> None:
    p = RetryPolicy()
    assert p.call(lambda: 42) == 42


# --------------------------------------------------------------------------- run (generic)


def test_run_retries_results_by_predicate() -> None:
    clock = FakeClock(1000.0)
    answers = iter([503, 202, 200])
    seen: list[int] = []

    def fn() -> int:
        seen.append(1)
        return next(answers)

    got = policy(clock).run(
        fn,
        retry_result=lambda status: status != 200,
        retry_after=lambda status: 5.0 if status == 202 else None,
    )
    assert got == 200
    assert clock.sleeps == [1.0, 5.0]


def test_run_returns_the_last_result_when_exhausted() -> None:
    clock = FakeClock(1000.0)
    seen: list[int] = []

    def fn() -> int:
        seen.append(1)
        return 503

    assert policy(clock, max_attempts=3).run(fn, retry_result=lambda s: s >= 500) == 503
    assert (len(seen), clock.sleeps) == (3, [1.0, 2.0])


def test_run_with_custom_exception_predicate() -> None:
    clock = FakeClock(1000.0)
    fn, calls = failing(ConnectionResetError("reset"))
    got = policy(clock).run(fn, retry_exception=lambda e: isinstance(e, ConnectionError))
    assert got == "ok"
    assert len(calls) == 2


def test_results_are_not_retried_without_a_predicate() -> None:
    clock = FakeClock(1000.0)
    assert policy(clock).run(lambda: 503) == 503
    assert clock.sleeps == []


# --------------------------------------------------------------------------- helpers


def test_default_predicates_read_attributes_only() -> None:
    assert default_retryable(server_error())
    assert not default_retryable(InvalidSubjectError("x"))
    assert not default_retryable(ValueError("x"))
    err = server_error()
    err.retryable = False
    assert not default_retryable(err)
    assert default_retry_after(server_error(retry_after=3)) == 3.0
    assert default_retry_after(server_error()) is None
    assert default_retry_after(object()) is None

    class Weird:
        retry_after = True

    assert default_retry_after(Weird()) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("", None),
        (None, None),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00", None),  # a date without a zone is not trusted
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    when = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    header = format_datetime(when, usegmt=True)
    base = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert parse_retry_after(header, now=base) == 30.0
    assert parse_retry_after(header, now=base + 100) == 0.0  # already past
    old = format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(old) == 0.0  # measured against the local clock: long past


@given(
    max_attempts=st.integers(1, 8),
    max_total_time=st.floats(0, 100),
    retry_after=st.one_of(st.none(), st.floats(0, 80)),
    cost=st.floats(0, 20),
    seed=st.integers(0, 2**32),
)
def test_next_delay_decides_as_run_does(
    max_attempts: int, max_total_time: float, retry_after: float | None, cost: float, seed: int
) -> None:
    """The pure decision the asyncio twin awaits is the one tenacity makes in run()."""
    clock = FakeClock(start=0.0)
    made = RetryPolicy(
        max_attempts=max_attempts,
        max_total_time=max_total_time,
        sleep=clock.sleep,
        clock=clock,
        rng=random.Random(seed),
    )
    twin = attrs.evolve(made, rng=random.Random(seed))
    run_waits: list[float] = []

    def attempt() -> None:
        clock.advance(cost)  # each attempt takes this long
        raise TokenServerError("x", retryable=True, retry_after=retry_after)

    with pytest.raises(TokenServerError):
        made.run(attempt, on_retry=lambda e: run_waits.append(e.delay))
    waits: list[float] = []
    elapsed, n = cost, 1
    while (delay := twin.next_delay(n, elapsed, retry_after)) is not None:
        waits.append(delay)
        elapsed += delay + cost
        n += 1
    assert waits == run_waits
