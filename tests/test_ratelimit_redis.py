"""RedisRateLimiter against a real redis-server: the same arithmetic as RateLimiter, shared.

Two limiters on one Redis stand for two processes (they share nothing else). A FakeClock is
passed as ``clock`` so that the shared schedule uses it too and delays are exact.
"""

from __future__ import annotations

import importlib
import logging
import random
import sys
import warnings
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import boxjwt.stores
from boxjwt import RateLimit, RateLimiter, RatePolicy
from boxjwt.exceptions import ConfigurationError, RateLimiterFallbackWarning
from boxjwt.stores import RedisRateLimiter
from boxjwt.testing import FakeClock
from redis_server import RedisServer

pytestmark = pytest.mark.redis

POLICY = RatePolicy(
    general=RateLimit(60, 60.0, burst=3),
    upload=RateLimit(2, 1.0),
    search=(RateLimit(2, 1.0, burst=2), RateLimit(3, 60.0, burst=3)),
    enterprise_search=RateLimit(1, 1.0),
    jitter=0.0,
    decrease=0.5,
    min_factor=0.2,
    quiet_period=10.0,
    recovery_rate=0.1,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1000.0)


def fleet(
    client: redis.Redis, clock: FakeClock, policy: RatePolicy = POLICY, **options: Any
) -> RedisRateLimiter:
    return RedisRateLimiter(
        client,
        policy,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(3),
        **options,
    )


def test_exported_lazily_from_boxjwt_stores() -> None:
    assert boxjwt.stores.RedisRateLimiter is RedisRateLimiter
    assert "RedisRateLimiter" in dir(boxjwt.stores)


def test_missing_redis_library_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "boxjwt.stores.redis_ratelimit")
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"pip install 'boxjwt\[redis\]'"):
        importlib.import_module("boxjwt.stores.redis_ratelimit")


def test_processes_share_one_budget(client: redis.Redis, clock: FakeClock) -> None:
    a, b = fleet(client, clock), fleet(client, clock)
    delays = [lim.reserve("u1").delay for lim in (a, b, a, b, a, b)]
    assert delays == [0, 0, 0, 1, 2, 3]  # burst 3, then one a second, whoever asks
    assert b.reserve("u2").delay == 0
    assert a.snapshot().classes["general"].requests == 3
    assert a.snapshot().backend == "redis"


def test_acquire_sleeps_the_shared_delay(client: redis.Redis, clock: FakeClock) -> None:
    lim = fleet(client, clock, RatePolicy(general=RateLimit(60, 60.0)))
    permits = [lim.acquire("u1") for _ in range(3)]
    assert clock.sleeps == [1.0, 1.0]
    assert [p.send_at for p in permits] == [1000.0, 1001.0, 1002.0]


def test_search_and_enterprise_limits(client: redis.Redis, clock: FakeClock) -> None:
    a, b = fleet(client, clock), fleet(client, clock)
    assert [a.reserve("u1", "search").delay for _ in range(4)] == [0, 0, 0.5, 20]
    assert a.reserve("u2", "search", enterprise="e1").delay == 0
    assert b.reserve("u3", "search", enterprise="e1").delay == 1
    assert b.reserve("u4", "search", enterprise="e2").delay == 0


