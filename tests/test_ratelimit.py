"""RateLimiter: pacing, shared pauses, adaptive rate, counters. A FakeClock; nothing sleeps."""

from __future__ import annotations

import itertools
import logging
import math
import random
import threading
from collections.abc import Sequence
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import boxjwt
from boxjwt import RateLimit, RateLimiter, RatePolicy, rate_class_of
from boxjwt.exceptions import ConfigurationError
from boxjwt.testing import FakeClock

BOX_LIMITS = {  # box-facts.md section 5: (requests, period) per user
    "general": [(1000, 60.0)],
    "upload": [(240, 60.0)],
    "search": [(6, 1.0), (60, 60.0)],
}


def limiter(policy: RatePolicy | None = None, clock: FakeClock | None = None) -> RateLimiter:
    clock = clock or FakeClock(start=1000.0)
    return RateLimiter(policy, clock=clock, sleep=clock.sleep, rng=random.Random(7))


def one_per_second(burst: int = 1, **policy: Any) -> RatePolicy:
    """60 a minute: an interval of exactly 1 s, so delays are round numbers."""
    return RatePolicy(general=RateLimit(60, 60.0, burst=burst), jitter=0.0, **policy)


def busiest_window(sends: Sequence[float], period: float) -> int:
    """The most sends (sorted) in any half-open window [t, t + period)."""
    most, first = 0, 0
    for last, end in enumerate(sends):
        while sends[first] <= end - period:
            first += 1
        most = max(most, last - first + 1)
    return most


# --------------------------------------------------------------------------- classifier


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("POST", "/api/2.0/files/content", "upload"),
        ("POST", "/api/2.0/files/12345/content", "upload"),
        ("POST", "https://upload.box.com/api/2.0/files/content?fields=id", "upload"),
        ("POST", "http://127.0.0.1:8080/api/2.0/files/content", "upload"),
        ("POST", "/api/2.0/files/upload_sessions", "upload"),
        ("POST", "/api/2.0/files/99/upload_sessions", "upload"),
        ("PUT", "/api/2.0/files/upload_sessions/F00D", "upload"),
        ("POST", "/api/2.0/files/upload_sessions/F00D/commit", "upload"),
        ("OPTIONS", "/2.0/files/content", "general"),
        ("OPTIONS", "/api/2.0/files/content", "general"),
        ("GET", "/2.0/files/12345/content", "general"),  # a download
        ("GET", "/2.0/search?query=report", "search"),
        ("GET", "https://api.box.com/2.0/search/", "search"),
        ("GET", "/2.0/search/extra", "general"),
        ("GET", "/2.0/folders/0", "general"),
        ("GET", "/2.0/users/me", "general"),
        ("POST", "/oauth2/token", "general"),
    ],
)
def test_rate_class_of(method: str, url: str, expected: str) -> None:
    assert rate_class_of(method, url) == expected


# --------------------------------------------------------------------------- policy


def test_default_policy_is_a_little_under_box_numbers() -> None:
    policy = RatePolicy()
    for cls, box in BOX_LIMITS.items():
        limits = policy.limits(cls)  # type: ignore[arg-type]
        assert len(limits) == len(box)
        for limit, (requests, period) in zip(limits, box, strict=True):
            assert limit.period == period
            assert 0.9 * requests <= limit.requests < requests
            assert math.floor(limit.requests) + limit.burst <= requests
    assert policy.enterprise_limits("search") == (RateLimit(11, 1.0),)
    assert policy.enterprise_limits("general") == ()


@pytest.mark.parametrize(
    "make",
    [
        lambda: RateLimit(0),
        lambda: RateLimit(-1),
        lambda: RateLimit(math.inf),
        lambda: RateLimit(True),
        lambda: RateLimit(10, 0),
        lambda: RateLimit(10, burst=0),
        lambda: RateLimit(10, burst=1.5),  # type: ignore[arg-type]
        lambda: RatePolicy(general=()),
        lambda: RatePolicy(general=("10/min",)),  # type: ignore[arg-type]
        lambda: RatePolicy(general=[RateLimit(1)] * 5),
        lambda: RatePolicy(max_pause=-1),
        lambda: RatePolicy(jitter=1.0),
        lambda: RatePolicy(jitter="0"),  # type: ignore[arg-type]
        lambda: RatePolicy(decrease=0),
        lambda: RatePolicy(min_factor=1.5),
        lambda: RatePolicy(recovery_rate=0),
        lambda: RatePolicy().share(0),
        lambda: RatePolicy().share(True),
        lambda: RateLimiter(policy="fast"),  # type: ignore[arg-type]
    ],
)
def test_bad_settings_are_configuration_errors(make: object) -> None:
    with pytest.raises(ConfigurationError):
        make()  # type: ignore[operator]


