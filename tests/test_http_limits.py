"""What a server can make us read or wait for: a total deadline and a size cap per answer.

A hostile server (real HTTP over loopback, tests/recording_server.py) trickles its answer one
byte at a time, or floods a 64 MB body. The read timeout alone bounds only each wait for the
next byte, so the trickle used to hold a token request (and the subject's lock) for as long
as the server liked, and the whole flood was read and kept in the exception. Assertions are on
what was read and raised, never on wall-clock time: the test deadline is 0.5 s and the server
trickles for 8 s, so a client that stops early stops because of the deadline.
"""

from __future__ import annotations

import json
import pathlib
import random
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from boxjwt import AsUserSession, JWTAuthenticator, KeyFile, RetryPolicy, Secret
from boxjwt._bounded import (
    AnswerDeadlineExceeded,
    BoundedAdapter,
    _Watch,
    _Watchdog,
    bounded_request,
    error_text,
    mount_bounded_adapters,
    read_at_most,
    was_truncated,
)
from boxjwt._http import TOKEN_MAX_BYTES, ReadLimits, safe_url
from boxjwt._token_endpoint import TokenEndpoint
from boxjwt.exceptions import (
    MAX_ERROR_BODY,
    AccessDeniedError,
    TokenExchangeError,
    TokenServerError,
    TransportError,
)
from boxjwt.preflight._client import BoxClient, Observer
from docs_support import make_certificates
from recording_server import Answer, Flood, RecordingServer, Trickle

pytestmark = pytest.mark.shared_emulator  # one emulator for the module (tests/conftest.py)

DEADLINE = 0.5
#: Far fewer bytes than the 400 a trickle offers: the client gave up early.
FEW = 200
TOKEN = {"access_token": "T0ken-value-0123456789", "expires_in": 3600, "token_type": "bearer"}


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as srv:
        yield srv


def endpoint(url: str, session: requests.Session | None = None) -> TokenEndpoint:
    return TokenEndpoint(
        base_url=url,
        client_id="cid",
        client_secret=Secret("client-secret-value-0123456789"),
        session=session if session is not None else mount_bounded_adapters(requests.Session()),
        timeout=(1.0, 1.0),
        clock=lambda: 5000.0,
        limits=ReadLimits(TOKEN_MAX_BYTES, DEADLINE),
    )


def no_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=1, rng=random.Random(1))


# --------------------------------------------------------------------------- the token endpoint


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_trickled_token_answer_fails_at_the_deadline(server: RecordingServer, part: str) -> None:
    """Regression: a token answer trickled one byte at a time defeated timeout=(1, 1)."""
    trickle = Trickle(part=part)
    server.script(Answer(raw=trickle))
    with pytest.raises(TransportError, match=r"no complete answer within 0\.5 s") as info:
        endpoint(server.url).exchange("assertion", "enterprise", "1")
    assert info.value.retryable
    assert trickle.finished.wait(30)
    assert trickle.trickled < FEW
    assert len(server.received) == 1


@pytest.fixture
def tls_server(tmp_path: pathlib.Path) -> Iterator[tuple[RecordingServer, str]]:
    """The hostile server behind TLS (a throw-away certificate; the client does not verify it:
    what matters here is that reads of a TLS socket are cut at the deadline too)."""
    certs = make_certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert_path, certs.key_path)
    srv = RecordingServer()
    inner: Any = srv._server
    inner.socket = context.wrap_socket(inner.socket, server_side=True)
    with srv:
        yield srv, srv.url.replace("http://", "https://")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("part", ["status", "headers", "body"])
