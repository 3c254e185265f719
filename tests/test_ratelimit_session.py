"""AsUserSession with a RateLimiter, against the emulator's rate limits (issue 16 acceptance).

The emulator runs Box's budgets on a scaled clock (``RateLimits(time_scale=S)``: a Box minute
lasts ``60 / S`` real seconds) and the limiter uses the same scale (its clock runs S times
faster, its sleep S times shorter). Only counts are asserted: requests the emulator accepted or
refused, and when they arrived on its (scaled) timeline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from boxjwt import (
    AsUserSession,
    JWTAuthenticator,
    RateLimit,
    RateLimiter,
    RatePermit,
    RatePolicy,
    RetryPolicy,
)
from boxjwt.exceptions import ConfigurationError
from boxjwt.testing import BoxEmulator, FakeClock, RateLimits

ME = "/2.0/users/me"
ROOT = "/2.0/folders/0"


def scaled(scale: float) -> tuple[Callable[[], float], Callable[[float], None]]:
    """A clock running ``scale`` times faster than real time, and the matching sleep."""

    def clock() -> float:
        return time.monotonic() * scale

    def sleep(seconds: float) -> None:
        time.sleep(max(seconds, 0.0) / scale)

    return clock, sleep


def scaled_limiter(scale: float, policy: RatePolicy | None = None) -> RateLimiter:
    clock, sleep = scaled(scale)
    return RateLimiter(policy, clock=clock, sleep=sleep)


def session_for(
    emu: BoxEmulator, limiter: RateLimiter, scale: float, *, threads: int = 32
) -> tuple[JWTAuthenticator, AsUserSession]:
    clock, sleep = scaled(scale)
    retry = RetryPolicy(sleep=sleep, clock=clock, max_total_time=600.0)
    auth = JWTAuthenticator(emu.make_keyfile().load(), base_url=emu.base_url)
    root = AsUserSession(auth, retry=retry, rate_limiter=limiter, raise_for_status=True)
    root.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=threads))
    return auth, root


def run_threads(count: int, work: Callable[[int], None]) -> None:
    with ThreadPoolExecutor(count) as pool:
        for future in [pool.submit(work, n) for n in range(count)]:
            future.result()


# --------------------------------------------------------------------------- wiring


@pytest.fixture
def auth(emu: BoxEmulator, clock: FakeClock) -> Iterator[JWTAuthenticator]:
    with JWTAuthenticator(
        emu.make_keyfile().load(), base_url=emu.base_url, sleep=clock.sleep
    ) as authenticator:
        yield authenticator


def test_sessions_of_one_authenticator_share_one_limiter(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    user = emu.managed_users[0]
    a, b = AsUserSession(auth), AsUserSession(auth, user.id, mode="user_token")
    assert a.rate_limiter is b.rate_limiter is a.for_user(user.id).rate_limiter
    assert a.rate_limiter.enabled
    assert a.rate_subject == f"service-account:{auth.client_id}"
    assert b.rate_subject == a.for_user(user.id).rate_subject == user.id
    with JWTAuthenticator(emu.make_keyfile().load(), base_url=emu.base_url) as other:
        assert AsUserSession(other).rate_limiter is not a.rate_limiter
    mine = RateLimiter()
    assert AsUserSession(auth, rate_limiter=mine).for_user("1").rate_limiter is mine


def test_rate_limiter_must_be_a_rate_limiter(auth: JWTAuthenticator) -> None:
    with pytest.raises(ConfigurationError, match="disabled"):
        AsUserSession(auth, rate_limiter="off")  # type: ignore[arg-type]


def test_every_box_request_is_paced_by_class_and_user(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    limiter = RateLimiter(clock=FakeClock())
    user = emu.managed_users[0]
    with AsUserSession(auth, rate_limiter=limiter) as s:
        s.get(ME)
        s.for_user(user.id).get(ROOT)
        s.for_user(user.id).get("/2.0/search", params={"query": "x"})
    stats = limiter.snapshot()
    assert stats.classes["general"].requests == 2
    assert stats.classes["search"].requests == 1


def test_a_429_pauses_the_user_and_is_retried_after_the_pause(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock
) -> None:
    paused = FakeClock()
    limiter = RateLimiter(clock=paused, sleep=paused.sleep)
    user = emu.managed_users[0]
    emu.faults.push(ME, 429, retry_after=3)
    with AsUserSession(auth, user.id, rate_limiter=limiter) as s:
        assert s.get(ME).status_code == 200
        assert paused.sleeps == [3.0]  # the limiter's pause...
        assert clock.sleeps == []  # ...and the retry policy did not sleep as well
        assert emu.count("GET", ME) == 2
        assert limiter.snapshot().classes["general"].throttled == 1
        assert limiter.paused_for(user.id) == 0


def test_disabled_limiter_keeps_the_retry_policy_wait(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock
) -> None:
    off = RateLimiter.disabled()
    emu.faults.push(ME, 429, retry_after=2)
    with AsUserSession(auth, rate_limiter=off) as s:
        assert s.get(ME).status_code == 200
    assert clock.sleeps == [2.0]
    assert off.snapshot().throttled == 1


def test_a_redirect_is_judged_by_boxs_own_answer(emu: BoxEmulator, auth: JWTAuthenticator) -> None:
    limiter = RateLimiter(clock=FakeClock())
    file = emu.add_file("a.txt", b"hello", owner=emu.managed_users[0])
    with AsUserSession(auth, emu.managed_users[0].id, rate_limiter=limiter) as s:
        assert s.get(f"/2.0/files/{file.id}/content").content == b"hello"
    assert limiter.snapshot().classes["general"].requests == 1


def test_upload_and_search_calls_spend_their_own_budgets(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    clock = FakeClock()  # the limiter's own, apart from the authenticator's
    policy = RatePolicy(upload=RateLimit(1, 10.0), search=RateLimit(1, 5.0))
    limiter = RateLimiter(policy, clock=clock, sleep=clock.sleep)
    user = emu.managed_users[0]
    with AsUserSession(auth, user.id, rate_limiter=limiter) as s:
        for name in ("a.txt", "b.txt"):
            s.post(
                "/api/2.0/files/content",
                files={
                    "attributes": (None, f'{{"name": "{name}", "parent": {{"id": "0"}}}}'),
                    "file": (name, b"x"),
                },
            )
        s.get("/2.0/search", params={"query": "a"})
        s.get("/2.0/search", params={"query": "b"})
        s.get(ME)
    assert clock.sleeps == [10.0, 5.0]


# --------------------------------------------------------------------------- acceptance


@pytest.mark.slow
def test_32_threads_on_one_user_spend_the_budget_without_429s() -> None:
    """Issue 16: every call succeeds, 429s <= 1 % of calls, >= 90 % of the budget used."""
    scale = 10.0  # a Box minute lasts 6 real seconds
    with BoxEmulator(rate_limits=RateLimits(time_scale=scale)) as emu:
        user = emu.managed_users[0]
        limiter = scaled_limiter(scale)
        auth, root = session_for(emu, limiter, scale)
        session = root.for_user(user.id)
        session.get(ME)  # the token, before the clock starts
        emu.reset_log()
        stop = limiter.clock() + 60.0
        statuses: list[int] = []
        lock = threading.Lock()

        def work(_: int) -> None:
            while limiter.clock() < stop:
                status = session.get(ME).status_code
                with lock:
                    statuses.append(status)

        run_threads(32, work)
        root.close()
        auth.close()
    calls = len(statuses)
    assert set(statuses) == {200}
    refused = emu.rate_limited(user.id)
    assert refused <= 0.01 * calls
    accepted = [r.time for r in emu.records("GET", ME, status=200, acting_user_id=user.id)]
    first = min(accepted)
    in_first_minute = sum(1 for t in accepted if (t - first) * scale < 60.0)
    assert in_first_minute >= 900  # at least 90 % of Box's 1,000 a minute
    assert in_first_minute <= 1000
    stats = limiter.snapshot().classes["general"]
    assert stats.requests == calls + refused + 1  # and the first call, for the token
    assert stats.max_wait > 0


class GateLog(RateLimiter):
    """A limiter that remembers, per thread, the permit it last let through, and the pauses."""

    def __init__(self, scale: float) -> None:
        clock, sleep = scaled(scale)
        super().__init__(clock=clock, sleep=sleep)
        self.local = threading.local()
        self.pauses: list[tuple[float, float]] = []  # (start, end), limiter clock

    def acquire(self, *args: Any, **kwargs: Any) -> RatePermit:
        permit = super().acquire(*args, **kwargs)
        self.local.permit = permit
        return permit

    def record_response(self, permit: RatePermit, status: int, retry_after: Any = None) -> None:
        before = self.paused_for(permit.subject)
        super().record_response(permit, status, retry_after)
        now, after = self.clock(), self.paused_for(permit.subject)
        if after > before:  # a pause of retry_after seconds ending at now + after
            self.pauses.append((now + after - float(retry_after), now + after))


class StampingAdapter(requests.adapters.HTTPAdapter):
    """Puts the slot time of the permit that let a request through in an ``X-Slot`` header,
    so that the emulator's log says when each request was allowed to go."""

    def __init__(self, limiter: GateLog, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limiter = limiter

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        request.headers["X-Slot"] = repr(self.limiter.local.permit.send_at)
        return super().send(request, *args, **kwargs)


@pytest.mark.slow
def test_one_429_pauses_every_thread_of_that_user_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 16: a 429 with retry-after: 3 seen by one thread: no request of that user goes to
    Box for 3 s (counted at the emulator); the other user's requests go on."""
    scale = 10.0
    with BoxEmulator() as emu:
        alice, bob = emu.managed_users[:2]
        limiter = GateLog(scale)
        auth, root = session_for(emu, limiter, scale, threads=40)
        root.mount("http://", StampingAdapter(limiter, pool_maxsize=40))
        as_alice, as_bob = root.for_user(alice.id), root.for_user(bob.id)
        as_alice.get(ME)
        as_bob.get(ROOT)
        stop = limiter.clock() + 10.0  # 10 Box seconds
        injected = threading.Event()
        caplog.set_level(logging.WARNING, logger="boxjwt")

        def work(n: int) -> None:
            while limiter.clock() < stop:
                if n < 32:
                    as_alice.get(ME)
                else:
                    as_bob.get(ROOT)
                if n == 0 and not injected.is_set() and limiter.clock() > stop - 8.0:
                    emu.faults.push(ME, 429, retry_after=3)  # the next call of alice's
                    injected.set()

        run_threads(40, work)
        root.close()
        auth.close()

    def slot(record: Any) -> float:
        headers = {name.lower(): value for name, value in record.request_headers.items()}
        return float(headers["x-slot"])

    def slots(path: str, user: str) -> list[float]:
        return [slot(r) for r in emu.records("GET", path, acting_user_id=user)]

    assert len(emu.records("GET", ME, status=429)) == 1
    assert len(limiter.pauses) == 1
    start, end = limiter.pauses[0]
    alice_slots = slots(ME, alice.id)
    assert [t for t in alice_slots if start < t < end] == []  # nobody went during the pause
    assert any(t >= end for t in alice_slots)  # and then alice's threads resumed
    # bob never paused: during alice's pause his calls went at least at half his rate over the
    # whole run (a ratio, so a slow or loaded machine does not fail it)
    bob_slots = sorted(slots(ROOT, bob.id))
    bob_rate = len(bob_slots) / (bob_slots[-1] - bob_slots[0])
    bob_in_pause = [t for t in bob_slots if start < t < end]
    assert len(bob_in_pause) >= max(3, 0.5 * bob_rate * (end - start)), (bob_rate, bob_in_pause)
    # at the emulator, alice's requests arriving after the 429 and before its end were all
    # let through before the pause (in flight: at most one per other thread)
    refused_at = emu.records("GET", ME, status=429)[0].time
    late = [
        r
        for r in emu.records("GET", ME, acting_user_id=alice.id)
        if 0 < (r.time - refused_at) * scale < 3.0
    ]
    assert len(late) <= 31
    assert all(slot(r) <= start for r in late)
    pauses = [r for r in caplog.records if "every thread pauses" in r.getMessage()]
    assert len(pauses) == 1  # logged once, not once per thread
    stats = limiter.snapshot().classes["general"]
    assert (stats.pauses, stats.rate_decreases) == (1, 0)


@pytest.mark.slow
def test_quality_of_service_throttling_lowers_the_rate_then_it_recovers() -> None:
    """Issue 16: 30 % of the calls get 429 for a window: every call completes, the adaptive
    rate drops during the window and climbs back after it."""
    scale = 30.0
    policy = RatePolicy(quiet_period=5.0, recovery_rate=0.1)  # back to 100 % 5 + 9 s after
    with BoxEmulator(rate_limits=RateLimits(time_scale=scale)) as emu:
        user = emu.managed_users[0]
        limiter = scaled_limiter(scale, policy)
        auth, root = session_for(emu, limiter, scale, threads=16)
        session = root.for_user(user.id)
        session.get(ME)
        throttle = emu.throttle(0.3, seconds=20, retry_after=1, user=user.id)
        factors: list[float] = []
        statuses: list[int] = []
        lock = threading.Lock()
        done = threading.Event()

        def work(_: int) -> None:
            while not done.is_set():
                status = session.get(ME).status_code
                with lock:
                    statuses.append(status)
                    factors.append(limiter.rate_factor(user.id))

        def watch() -> None:
            deadline = limiter.clock() + 120.0  # Box seconds
            while limiter.clock() < deadline:
                if not throttle.active and limiter.rate_factor(user.id) == 1.0 and factors:
                    break
                time.sleep(0.01)
            done.set()

        watcher = threading.Thread(target=watch)
        watcher.start()
        run_threads(16, work)
        watcher.join()
        root.close()
        auth.close()
    assert set(statuses) == {200}  # every call completed
    assert throttle.refused > 0
    assert min(factors) < 1.0  # the rate dropped during the window...
    assert limiter.rate_factor(user.id) == 1.0  # ...and recovered after it
    stats = limiter.snapshot().classes["general"]
    assert stats.rate_decreases >= 1
    assert stats.throttled == emu.rate_limited(user.id)


def test_other_hosts_are_not_paced(emu: BoxEmulator, auth: JWTAuthenticator) -> None:
    limiter = RateLimiter(clock=FakeClock())
    with AsUserSession(auth, rate_limiter=limiter) as s:
        s.get(emu.base_url.replace("127.0.0.1", "localhost") + ME)
    assert limiter.snapshot().requests == 0