def test_a_429_pauses_every_process(
    client: redis.Redis, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = fleet(client, clock), fleet(client, clock)
    caplog.set_level(logging.WARNING, logger="boxjwt")
    sent = [a.acquire("u1") for _ in range(3)]  # the burst, all in flight
    waiting = b.reserve("u1")  # b's thread sleeps 1 s for its slot
    assert waiting.delay == 1
    for permit in sent:  # three 429s for one episode: one pause, logged once
        a.record_response(permit, 429, retry_after=5)
    assert a.paused_for("u1") == 5
    assert len(caplog.records) == 1
    assert "u1" in caplog.records[0].getMessage()
    # b learns of the pause with its next reservation; its sleeping thread then waits it out
    later = b.reserve("u1")
    assert later.delay == 7  # after the moved slot of `waiting`, at the steady rate
    assert b.wait_time(waiting) == 6
    assert b.paused_for("u1") == 5
    assert b.reserve("u2").delay == 0  # other users are not paused
    stats = a.snapshot().classes["general"]
    assert (stats.throttled, stats.pauses, stats.rate_decreases) == (3, 1, 0)


def test_adaptive_rate_is_shared_and_recovers(client: redis.Redis, clock: FakeClock) -> None:
    a, b = fleet(client, clock), fleet(client, clock)
    for _ in range(3):
        a.record_response(a.acquire("u1"), 429, retry_after=1)
    assert a.rate_factor("u1") == 0.25
    last_429 = clock()
    assert a.snapshot().rate_factors == {("u1", "general"): 0.25}
    first = b.acquire("u1")
    assert b.rate_factor("u1") == 0.25  # learnt from Redis
    assert b.reserve("u1").send_at - first.send_at == pytest.approx(4.0)  # 1 s / 0.25
    clock.set(last_429 + 10 + 5)
    assert b.reserve("u2").delay == 0
    b.reserve("u1")
    assert b.rate_factor("u1") == pytest.approx(0.75)
    clock.advance(10)
    b.reserve("u1")
    assert b.rate_factor("u1") == 1.0


def test_back_off_without_retry_after(client: redis.Redis, clock: FakeClock) -> None:
    policy = RatePolicy(general=RateLimit(60, 60.0), jitter=0.0, backoff_max=4.0)
    lim = fleet(client, clock, policy)
    pauses = []
    for _ in range(4):
        lim.record_response(lim.acquire("u1"), 429)
        pauses.append(lim.paused_for("u1"))
    assert pauses == [1, 2, 4, 4]
    lim.on_429("u1", retry_after=1000)  # capped at max_pause
    assert lim.paused_for("u1") == pytest.approx(60)
    lim.record_response(lim.reserve("u1"), 200)


def test_every_key_expires(client: redis.Redis, clock: FakeClock) -> None:
    lim = fleet(client, clock)
    for cls in ("general", "upload", "search"):
        lim.reserve("u1", cls, enterprise="e1")
    lim.on_429("u1", "upload", retry_after=30)
    keys: list[bytes] = client.keys("*")  # type: ignore[assignment]
    assert len(keys) == 4
    ttls = {key.decode(): client.pttl(key) for key in keys}
    assert all(ttl > 0 for ttl in ttls.values())
    # a pause is kept at least until it ends, and the rate state until it could recover
    assert ttls["boxjwt:rate:upload:u1"] >= 30_000
    assert ttls["boxjwt:rate:general:u1"] <= 60_000 / 60 * 1 + 2000
    assert set(ttls) >= {"boxjwt:rate-enterprise:search:e1", "boxjwt:rate:search:u1"}


def test_scripts_are_reloaded_after_a_flush(client: redis.Redis, clock: FakeClock) -> None:
    lim = fleet(client, clock)
    lim.reserve("u1")
    client.script_flush()
    assert lim.reserve("u1").delay == 0  # EVALSHA -> NOSCRIPT -> loaded again
    client.script_flush()
    lim.on_429("u1", retry_after=2)
    assert lim.paused_for("u1") == 2
    assert not lim.degraded


def test_redis_clock_by_default(client: redis.Redis) -> None:
    lim = RedisRateLimiter(client, RatePolicy(general=RateLimit(10, 1.0)))
    first, second = lim.reserve("u1"), lim.reserve("u1")
    assert first.delay == 0
    assert 0.05 < second.delay <= 0.1  # one interval of Redis time, minus the round trip
    assert lim.wait_time(second) <= 0.1


def test_falls_back_once_per_outage_and_returns(
    client: redis.Redis,
    clock: FakeClock,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = RatePolicy(general=RateLimit(60, 60.0), jitter=0.0)
    lim = fleet(client, clock, policy, retry_interval=10.0)
    before = lim.reserve("u1")
    redis_server.stop()
    caplog.set_level(logging.WARNING, logger="boxjwt")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        local = [lim.reserve("u1") for _ in range(3)]
        lim.record_response(local[0], 429, retry_after=2)
        lim.record_response(before, 429, retry_after=2)  # a Redis permit: the 429 goes local
    assert [w.category for w in caught] == [RateLimiterFallbackWarning]
    assert "unavailable" in str(caught[0].message)
    assert lim.degraded
    assert [p.delay for p in local] == [0, 1, 2]  # the local fallback paces meanwhile
    assert lim.local_fallback.paused_for("u1") == 2
    assert lim.wait_time(local[1]) == 3
    stats = lim.snapshot()
    assert stats.backend == "local-fallback"
    assert stats.classes["general"].requests == 4
    assert stats.classes["general"].throttled == 2
    redis_server.start()
    assert lim.reserve("u1").delay > 0  # still local: next probe in 10 s
    clock.advance(10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lim.reserve("u1").delay == 0  # Redis again (it restarted empty)
    assert lim.snapshot().backend == "redis"
    messages = [r.getMessage() for r in caplog.records if r.name == "boxjwt.stores.redis_ratelimit"]
    assert len(messages) == 2
    assert "is back" in messages[1]


def test_a_429_during_an_outage_is_handled_locally(
    client: redis.Redis, clock: FakeClock, redis_server: RedisServer
) -> None:
    lim = fleet(client, clock, retry_interval=0.0)
    redis_server.stop()
    with pytest.warns(RateLimiterFallbackWarning):
        lim.on_429("u1", retry_after=3)
    assert lim.local_fallback.paused_for("u1") == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning per outage
        lim.on_429("u1", retry_after=3)
        lim.reserve("u1")


@pytest.mark.parametrize(
    "options",
    [{"prefix": ""}, {"local_fallback": "memory"}, {"retry_interval": -1}],
)
def test_bad_options(client: redis.Redis, clock: FakeClock, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        fleet(client, clock, **options)


def test_idle_mirrors_are_forgotten(client: redis.Redis, clock: FakeClock) -> None:
    lim = fleet(client, clock)
    for n in range(1100):
        lim.reserve(f"user{n}")
    clock.advance(60)
    for _ in range(1024):
        lim.reserve("again", "upload")
    assert lim.rate_factor("user5") == 1.0
    assert len(lim._tracks) < 10


def test_fallback_must_be_local(client: redis.Redis, clock: FakeClock) -> None:
    with pytest.raises(ConfigurationError):
        fleet(client, clock, local_fallback=fleet(client, clock))
    assert "degraded=False" in repr(fleet(client, clock))


OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("reserve"),
            st.sampled_from(["u1", "u2"]),
            st.sampled_from(["general", "search"]),
        ),
        st.tuples(
            st.just("429"), st.sampled_from(["u1", "u2"]), st.sampled_from([None, 0, 0.5, 2.0])
        ),
        st.tuples(st.just("advance"), st.sampled_from([0.1, 0.5, 3.0, 12.0]), st.none()),
    ),
    max_size=30,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_lua_does_the_same_arithmetic_as_python(client: redis.Redis, ops: list[tuple]) -> None:  # type: ignore[type-arg]
    client.flushall()
    clock = FakeClock(start=5000.0)
    local = RateLimiter(POLICY, clock=clock, sleep=clock.sleep, rng=random.Random(3))
    shared = fleet(client, clock)
    permits: dict[str, list] = {"local": [], "shared": []}  # type: ignore[type-arg]
    for op, a, b in ops:
        if op == "advance":
            clock.advance(a)
            continue
        for name, lim in (("local", local), ("shared", shared)):
            if op == "reserve":
                permits[name].append(lim.reserve(a, b, enterprise="e"))
            else:
                lim.on_429(a, "general", b)
    for mine, theirs in zip(permits["local"], permits["shared"], strict=True):
        assert theirs.delay == pytest.approx(mine.delay, abs=1e-6)
        assert shared.wait_time(theirs) == pytest.approx(local.wait_time(mine), abs=1e-6)
    for subject in ("u1", "u2"):
        assert shared.paused_for(subject) == pytest.approx(local.paused_for(subject), abs=1e-6)
        assert shared.rate_factor(subject) == pytest.approx(local.rate_factor(subject), abs=1e-6)