def test_a_trickled_answer_over_tls_fails_at_the_deadline(
    tls_server: tuple[RecordingServer, str], part: str
) -> None:
    server, url = tls_server
    trickle = Trickle(part=part)
    server.script(Answer(raw=trickle))
    session = mount_bounded_adapters(requests.Session())
    session.verify = False
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify=False (requests#3829)
    with pytest.raises(TransportError, match="no complete answer"):
        endpoint(url, session).exchange("assertion", "enterprise", "1")
    assert trickle.finished.wait(30)
    assert trickle.trickled < FEW
    server.script(Answer(body={"plain": True}))  # outside bounded_request: a plain adapter
    assert session.get(url, timeout=5).json() == {"plain": True}
    session.close()


def test_a_trickled_body_fails_at_the_deadline_with_any_session(server: RecordingServer) -> None:
    """A session of the caller's (no BoundedAdapter) is watched from the first body byte on."""
    trickle = Trickle(part="body")
    server.script(Answer(raw=trickle))
    with requests.Session() as plain, pytest.raises(TransportError, match="no complete answer"):
        endpoint(server.url, plain).exchange("assertion", "enterprise", "1")
    assert trickle.finished.wait(30)
    assert trickle.trickled < FEW


def test_a_slow_but_complete_answer_within_the_deadline_is_fine(server: RecordingServer) -> None:
    body = json.dumps(TOKEN).encode()
    server.script(Answer(raw=Trickle(part="body", interval=0.0, limit=3, body=body)))
    result = endpoint(server.url).exchange("assertion", "enterprise", "1")
    assert result.token.value.reveal() == TOKEN["access_token"]


def test_a_huge_token_error_is_read_only_in_part_and_kept_bounded(
    server: RecordingServer,
) -> None:
    """Regression: a 30 MB error body was read whole and kept whole in the exception."""
    flood = Flood(status=400)
    server.script(Answer(raw=flood))
    with pytest.raises(TokenExchangeError) as info:
        endpoint(server.url).exchange("assertion", "enterprise", "1")
    assert flood.finished.wait(30)
    assert flood.sent < flood.size // 2  # the client hung up after its 64 KiB
    body = info.value.body or ""
    assert body.startswith('{"error": "aaa')
    assert len(body) == MAX_ERROR_BODY == 4096
    assert info.value.body_truncated
    assert len(str(info.value)) < 1000


def test_a_huge_success_answer_is_not_a_token(server: RecordingServer) -> None:
    flood = Flood(status=200)
    server.script(Answer(raw=flood))
    with pytest.raises(TokenServerError, match=f"over {TOKEN_MAX_BYTES} bytes") as info:
        endpoint(server.url).exchange("assertion", "enterprise", "1")
    assert info.value.retryable
    assert len(info.value.body or "") == MAX_ERROR_BODY
    assert flood.finished.wait(30)
    assert flood.sent < flood.size // 2


def test_the_authenticator_bounds_each_attempt_and_frees_the_subject(
    server: RecordingServer, keyfile: KeyFile
) -> None:
    """Through the public API: each attempt gets the deadline, then the retry policy decides;
    the subject's lock is free again afterwards (the next call makes its own request)."""
    trickles = [Trickle(part="headers"), Trickle(part="body")]
    server.script(*(Answer(raw=t) for t in trickles), Answer(body=TOKEN))
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=2, rng=random.Random(1))
    with JWTAuthenticator(
        keyfile,
        base_url=server.url,
        timeout=(1, 1),
        deadline=DEADLINE,
        retry=policy,
        sleep=waits.append,
    ) as auth:
        assert auth.deadline == DEADLINE
        with pytest.raises(TransportError, match="no complete answer"):
            auth.enterprise_token()
        assert len(server.received) == 2  # two attempts, each cut at the deadline
        assert len(waits) == 1
        assert auth.enterprise_token().value.reveal() == TOKEN["access_token"]
    assert all(t.finished.wait(30) and t.trickled < FEW for t in trickles)


def test_the_default_deadline_and_session(keyfile: KeyFile) -> None:
    with JWTAuthenticator(keyfile) as auth:
        assert auth.deadline == 60.0
        assert isinstance(auth.session.get_adapter("https://api.box.com"), BoundedAdapter)
    with requests.Session() as mine, JWTAuthenticator(keyfile, session=mine) as auth:
        assert not isinstance(auth.session.get_adapter("https://x"), BoundedAdapter)


# --------------------------------------------------------------------------- the API side


def test_a_huge_api_error_is_kept_bounded(server: RecordingServer, keyfile: KeyFile) -> None:
    server.script(Answer(body=TOKEN), Answer(raw=Flood(status=403)))
    with JWTAuthenticator(keyfile, base_url=server.url, retry=no_retry()) as auth:
        session = AsUserSession(auth, raise_for_status=True, retry=no_retry())
        with pytest.raises(AccessDeniedError) as info:
            session.get("/2.0/users/me", stream=True)
    assert len(info.value.body or "") == MAX_ERROR_BODY
    assert info.value.body_truncated
    assert len(str(info.value)) < 1000


def test_a_non_streamed_api_error_keeps_a_bounded_body(
    server: RecordingServer, keyfile: KeyFile
) -> None:
    server.script(Answer(body=TOKEN), Answer(status=403, body="x" * 100_000))
    with JWTAuthenticator(keyfile, base_url=server.url, retry=no_retry()) as auth:
        session = AsUserSession(auth, raise_for_status=True, retry=no_retry())
        with pytest.raises(AccessDeniedError) as info:
            session.get("/2.0/users/me")
    assert info.value.body == "x" * MAX_ERROR_BODY
    assert info.value.body_truncated


