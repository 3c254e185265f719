"""Type-checks the public API as users write it (mypy --strict; never executed).

If a public signature changes incompatibly, ``nox -s typing`` fails here first.
"""

from __future__ import annotations

import datetime
import threading
import warnings
from typing import assert_type

import redis
import requests

import boxjwt
from boxjwt.exceptions import (
    APIError,
    BoxJWTError,
    ConfigurationError,
    InsecureKeyWarning,
    KeyFileError,
    TokenExchangeError,
)
from boxjwt.integrations.boxsdk import BoxSDKAuth, box_client
from boxjwt.stores import RedisRateLimiter, RedisTokenStore
from boxjwt.testing import BoxEmulator, EmulatedKeyFile, FakeClock


def keyfile_constructors() -> list[boxjwt.KeyFile]:
    a = boxjwt.KeyFile.from_file("key.json")
    b = boxjwt.KeyFile.from_file("key.json", passphrase="p", private_key_path="key.pem")
    c = boxjwt.KeyFile.from_json("{}", private_key="-----BEGIN ...")
    d = boxjwt.KeyFile.from_dict({"boxAppSettings": {}})
    e = boxjwt.KeyFile.from_env()
    assert_type(a.client_id, str)
    assert_type(a.enterprise_id, str)
    assert_type(a.public_key_id, str)
    assert_type(a.client_secret, boxjwt.Secret)
    assert_type(a.client_secret.reveal(), str)
    return [a, b, c, d, e]


def tokens(kf: boxjwt.KeyFile) -> None:
    auth = boxjwt.JWTAuthenticator(kf, base_url="https://api.box.com")
    tok = auth.enterprise_token()
    assert_type(tok, boxjwt.AccessToken)
    assert_type(tok.expires_at, float)
    assert_type(tok.value, boxjwt.Secret)
    user = auth.user_token("12345")
    assert_type(auth.invalidate(user), bool)
    auth.revoke(user)
    retry = boxjwt.RetryPolicy(max_attempts=3, max_total_time=30.0)
    store: boxjwt.TokenStore = boxjwt.MemoryTokenStore(max_size=1000)
    memory = boxjwt.MemoryTokenStore(10, clock=lambda: 0.0)
    assert_type(memory.evictions, int)
    assert_type(tok.client_id, str | None)
    record = tok.to_json(key="cid:enterprise:1")
    assert_type(boxjwt.AccessToken.from_json(record, key="cid:enterprise:1"), boxjwt.AccessToken)
    boxjwt.JWTAuthenticator(kf, retry=retry, token_store=store, refresh_margin=120.0)
    shared = RedisTokenStore(redis.Redis(socket_timeout=1.0))
    RedisTokenStore(redis.Redis(), near_cache=False, near_cache_size=100)
    boxjwt.JWTAuthenticator(kf, token_store=shared)
    requests.get("https://api.box.com/2.0/users/me", auth=boxjwt.BoxAuth(auth), timeout=10)
    subject: boxjwt.SubjectType = tok.subject_type
    assert_type(user.subject_type, boxjwt.SubjectType)
    print(subject, user.subject_id)


def one_name_for_the_acting_user(auth: boxjwt.JWTAuthenticator, who: str | int | None) -> None:
    """``user_id: str | int | None`` and ``mode: SessionMode``, the same everywhere."""
    mode: boxjwt.SessionMode = "as_user"
    box_auth = boxjwt.BoxAuth(auth, user_id=who, mode=mode)
    assert_type(box_auth.user_id, str | None)
    assert_type(box_auth.mode, boxjwt.SessionMode)
    session = boxjwt.AsUserSession(auth, user_id=who, mode="user_token")
    assert_type(session.mode, boxjwt.SessionMode)
    assert_type(session.credentials, boxjwt.BoxAuth)
    sdk_auth = BoxSDKAuth(auth, user_id=who, mode="user_token")
    assert_type(sdk_auth.mode, boxjwt.SessionMode)
    box_client(auth, user_id=who, mode=mode)
    try:
        session.get("/2.0/users/me", headers={"As-User": "42"})
    except ConfigurationError as exc:  # use session.for_user("42") instead
        print(exc)


def sessions(auth: boxjwt.JWTAuthenticator) -> None:
    s = boxjwt.AsUserSession(auth, user_id="12345")
    service = boxjwt.AsUserSession(auth)
    r = s.get("/2.0/folders/0")
    assert_type(r, requests.Response)
    assert_type(boxjwt.raise_for_box_error(r), requests.Response)
    other = service.for_user("67890")
    assert_type(other, boxjwt.AsUserSession)
    assert isinstance(other, requests.Session)


