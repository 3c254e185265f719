"""Box's rate limits and quality-of-service throttling in the emulator (box-facts.md §5),
over real HTTP: budgets per acting user and class, Box's exact 429, retry-after that works."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import boxjwt
from boxjwt.testing import (
    BOX_RATE_LIMITS,
    RATE_LIMITS_ENV,
    BoxEmulator,
    Budget,
    EmulatedKeyFile,
    EmulatedUser,
    FakeClock,
    RateLimits,
)
from boxjwt.testing._traffic import rate_limits_from_env
from emulator_support import enterprise_token

RATE_LIMITED = {
    "type": "error",
    "status": 429,
    "code": "rate_limit_exceeded",
    "help_url": "http://developers.box.com/docs/#errors",
    "message": "Request rate limit exceeded, please try again later",
}


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[BoxEmulator]:
    with BoxEmulator(clock=clock, rate_limits=RateLimits(time_scale=60)) as emulator:
        yield emulator


@pytest.fixture
def token(emu: BoxEmulator, ekf: EmulatedKeyFile) -> str:
    return enterprise_token(emu, ekf)


Call = Callable[[], requests.Response]


def caller(
    emu: BoxEmulator, token: str, path: str = "/2.0/users/me", as_user: str | None = None
) -> Call:
    """A GET on one keep-alive connection per thread."""
    local = threading.local()
    headers = {"Authorization": f"Bearer {token}"}
    if as_user is not None:
        headers["As-User"] = as_user

    def call() -> requests.Response:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response: requests.Response = local.session.get(
            emu.base_url + path, headers=headers, timeout=30
        )
        return response

    return call


def run(call: Call, count: int, threads: int = 8) -> list[requests.Response]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def assert_rate_limited(response: requests.Response) -> int:
    """Box's 429 exactly; returns ``retry-after``."""
    assert response.status_code == 429
    body = response.json()
    assert body == {**RATE_LIMITED, "request_id": response.headers["box-request-id"]}
    assert response.headers["Content-Type"] == "application/json"
    return int(response.headers["retry-after"])


def statuses(responses: list[requests.Response]) -> dict[int, int]:
    out: dict[int, int] = {}
    for response in responses:
        out[response.status_code] = out.get(response.status_code, 0) + 1
    return out


# --------------------------------------------------------------------------- budgets


def test_1500_calls_in_a_minute_get_exactly_the_excess_refused(
    emu: BoxEmulator, token: str, clock: FakeClock
) -> None:
    user = emu.managed_users[0]
    call = caller(emu, token, as_user=user.id)
    responses = run(call, 1500, threads=8)  # the fake clock stands still: one instant
    assert statuses(responses) == {200: 1000, 429: 500}
    waits = {assert_rate_limited(r) for r in responses if r.status_code == 429}
    assert waits == {60}  # the whole minute: every slot was taken at this instant
    assert emu.rate_limited(user.id) == 500
    assert emu.count(status=429, acting_user_id=user.id, rate_limit="general") == 500
    clock.advance(59 / 60)  # not yet: one Box second short
    assert call().status_code == 429
    emu.sleep(60)  # honour retry-after (Box seconds: 1 s of this clock at time scale 60)
    assert statuses(run(call, 500)) == {200: 500}
    assert emu.rate_limited() == 501


def test_retry_after_is_the_time_until_a_slot_frees(
    emu: BoxEmulator, token: str, clock: FakeClock
) -> None:
    emu.rate_limits = RateLimits(general=(Budget(3, 10),))  # real time, 3 per 10 s
    call = caller(emu, token)
    for _ in range(3):
        assert call().status_code == 200
        clock.advance(2.2)
    assert assert_rate_limited(call()) == 4  # the first call leaves the window in 3.4 s
    clock.advance(3.4)
    assert call().status_code == 200
    assert assert_rate_limited(call()) == 3  # the second call leaves it in 2.2 s: rounded up


def test_retry_after_waits_for_every_full_budget(emu: BoxEmulator, token: str) -> None:
    emu.rate_limits = RateLimits(general=(Budget(1, 60), Budget(1, 10)))
    call = caller(emu, token)
    assert call().status_code == 200
    assert assert_rate_limited(call()) == 60  # the longer of the two waits


def test_two_users_do_not_share_a_budget(emu: BoxEmulator, token: str) -> None:
    emu.rate_limits = RateLimits(general=(Budget(5, 60),))
    alice, bob = emu.managed_users[:2]
    assert statuses(run(caller(emu, token, as_user=alice.id), 7)) == {200: 5, 429: 2}
    assert statuses(run(caller(emu, token, as_user=bob.id), 5)) == {200: 5}
    assert emu.rate_limited_by_user() == {alice.id: 2}


