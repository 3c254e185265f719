"""boxjwt.aio.AsyncAsUserSession against the emulator (and scripted hosts) over real HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from aio_support import ME, make_auth
from boxjwt import RateLimiter, RetryPolicy
from boxjwt import _remedies as remedies
from boxjwt._retry import RetryEvent
from boxjwt.aio import AsyncAsUserSession, AsyncJWTAuthenticator
from boxjwt.aio._session import _materialise, _replayable
from boxjwt.aio._transport import drain, transport_error
from boxjwt.exceptions import (
    AccessDeniedError,
    ConfigurationError,
    NotFoundError,
    RateLimitExceededError,
    TransportError,
)
from boxjwt.testing import BoxEmulator, EmulatedUser, FakeClock
from recording_server import Answer, RecordingServer

if TYPE_CHECKING:
    import redis

pytestmark = pytest.mark.anyio

UPLOAD = "/api/2.0/files/content"
INVALID_TOKEN = (
    'Bearer realm="Service", error="invalid_token", '
    'error_description="The access token provided is invalid."'
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


@pytest.fixture
async def auth(emu: BoxEmulator, clock: FakeClock) -> AsyncIterator[AsyncJWTAuthenticator]:
    authenticator = make_auth(emu.make_keyfile().load(), emu, clock)
    yield authenticator
    await authenticator.aclose()


def tokens(emu: BoxEmulator, auth: AsyncJWTAuthenticator, **kwargs: Any) -> int:
    return emu.token_requests(client_id=auth.client_id, **kwargs)


# --------------------------------------------------------------------------- identities


async def test_as_user_user_token_and_service_account(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator, user: EmulatedUser
) -> None:
    async with AsyncAsUserSession(auth) as root:
        assert (await root.get(ME)).json()["id"] == emu.service_account.id
        as_user = root.for_user(user.id)
        response = await as_user.get(ME)
        assert isinstance(response, httpx.Response)
        assert response.json()["id"] == user.id
        assert emu.records("GET", ME)[-1].as_user == user.id
        own = AsyncAsUserSession(auth, user.id, mode="user_token", client=root.client)
        assert (await own.get(ME)).json()["id"] == user.id
        assert emu.records("GET", ME)[-1].as_user is None
        await own.aclose()  # a client passed in stays open
        assert not root.client.is_closed
    assert root.client.is_closed
    assert tokens(emu, auth, subject_type="enterprise") == 1
    assert tokens(emu, auth, subject_type="user") == 1


async def test_paths_resolve_against_the_configured_hosts(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator
) -> None:
    async with AsyncAsUserSession(auth) as s:
        assert s.resolve_url(ME) == emu.base_url + ME
        assert s.resolve_url("/api/2.0/files/content") == emu.base_url + "/api/2.0/files/content"
        assert s.resolve_url("https://api.box.com/2.0/folders/0") == emu.base_url + "/2.0/folders/0"
        assert s.is_box_url(emu.base_url + ME)
        assert not s.is_box_url("https://example.com/2.0/users/me")
        assert (await s.get("https://api.box.com/2.0/users/me")).status_code == 200
        with pytest.raises(ConfigurationError):
            await s.get("users/me")


async def test_box_headers_set_by_the_caller_are_refused_not_replaced(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator, user: EmulatedUser
) -> None:
    async with AsyncAsUserSession(auth, user.id) as s:
        with pytest.raises(ConfigurationError, match="Authorization"):
            await s.get(ME, headers={"Authorization": "Bearer mine"})
        with pytest.raises(ConfigurationError, match="As-User"):
            await s.get(ME, headers={"As-User": "999"})
        with pytest.raises(ConfigurationError, match="auth="):
            await s.get(ME, auth=("a", "b"))
        assert (await s.get(ME, headers={"As-User": user.id})).json()["id"] == user.id
    assert emu.count("GET", ME) == 1


async def test_a_non_box_host_gets_no_credentials(
    auth: AsyncJWTAuthenticator, recorder: RecordingServer, user: EmulatedUser
) -> None:
    recorder.script(Answer(401, {"WWW-Authenticate": INVALID_TOKEN}, b""))
    async with AsyncAsUserSession(auth, user.id) as s:
        response = await s.get(f"{recorder.url}/elsewhere")
    assert response.status_code == 401
    (received,) = recorder.received
    assert "authorization" not in received.headers
    assert "as-user" not in received.headers


# --------------------------------------------------------------------------- redirects


async def test_box_redirect_to_another_origin_answering_401_carries_no_box_header(
    emu: BoxEmulator,
    auth: AsyncJWTAuthenticator,
    recorder: RecordingServer,
    user: EmulatedUser,
    clock: FakeClock,
) -> None:
    """Acceptance: no Box header at the other origin, and its 401 causes no token exchange."""
    emu.download_url_template = recorder.url + "/download/{file_id}"
    item = emu.add_file("report.pdf", b"%PDF", owner=user)
    recorder.script(
        Answer(200, {"Content-Type": "application/pdf"}, b"%PDF"),
        Answer(401, {"WWW-Authenticate": INVALID_TOKEN}, b""),
        Answer(503, {}, b""),
    )
    async with AsyncAsUserSession(auth, user.id) as s:
        response = await s.get(f"/2.0/files/{item.id}/content")
        assert response.content == b"%PDF"
        assert [r.status_code for r in response.history] == [302]
        assert (await s.get(f"/2.0/files/{item.id}/content")).status_code == 401
        assert (await s.get(f"/2.0/files/{item.id}/content")).status_code == 503
        held = await s.get(f"/2.0/files/{item.id}/content", follow_redirects=False)
        assert held.status_code == 302
    boxed = emu.records("GET", f"/2.0/files/{item.id}/content")[-1]
    assert boxed.as_user == user.id
    assert len(recorder.received) == 3
    for received in recorder.received:
        assert "authorization" not in received.headers
        assert "as-user" not in received.headers
    assert tokens(emu, auth) == 1  # the foreign 401 dropped nothing
    assert clock.sleeps == []  # and its 503 was not retried


async def test_redirect_within_box_keeps_credentials(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator, user: EmulatedUser
) -> None:
    item = emu.add_file("notes.txt", b"notes", owner=user)
    async with AsyncAsUserSession(auth, user.id) as s:
        response = await s.get(f"/2.0/files/{item.id}/content")
    assert response.content == b"notes"
    hop = emu.records("GET", f"/_emulator/download/{item.id}")[-1]
    assert hop.request_headers["authorization"] == "Bearer <redacted>"
    assert hop.request_headers["as-user"] == user.id


async def test_redirect_from_another_host_to_box_carries_no_credentials(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator, recorder: RecordingServer, user: EmulatedUser
) -> None:
    recorder.script(Answer(302, {"Location": f"{emu.base_url}{ME}"}, b""))
    async with AsyncAsUserSession(auth, user.id) as s:
        response = await s.get(f"{recorder.url}/lure")
    assert response.status_code == 401
    record = emu.records("GET", ME)[-1]
    assert "authorization" not in record.request_headers
    assert record.as_user is None
    assert tokens(emu, auth) == 0


async def test_a_307_to_another_origin_replays_the_body_not_the_credentials(
    emu: BoxEmulator, clock: FakeClock, recorder: RecordingServer, user: EmulatedUser
) -> None:
    auth = make_auth(emu.make_keyfile().load(), emu, clock, upload_url=f"{recorder.url}/api/2.0")
    with RecordingServer() as foreign:
        recorder.script(Answer(307, {"Location": f"{foreign.url}/landing"}, b""))
        async with auth, AsyncAsUserSession(auth, user.id) as s:
            response = await s.put("/api/2.0/files/1/content", content=b"body")
        assert response.status_code == 200
        (boxed,) = recorder.received
        assert boxed.headers["as-user"] == user.id
        (landed,) = foreign.received
        assert landed.body == b"body"
        assert "authorization" not in landed.headers
        assert "as-user" not in landed.headers


# --------------------------------------------------------------------------- 401, retries


async def test_401_invalidates_the_token_and_resends_once_without_sleeping(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator, clock: FakeClock, user: EmulatedUser
) -> None:
    async with AsyncAsUserSession(auth, user.id) as s:
        await s.get(ME)
        emu.revoke_all_tokens()
        assert (await s.get(ME)).json()["id"] == user.id
        emu.faults.push(ME, 401, count=2)
        assert (await s.get(ME)).status_code == 401  # a second 401 is returned, not resent
        assert emu.count("GET", ME) == 5
        assert tokens(emu, auth) == 3
        assert (await s.get(ME)).is_success  # the second rejected token was dropped as well
    assert tokens(emu, auth) == 4
    assert clock.sleeps == []


def upload_form(name: str, data: Any = b"data") -> dict[str, Any]:
    attributes = json.dumps({"name": name, "parent": {"id": "0"}})
    return {"data": {"attributes": attributes}, "files": {"file": (name, data)}}


async def test_429_and_transient_409_are_retried_for_every_method_5xx_only_for_idempotent(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator, clock: FakeClock
) -> None:
    async with AsyncAsUserSession(auth) as s:
        emu.faults.push(UPLOAD, 429, retry_after=3)
        assert (await s.post(UPLOAD, **upload_form("one.txt"))).status_code == 201
        assert clock.sleeps == [3.0]  # the user's shared pause, awaited
        assert emu.count("POST", UPLOAD) == 2
        blocked = {"type": "error", "status": 409, "code": "operation_blocked_temporary"}
        emu.faults.push(UPLOAD, 409, body=blocked)
        with open(__file__, "rb") as file:  # a seekable file is replayed
            assert (await s.post(UPLOAD, **upload_form("two.txt", file))).status_code == 201
        assert emu.count("POST", UPLOAD) == 4
        emu.faults.push(UPLOAD, 503)
        assert (await s.post(UPLOAD, **upload_form("three.txt"))).status_code == 503
        assert emu.count("POST", UPLOAD) == 5
        emu.faults.push(ME, 503, count=2)
        assert (await s.get(ME)).status_code == 200
    assert emu.count("GET", ME) == 3


async def test_each_retry_is_logged_once_with_boxs_answer(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="boxjwt")
    async with AsyncAsUserSession(auth) as s:
        emu.faults.push(ME, 503)
        emu.faults.push(ME, 429, retry_after=2)
        assert (await s.get(ME)).status_code == 200
    lines = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "attempt 1 failed (HTTP 503, Box request id " in lines[0]
    assert "attempt 2 failed (HTTP 429" in lines[1]
    assert lines[1].endswith("retrying after the user's shared pause")


async def test_bodies_that_cannot_be_replayed_are_sent_once(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"da"
        yield b"ta"

    async with AsyncAsUserSession(auth) as s:
        await s.get(ME)
        emu.faults.push(UPLOAD, 429, retry_after=1)
        assert (await s.post(UPLOAD, content=chunks())).status_code == 429
        emu.revoke_all_tokens()
        assert (await s.post(UPLOAD, content=chunks())).status_code == 401
    assert emu.count("POST", UPLOAD) == 2
    assert tokens(emu, auth) == 1  # the 401 dropped the token; nothing was resent


async def test_retries_are_bounded_by_the_policy(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator
) -> None:
    emu.faults.push(ME, 503, count=10)
    async with AsyncAsUserSession(
        auth, retry=RetryPolicy(max_attempts=3, sleep=lambda _: None)
    ) as s:
        assert (await s.get(ME)).status_code == 503
    assert emu.count("GET", ME) == 3


async def test_raise_for_status_raises_the_matching_error(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator, user: EmulatedUser
) -> None:
    async with AsyncAsUserSession(auth, raise_for_status=True) as s:
        with pytest.raises(NotFoundError) as caught:
            await s.get("/2.0/folders/999999")
        assert caught.value.request_id
        emu.faults.push(
            ME,
            403,
            body={
                "type": "error",
                "status": 403,
                "code": "access_denied_insufficient_permissions",
                "message": "Access denied",
            },
        )
        with pytest.raises(AccessDeniedError):
            await s.get(ME)
        emu.faults.push(ME, 429, count=10)
        limited = AsyncAsUserSession(
            auth,
            raise_for_status=True,
            retry=RetryPolicy(max_attempts=2),
            rate_limiter=RateLimiter.disabled(),
            client=s.client,
        )
        with pytest.raises(RateLimitExceededError):
            await limited.get(ME)


async def test_dropped_connections_are_retried_for_get_and_raise_transport_error_for_post(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator
) -> None:
    async with AsyncAsUserSession(auth) as s:
        emu.faults.push(ME, drop=True)
        assert (await s.get(ME)).status_code == 200
        emu.faults.push("/2.0/folders", drop=True, method="POST")
        with pytest.raises(TransportError) as caught:
            await s.post("/2.0/folders", json={"name": "x", "parent": {"id": "0"}})
    assert caught.value.__context__ is None
    assert "Bearer" not in str(caught.value)


async def test_streamed_responses_are_left_unread(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator, user: EmulatedUser
) -> None:
    item = emu.add_file("big.bin", b"x" * 100_000, owner=user)
    async with AsyncAsUserSession(auth, user.id) as s:
        response = await s.get(f"/2.0/files/{item.id}/content", stream=True)
        assert not response.is_stream_consumed
        assert len(await response.aread()) == 100_000
        await response.aclose()


def test_invalid_arguments(emu: BoxEmulator, clock: FakeClock) -> None:
    auth = make_auth(emu.make_keyfile().load(), emu, clock)
    with pytest.raises(ConfigurationError):
        AsyncAsUserSession(object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncAsUserSession(auth, mode="other")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncAsUserSession(auth, retry=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncAsUserSession(auth, rate_limiter=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncAsUserSession(auth, client=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncAsUserSession(auth, max_redirects=-1)
    s = AsyncAsUserSession(auth, "42")
    assert repr(s) == f"AsyncAsUserSession(user_id='42', mode='as_user', base_url='{emu.base_url}')"
    assert (s.user_id, s.mode, s.owns_client, s.rate_subject) == ("42", "as_user", True, "42")
    sibling = s.for_user(None)
    assert sibling.client is s.client
    assert not sibling.owns_client
    assert sibling.rate_limiter is s.rate_limiter
    assert sibling.retry is s.retry
    assert sibling.authenticator is auth
    assert sibling.rate_subject == f"service-account:{auth.client_id}"
    asyncio.run(s.aclose())


async def test_every_method_helper_and_a_timeout_of_its_own(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator
) -> None:
    events: list[RetryEvent] = []
    emu.faults.push(ME, 503)
    policy = RetryPolicy(on_retry=events.append, sleep=lambda _: None)
    async with AsyncAsUserSession(auth, retry=policy) as s:
        assert (await s.get(ME, timeout=5.0)).status_code == 200
    assert [e.attempt for e in events] == [1]
    async with AsyncAsUserSession(auth, retry=RetryPolicy(max_attempts=1)) as s:
        for call in (s.head, s.options, s.patch, s.delete, s.put):
            assert (await call("/2.0/folders/999999")).status_code >= 400
    methods = {r.method for r in emu.request_log if r.path == "/2.0/folders/999999"}
    assert methods == {"OPTIONS", "PATCH", "DELETE", "PUT"}  # (HEAD: answered, not logged)


@pytest.mark.redis
async def test_a_redis_rate_limiter_is_called_in_worker_threads(
    emu: BoxEmulator, auth: AsyncJWTAuthenticator, user: EmulatedUser, client: redis.Redis
) -> None:
    from boxjwt.stores import RedisRateLimiter

    limiter = RedisRateLimiter(client)
    emu.faults.push(ME, 429, retry_after=0)
    async with AsyncAsUserSession(auth, user.id, rate_limiter=limiter) as s:
        assert (await s.get(ME)).json()["id"] == user.id
    assert limiter.snapshot().classes["general"].throttled == 1


def test_which_bodies_can_be_replayed(tmp_path: Path) -> None:
    assert _replayable({})
    assert _replayable({"content": b"x", "json": {"a": 1}})
    assert _replayable({"data": {"a": "b"}, "files": [("f", (None, b"x"))]})
    assert not _replayable({"content": iter([b"x"])})
    assert not _replayable({"data": b"raw"})
    assert not _replayable({"files": {"f": ("name", iter([b"x"]))}})

    class Unseekable(io.BytesIO):
        def seekable(self) -> bool:
            return False

    class Closed(io.BytesIO):
        def seekable(self) -> bool:
            raise ValueError("I/O operation on closed file")

    assert not _replayable({"files": {"f": Unseekable(b"x")}})
    assert not _replayable({"files": {"f": Closed(b"x")}})
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    with path.open("rb") as file:
        assert _replayable({"files": {"f": file}})


class Broken(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        raise httpx.ReadError("connection reset")
        yield b""  # pragma: no cover - makes this an async generator


async def test_reading_what_is_left_of_an_answer() -> None:
    assert await drain(httpx.Response(200, stream=Broken()), 10) == b""
    done = httpx.Response(200, content=b"abc")
    assert await drain(done, 10) == b"abc"
    assert await _materialise(httpx.Response(200, content=b"xyz"), 10) == "xyz"
    big = httpx.Response(200, stream=httpx.ByteStream(b"x" * 20))
    assert await _materialise(big, 10) == "x" * 10


def test_tls_failures_are_not_retryable() -> None:
    cause = ssl.SSLCertVerificationError("certificate verify failed")
    exc = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]")
    exc.__cause__ = cause
    error = transport_error(exc, "GET", "https://api.box.com/2.0/users/me")
    assert not error.retryable
    assert error.remedy == remedies.TLS
    assert transport_error(httpx.ConnectError("refused"), "GET", "u").retryable
    assert not transport_error(httpx.UnsupportedProtocol("ftp"), "GET", "u").retryable