def checks() -> bool:
    report = boxjwt.preflight("key.json")
    report2 = boxjwt.preflight(
        boxjwt.KeyFile.from_file("key.json"), base_url="http://x", probe_user="1"
    )
    assert_type(report, boxjwt.PreflightReport)
    for check in report2.checks:
        assert_type(check, boxjwt.CheckResult)
        print(check.id, check.status, check.remediation)
    account: boxjwt.UserRef | None = report.service_account
    assert_type(report.probe_user, boxjwt.UserRef | None)
    print(account.login if account is not None else None)
    data = report.to_dict()
    print(data["checks"], str(report))
    return report.ok


def users_check(auth: boxjwt.JWTAuthenticator) -> bool:
    report = boxjwt.check_users(auth, ["12345", 67890, "jane@example.com"])
    assert_type(report, boxjwt.UserCheckReport)
    everyone = boxjwt.check_users(
        auth,
        boxjwt.ALL_USERS,
        user_tokens=True,
        concurrency=4,
        progress=lambda done, total: print(f"{done} of {total}"),
        stop=threading.Event(),
    )
    for user in everyone.users:
        assert_type(user, boxjwt.UserCheck)
        assert_type(user.found, bool | None)
        print(user.asked, user.id, user.as_user.reason, user.as_user.fix, user.ready)
        if user.user_token is not None:
            print(user.user_token.status)
    assert_type(report["jane@example.com"], boxjwt.UserCheck)
    print(report.to_dict()["users"], report.to_json(), report.csv_rows(), str(report))
    return report.ok and everyone.complete


def errors(kf: boxjwt.KeyFile) -> None:
    try:
        boxjwt.JWTAuthenticator(kf).enterprise_token()
    except TokenExchangeError as exc:
        print(exc.status_code, exc.error, exc.error_description, exc.request_id, exc.retryable)
    except APIError as exc:
        print(exc.status_code, exc.code, exc.request_id)
    except KeyFileError as exc:
        print(exc.source, exc.field)
    except BoxJWTError:
        pass
    warnings.filterwarnings("ignore", category=InsecureKeyWarning)


def emulator() -> None:
    clock = FakeClock()
    with BoxEmulator(clock=clock, token_expires_in=120) as emu:
        assert_type(emu.base_url, str)
        ekf = emu.make_keyfile()
        assert_type(ekf, EmulatedKeyFile)
        kf = ekf.load()
        auth = boxjwt.JWTAuthenticator(kf, base_url=emu.base_url, clock=clock, sleep=clock.sleep)
        auth.enterprise_token()
        assert_type(emu.token_requests(), int)
        ekf.app.configure(as_user=False)
        ekf.app.reauthorize()
        print(datetime.datetime.now(tz=datetime.UTC))


def rate_limits(client: redis.Redis) -> boxjwt.RateLimiterStats:
    policy = boxjwt.RatePolicy(general=boxjwt.RateLimit(500, 60.0, burst=10), jitter=0.1)
    limiter = boxjwt.RateLimiter(policy)
    cls: boxjwt.RateClass = boxjwt.rate_class_of("GET", "/2.0/search")
    permit = limiter.acquire("12345", cls, enterprise="1")
    assert_type(permit, boxjwt.RatePermit)
    assert_type(limiter.wait_time(limiter.reserve("12345")), float)
    limiter.record_response(permit, 429, retry_after=3.0)
    limiter.on_429("12345", "upload")
    off = boxjwt.RateLimiter.disabled()
    shared = RedisRateLimiter(client, policy.share(0.5), local_fallback=off)
    auth = boxjwt.JWTAuthenticator(boxjwt.KeyFile.from_file("key.json"))
    session = boxjwt.AsUserSession(auth, "12345", rate_limiter=shared)
    assert_type(session.rate_limiter, boxjwt.RateLimiter)
    assert_type(session.rate_subject, str)
    assert_type(limiter.recheck(limiter.reserve("12345")), float)
    assert_type(shared.degraded, bool)
    stats: boxjwt.RateClassStats = shared.snapshot().classes["general"]
    print(stats.max_wait, limiter.rate_factor("12345"), limiter.paused_for("12345"))
    return limiter.snapshot()


async def asyncio_twin(kf: boxjwt.KeyFile) -> str:
    import httpx

    from boxjwt.aio import AsyncAsUserSession, AsyncJWTAuthenticator

    async with AsyncJWTAuthenticator(kf, base_url="https://api.box.com") as auth:
        assert_type(await auth.enterprise_token(), boxjwt.AccessToken)
        token = await auth.user_token("12345")
        assert_type(await auth.invalidate(token), bool)
        async with AsyncAsUserSession(auth, mode="as_user", raise_for_status=True) as s:
            response = await s.for_user("12345").get("/2.0/users/me", params={"fields": "id"})
            assert_type(response, httpx.Response)
            assert_type(s.client, httpx.AsyncClient)
            user_id: str = response.json()["id"]
            return user_id