@pytest.fixture
def probe_session(server: RecordingServer, keyfile: KeyFile) -> Iterator[AsUserSession]:
    """An AsUserSession as preflight uses one: BoundedAdapter mounted, token from ``server``."""
    server.script(Answer(body=TOKEN))
    with JWTAuthenticator(keyfile, base_url=server.url, retry=no_retry()) as auth:
        session = AsUserSession(auth, retry=no_retry())
        mount_bounded_adapters(session)
        yield session
        session.close()


@pytest.mark.parametrize("part", ["status", "headers", "body"])
def test_probes_through_a_session_fail_at_the_deadline(
    server: RecordingServer, probe_session: AsUserSession, part: str
) -> None:
    trickle = Trickle(part=part)
    server.script(Answer(raw=trickle))
    with pytest.raises(AnswerDeadlineExceeded, match=r"no complete answer within 0\.5 s"):
        bounded_request(probe_session, "GET", "/2.0/users/me", limits=ReadLimits(1 << 20, DEADLINE))
    assert trickle.finished.wait(30)
    assert trickle.trickled < FEW


def test_each_retried_answer_gets_its_own_deadline(
    server: RecordingServer, keyfile: KeyFile
) -> None:
    """Through a retrying session: a 503, then the answer; each is watched afresh."""
    server.script(Answer(body=TOKEN), Answer(status=503, body="busy"), Answer(body={"id": "3"}))
    policy = RetryPolicy(max_attempts=2, rng=random.Random(1), sleep=lambda _: None)
    with JWTAuthenticator(keyfile, base_url=server.url, retry=no_retry()) as auth:
        session = mount_bounded_adapters(AsUserSession(auth, retry=policy))
        response = bounded_request(
            session, "GET", "/2.0/users/me", limits=ReadLimits(1000, DEADLINE)
        )
        assert response.json() == {"id": "3"}
        session.close()


@pytest.mark.parametrize("part", ["status", "headers", "body"])
def test_preflight_probes_fail_at_the_deadline(
    server: RecordingServer, keyfile: KeyFile, part: str
) -> None:
    """preflight's client reads every probe's answer within its limits (30 s, 1 MiB by
    default): a trickled probe is a TransportError in the report, not a stalled run."""
    trickle = Trickle(part=part)
    server.script(Answer(body=TOKEN), Answer(raw=trickle))
    observer = Observer(time.time)
    client = BoxClient(
        keyfile,
        base_url=server.url,
        timeout=(1, 1),
        retry=no_retry(),
        clock=time.time,
        observer=observer,
        limits=ReadLimits(1 << 20, DEADLINE),
    )
    try:
        answer = client.call("GET", "/users/me")
    finally:
        client.close()
    assert isinstance(answer.error, TransportError)
    assert "no complete answer within 0.5 s" in str(answer.error)
    assert trickle.finished.wait(30)
    assert trickle.trickled < FEW


def test_preflight_probe_answers_are_capped(server: RecordingServer, keyfile: KeyFile) -> None:
    flood = Flood(status=200)
    server.script(Answer(body=TOKEN), Answer(raw=flood))
    client = BoxClient(
        keyfile,
        base_url=server.url,
        timeout=(1, 1),
        retry=no_retry(),
        clock=time.time,
        observer=Observer(time.time),
    )
    try:
        answer = client.call("GET", "/users")
    finally:
        client.close()
    assert answer.status == 200
    assert answer.data is None  # 1 MiB of a 64 MB answer: not readable JSON
    assert flood.finished.wait(30)
    assert flood.sent < flood.size // 2


def test_probe_answers_are_capped(server: RecordingServer, probe_session: AsUserSession) -> None:
    flood = Flood(status=200)
    server.script(Answer(raw=flood))
    response = bounded_request(probe_session, "GET", "/2.0/users", limits=ReadLimits(100_000, 30.0))
    assert was_truncated(response)
    assert len(response.content) == 100_000
    assert flood.finished.wait(30)
    assert flood.sent < flood.size // 2
    server.script(Answer(body={"id": "2"}))  # outside bounded_request: a plain session
    assert probe_session.get("/2.0/users/me").json() == {"id": "2"}
    server.script(Answer(body={"id": "1"}))  # the pool still works (a new connection)
    response = bounded_request(probe_session, "GET", "/2.0/users/me", limits=ReadLimits(99, 30))
    assert not was_truncated(response)
    assert response.json() == {"id": "1"}