def test_policy_accepts_one_limit_and_shares() -> None:
    policy = RatePolicy(upload=RateLimit(100, 60.0, burst=8))
    assert policy.upload == (RateLimit(100, 60.0, burst=8),)
    quarter = policy.share(0.25)
    assert quarter.upload == (RateLimit(25, 60.0, burst=2),)
    assert quarter.search[0] == RateLimit(5.5 * 0.25, 1.0, burst=1)
    assert quarter.enterprise_search == (RateLimit(11 * 0.25, 1.0),)
    assert quarter.max_pause == policy.max_pause


def test_backoff_and_recovery_arithmetic() -> None:
    policy = RatePolicy(jitter=0.0, backoff_base=1.0, backoff_max=5.0)
    rng = random.Random(1)
    assert [policy.backoff(n, rng) for n in (-1, 0, 1, 2, 3, 100)] == [1, 1, 2, 4, 5, 5]
    jittered = RatePolicy(jitter=0.5)
    assert all(0.5 <= jittered.backoff(0, rng) <= 1.5 for _ in range(100))
    assert policy.factor_at(0.5, None, 0.0) == 1.0
    assert policy.factor_at(0.5, 100.0, 100.0 + 30.0) == 0.5  # quiet period not over
    assert policy.factor_at(0.5, 100.0, 100.0 + 30.0 + 10.0) == pytest.approx(0.7)
    assert policy.factor_at(0.5, 100.0, 100.0 + 30.0 + 100.0) == 1.0


# --------------------------------------------------------------------------- pacing


def test_paces_at_the_interval_and_allows_the_burst() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(burst=3), clock)
    delays = [lim.reserve("u1").delay for _ in range(6)]
    assert delays == [0, 0, 0, 1, 2, 3]


def test_acquire_sleeps_exactly_the_delay_in_arrival_order() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(), clock)
    permits = [lim.acquire("u1") for _ in range(3)]
    assert clock.sleeps == [1.0, 1.0]  # each acquire sleeps until its own slot
    assert [p.send_at for p in permits] == [1000.0, 1001.0, 1002.0]
    assert "u1" in repr(permits[0])


def test_subjects_and_classes_have_separate_budgets() -> None:
    lim = limiter(one_per_second())
    assert lim.reserve("u1").delay == 0
    assert lim.reserve("u2").delay == 0
    assert lim.reserve("u1", "upload").delay == 0
    assert lim.reserve("u1").delay == 1


def test_search_has_two_limits_and_an_enterprise_limit() -> None:
    policy = RatePolicy(
        search=(RateLimit(2, 1.0, burst=2), RateLimit(3, 60.0, burst=3)),
        enterprise_search=RateLimit(1, 1.0),
    )
    lim = limiter(policy)
    assert [lim.reserve("u1", "search").delay for _ in range(4)] == [0, 0, 0.5, 20]
    # the enterprise's 1/s: a second user's search waits for the first user's
    other = limiter(policy)
    assert other.reserve("u1", "search", enterprise="e1").delay == 0
    assert other.reserve("u2", "search", enterprise="e1").delay == 1
    assert other.reserve("u3", "search", enterprise="e2").delay == 0
    assert other.reserve("u4", "general", enterprise="e1").delay == 0


@given(
    cls=st.sampled_from(sorted(BOX_LIMITS)),
    gaps=st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=400),
)
def test_default_pacing_never_exceeds_box_numbers(cls: str, gaps: Sequence[float]) -> None:
    """Whatever the arrival pattern, every window of Box's length holds at most Box's number."""
    clock = FakeClock(start=0.0)
    lim = limiter(None, clock)
    sends = []
    for gap in gaps:
        clock.advance(gap)
        sends.append(lim.reserve("u1", cls).send_at)  # type: ignore[arg-type]
    assert sends == sorted(sends)
    for requests, period in BOX_LIMITS[cls]:
        assert busiest_window(sends, period) <= requests


def test_enterprise_search_never_exceeds_twelve_a_second() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(None, clock)
    sends = sorted(lim.reserve(f"u{n % 40}", "search", enterprise="e").send_at for n in range(200))
    assert busiest_window(sends, 1.0) == 12


