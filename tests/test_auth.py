"""BoxAuth, the one credential path: Box origins only, redirects, 401s, the caller's headers.

Real HTTP over loopback: the emulator is Box; a :class:`RecordingServer` on another port is
"another origin" (a download host, or a stranger), where no Box header may ever arrive.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import boxjwt
from boxjwt import BoxAuth, JWTAuthenticator
from boxjwt.exceptions import ConfigurationError
from boxjwt.testing import BoxEmulator, EmulatedUser, FakeClock
from recording_server import Answer, RecordingServer

INVALID_TOKEN_HEADER = (
    'Bearer realm="Service", error="invalid_token", '
    'error_description="The access token provided is invalid."'
)
MODES = ["as_user", "user_token"]


@pytest.fixture
def auth(emu: BoxEmulator, clock: FakeClock) -> Iterator[JWTAuthenticator]:
    keyfile = emu.make_keyfile().load()
    with JWTAuthenticator(keyfile, base_url=emu.base_url, clock=clock, sleep=clock.sleep) as a:
        yield a


def content_url(auth: JWTAuthenticator, emu: BoxEmulator, user: EmulatedUser) -> str:
    """A file of ``user`` whose download Box redirects (302) to wherever the test set."""
    item = emu.add_file("report.pdf", b"%PDF", owner=user)
    return f"{auth.api_url}/files/{item.id}/content"


# --------------------------------------------------------------------------- issue 13, item 1


@pytest.mark.parametrize("mode", MODES)
def test_a_401_after_a_redirect_to_another_origin_changes_nothing(
    emu: BoxEmulator,
    auth: JWTAuthenticator,
    foreign: RecordingServer,
    user: EmulatedUser,
    mode: Any,
) -> None:
    """Box answers 302 to another origin, which answers 401: the good token stays cached,
    no token request is made, nothing is resent and no Box header reaches the other origin."""
    emu.download_url_template = foreign.url + "/download/{file_id}"
    url = content_url(auth, emu, user)
    foreign.script(Answer(401, {"WWW-Authenticate": INVALID_TOKEN_HEADER}, b""))
    box_auth = BoxAuth(auth, user_id=user.id, mode=mode)
    cached = box_auth.token()
    assert emu.token_requests() == 1

    response = requests.get(url, auth=box_auth, timeout=10)

    assert response.status_code == 401
    assert [r.status_code for r in response.history] == [302]
    (landed,) = foreign.received
    assert "authorization" not in landed.headers
    assert "as-user" not in landed.headers
    assert box_auth.token() is cached  # not invalidated
    assert emu.token_requests() == 1  # no new exchange
    assert len(emu.records("GET", url.removeprefix(emu.base_url))) == 1  # not resent to Box


def test_as_user_does_not_follow_a_redirect_to_another_origin(
    emu: BoxEmulator, auth: JWTAuthenticator, foreign: RecordingServer, user: EmulatedUser
) -> None:
    emu.download_url_template = foreign.url + "/download/{file_id}"
    url = content_url(auth, emu, user)
    foreign.script(Answer(200, {"Content-Type": "application/pdf"}, b"%PDF"))
    box_auth = BoxAuth(auth, user_id=user.id, mode="as_user")
    response = requests.get(url, auth=box_auth, timeout=10)
    assert response.content == b"%PDF"
    boxed = emu.records("GET", url.removeprefix(emu.base_url))[-1]
    assert boxed.as_user == user.id  # Box got it...
    (landed,) = foreign.received
    assert "as-user" not in landed.headers  # ...the download host did not
    assert "authorization" not in landed.headers
    # not following: the request requests would send next is already stripped
    held = requests.get(url, auth=box_auth, timeout=10, allow_redirects=False)
    assert held.status_code == 302
    assert held.next is not None
    assert "As-User" not in held.next.headers
    assert "Authorization" not in held.next.headers


def test_a_redirect_within_box_keeps_the_credentials(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    url = content_url(auth, emu, user)  # the emulator's own download URL: the same origin
    response = requests.get(url, auth=BoxAuth(auth, user_id=user.id, mode="as_user"), timeout=10)
    assert response.content == b"%PDF"
    (hop,) = emu.records("GET", f"/_emulator/download/{url.split('/')[-2]}")
    assert hop.request_headers["as-user"] == user.id
    assert hop.request_headers["authorization"] == "Bearer <redacted>"


@pytest.mark.parametrize("where", ["foreign", "box.com"])
def test_a_request_to_another_origin_is_refused_before_anything_is_sent(
    emu: BoxEmulator, auth: JWTAuthenticator, foreign: RecordingServer, where: str
) -> None:
    url = (
        f"{foreign.url}/2.0/users/me" if where == "foreign" else "https://api.box.com/2.0/users/me"
    )
    with pytest.raises(ConfigurationError, match="not a Box URL of this authenticator") as caught:
        requests.get(url, auth=BoxAuth(auth), timeout=10)
    assert auth.base_url in str(caught.value)
    assert foreign.received == []
    assert emu.token_requests() == 0  # not even a token was made


def test_a_401_from_box_itself_still_refreshes_once(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    box_auth = BoxAuth(auth, user_id=user.id, mode="as_user")
    old = box_auth.token()
    emu.revoke_all_tokens()
    response = requests.get(f"{auth.api_url}/users/me", auth=box_auth, timeout=10)
    assert response.json()["id"] == user.id
    assert [r.status_code for r in response.history] == [401]
    assert box_auth.token() != old
    assert emu.token_requests() == 2


# --------------------------------------------------------------------------- issue 13, item 13


@pytest.mark.parametrize("where", ["call", "session"])
def test_an_as_user_set_by_the_caller_is_refused_not_dropped(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser, where: str
) -> None:
    other = emu.managed_users[1]
    with requests.Session() as session:
        session.auth = BoxAuth(auth)  # the service account
        headers = {"As-User": other.id}
        if where == "session":
            session.headers.update(headers)
            headers = {}
        with pytest.raises(ConfigurationError, match="for_user") as caught:
            session.get(f"{auth.api_url}/users/me", headers=headers, timeout=10)
    assert f"user_id='{other.id}'" in str(caught.value)
    assert "service account" in str(caught.value)
    assert emu.count("GET", "/2.0/users/me") == 0


def test_an_as_user_equal_to_the_acting_user_is_accepted(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    box_auth = BoxAuth(auth, user_id=user.id, mode="as_user")
    response = requests.get(
        f"{auth.api_url}/users/me", auth=box_auth, headers={"As-User": user.id}, timeout=10
    )
    assert response.json()["id"] == user.id


def test_as_user_with_a_user_token_is_refused(
    emu: BoxEmulator, auth: JWTAuthenticator, user: EmulatedUser
) -> None:
    box_auth = BoxAuth(auth, user_id=user.id, mode="user_token")
    with pytest.raises(ConfigurationError, match="own token"):
        requests.get(
            f"{auth.api_url}/users/me", auth=box_auth, headers={"As-User": user.id}, timeout=10
        )


def test_an_authorization_set_by_the_caller_is_refused_and_never_repeated(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    mine = "Bearer caller-own-token-0123456789"
    with pytest.raises(ConfigurationError, match="Authorization") as caught:
        requests.get(
            f"{auth.api_url}/users/me",
            auth=BoxAuth(auth),
            headers={"Authorization": mine},
            timeout=10,
        )
    assert emu.count("GET", "/2.0/users/me") == 0
    text = "".join(
        traceback.TracebackException.from_exception(caught.value, capture_locals=True).format()
    )
    boxjwt_frames = [
        f for f in traceback.extract_tb(caught.value.__traceback__) if "boxjwt" in f.filename
    ]
    assert boxjwt_frames
    assert "caller-own-token" not in str(caught.value)
    # boxjwt's own frames keep no copy of it either (requests' frames hold the caller's dict)
    for frame in boxjwt_frames:
        assert "caller-own-token" not in "".join(frame.locals or {})
    assert "Authorization" in text


# --------------------------------------------------------------------------- one name, one type


def test_user_id_and_mode_spell_the_acting_user(auth: JWTAuthenticator) -> None:
    service = BoxAuth(auth)
    assert (service.user_id, service.mode, service.as_user) == (None, "as_user", None)
    as_user = BoxAuth(auth, user_id=12, mode="as_user")
    assert (as_user.user_id, as_user.mode, as_user.as_user) == ("12", "as_user", "12")
    own = BoxAuth(auth, user_id="12", mode="user_token")
    assert (own.user_id, own.mode, own.as_user) == ("12", "user_token", None)
    assert repr(as_user) == "BoxAuth(user_id='12', mode='as_user')"
    assert as_user != own
    assert as_user == BoxAuth(auth, user_id="12", mode="as_user")
    assert hash(as_user) == hash(BoxAuth(auth, user_id="12", mode="as_user"))
    assert BoxAuth(auth, mode="user_token").user_id is None
    with pytest.raises(ConfigurationError, match="mode"):
        BoxAuth(auth, user_id="12", mode="impersonate")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "expected", "advice"),
    [
        (lambda a: BoxAuth(a, "12"), ("12", "user_token"), "user_id='12', mode='user_token'"),
        (lambda a: BoxAuth(a, user_id="12"), ("12", "user_token"), "mode='user_token'"),
        (lambda a: BoxAuth(a, as_user="12"), ("12", "as_user"), "user_id='12', mode='as_user'"),
        (lambda a: BoxAuth(a, None, "12"), ("12", "as_user"), "user_id='12', mode='as_user'"),
        (lambda a: BoxAuth(a, None), (None, "as_user"), "BoxAuth(auth)"),
    ],
)
def test_old_spellings_warn_and_keep_their_meaning(
    auth: JWTAuthenticator, make: Any, expected: tuple[Any, str], advice: str
) -> None:
    with pytest.warns(DeprecationWarning, match="BoxAuth") as caught:
        box_auth = make(auth)
    assert (box_auth.user_id, box_auth.mode) == expected
    assert advice in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the caller's line


def test_user_token_with_as_user_keeps_working_with_a_warning(auth: JWTAuthenticator) -> None:
    with pytest.warns(DeprecationWarning, match="no new spelling"):
        both = BoxAuth(auth, "12", as_user="34")
    assert repr(both) == "BoxAuth(user_id='12', as_user='34')"
    assert both.as_user == "34"


def test_new_spellings_do_not_warn(auth: JWTAuthenticator) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BoxAuth(auth)
        BoxAuth(auth, mode="user_token")
        BoxAuth(auth, user_id="1", mode="as_user", retry_on_401=False)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("1",), {"user_id": "2"}, "user_id"),
        (("1", "2"), {"as_user": "3"}, "as_user"),
        (("1", "2", "3"), {}, "at most"),
        (("1",), {"mode": "as_user"}, "mode"),
        ((), {"as_user": "1", "mode": "as_user"}, "mode"),
        ((), {"user_id": "me", "mode": "as_user"}, "user ID"),
        (("me",), {}, "user ID"),
    ],
)
def test_contradictory_or_invalid_spellings_are_configuration_errors(
    auth: JWTAuthenticator, args: tuple[Any, ...], kwargs: dict[str, Any], match: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before any deprecation warning
        with pytest.raises(ConfigurationError, match=match):
            BoxAuth(auth, *args, **kwargs)


def test_the_authenticator_is_required() -> None:
    with pytest.raises(ConfigurationError, match="JWTAuthenticator"):
        BoxAuth("auth")  # type: ignore[arg-type]


def test_public_types() -> None:
    for name in ("SessionMode", "SubjectType", "BoxAuth", "AsUserSession"):
        assert name in boxjwt.__all__
    assert boxjwt.__all__ == sorted(boxjwt.__all__)


def test_properties_and_url_checks(
    auth: JWTAuthenticator, emu: BoxEmulator, foreign: RecordingServer
) -> None:
    box_auth = BoxAuth(auth, retry_on_401=False)
    assert box_auth.authenticator is auth
    assert box_auth.retry_on_401 is False
    assert box_auth.origins == {("http", "127.0.0.1", emu.port)}
    assert box_auth.is_box_url(f"{emu.base_url}/2.0/users/me".encode())
    assert not box_auth.is_box_url("/2.0/users/me")  # relative: not an origin
    assert not box_auth.is_box_url(None)
    session = boxjwt.AsUserSession(auth)
    assert session.credentials == BoxAuth(auth, mode="as_user")
    assert session.get(f"{foreign.url}/x".encode()).ok  # bytes URL of another host: untouched
    prepared = session.prepare_request(requests.Request("GET", f"{foreign.url}/y".encode()))
    assert prepared.url == f"{foreign.url}/y"
    assert "authorization" not in foreign.received[0].headers
