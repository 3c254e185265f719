"""AsUserSession against the emulator: identities, URLs, credentials, 401/429/5xx, pools, errors.

Everything is real HTTP over loopback. The authenticator and the emulator share a FakeClock,
and the retry policy sleeps on that clock, so waits are recorded (``clock.sleeps``), never slept.
A :class:`RecordingServer` plays "another host" (and, as the configured upload host, a scripted
Box host that records the bodies it receives).
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import requests.adapters

import boxjwt
from boxjwt import AsUserSession, JWTAuthenticator, RateLimiter, RetryPolicy
from boxjwt._session import DEFAULT_SESSION_TIMEOUT, _rewinder
from boxjwt.exceptions import (
    AccessDeniedError,
    APIError,
    ConfigurationError,
    ConflictError,
    InsufficientScopeError,
    InvalidGrantTypeError,
    InvalidTokenError,
    NotFoundError,
    RateLimitExceededError,
    ServerAPIError,
    TransportError,
)
from boxjwt.testing import BoxAnswers, BoxEmulator, EmulatedUser, FakeClock
from recording_server import Answer, RecordingServer

INVALID_TOKEN_HEADER = (
    'Bearer realm="Service", error="invalid_token", '
    'error_description="The access token provided is invalid."'
)
ME = "/2.0/users/me"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[BoxEmulator]:
    with BoxEmulator(clock=clock) as emulator:
        # token errors with a request ID, to check it is kept (Box's token endpoint sends none)
        emulator.answers = BoxAnswers(oauth_error_request_id=True)
        yield emulator


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def make_auth(emu: BoxEmulator, clock: FakeClock, **kwargs: Any) -> JWTAuthenticator:
    keyfile = emu.make_keyfile(**kwargs.pop("app", {})).load()
    return JWTAuthenticator(
        keyfile, base_url=emu.base_url, clock=clock, sleep=clock.sleep, **kwargs
    )


@pytest.fixture
def auth(emu: BoxEmulator, clock: FakeClock) -> Iterator[JWTAuthenticator]:
    authenticator = make_auth(emu, clock)
    yield authenticator
    authenticator.close()


@pytest.fixture
def fakebox(
    emu: BoxEmulator, clock: FakeClock, recorder: RecordingServer
) -> Iterator[JWTAuthenticator]:
    """Tokens from the emulator; the upload host is the recording server (a scripted Box)."""
    authenticator = make_auth(emu, clock, upload_url=f"{recorder.url}/api/2.0")
    yield authenticator
    authenticator.close()


def tokens(emu: BoxEmulator, auth: JWTAuthenticator, **kwargs: Any) -> int:
    return emu.token_requests(client_id=auth.client_id, **kwargs)


def upload_form(name: str, data: bytes = b"data") -> dict[str, Any]:
    """The multipart fields of Box's upload: ``attributes`` JSON, then the ``file``."""
    attributes = json.dumps({"name": name, "parent": {"id": "0"}})
    return {"attributes": (None, attributes), "file": (name, data)}


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --------------------------------------------------------------------------- identities


