"""One connection pool per origin: a token requested while an AsUserSession sends rides on
that session's pool (``api.box.com`` serves ``/oauth2/token`` and ``/2.0``), so a fresh
client's first call opens one connection, not two; and the token request keeps its own
settings (no redirects, its deadline, its headers and cookies, never an adapter the caller
mounted). Counts come from the emulator's accepted connections, never from timings.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import requests.adapters

from authenticator_support import make_auth
from boxjwt import AsUserSession, JWTAuthenticator, KeyFile, RetryPolicy
from boxjwt._bounded import BoundedAdapter, TokenSession, lending_pool
from boxjwt.exceptions import InvalidGrantTypeError, TransportError
from boxjwt.testing import BoxEmulator, EmulatedUser, FakeClock
from recording_server import Answer, RecordingServer, Trickle

ME = "/2.0/users/me"
TOKEN = {"access_token": "T0ken-value-0123456789", "expires_in": 3600, "token_type": "bearer"}


@pytest.fixture
def auth(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> Iterator[JWTAuthenticator]:
    authenticator = make_auth(keyfile, emu, clock)
    yield authenticator
    authenticator.close()


@pytest.mark.parametrize("mode", ["service account", "as_user", "user_token"])
def test_a_fresh_clients_first_call_opens_one_connection(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser, mode: str
) -> None:
    """Regression: the token exchange used the authenticator's own pool, so a cold process
    opened two connections to the one host (two TLS handshakes on Box)."""
    if mode == "service account":
        session = AsUserSession(auth)
    else:
        chosen = "as_user" if mode == "as_user" else "user_token"
        session = AsUserSession(auth, user.id, mode=chosen)
    with session:
        assert session.get(ME).ok
        assert session.get(ME).ok
    assert emu.token_requests() == 1
    assert emu.count("GET", ME) == 2
    assert emu.connections_accepted == 1


def test_siblings_and_a_new_users_token_share_the_one_connection(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    root = AsUserSession(auth, mode="user_token")
    users = emu.managed_users[:3]
    for member in users:
        assert root.for_user(member.id).get(ME).json()["id"] == member.id
    root.close()
    assert emu.token_requests() == len(users)
    assert emu.connections_accepted == 1


def test_the_borrowed_pool_keeps_the_token_requests_own_settings(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    """Only the pool is lent: the session's headers and cookies never reach /oauth2/token."""
    with AsUserSession(auth) as session:
        session.headers["X-Migration"] = "42"
        session.cookies.set("jar", "crumb", domain="127.0.0.1")
        assert session.get(ME).ok
    (token,) = emu.records("POST", "/oauth2/token")
    (call,) = emu.records("GET", ME)
    assert "x-migration" not in {name.lower() for name in token.request_headers}
    assert "cookie" not in {name.lower() for name in token.request_headers}
    assert {name.lower(): value for name, value in call.request_headers.items()}[
        "x-migration"
    ] == "42"
    assert emu.connections_accepted == 1
    assert lending_pool.get() is None  # lent only while the session sends


def test_a_redirect_of_the_token_endpoint_is_not_followed_through_a_borrowed_pool(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    with RecordingServer() as elsewhere, AsUserSession(auth) as session:
        emu.faults.push("/oauth2/token", 302, headers={"Location": f"{elsewhere.url}/oauth2/token"})
        with pytest.raises(InvalidGrantTypeError, match="never follows redirects"):
            session.get(ME)
        assert elsewhere.received == []
    assert emu.token_requests() == 1
    assert emu.count("GET", ME) == 0


class CountingAdapter(requests.adapters.HTTPAdapter):
    """A caller's own adapter, remembering the paths it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.paths.append(requests.utils.urlparse(request.url).path)
        return super().send(request, **kwargs)


def test_an_adapter_the_caller_mounted_is_not_lent(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    """Its retries or TLS settings are the caller's: token requests keep their own pool."""
    mine = CountingAdapter()
    with AsUserSession(auth) as session:
        session.mount("http://", mine)
        assert session.get(ME).ok
    assert mine.paths == [ME]
    assert emu.token_requests() == 1
    assert emu.connections_accepted == 2


def test_a_session_of_the_callers_for_oauth_is_not_changed(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    with requests.Session() as mine:
        auth = make_auth(keyfile, emu, clock, session=mine)
        assert not isinstance(auth.session, TokenSession)
        with AsUserSession(auth) as session:
            assert session.get(ME).ok
    assert emu.connections_accepted == 2


def test_a_token_requested_outside_a_session_uses_the_authenticators_pool(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    """Lending is per thread and per send: another thread's direct token request, made while a
    session sends elsewhere, does not borrow."""
    session = AsUserSession(auth)
    assert session.get(ME).ok  # one connection, lent for the token
    other = threading.Thread(target=lambda: auth.user_token(emu.managed_users[0].id))
    lending_pool.set(session)  # this thread lends; the other thread does not see it
    try:
        other.start()
        other.join()
    finally:
        lending_pool.set(None)
    session.close()
    assert emu.token_requests() == 2
    assert emu.connections_accepted == 2
    assert isinstance(auth.session.get_adapter(emu.base_url), BoundedAdapter)


def test_a_lender_without_adapters_lends_nothing(emu: BoxEmulator, auth: JWTAuthenticator) -> None:
    session = AsUserSession(auth)
    session.adapters.clear()
    lent = lending_pool.set(session)
    try:
        assert auth.enterprise_token()
    finally:
        lending_pool.reset(lent)
    assert emu.connections_accepted == 1


@pytest.mark.parametrize("part", ["status", "headers"])
def test_a_trickled_token_answer_on_a_borrowed_pool_fails_at_the_deadline(
    keyfile: KeyFile, part: str
) -> None:
    """The borrowed adapter is boxjwt's own, watched from the status line on."""
    trickle = Trickle(part=part)
    policy = RetryPolicy(max_attempts=1, rng=random.Random(1))
    with RecordingServer() as server:
        server.script(Answer(raw=trickle))
        auth = JWTAuthenticator(keyfile, base_url=server.url, retry=policy, deadline=0.5)
        with (
            AsUserSession(auth, retry=policy) as session,
            pytest.raises(TransportError, match=r"no complete answer within 0\.5 s"),
        ):
            session.get(ME)
        assert trickle.finished.wait(30)
        assert trickle.trickled < 200
        auth.close()


def test_the_emulators_connect_latency_knob(emu: BoxEmulator) -> None:
    assert emu.connect_latency == 0.0
    emu.connect_latency = 0.001
    assert emu.connect_latency == 0.001
    assert requests.get(f"{emu.base_url}/2.0/users/me", timeout=5).status_code == 401
    emu.stop()
    emu.connect_latency = 0.0
    with BoxEmulator(connect_latency=0.001) as other:
        assert other.connect_latency == 0.001
        assert requests.get(f"{other.base_url}/2.0/users/me", timeout=5).status_code == 401
        assert other.connections_accepted == 1