# --------------------------------------------------------------------------- pauses


def test_429_pauses_that_subject_and_class_for_everyone() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(), clock)
    waiting = [lim.reserve("u1") for _ in range(4)]  # slots at +0, +1, +2, +3
    lim.record_response(waiting[0], 429, retry_after=3)
    # the slots not yet sent move back by 3 s, order and spacing kept
    assert [lim.wait_time(p) for p in waiting[1:]] == [4.0, 5.0, 6.0]
    assert lim.wait_time(waiting[1]) == 4.0  # idempotent
    assert lim.paused_for("u1") == 3.0
    # new reservations come after them, at the steady rate
    assert lim.reserve("u1").delay == 7.0
    # other users and other classes of this user are not paused
    assert lim.reserve("u2").delay == 0
    assert lim.reserve("u1", "upload").delay == 0
    assert lim.paused_for("u2") == 0.0


def test_a_slot_not_yet_released_waits_out_a_pause_that_began_after_it() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(), clock)
    first = lim.reserve("u1")
    late = lim.reserve("u1")  # its slot is at +1
    clock.advance(1.5)  # the thread overslept its slot, then a 429 arrives before it sends
    lim.on_429("u1", retry_after=2)
    assert lim.wait_time(late) == 2.0  # not during the pause: at its end
    assert lim.wait_time(first) == 2.0


def test_retry_after_zero_pauses_nothing(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(burst=3), clock)
    caplog.set_level(logging.DEBUG, logger="boxjwt")
    lim.record_response(lim.acquire("u1"), 429, retry_after=0)
    assert lim.paused_for("u1") == 0
    assert [lim.reserve("u1").delay for _ in range(3)] == [0, 0, 1]  # the burst is still there
    assert lim.snapshot().classes["general"].pauses == 0
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


def test_no_burst_after_a_pause() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(burst=5), clock)
    lim.on_429("u1", retry_after=2)
    assert [lim.reserve("u1").delay for _ in range(3)] == [2, 3, 4]


def test_a_sleep_that_returns_at_once_cannot_make_acquire_spin() -> None:
    slept: list[float] = []
    lim = RateLimiter(one_per_second(), sleep=slept.append)  # real clock, no real sleep
    for _ in range(3):
        lim.acquire("u1")
    assert slept == pytest.approx([1.0, 2.0], abs=0.01)  # one sleep per paced permit


def test_acquire_rechecks_pauses_after_sleeping() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(), clock)
    first = lim.acquire("u1")

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 1:  # while this thread slept, another one got a 429
            lim.record_response(first, 429, retry_after=3)

    lim._sleep = sleep
    second = lim.acquire("u1")
    assert clock.sleeps == [1.0, 3.0]
    assert second.send_at == 1004.0
    stats = lim.snapshot().classes["general"]
    assert (stats.requests, stats.paced, stats.total_wait, stats.max_wait) == (2, 1, 4.0, 4.0)


def test_429s_of_requests_in_flight_do_not_start_new_pauses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(burst=10), clock)
    in_flight = [lim.acquire("u1") for _ in range(10)]  # all sent at once
    caplog.set_level(logging.DEBUG, logger="boxjwt")
    for permit in in_flight:
        lim.record_response(permit, 429, retry_after=3)
    lim.record_response(in_flight[0], 200)
    stats = lim.snapshot()
    assert stats.classes["general"].throttled == 10
    assert stats.classes["general"].pauses == 1
    assert stats.classes["general"].rate_decreases == 0
    assert stats.throttled == 10
    assert lim.rate_factor("u1") == 1.0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one log line per pause, not one per thread
    assert "u1" in warnings[0].getMessage()
    assert "3.0 s" in warnings[0].getMessage()


def test_a_longer_retry_after_in_flight_extends_the_pause_without_a_new_episode() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(burst=2), clock)
    first, second = lim.acquire("u1"), lim.acquire("u1")
    waiting = lim.reserve("u1")
    lim.record_response(first, 429, retry_after=2)
    lim.record_response(second, 429, retry_after=5)  # in flight: same episode, longer wait
    assert lim.paused_for("u1") == 5
    assert lim.wait_time(waiting) == 6  # its slot (+1) moved back by both gaps: 2 + 3
    stats = lim.snapshot().classes["general"]
    assert (stats.throttled, stats.pauses, stats.rate_decreases) == (2, 1, 0)