def test_as_user_acts_as_the_target_user(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    with AsUserSession(auth, user.id) as s:
        response = s.get(ME)
    assert response.status_code == 200
    assert response.json()["id"] == user.id
    record = emu.records("GET", ME)[-1]
    assert record.as_user == user.id
    assert record.subject_type == "enterprise"
    assert tokens(emu, auth) == 1


def test_user_token_mode_uses_the_users_own_token(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    with AsUserSession(auth, int(user.id), mode="user_token") as s:
        assert s.user_id == user.id
        assert s.mode == "user_token"
        assert s.get(ME).json()["id"] == user.id
    record = emu.records("GET", ME)[-1]
    assert record.as_user is None
    assert "as-user" not in record.request_headers
    assert record.subject_type == "user"
    assert tokens(emu, auth, subject_type="user", subject_id=user.id) == 1
    assert tokens(emu, auth, subject_type="enterprise") == 0


@pytest.mark.parametrize("mode", ["as_user", "user_token"])
def test_no_user_is_the_service_account(
    emu: BoxEmulator, auth: JWTAuthenticator, mode: Any
) -> None:
    with AsUserSession(auth, mode=mode) as s:
        me = s.get(ME).json()
    service_account = emu.app_by_client_id(auth.client_id)
    assert service_account is not None
    assert me["id"] == service_account.service_account.id
    assert me["login"].startswith("AutomationUser_")
    assert "as-user" not in emu.records("GET", ME)[-1].request_headers
    assert tokens(emu, auth, subject_type="enterprise") == 1


def test_credentials_are_never_session_headers(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    with AsUserSession(auth, user.id) as s:
        s.get(ME)
        s.get("/2.0/folders/0")
        assert "Authorization" not in s.headers
        assert "As-User" not in s.headers
        text = repr(s)
    assert user.id in text
    assert auth.enterprise_token().value.reveal() not in text


def test_box_headers_set_by_the_caller_are_refused_not_replaced(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    """Issue 13, item 13: an explicit As-User used to be dropped silently (the call then ran
    as someone else); an explicit Authorization was replaced. Both are refused now."""
    other = emu.managed_users[1]
    with AsUserSession(auth, user.id) as s:
        with pytest.raises(ConfigurationError, match=rf"for_user\('{other.id}'\)"):
            s.get(ME, headers={"As-User": other.id})
        with pytest.raises(ConfigurationError, match="Authorization"):
            s.get(ME, headers={"Authorization": "Bearer forged"})
        assert s.get(ME, headers={"As-User": user.id}).json()["id"] == user.id  # the same user
        s.headers["As-User"] = other.id
        with pytest.raises(ConfigurationError, match="session's headers"):
            s.get(ME)
    with AsUserSession(auth) as service, pytest.raises(ConfigurationError, match="service account"):
        service.get(ME, headers={"As-User": other.id})
    own = AsUserSession(auth, user.id, mode="user_token")
    with own, pytest.raises(ConfigurationError, match="own token"):
        own.get(ME, headers={"As-User": user.id})
    assert emu.count("GET", ME) == 1
    assert emu.count("GET", ME, as_user=other.id) == 0


def test_explicit_auth_on_a_box_request_is_refused(
    emu: BoxEmulator, auth: JWTAuthenticator, recorder: RecordingServer
) -> None:
    with AsUserSession(auth) as s:
        with pytest.raises(ConfigurationError, match="auth="):
            s.get(ME, auth=("user", "password"))
        s.auth = ("user", "password")
        with pytest.raises(ConfigurationError, match=r"session\.auth"):
            s.get(ME)
        assert s.get(f"{recorder.url}/elsewhere").ok  # another host: requests' business
    assert recorder.received[0].headers["authorization"].startswith("Basic ")
    assert emu.count("GET", ME) == 0


def test_a_netrc_login_never_reaches_box_and_is_not_taken_for_the_callers(
    emu: BoxEmulator,
    auth: JWTAuthenticator,
    user: EmulatedUser,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with AsUserSession(auth, user.id) as s:
        assert s.trust_env
        assert s.get(ME).json()["id"] == user.id
    assert emu.records("GET", ME)[-1].request_headers["authorization"] == "Bearer <redacted>"


def test_the_same_prepared_request_can_be_sent_again(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    with AsUserSession(auth, user.id) as s:
        prepared = s.prepare_request(requests.Request("GET", ME))
        assert s.send(prepared).ok
        assert s.send(prepared).json()["id"] == user.id  # its Authorization is boxjwt's own
        assert s.for_user(user.id).send(prepared).ok
    assert emu.count("GET", ME, status=200) == 3


# --------------------------------------------------------------------------- URLs


def test_paths_and_box_urls_resolve_against_the_configured_hosts(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    s = AsUserSession(auth)
    base, upload = auth.base_url, auth.upload_url
    assert s.resolve_url("/2.0/users/me?fields=id") == f"{base}/2.0/users/me?fields=id"
    assert s.resolve_url("/oauth2/token") == f"{base}/oauth2/token"
    assert s.resolve_url("/api/2.0/files/content") == f"{upload}/files/content"
    assert s.resolve_url("/api/2.0") == upload
    assert s.resolve_url("/api/2.0?x=1") == f"{upload}?x=1"
    assert s.resolve_url("/api/2.01/x") == f"{base}/api/2.01/x"
    assert s.resolve_url("https://api.box.com/2.0/x?q=1#f") == f"{base}/2.0/x?q=1#f"
    assert s.resolve_url("https://API.box.com:443/2.0/x") == f"{base}/2.0/x"
    assert s.resolve_url("https://upload.box.com/api/2.0/files/content") == (
        f"{upload}/files/content"
    )
    assert s.resolve_url("https://upload.box.com/other") == f"{emu.base_url}/other"
    for foreign in (
        "https://dl.boxcloud.com/d/1",
        "http://api.box.com/2.0/users/me",  # plain http is not Box
        "https://api.box.com:8443/2.0/users/me",
        "https://api.box.com:99999/2.0/users/me",  # unreadable port
        "ftp://api.box.com/x",
    ):
        assert s.resolve_url(foreign) == foreign
        assert not s.is_box_url(foreign)
    with pytest.raises(ConfigurationError, match=r"/2\.0/users/me"):
        s.resolve_url("2.0/users/me")
    with pytest.raises(ConfigurationError):
        s.get("users/me")


def test_box_host_match_is_scheme_host_and_port(emu: BoxEmulator, auth: JWTAuthenticator) -> None:
    s = AsUserSession(auth)
    port = emu.port
    assert s.is_box_url(f"http://127.0.0.1:{port}/2.0/users/me")
    assert s.is_box_url(f"HTTP://127.0.0.1:{port}/x".encode())
    assert not s.is_box_url(f"https://127.0.0.1:{port}/x")
    assert not s.is_box_url(f"http://localhost:{port}/x")
    assert not s.is_box_url(f"http://127.0.0.1:{port + 1}/x")
    assert not s.is_box_url(None)
    assert not s.is_box_url("")


def test_default_hosts_are_box_itself(emu: BoxEmulator, clock: FakeClock) -> None:
    keyfile = emu.make_keyfile().load()
    with JWTAuthenticator(keyfile, clock=clock) as real:
        s = AsUserSession(real)
        assert s.resolve_url("/2.0/users/me") == "https://api.box.com/2.0/users/me"
        assert s.resolve_url("/api/2.0/files/content") == (
            "https://upload.box.com/api/2.0/files/content"
        )
        assert s.is_box_url("https://api.box.com/2.0/users/me")
        assert s.is_box_url("https://upload.box.com:443/api/2.0/files/content")
        assert not s.is_box_url("https://dl.boxcloud.com/x")


def test_absolute_box_urls_are_rerouted_to_the_emulator(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    with AsUserSession(auth, user.id) as s:
        assert s.get("https://api.box.com/2.0/users/me").json()["id"] == user.id
        uploaded = s.post(
            "https://upload.box.com/api/2.0/files/content",
            files=upload_form("a.txt", b"hello"),
        )
        assert uploaded.status_code == 201
        relative = s.post(
            "/api/2.0/files/content",
            files=upload_form("b.txt", b"hello"),
        )
        assert relative.status_code == 201
        assert s.request("GET", ME.encode()).status_code == 200  # bytes URLs too
    assert emu.count("POST", "/api/2.0/files/content", status=201) == 2


def test_a_prepared_request_keeps_its_original_url_object(auth: JWTAuthenticator) -> None:
    s = AsUserSession(auth)
    request = requests.Request("GET", ME)
    prepared = s.prepare_request(request)
    assert request.url == ME
    assert prepared.url == f"{auth.base_url}{ME}"


# --------------------------------------------------------------------------- credentials


def test_a_non_box_host_gets_no_credentials(
    emu: BoxEmulator, auth: JWTAuthenticator, recorder: RecordingServer, user: EmulatedUser
) -> None:
    with AsUserSession(auth, user.id, raise_for_status=True) as s:
        recorder.script(Answer(404, body={"type": "error", "code": "not_found"}))
        missing = s.get(f"{recorder.url}/elsewhere")  # no Box error raised for another host
        ok = s.post(f"{recorder.url}/elsewhere", data=b"x")
    assert missing.status_code == 404
    assert ok.status_code == 200
    assert len(recorder.received) == 2
    for received in recorder.received:
        assert "authorization" not in received.headers
        assert "as-user" not in received.headers
    assert tokens(emu, auth) == 0  # not even a token was needed


def test_same_port_other_host_name_is_not_box(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    with AsUserSession(auth, user.id) as s:
        response = s.get(f"http://localhost:{emu.port}{ME}")
    assert response.status_code == 401
    assert "authorization" not in emu.records("GET", ME)[-1].request_headers


def test_redirect_to_another_host_drops_authorization_and_as_user(
    emu: BoxEmulator, auth: JWTAuthenticator, recorder: RecordingServer, user: EmulatedUser
) -> None:
    emu.download_url_template = recorder.url + "/download/{file_id}"
    item = emu.add_file("report.pdf", b"%PDF", owner=user)
    recorder.script(Answer(200, {"Content-Type": "application/pdf"}, b"%PDF"))
    with AsUserSession(auth, user.id) as s:
        response = s.get(f"/2.0/files/{item.id}/content")
        assert response.content == b"%PDF"
        assert [r.status_code for r in response.history] == [302]
        boxed = emu.records("GET", f"/2.0/files/{item.id}/content")[-1]
        assert boxed.as_user == user.id
        assert boxed.request_headers["authorization"] == "Bearer <redacted>"
        (received,) = recorder.received
        assert received.path == f"/download/{item.id}"
        assert "authorization" not in received.headers
        assert "as-user" not in received.headers
        # not following: the next request is already stripped
        held = s.get(f"/2.0/files/{item.id}/content", allow_redirects=False)
        assert held.status_code == 302
        assert held.next is not None
        assert "Authorization" not in held.next.headers
        assert "As-User" not in held.next.headers


def test_failures_of_the_redirect_target_are_not_boxs(
    emu: BoxEmulator,
    auth: JWTAuthenticator,
    recorder: RecordingServer,
    user: EmulatedUser,
    clock: FakeClock,
) -> None:
    """A 401/429/503 from the download host: no token dropped, nothing resent or retried."""
    emu.download_url_template = recorder.url + "/download/{file_id}"
    item = emu.add_file("big.bin", b"", owner=user)
    recorder.script(
        Answer(401, {"WWW-Authenticate": INVALID_TOKEN_HEADER}, b""),
        Answer(429, {"Retry-After": "1"}, b""),
        Answer(503, {}, b""),
    )
    with AsUserSession(auth, user.id) as s:
        statuses = [s.get(f"/2.0/files/{item.id}/content").status_code for _ in range(3)]
    assert statuses == [401, 429, 503]
    assert len(recorder.received) == 3
    assert emu.count("GET", f"/2.0/files/{item.id}/content") == 3
    assert tokens(emu, auth) == 1
    assert clock.sleeps == []


def test_redirect_within_box_keeps_credentials(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    item = emu.add_file("notes.txt", b"notes", owner=user)
    with AsUserSession(auth, user.id) as s:
        response = s.get(f"/2.0/files/{item.id}/content")
    assert response.content == b"notes"
    hop = emu.records("GET", f"/_emulator/download/{item.id}")[-1]
    assert hop.request_headers["authorization"] == "Bearer <redacted>"
    assert hop.request_headers["as-user"] == user.id


def test_redirect_from_another_host_to_box_carries_no_credentials(
    emu: BoxEmulator, auth: JWTAuthenticator, recorder: RecordingServer, user: EmulatedUser
) -> None:
    recorder.script(Answer(302, {"Location": f"{emu.base_url}{ME}"}, b""))
    with AsUserSession(auth, user.id) as s:
        response = s.get(f"{recorder.url}/lure")
    assert response.status_code == 401
    record = emu.records("GET", ME)[-1]
    assert "authorization" not in record.request_headers
    assert record.as_user is None
    assert tokens(emu, auth) == 0


def test_box_redirect_to_a_foreign_host_strips_user_supplied_box_headers(
    fakebox: JWTAuthenticator, recorder: RecordingServer, user: EmulatedUser
) -> None:
    with RecordingServer() as foreign:
        recorder.script(Answer(307, {"Location": f"{foreign.url}/landing"}, b""))
        with AsUserSession(fakebox, user.id) as s:
            response = s.put("/api/2.0/files/1/content", data=b"body")
        assert response.status_code == 200
        (boxed,) = recorder.received
        assert boxed.headers["as-user"] == user.id
        assert boxed.headers["authorization"].startswith("Bearer ")
        (landed,) = foreign.received
        assert landed.body == b"body"  # a 307 replays the body...
        assert "authorization" not in landed.headers  # ...but not the credentials
        assert "as-user" not in landed.headers


# --------------------------------------------------------------------------- 401


def test_401_invalidates_the_token_and_resends_once_without_sleeping(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock, user: EmulatedUser
) -> None:
    with AsUserSession(auth, user.id) as s:
        assert s.get(ME).ok
        old = auth.enterprise_token()
        emu.revoke_all_tokens()
        response = s.get(ME)
    assert response.status_code == 200
    assert response.json()["id"] == user.id
    assert emu.count("GET", ME, status=401) == 1
    assert tokens(emu, auth) == 2
    assert auth.enterprise_token() != old
    assert clock.sleeps == []


def test_user_token_mode_401_refreshes_the_user_token(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    with AsUserSession(auth, user.id, mode="user_token") as s:
        assert s.get(ME).ok
        emu.revoke_all_tokens()
        assert s.get(ME).json()["id"] == user.id
    assert tokens(emu, auth, subject_type="user", subject_id=user.id) == 2
    assert tokens(emu, auth, subject_type="enterprise") == 0


def test_a_second_401_is_returned_not_resent_again(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock
) -> None:
    emu.faults.push(ME, 401, headers={"WWW-Authenticate": INVALID_TOKEN_HEADER}, body=b"", count=2)
    with AsUserSession(auth) as s:
        response = s.get(ME)
        assert response.status_code == 401
        assert emu.count("GET", ME) == 2
        assert tokens(emu, auth) == 2
        assert s.get(ME).ok  # the second rejected token was dropped as well
    assert tokens(emu, auth) == 3
    assert clock.sleeps == []


def test_401_with_an_unrewindable_body_invalidates_but_does_not_resend(
    emu: BoxEmulator, fakebox: JWTAuthenticator, recorder: RecordingServer
) -> None:
    recorder.script(Answer(401, {"WWW-Authenticate": INVALID_TOKEN_HEADER}, b""))

    def chunks() -> Iterator[bytes]:
        yield b"part1"
        yield b"part2"

    with AsUserSession(fakebox) as s:
        response = s.post("/api/2.0/files/content", data=chunks())
        assert response.status_code == 401
        assert len(recorder.received) == 1
        assert s.get(ME).ok
    assert tokens(emu, fakebox) == 2  # the rejected token was dropped


def test_token_expiry_during_1000_calls_from_8_threads(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock, user: EmulatedUser
) -> None:
    root = AsUserSession(auth, rate_limiter=RateLimiter.disabled())  # 1000 calls: over budget
    s = root.for_user(user.id)
    assert s.get(ME).ok
    assert tokens(emu, auth) == 1
    lock = threading.Lock()
    calls = 0
    statuses: list[int] = []

    def work() -> None:
        nonlocal calls
        for _ in range(125):
            with lock:
                calls += 1
                if calls == 500:  # mid-run: every token issued so far expires, here and at Box
                    clock.advance(emu.token_expires_in + 1)
            response = s.get(ME)
            with lock:
                statuses.append(response.status_code)

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(work) for _ in range(8)]:
            future.result()
    root.close()
    assert len(statuses) == 1000
    assert set(statuses) == {200}
    assert tokens(emu, auth) == 2  # exactly one extra token request
    assert clock.sleeps == []


def test_401_storm_across_16_threads_makes_one_token_request(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock, user: EmulatedUser
) -> None:
    s = AsUserSession(auth, user.id, rate_limiter=RateLimiter.disabled())  # over the burst
    assert s.get(ME).ok
    emu.revoke_all_tokens()
    before = tokens(emu, auth)
    start = threading.Barrier(16)
    results: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        start.wait()
        for _ in range(10):
            response = s.get(ME)
            with lock:
                results.append(response.status_code)

    with ThreadPoolExecutor(16) as pool:
        for future in [pool.submit(work) for _ in range(16)]:
            future.result()
    s.close()
    assert results == [200] * 160
    assert tokens(emu, auth) - before == 1
    assert emu.count("GET", ME, status=401) >= 1
    assert clock.sleeps == []


# --------------------------------------------------------------------------- 429 / 5xx / transport


def test_429_retry_after_is_honoured_and_recorded_not_slept(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock
) -> None:
    emu.faults.push(ME, 429, retry_after=2)
    with AsUserSession(auth) as s:
        response = s.get(ME)
    assert response.status_code == 200
    assert clock.sleeps == [2.0]
    assert emu.count("GET", ME) == 2


def test_post_is_retried_on_429_but_not_on_503(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock
) -> None:
    def upload(name: str) -> requests.Response:
        return s.post(
            "/api/2.0/files/content",
            files=upload_form(name),
        )

    with AsUserSession(auth, rate_limiter=RateLimiter.disabled()) as s:  # the retry policy's
        emu.faults.push("/api/2.0/files/content", 429, retry_after=2)
        assert upload("one.txt").status_code == 201
        assert emu.count("POST", "/api/2.0/files/content") == 2
        assert clock.sleeps == [2.0]
        emu.faults.push("/api/2.0/files/content", 503)
        assert upload("two.txt").status_code == 503
        assert emu.count("POST", "/api/2.0/files/content") == 3
        assert clock.sleeps == [2.0]


def test_get_is_retried_on_503_with_backoff(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock
) -> None:
    emu.faults.push(ME, 503, count=2)
    with AsUserSession(auth) as s:
        assert s.get(ME).status_code == 200
    assert emu.count("GET", ME) == 3
    assert len(clock.sleeps) == 2
    assert 0.5 <= clock.sleeps[0] <= 1.5  # backoff_base 1 s, jitter 0.5
    assert 1.0 <= clock.sleeps[1] <= 3.0


def test_retries_are_bounded_by_the_policy(emu: BoxEmulator, auth: JWTAuthenticator) -> None:
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=3, sleep=waits.append, jitter=0)
    emu.faults.push(ME, 500, count=10)
    with AsUserSession(auth, retry=policy) as s:
        assert s.retry is policy
        response = s.get(ME)
    assert response.status_code == 500
    assert emu.count("GET", ME) == 3
    assert waits == [1.0, 2.0]


def test_default_policy_is_the_authenticators(auth: JWTAuthenticator) -> None:
    assert AsUserSession(auth).retry is auth.retry


@pytest.mark.parametrize(
    ("method", "retried"),
    [("GET", True), ("HEAD", True), ("OPTIONS", True), ("PUT", True), ("DELETE", True),
     ("POST", False), ("PATCH", False)],
)  # fmt: skip
def test_5xx_is_retried_only_for_idempotent_methods(
    fakebox: JWTAuthenticator, recorder: RecordingServer, method: str, retried: bool
) -> None:
    recorder.script(Answer(502, body=b"<html>bad gateway</html>"))
    with AsUserSession(fakebox) as s:
        response = s.request(method, "/api/2.0/files/1")
    assert response.status_code == (200 if retried else 502)
    assert len(recorder.received) == (2 if retried else 1)


def test_5xx_retry_after_is_honoured(
    fakebox: JWTAuthenticator, recorder: RecordingServer, clock: FakeClock
) -> None:
    recorder.script(Answer(503, {"Retry-After": "3"}, b""))
    with AsUserSession(fakebox) as s:
        assert s.delete("/api/2.0/files/1").ok
    assert clock.sleeps == [3.0]


def test_202_with_retry_after_is_retried_for_get_only(
    fakebox: JWTAuthenticator, recorder: RecordingServer, clock: FakeClock
) -> None:
    recorder.script(
        Answer(202, {"Retry-After": "5"}, b""),
        Answer(),
        Answer(202, {"Retry-After": "5"}, b""),
        Answer(202, {}, b"accepted"),
    )
    with AsUserSession(fakebox) as s:
        assert s.get("/api/2.0/files/1").status_code == 200  # retried once
        assert s.post("/api/2.0/files/1").status_code == 202  # POST: handed back
        assert s.get("/api/2.0/files/1").content == b"accepted"  # no Retry-After: done
    assert clock.sleeps == [5.0]
    assert len(recorder.received) == 4


def test_seekable_bodies_are_rewound_for_every_attempt(
    fakebox: JWTAuthenticator, recorder: RecordingServer, clock: FakeClock
) -> None:
    recorder.script(Answer(503, body=b""), Answer(429, {"Retry-After": "1"}, b""))
    body = io.BytesIO(b"skip:payload")
    body.seek(5)  # sent from where the file stands, each time
    with AsUserSession(fakebox) as s:
        assert s.put("/api/2.0/files/1/content", data=body).ok
    assert [r.body for r in recorder.received] == [b"payload"] * 3
    assert clock.sleeps[1] == 1.0


def test_post_with_a_file_body_is_replayed_after_429(
    fakebox: JWTAuthenticator, recorder: RecordingServer, clock: FakeClock
) -> None:
    recorder.script(Answer(429, {"Retry-After": "2"}, b""))
    with AsUserSession(fakebox) as s:
        assert s.post("/api/2.0/files/content", data=io.BytesIO(b"file bytes")).ok
    assert [r.body for r in recorder.received] == [b"file bytes", b"file bytes"]
    assert clock.sleeps == [2.0]


class _Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def seekable(self) -> bool:
        return False


def test_bodies_that_cannot_be_rewound_are_never_retried(
    fakebox: JWTAuthenticator, recorder: RecordingServer, clock: FakeClock
) -> None:
    def gen() -> Iterator[bytes]:
        yield b"streamed"

    recorder.script(Answer(429, {"Retry-After": "1"}, b""), Answer(503, body=b""))
    with AsUserSession(fakebox, rate_limiter=RateLimiter.disabled()) as s:  # no shared pause
        assert s.post("/api/2.0/files/content", data=gen()).status_code == 429
        stream = _Unseekable(b"0123456789")
        assert s.put("/api/2.0/files/1/content", data=stream).status_code == 503
    assert [r.body for r in recorder.received] == [b"streamed", b"0123456789"]
    assert clock.sleeps == []


def test_rewinder_edge_cases() -> None:
    class TellFails(io.BytesIO):
        def tell(self) -> int:
            raise OSError("not a regular file")

    assert _rewinder(None) is not None
    assert _rewinder(b"x") is not None
    assert _rewinder("x") is not None
    assert _rewinder(iter([b"x"])) is None
    assert _rewinder(object()) is None
    assert _rewinder(TellFails(b"x")) is None
    assert _rewinder(_Unseekable(b"x")) is None
    body = io.BytesIO(b"abc")
    body.seek(1)
    rewind = _rewinder(body)
    assert rewind is not None
    body.read()
    rewind()
    assert body.read() == b"bc"


def test_dropped_connections_are_retried_for_get_not_post(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock
) -> None:
    with AsUserSession(auth) as s:
        emu.faults.push(ME, drop=True)
        assert s.get(ME).ok
        assert len(clock.sleeps) == 1
        emu.faults.push("/api/2.0/files/content", drop=True)
        with pytest.raises(TransportError) as caught:
            s.post("/api/2.0/files/content", data=b"x")
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert "/api/2.0/files/content" in str(caught.value)
    assert len(clock.sleeps) == 1
    assert emu.count("POST", "/api/2.0/files/content") == 1


def test_an_unreachable_box_host_raises_transport_error_after_bounded_retries(
    emu: BoxEmulator, clock: FakeClock
) -> None:
    waits: list[float] = []
    auth = make_auth(emu, clock, upload_url=f"http://127.0.0.1:{dead_port()}/api/2.0")
    policy = RetryPolicy(max_attempts=3, sleep=waits.append, jitter=0)
    with AsUserSession(auth, retry=policy) as s, pytest.raises(TransportError) as caught:
        s.get("/api/2.0/files/1")
    assert len(waits) == 2
    assert caught.value.url is not None
    assert "127.0.0.1" in caught.value.url
    auth.close()


def test_retries_are_logged_with_request_ids_and_no_token(
    emu: BoxEmulator, auth: JWTAuthenticator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.faults.push(ME, 503)
    emu.faults.push(ME, drop=True)
    with caplog.at_level(logging.INFO, logger="boxjwt"), AsUserSession(auth) as s:
        assert s.get(ME).ok
        emu.revoke_all_tokens()
        assert s.get(ME).ok
    failed = emu.records("GET", ME, status=503)[0]
    assert failed.request_id in caplog.text
    assert "RemoteDisconnected" in caplog.text or "ConnectionError" in caplog.text
    assert "resending once with a new token" in caplog.text
    assert auth.enterprise_token().value.reveal() not in caplog.text


# --------------------------------------------------------------------------- timeouts


def _capture_timeouts(s: requests.Session) -> list[Any]:
    seen: list[Any] = []

    def hook(response: requests.Response, **kwargs: Any) -> None:
        seen.append(kwargs.get("timeout"))

    s.hooks["response"].append(hook)
    return seen


def test_every_request_gets_a_default_timeout(
    emu: BoxEmulator, auth: JWTAuthenticator, recorder: RecordingServer
) -> None:
    with AsUserSession(auth) as s:
        seen = _capture_timeouts(s)
        s.get(ME)
        s.get(f"{recorder.url}/x")
        s.get(ME, timeout=5)
    assert s.timeout == DEFAULT_SESSION_TIMEOUT
    assert seen == [DEFAULT_SESSION_TIMEOUT, DEFAULT_SESSION_TIMEOUT, 5]
    with AsUserSession(auth, timeout=3) as short:
        seen = _capture_timeouts(short)
        short.get(ME)
    assert seen == [3.0]


# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "impersonate"}, "mode"),
        ({"retry": object()}, "retry"),
        ({"share_pool_with": requests.Session()}, "share_pool_with"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": None}, "timeout"),
        ({"timeout": (1, 0)}, "timeout"),
        ({"user_id": "alice"}, "user ID"),
        ({"user_id": 0}, "user ID"),
    ],
)
def test_invalid_arguments_are_configuration_errors(
    auth: JWTAuthenticator, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        AsUserSession(auth, **kwargs)


def test_the_authenticator_is_required() -> None:
    with pytest.raises(ConfigurationError, match="JWTAuthenticator"):
        AsUserSession(object())  # type: ignore[arg-type]


def test_sessions_cannot_be_pickled(auth: JWTAuthenticator) -> None:
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(AsUserSession(auth))


def test_public_names() -> None:
    assert boxjwt.AsUserSession is AsUserSession
    assert "AsUserSession" in boxjwt.__all__
    assert "raise_for_box_error" in boxjwt.__all__
    assert boxjwt.__all__ == sorted(boxjwt.__all__)


# --------------------------------------------------------------------------- one pool, many users


def test_for_user_shares_the_pool_and_copies_settings(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    root = AsUserSession(auth, mode="user_token", timeout=7, raise_for_status=True)
    root.headers["X-Migration"] = "42"
    root.proxies = {"no": "127.0.0.1"}
    root.verify = False
    root.max_redirects = 5
    sibling = root.for_user(user.id)
    assert sibling.adapters is root.adapters
    assert sibling.get_adapter(emu.base_url) is root.get_adapter(emu.base_url)
    assert (sibling.mode, sibling.timeout, sibling.raise_for_status) == ("user_token", 7.0, True)
    assert sibling.retry is root.retry
    assert sibling.authenticator is auth
    assert sibling.headers["X-Migration"] == "42"
    assert sibling.headers is not root.headers
    assert (sibling.proxies, sibling.verify, sibling.max_redirects) == (
        {"no": "127.0.0.1"},
        False,
        5,
    )
    assert root.owns_pool
    assert not sibling.owns_pool
    grandchild = AsUserSession(auth, share_pool_with=sibling)
    assert grandchild.adapters is root.adapters
    # a sibling skips requests.Session.__init__ (no throw-away pools) yet has every attribute
    # a Session has, its own cookie jar and hooks
    for name in requests.Session.__attrs__:
        assert hasattr(grandchild, name), name
    assert grandchild.cookies is not root.cookies
    assert grandchild.hooks is not root.hooks
    assert grandchild.hooks == {"response": []}
    # mounting on any of them mounts for all
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=2)
    sibling.mount("http://127.0.0.1", adapter)
    assert root.get_adapter(emu.base_url) is adapter
    # a sibling's close() keeps the pool; the owner's closes idle connections, siblings go on
    assert sibling.get(ME).json()["id"] == user.id
    sibling.close()
    assert root.get(ME).ok
    root.close()
    assert sibling.get(ME).json()["id"] == user.id
    sibling.close()


def test_10000_users_share_one_connection_pool(emu: BoxEmulator, auth: JWTAuthenticator) -> None:
    users = [emu.add_user(f"Migrated user {n}") for n in range(10_000)]
    root = AsUserSession(auth)
    root.trust_env = False  # skip the per-request proxy scan of os.environ (40% of the time)
    assert root.get(ME).ok  # the enterprise token, and one pooled connection
    accepted_before = emu.connections_accepted
    lock = threading.Lock()
    wrong: list[str] = []

    def migrate(chunk: list[EmulatedUser]) -> None:
        for migrated in chunk:
            s = root.for_user(migrated.id)
            got = s.get(ME, params={"fields": "id"}).json()["id"]
            if got != migrated.id:
                with lock:
                    wrong.append(migrated.id)

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(migrate, users[i::8]) for i in range(8)]:
            future.result()
    opened = emu.connections_accepted - accepted_before
    still_open = emu.open_connections
    pool_size = requests.adapters.DEFAULT_POOLSIZE
    client_side = sum(
        p.num_connections
        for p in root.get_adapter(emu.base_url).poolmanager.pools._container.values()  # type: ignore[attr-defined]
    )
    root.close()
    assert wrong == []
    assert emu.count("GET", ME) == 10_001
    assert {r.as_user for r in emu.records("GET", ME)} - {None} == {u.id for u in users}
    # 8 threads, one pool of 10: never more than 10 sockets for 10,000 users
    assert opened + 1 <= pool_size  # + the connection opened by the warm-up call
    assert client_side <= pool_size
    assert still_open <= pool_size + 1  # + the authenticator's /oauth2 connection
    assert tokens(emu, auth) == 1


def test_independent_sessions_would_each_open_a_socket(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    """The counter the 10,000-user test relies on does see one socket per unshared pool."""
    users = emu.managed_users[:4]
    before = emu.connections_accepted
    sessions = [AsUserSession(auth, u.id) for u in users]
    for s in sessions:
        assert s.get(ME).ok
    opened = emu.connections_accepted - before
    for s in sessions:
        s.close()
    # one socket per unshared pool; the token rode on the first session's (one pool per origin)
    assert opened == len(users)


def test_connection_counters_of_a_stopped_emulator() -> None:
    idle = BoxEmulator()
    assert (idle.connections_accepted, idle.open_connections) == (0, 0)


# --------------------------------------------------------------------------- errors


def test_every_box_error_shape_raises_the_right_exception_with_its_request_id(  # noqa: PLR0915 - one case per error shape
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock, user: EmulatedUser
) -> None:
    def last_request_id() -> str:
        return emu.request_log[-1].request_id

    s = AsUserSession(auth, user.id, raise_for_status=True)
    # 1. JSON client errors, by code
    with pytest.raises(NotFoundError) as not_found:
        s.get("/2.0/folders/123")
    assert not_found.value.request_id == last_request_id()
    assert not_found.value.code == "not_found"
    assert not_found.value.status_code == 404
    assert json.loads(not_found.value.body or "")["request_id"] == last_request_id()

    with pytest.raises(AccessDeniedError) as denied:
        s.for_user(emu.admin.id).get(ME)
    assert denied.value.code == "access_denied_insufficient_permissions"
    assert denied.value.request_id == last_request_id()

    with pytest.raises(APIError) as not_allowed:
        s.delete(ME)
    assert type(not_allowed.value) is APIError
    assert not_allowed.value.status_code == 405
    assert not_allowed.value.request_id == last_request_id()

    files = upload_form("same.txt", b"1")
    s.post("/api/2.0/files/content", files=files)
    with pytest.raises(ConflictError) as conflict:
        s.post("/api/2.0/files/content", files=files)
    assert conflict.value.request_id == last_request_id()
    assert conflict.value.context_info is not None

    emu.faults.push("/api/2.0/files/content", 503)
    with pytest.raises(ServerAPIError) as server:
        s.post("/api/2.0/files/content", files=files)
    assert server.value.retryable
    assert server.value.request_id == last_request_id()

    emu.faults.push(ME, 429, retry_after=1, count=6)
    with pytest.raises(RateLimitExceededError) as limited:
        s.get(ME)
    assert limited.value.retry_after == 1.0
    assert limited.value.request_id == last_request_id()
    assert clock.sleeps == [1.0] * 5

    # 2. header-only 401 / 403
    emu.faults.push(ME, 401, headers={"WWW-Authenticate": INVALID_TOKEN_HEADER}, body=b"", count=2)
    with pytest.raises(InvalidTokenError) as invalid:
        s.get(ME)
    assert invalid.value.code == "invalid_token"
    assert invalid.value.body == ""
    assert invalid.value.request_id == last_request_id()

    no_as_user = make_auth(emu, clock, app={"as_user": False})
    with pytest.raises(InsufficientScopeError) as scope:
        AsUserSession(no_as_user, user.id, raise_for_status=True).get(ME)
    assert scope.value.code == "insufficient_scope"
    assert scope.value.request_id == last_request_id()
    assert "Reauthorize" in str(scope.value)
    no_as_user.close()

    # 3. the OAuth shape
    with pytest.raises(InvalidGrantTypeError) as oauth:
        s.post("/oauth2/token", data={"grant_type": "password"})
    assert oauth.value.error == "invalid_request"
    assert oauth.value.request_id == last_request_id()

    # re-exported helper, raise_for_status off
    quiet = AsUserSession(auth, user.id)
    response = quiet.get("/2.0/folders/123")
    with pytest.raises(NotFoundError):
        boxjwt.raise_for_box_error(response)
    assert boxjwt.raise_for_box_error(quiet.get(ME)) is not None
    s.close()
    quiet.close()