def test_as_user_counts_against_the_target_and_the_service_account_has_its_own(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str
) -> None:
    emu.rate_limits = RateLimits(general=(Budget(5, 60),))
    user = emu.managed_users[0]
    assert statuses(run(caller(emu, token, as_user=user.id), 6)) == {200: 5, 429: 1}
    assert statuses(run(caller(emu, token), 5)) == {200: 5}  # the service account's own
    assert caller(emu, token)().status_code == 429
    own = emu.live_token(token)
    assert own is not None
    user_token = emu.issue_token(ekf.app, user)  # the user's own token: the same budget
    assert caller(emu, user_token)().status_code == 429
    assert emu.rate_limited_by_user() == {user.id: 2, own.owner.id: 1}


def upload(emu: BoxEmulator, token: str, name: str, as_user: str) -> requests.Response:
    return requests.post(
        f"{emu.upload_url}/2.0/files/content",
        files={
            "attributes": (None, json.dumps({"name": name, "parent": {"id": "0"}})),
            "file": (name, b"x"),
        },
        headers={"Authorization": f"Bearer {token}", "As-User": as_user},
        timeout=10,
    )


def test_uploads_and_search_have_their_own_budgets(emu: BoxEmulator, token: str) -> None:
    emu.rate_limits = RateLimits(
        general=(Budget(2, 60),), upload=(Budget(3, 60),), search=(Budget(4, 60),)
    )
    user = emu.managed_users[0]
    general = caller(emu, token, as_user=user.id)
    assert statuses(run(general, 3)) == {200: 2, 429: 1}
    uploads = [upload(emu, token, f"f{n}.txt", user.id) for n in range(4)]
    assert [r.status_code for r in uploads] == [201, 201, 201, 429]
    assert_rate_limited(uploads[-1])
    search = caller(emu, token, "/2.0/search?query=f", as_user=user.id)
    found = run(search, 5)
    assert statuses(found) == {200: 4, 429: 1}
    assert found[0].json()["total_count"] == 3
    for reason, count in (("general", 1), ("upload", 1), ("search", 1)):
        assert emu.count(status=429, rate_limit=reason) == count


def test_search_limits_per_second_and_per_enterprise(
    emu: BoxEmulator, token: str, clock: FakeClock
) -> None:
    emu.rate_limits = BOX_RATE_LIMITS  # 6/s and 60/min per user, 12/s per enterprise
    users = emu.managed_users[:3]
    searches = [caller(emu, token, "/2.0/search?query=x", as_user=u.id) for u in users]
    assert statuses(run(searches[0], 7)) == {200: 6, 429: 1}
    assert statuses(run(searches[1], 6)) == {200: 6}
    assert assert_rate_limited(searches[2]()) == 1  # the enterprise's 12 per second are spent
    assert emu.count(rate_limit="search_enterprise") == 1
    for _ in range(9):
        clock.advance(1)
        assert statuses(run(searches[0], 6)) == {200: 6}
    clock.advance(1)
    assert assert_rate_limited(searches[0]()) == 50  # 60 in the minute: wait for the first


def test_search_needs_a_query(emu: BoxEmulator, token: str) -> None:
    response = caller(emu, token, "/2.0/search")()
    assert response.status_code == 400
    assert response.json()["message"] == "Missing required query parameter 'query'"


def test_429_without_retry_after(emu: BoxEmulator, token: str) -> None:
    emu.rate_limits = RateLimits(general=(Budget(1, 60),), retry_after=False)
    call = caller(emu, token)
    assert call().status_code == 200
    response = call()
    assert response.status_code == 429
    assert "retry-after" not in response.headers


def test_limits_off_by_default_and_switchable(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RATE_LIMITS_ENV, raising=False)
    with BoxEmulator(clock=clock) as emu:
        assert emu.rate_limits is None
        assert emu.time_scale == 1.0
        token = enterprise_token(emu, emu.make_keyfile())
        emu.rate_limits = RateLimits(general=(Budget(3, 60),))
        assert statuses(run(caller(emu, token), 4)) == {200: 3, 429: 1}
        emu.rate_limits = None  # None: the environment's default (off here)
        assert statuses(run(caller(emu, token), 4)) == {200: 4}
        emu.rate_limits = True
        assert emu.rate_limits == BOX_RATE_LIMITS
        emu.rate_limits = False
        assert caller(emu, token)().status_code == 200
        with pytest.raises(TypeError, match="rate_limits must be"):
            emu.rate_limits = "on"  # type: ignore[assignment]
    assert BoxEmulator(rate_limits=True).rate_limits == RateLimits()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("off", None),
        ("0", None),
        ("on", RateLimits()),
        ("TRUE", RateLimits()),
        ("60", RateLimits(time_scale=60)),
        ("0.5", RateLimits(time_scale=0.5)),
    ],
)
def test_rate_limits_from_the_environment(value: str | None, expected: RateLimits | None) -> None:
    assert rate_limits_from_env(value) == expected