def test_permits_go_back_to_the_limiter_that_issued_them() -> None:
    clock = FakeClock(start=1000.0)
    issuer, other = limiter(one_per_second(), clock), limiter(one_per_second(), clock)
    permit = issuer.reserve("u1")
    issuer.reserve("u1")
    other.record_response(permit, 429, retry_after=2)
    assert issuer.paused_for("u1") == 2
    assert other.paused_for("u1") == 0
    assert other.wait_time(permit) == 2  # the issuer's answer
    assert other.recheck(permit) == 0  # already moved by the call above
    assert other.snapshot().throttled == 0
    assert issuer.policy == one_per_second()
    assert issuer.clock is clock


def test_without_retry_after_back_off_grows_exponentially() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(backoff_base=1.0, backoff_max=8.0, min_factor=1.0), clock)
    pauses = []
    for _ in range(5):
        permit = lim.acquire("u1")  # sent after the previous pause: fresh evidence
        lim.record_response(permit, 429)
        pauses.append(lim.paused_for("u1"))
    assert pauses == [1, 2, 4, 8, 8]
    # a quiet period later, the back-off starts small again
    clock.advance(60)
    lim.record_response(lim.acquire("u1"), 429, retry_after=None)
    assert lim.paused_for("u1") == 1


def test_retry_after_is_capped_and_bad_values_ignored() -> None:
    lim = limiter(one_per_second(max_pause=10.0))
    lim.on_429("u1", retry_after=3600)
    assert lim.paused_for("u1") == 10.0
    for bad in (-1.0, math.nan, math.inf, True):
        other = limiter(one_per_second())
        other.on_429("u2", retry_after=bad)
        assert other.paused_for("u2") == 1.0  # back-off instead


# --------------------------------------------------------------------------- adaptive rate


def test_429s_that_keep_coming_lower_the_rate_which_recovers_gradually(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(start=1000.0)
    policy = one_per_second(decrease=0.5, min_factor=0.2, quiet_period=10.0, recovery_rate=0.1)
    lim = limiter(policy, clock)
    caplog.set_level(logging.INFO, logger="boxjwt")
    factors = []
    for _ in range(4):
        lim.record_response(lim.acquire("u1"), 429, retry_after=1)
        factors.append(lim.rate_factor("u1"))
    assert factors == [1.0, 0.5, 0.25, 0.2]  # the first 429 only pauses
    last_429 = clock()
    assert lim.snapshot().classes["general"].rate_decreases == 3
    assert dict(lim.snapshot().rate_factors) == {("u1", "general"): 0.2}
    # paced at 20 % of the budget: 5 s apart
    first = lim.acquire("u1")
    assert lim.reserve("u1").send_at - first.send_at == pytest.approx(5.0)
    # 10 s quiet, then +0.1 a second
    clock.set(last_429 + 10.0)
    assert lim.rate_factor("u1") == pytest.approx(0.2, abs=0.01)
    clock.advance(4.0)
    assert lim.rate_factor("u1") == pytest.approx(0.6, abs=0.01)
    clock.advance(10.0)
    assert lim.rate_factor("u1") == 1.0
    assert lim.snapshot().rate_factors == {}
    lim.reserve("u1")
    lim.reserve("u1")
    recovered = [r for r in caplog.records if "back to its full budget" in r.getMessage()]
    assert len(recovered) == 1
    lowered = [r for r in caplog.records if "lowering their rate" in r.getMessage()]
    assert len(lowered) == 3


def test_stale_429_after_a_decrease_does_not_decrease_again() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(burst=5, decrease=0.5), clock)
    lim.record_response(lim.acquire("u1"), 429, retry_after=1)
    burst = [lim.acquire("u1") for _ in range(3)]
    for permit in burst:
        lim.record_response(permit, 429, retry_after=1)
    assert lim.rate_factor("u1") == 0.5
    assert lim.snapshot().classes["general"].pauses == 2


# --------------------------------------------------------------------------- disabled, stats


def test_disabled_limiter_never_waits_but_counts() -> None:
    lim = RateLimiter.disabled(clock=FakeClock())
    assert not lim.enabled
    assert "disabled" in repr(lim)
    permits = [lim.acquire("u1") for _ in range(100)]
    assert {p.delay for p in permits} == {0.0}
    lim.record_response(permits[0], 429, retry_after=30)
    assert lim.paused_for("u1") == 0.0
    assert lim.wait_time(lim.reserve("u1")) == 0.0
    stats = lim.snapshot()
    assert (stats.enabled, stats.requests, stats.throttled) == (False, 101, 1)