def test_a_retried_huge_answer_is_not_read_whole(server: RecordingServer, keyfile: KeyFile) -> None:
    """The session's retry reads at most 64 KiB of a 503 it discards."""
    flood = Flood(status=503)
    server.script(Answer(body=TOKEN), Answer(raw=flood), Answer(body={"id": "7"}))
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=2, rng=random.Random(1), sleep=waits.append)
    with JWTAuthenticator(keyfile, base_url=server.url, retry=no_retry()) as auth:
        session = AsUserSession(auth, retry=policy)
        response = session.get("/2.0/users/me", stream=True)
        assert response.json() == {"id": "7"}
    assert flood.finished.wait(30)
    assert flood.sent < flood.size // 2
    assert len(waits) == 1


# --------------------------------------------------------------------------- the pieces


def test_bounded_request_passes_other_errors_through() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with requests.Session() as session, pytest.raises(requests.ConnectionError) as info:
        bounded_request(
            session, "GET", f"http://127.0.0.1:{port}/", limits=ReadLimits(10, 30), timeout=5
        )
    assert not isinstance(info.value, AnswerDeadlineExceeded)


def test_a_session_transport_error_without_a_deadline_passes_through(keyfile: KeyFile) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = JWTAuthenticator(keyfile, base_url=f"http://127.0.0.1:{port}", retry=no_retry())
    session = AsUserSession(auth, retry=no_retry())
    with pytest.raises(TransportError) as info:
        bounded_request(session, "GET", "/2.0/users/me", limits=ReadLimits(10, 30))
    assert "no complete answer" not in str(info.value)
    auth.close()


def test_read_at_most_keeps_a_body_already_read(server: RecordingServer) -> None:
    server.script(Answer(body="x" * 1000))
    with requests.Session() as session:
        response = session.get(server.url, timeout=5)
        assert read_at_most(response, 10) == b"x" * 1000
        assert not was_truncated(response)
        assert error_text(response) == "x" * 1000


def test_read_at_most_on_a_stream(server: RecordingServer) -> None:
    server.script(Answer(body="y" * 1000), Answer(body="z" * 5))
    with requests.Session() as session:
        response = session.get(server.url, timeout=5, stream=True)
        assert read_at_most(response, 10) == b"y" * 10
        assert was_truncated(response)
        assert response.text == "y" * 10
        response = session.get(server.url, timeout=5, stream=True)
        assert read_at_most(response, 10) == b"z" * 5
        assert not was_truncated(response)


def test_read_at_most_stops_at_a_broken_body(server: RecordingServer) -> None:
    trickle = Trickle(part="body", interval=0.0, limit=5)
    trickle.tail = trickle.tail[:3]  # the server hangs up after 3 of the promised bytes
    server.script(Answer(raw=trickle))
    with requests.Session() as session:
        response = session.get(server.url, timeout=5, stream=True)
        assert b"   ".startswith(read_at_most(response, 100))  # no error; what arrived whole


def test_the_watchdog_fires_in_deadline_order_and_skips_cancelled_watches() -> None:
    dog = _Watchdog()
    left, right = socket.socketpair()
    try:
        late = _Watch(0.0 + 1e12, None)
        cancelled = _Watch(0.0, None)
        cancelled.cancel()
        no_socket = _Watch(0.0, None)  # a session whose socket could not be found
        early = _Watch(0.0, left)
        dog.add(late)
        dog.add(cancelled)
        dog.add(no_socket)
        dog.add(early)
        left.settimeout(30)
        assert left.recv(1) == b""  # shut down by the watchdog: EOF, not a 30 s timeout
        assert early.fired
        assert no_socket.fired
        assert not cancelled.fired
        assert not late.fired
        early.fire()  # firing twice is harmless
        # The far-future watch (beyond threading.TIMEOUT_MAX) did not kill the thread:
        again_left, again_right = socket.socketpair()
        with again_left, again_right:
            dog.add(_Watch(0.0, again_left))
            again_left.settimeout(30)
            assert again_left.recv(1) == b""
        late.cancel()
    finally:
        left.close()
        right.close()


def test_bounded_adapter_watches_proxied_pools() -> None:
    adapter = BoundedAdapter()
    manager = adapter.proxy_manager_for("http://127.0.0.1:3128")
    assert manager.pool_classes_by_scheme["https"].__name__ == "_WatchedHTTPSPool"
    assert adapter.proxy_manager_for("http://127.0.0.1:3128") is manager
    adapter.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.box.com/2.0/x?shared_link_password=s3cr3t#f", "https://api.box.com/2.0/x"),
        ("https://user:pw@api.box.com/x", "https://api.box.com/x"),
        ("/2.0/folders/0?fields=id", "/2.0/folders/0"),
        ("http://[::1/x?q=1", "http://[::1/x"),
        ("", ""),
        (None, None),
    ],
)
def test_safe_url(url: str | None, shown: str | None) -> None:
    assert safe_url(url) == shown