def test_environment_sets_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RATE_LIMITS_ENV, "60")
    assert BoxEmulator().rate_limits == RateLimits(time_scale=60)
    assert BoxEmulator(rate_limits=False).rate_limits is None
    monkeypatch.setenv(RATE_LIMITS_ENV, "fast")
    with pytest.raises(ValueError, match="BOXJWT_EMULATOR_RATE_LIMITS='fast'"):
        BoxEmulator()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Budget(0, 60), "calls"),
        (lambda: Budget(True, 60), "calls"),
        (lambda: Budget(1, 0), "seconds"),
        (lambda: RateLimits(time_scale=0), "time_scale"),
        (lambda: RateLimits(general=(5,)), "general"),  # type: ignore[arg-type]
    ],
)
def test_rate_limit_validation(make: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_sleep_follows_the_time_scale(clock: FakeClock) -> None:
    emu = BoxEmulator(clock=clock, rate_limits=RateLimits(time_scale=60))
    start = clock()
    emu.sleep(30)
    assert clock() == start + 0.5
    real = BoxEmulator(rate_limits=RateLimits(time_scale=1000))
    before = time.monotonic()
    real.sleep(1)  # one Box second: a millisecond
    assert time.monotonic() - before < 0.5


# --------------------------------------------------------------------------- throttling


def test_throttle_refuses_a_share_for_a_window(
    emu: BoxEmulator, token: str, clock: FakeClock
) -> None:
    emu.rate_limits = None
    throttle = emu.throttle(0.25, seconds=30, retry_after=7)
    responses = [caller(emu, token)() for _ in range(12)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429] * 3
    assert {assert_rate_limited(r) for r in responses if r.status_code == 429} == {7}
    assert (throttle.seen, throttle.refused, throttle.active) == (12, 3, True)
    assert emu.count(rate_limit="qos") == 3
    clock.advance(30)  # the window (Box seconds; time scale 1 with limits off) is over
    assert not throttle.active
    assert statuses(run(caller(emu, token), 8)) == {200: 8}
    assert "refused=3" in repr(throttle)


def test_throttle_whatever_the_budget_and_per_user(
    emu: BoxEmulator, token: str, clock: FakeClock
) -> None:
    alice, bob = emu.managed_users[:2]
    throttle = emu.throttle(seconds=None, retry_after=None, user=alice.id)
    refused = caller(emu, token, as_user=alice.id)()
    assert refused.status_code == 429
    assert "retry-after" not in refused.headers
    assert caller(emu, token, as_user=bob.id)().status_code == 200
    clock.advance(3600)
    assert throttle.active  # no window: until stopped
    throttle.stop()
    assert caller(emu, token, as_user=alice.id)().status_code == 200
    assert emu.rate_limited(alice.id) == 1
    emu.throttle(0.5)  # a stopped throttle is dropped when the next one starts
    assert len(emu.state.throttles) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"share": 0}, "share"),
        ({"share": 1.5}, "share"),
        ({"seconds": 0}, "seconds"),
        ({"retry_after": -1}, "retry_after"),
        ({"retry_after": True}, "retry_after"),
    ],
)
def test_throttle_validation(emu: BoxEmulator, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        emu.throttle(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the library


def test_as_user_session_survives_a_rate_limited_run(tmp_path: object) -> None:
    """32 threads on one user, a minute's budget per real second: every call ends 2xx and
    every 429 is waited out exactly as its retry-after said (at the emulator's time scale)."""
    limits = RateLimits(general=(Budget(60, 60),), time_scale=60)  # 60 calls per real second
    waits: list[float] = []
    lock = threading.Lock()
    with BoxEmulator(rate_limits=limits) as emu:

        def sleep(seconds: float) -> None:
            with lock:
                waits.append(seconds)
            emu.sleep(seconds)

        user: EmulatedUser = emu.managed_users[0]
        policy = boxjwt.RetryPolicy(max_attempts=100, sleep=sleep)
        auth = boxjwt.JWTAuthenticator(emu.make_keyfile().load(), base_url=emu.base_url)
        root = boxjwt.AsUserSession(  # unpaced: every thread meets the limits and retries
            auth, retry=policy, raise_for_status=True, rate_limiter=boxjwt.RateLimiter.disabled()
        )
        root.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
        session = root.for_user(user.id)
        with ThreadPoolExecutor(32) as pool:
            codes = list(pool.map(lambda _: session.get("/2.0/users/me").status_code, range(96)))
        assert codes == [200] * 96
        refused = emu.records(status=429, acting_user_id=user.id)
        assert len(refused) == emu.rate_limited(user.id) == len(waits) > 0
        told = sorted(float(r.response_headers["retry-after"]) for r in refused)
        assert sorted(waits) == told
        assert emu.count("GET", "/2.0/users/me", status=200) == 96
        root.close()
        auth.close()