def test_snapshot_is_immutable_plain_data() -> None:
    lim = limiter(one_per_second())
    lim.reserve("u1")
    lim.reserve("u1")
    stats = lim.snapshot()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        stats.enabled = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        stats.classes["general"] = stats.classes["upload"]  # type: ignore[index]
    lim.reserve("u1")
    assert stats.classes["general"].requests == 2  # a snapshot does not move
    data = stats.to_dict()
    assert data["backend"] == "local"
    assert data["classes"]["general"] == {
        "requests": 2,
        "paced": 1,
        "total_wait": 1.0,
        "max_wait": 1.0,
        "throttled": 0,
        "pauses": 0,
        "rate_decreases": 0,
    }
    lim.on_429("u1", retry_after=1)
    lim.on_429("u1", retry_after=1)
    assert lim.snapshot().to_dict()["rate_factors"] == [
        {"subject": "u1", "rate_class": "general", "factor": 0.7}
    ]


@pytest.mark.parametrize(
    "call",
    [
        lambda lim: lim.reserve(""),
        lambda lim: lim.reserve(12345),
        lambda lim: lim.reserve("u1", "downloads"),
        lambda lim: lim.reserve("u1", enterprise=""),
        lambda lim: lim.on_429("u1", "everything"),
    ],
)
def test_bad_arguments_are_configuration_errors(call: object) -> None:
    with pytest.raises(ConfigurationError):
        call(limiter())  # type: ignore[operator]


def test_idle_subjects_are_forgotten() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(quiet_period=1.0), clock)
    for n in range(3000):
        lim.reserve(f"user{n}")
    forgotten = lim.reserve("user1")  # its thread has not woken yet
    lim.on_429("user0", retry_after=50)  # paused: not idle, must stay
    clock.advance(10)
    for _ in range(1024):
        lim.reserve("again")
    assert repr(lim) == "RateLimiter(subjects=2)"
    assert lim.wait_time(forgotten) == 0
    assert lim.paused_for("user0") == pytest.approx(40.0)
    assert lim.rate_factor("nobody") == 1.0


def test_dropped_pause_records_still_wait_out_the_current_pause() -> None:
    clock = FakeClock(start=1000.0)
    lim = limiter(one_per_second(), clock)
    waiting = lim.reserve("u1")
    lim.reserve("u1")
    for _ in range(40):  # more pauses than are remembered
        lim.on_429("u1", retry_after=0.5)
        clock.advance(0.5)
        lim.reserve("u1")
    assert lim.wait_time(waiting) >= lim.paused_for("u1")


# --------------------------------------------------------------------------- threads


def test_waiting_holds_no_lock_other_callers_need() -> None:
    clock = FakeClock(start=1000.0)
    asleep, release = threading.Event(), threading.Event()

    def sleep(seconds: float) -> None:
        asleep.set()
        assert release.wait(10)

    lim = RateLimiter(one_per_second(), clock=clock, sleep=sleep)
    lim.reserve("u1")
    worker = threading.Thread(target=lim.acquire, args=("u1",))
    worker.start()
    assert asleep.wait(10)
    # while that thread sleeps, everything else still works, for that user too
    assert lim.reserve("u2").delay == 0
    assert lim.reserve("u1").delay == 2
    lim.on_429("u1", retry_after=1)
    assert lim.snapshot().requests == 4
    release.set()
    clock.advance(100)
    worker.join(10)
    assert not worker.is_alive()


def test_threads_are_served_in_arrival_order() -> None:
    lim = RateLimiter(RatePolicy(general=RateLimit(100_000, 1.0)))
    permits: list[boxjwt.RatePermit] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(50):
            permit = lim.acquire("u1")
            with lock:
                permits.append(permit)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(permits) == 400
    ordered = sorted(permits, key=lambda p: (p.reserved_at, p.send_at))
    sends = [p.send_at for p in ordered]
    assert sends == sorted(sends)
    # slots are distinct: one interval apart at least
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert min(gaps) >= 1e-5 - 1e-9
    assert lim.snapshot().classes["general"].requests == 400


def test_default_pacing_spends_at_least_ninety_percent_of_the_budget() -> None:
    clock = FakeClock(start=0.0)
    lim = limiter(None, clock)
    for cls, box in BOX_LIMITS.items():
        requests, period = box[-1]
        sends = [lim.reserve("u1", cls).send_at for _ in range(3 * requests)]  # type: ignore[arg-type]
        assert sum(1 for s in sends if s < 2 * period) >= 0.9 * 2 * requests
