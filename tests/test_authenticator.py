"""JWTAuthenticator: configuration, tokens, cache and refresh, invalidate, revoke, downscope,
BoxAuth and logging, over real HTTP against the emulator (on a fake clock: nothing sleeps)."""

from __future__ import annotations

import io
import logging
from typing import Any

import attrs
import pytest
import requests

import authenticator_support as support
from boxjwt import (
    AccessToken,
    BoxAuth,
    JWTAuthenticator,
    KeyFile,
    MemoryTokenStore,
    RetryPolicy,
    Secret,
    TokenStore,
)
from boxjwt._authenticator import DEFAULT_TIMEOUT
from boxjwt._token import subject_key
from boxjwt.exceptions import (
    AppNotAuthorizedError,
    ConfigurationError,
    InvalidSubjectError,
    TokenExchangeError,
)
from boxjwt.testing import BoxEmulator, EmulatedKeyFile, FakeClock
from secret_scan import assert_no_secret_in_text, keyfile_secrets

pytestmark = pytest.mark.shared_emulator  # one emulator for the module (tests/conftest.py)
make_auth = support.make_auth


def me(emu: BoxEmulator, token: AccessToken, **headers: str) -> dict[str, Any]:
    """GET /2.0/users/me with ``token``: who Box thinks we are."""
    response = requests.get(
        f"{emu.api_url}/users/me",
        headers={"Authorization": token.authorization_header(), **headers},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


# --------------------------------------------------------------------------- configuration


def test_defaults(keyfile: KeyFile) -> None:
    with JWTAuthenticator(keyfile) as auth:
        assert auth.keyfile is keyfile
        assert auth.client_id == keyfile.client_id
        assert auth.enterprise_id == keyfile.enterprise_id
        assert auth.base_url == "https://api.box.com"
        assert auth.api_url == "https://api.box.com/2.0"
        assert auth.upload_url == "https://upload.box.com/api/2.0"
        assert auth.alg == "RS256"
        assert auth.assertion_lifetime == 30
        assert auth.refresh_margin == 300.0
        assert auth.timeout == DEFAULT_TIMEOUT
        assert auth.retry == RetryPolicy()
        assert isinstance(auth.token_store, MemoryTokenStore)
        assert auth.token_store.max_size == 10_000  # user tokens; the enterprise token apart
        assert auth.clock_offset == 0.0
        assert isinstance(auth.session, requests.Session)
        assert abs(auth.box_time() - auth.clock()) < 5


def test_base_url_reroutes_everything(keyfile: KeyFile) -> None:
    auth = JWTAuthenticator(keyfile, base_url="http://127.0.0.1:8080/")
    assert auth.base_url == "http://127.0.0.1:8080"
    assert auth.api_url == "http://127.0.0.1:8080/2.0"
    assert auth.upload_url == "http://127.0.0.1:8080/api/2.0"
    auth = JWTAuthenticator(
        keyfile, base_url="https://proxy.example/box", upload_url="https://u.example/api/2.0/"
    )
    assert auth.upload_url == "https://u.example/api/2.0"
    assert auth.api_url == "https://proxy.example/box/2.0"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_url": "api.box.com"}, "base_url must be an http"),
        ({"base_url": ""}, "base_url must be a non-empty"),
        ({"base_url": 443}, "base_url must be a non-empty"),
        ({"base_url": "ftp://api.box.com"}, "base_url must be an http"),
        ({"base_url": "https://api.box.com/?x=1"}, "query string"),
        ({"upload_url": "upload.box.com"}, "upload_url"),
        ({"alg": "HS256"}, "RS256, RS384, RS512"),
        ({"assertion_lifetime": 61}, "assertion_lifetime"),
        ({"assertion_lifetime": 0}, "assertion_lifetime"),
        ({"refresh_margin": -1}, "refresh_margin"),
        ({"refresh_margin": "300"}, "refresh_margin"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": (5.0, -1)}, r"timeout\[1\]"),
        ({"timeout": (1, 2, 3)}, "timeout"),
        ({"retry": {"max_attempts": 3}}, "RetryPolicy"),
        ({"token_store": {}}, "token_store"),
        ({"max_user_tokens": 0}, "max_user_tokens"),
        ({"max_user_tokens": True}, "max_user_tokens"),
    ],
)
def test_invalid_configuration(keyfile: KeyFile, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        JWTAuthenticator(keyfile, **kwargs)


def test_keyfile_must_be_loaded() -> None:
    with pytest.raises(ConfigurationError, match=r"KeyFile\.from_file"):
        JWTAuthenticator("key.json")  # type: ignore[arg-type]


def test_options_are_applied(keyfile: KeyFile, clock: FakeClock) -> None:
    store = MemoryTokenStore(5)
    policy = RetryPolicy(max_attempts=2)
    auth = JWTAuthenticator(
        keyfile,
        alg="rs512",
        assertion_lifetime=45,
        refresh_margin=60,
        timeout=(1, 2),
        retry=policy,
        token_store=store,
        clock=clock,
        sleep=clock.sleep,
    )
    assert (auth.alg, auth.assertion_lifetime, auth.refresh_margin) == ("RS512", 45.0, 60.0)
    assert auth.timeout == (1.0, 2.0)
    assert auth.token_store is store
    assert auth.retry.max_attempts == 2
    assert auth.retry.sleep == clock.sleep  # the authenticator's sleeper and clock win
    assert auth.retry.clock is clock
    assert auth.clock is clock
    assert JWTAuthenticator(keyfile, max_user_tokens=7).token_store.max_size == 7  # type: ignore[attr-defined]
    assert JWTAuthenticator(keyfile, retry=policy).retry is policy


def test_repr_shows_no_secret(keyfile: KeyFile, ekf: EmulatedKeyFile) -> None:
    text = repr(JWTAuthenticator(keyfile))
    assert keyfile.client_id in text
    assert_no_secret_in_text([text, str(JWTAuthenticator(keyfile))], keyfile_secrets(ekf))


def test_close_leaves_a_session_it_was_given_open(keyfile: KeyFile) -> None:
    closed: list[str] = []

    class Tracking(requests.Session):
        def close(self) -> None:
            closed.append("closed")
            super().close()

    given = Tracking()
    with JWTAuthenticator(keyfile, session=given) as auth:
        assert auth.session is given
    assert closed == []
    own = JWTAuthenticator(keyfile)
    own._session = Tracking()  # observe the private session being closed
    own.close()
    assert closed == ["closed"]


# --------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_enterprise_token(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock, alg: str) -> None:
    auth = make_auth(keyfile, emu, clock, alg=alg)
    token = auth.enterprise_token()
    assert isinstance(token.value, Secret)
    assert (token.subject_type, token.subject_id) == ("enterprise", keyfile.enterprise_id)
    assert token.issued_at == clock()
    assert token.expires_at == clock() + support.DEFAULT_EXPIRES_IN
    assert token.authorization_header().startswith("Bearer ")
    assert me(emu, token)["id"] == emu.app_by_client_id(keyfile.client_id).service_account.id  # type: ignore[union-attr]
    assert emu.token_requests(client_id=keyfile.client_id) == 1


def test_tokens_are_cached_per_subject(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock)
    user = emu.managed_users[0]
    first = auth.enterprise_token()
    assert auth.enterprise_token() is first
    assert auth.token() is first
    user_token = auth.user_token(user.id)
    assert auth.user_token(int(user.id)) is user_token  # type: ignore[arg-type]
    assert auth.token(user.id) is user_token
    assert me(emu, user_token)["id"] == user.id
    assert emu.token_requests() == 2
    assert emu.token_requests(subject_type="user", subject_id=user.id) == 1
    assert auth.token_store.get(subject_key(keyfile.client_id, "user", user.id)) is user_token


@pytest.mark.parametrize(
    "user_id", ["", "abc", "12 34", "-5", "\uff11\uff12\uff13", None, 0, -3, True, 1.5]
)
def test_user_id_is_validated_before_any_request(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock, user_id: Any
) -> None:
    auth = make_auth(keyfile, emu, clock)
    with pytest.raises(ConfigurationError, match="user ID"):
        auth.user_token(user_id)
    assert emu.token_requests() == 0


def test_refresh_ahead_of_expiry(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    auth = make_auth(keyfile, emu, clock)
    first = auth.enterprise_token()
    clock.advance(support.DEFAULT_EXPIRES_IN - 300 - 1)  # 301 s left: still fresh
    assert auth.enterprise_token() is first
    clock.advance(2)  # 299 s left: inside the 300 s margin
    second = auth.enterprise_token()
    assert second is not first
    assert second.expires_at == clock() + support.DEFAULT_EXPIRES_IN
    assert emu.token_requests() == 2


def test_margin_is_bounded_to_half_a_short_lifetime(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.token_expires_in = 10
    auth = make_auth(keyfile, emu, clock)  # margin 300 s, but the token lives 10 s
    first = auth.enterprise_token()
    clock.advance(4.9)
    assert auth.enterprise_token() is first  # cached: the margin is 5 s, not 300 s
    clock.advance(0.2)
    assert auth.enterprise_token() is not first
    assert emu.token_requests() == 2


def test_zero_margin_refreshes_at_expiry(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock, refresh_margin=0)
    first = auth.enterprise_token()
    clock.advance(support.DEFAULT_EXPIRES_IN - 0.5)
    assert auth.enterprise_token() is first
    clock.advance(0.5)
    assert auth.enterprise_token() is not first


def test_invalidate_is_compare_and_swap(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock)
    old = auth.enterprise_token()
    assert auth.invalidate(old) is True
    assert auth.invalidate(old) is False  # already gone
    new = auth.enterprise_token()
    assert new != old
    assert auth.invalidate(old) is False  # a stale 401 must not drop the new token
    assert auth.enterprise_token() is new
    assert emu.token_requests() == 2
    with pytest.raises(ConfigurationError):
        auth.invalidate("not a token")  # type: ignore[arg-type]


def test_revoke(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    auth = make_auth(keyfile, emu, clock)
    token = auth.enterprise_token()
    assert emu.live_token(token.value.reveal()) is not None
    auth.revoke(token)
    assert emu.live_token(token.value.reveal()) is None
    assert emu.count("POST", "/oauth2/revoke", status=200) == 1
    replacement = auth.enterprise_token()  # the revoked token left the cache
    assert replacement != token
    auth.revoke(replacement.value)
    auth.revoke(auth.user_token(emu.managed_users[0].id).value.reveal())
    assert emu.count("POST", "/oauth2/revoke", status=200) == 3
    with pytest.raises(ConfigurationError):
        auth.revoke("")
    with pytest.raises(ConfigurationError):
        auth.revoke(123)  # type: ignore[arg-type]


def test_downscope(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    auth = make_auth(keyfile, emu, clock)
    parent = auth.enterprise_token()
    item = emu.add_file("report.pdf", b"%PDF")
    resource = f"{emu.api_url}/files/{item.id}"
    small = auth.downscope(parent, ["item_preview", "item_download"], resource=resource)
    assert small != parent
    assert (small.subject_type, small.subject_id) == ("enterprise", keyfile.enterprise_id)
    assert {entry["scope"] for entry in small.restricted_to} == {"item_preview", "item_download"}
    assert auth.enterprise_token() is parent  # downscoped tokens are not cached
    assert auth.downscope(parent, "item_preview").restricted_to == ()
    with pytest.raises(TokenExchangeError):
        auth.downscope(parent, ["not_a_scope"])
    for bad in ([], "", [""], [5]):
        with pytest.raises(ConfigurationError, match="scope"):
            auth.downscope(parent, bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        auth.downscope("token", ["item_preview"])  # type: ignore[arg-type]


def test_custom_store_is_used(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    store = MemoryTokenStore()
    first = make_auth(keyfile, emu, clock, token_store=store).enterprise_token()
    # a second authenticator sharing the store reuses the token: no exchange
    assert make_auth(keyfile, emu, clock, token_store=store).enterprise_token() is first
    assert emu.token_requests() == 1


class SwappedStore(MemoryTokenStore):
    """A store whose records were swapped: ``get(key)`` answers with another key's token."""

    def __init__(self) -> None:
        super().__init__()
        self.swap: dict[str, str] = {}

    def get(self, key: str) -> AccessToken | None:
        return super().get(self.swap.get(key, key))


def test_a_token_for_another_subject_is_refused_from_any_store(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13 item 2: whatever the store returns, B never gets A's (or the app's) token."""
    a, b = emu.managed_users[0].id, emu.managed_users[1].id
    key_a, key_b = (subject_key(keyfile.client_id, "user", u) for u in (a, b))
    key_e = subject_key(keyfile.client_id, "enterprise", keyfile.enterprise_id)
    store = SwappedStore()
    auth = make_auth(keyfile, emu, clock, token_store=store)
    token_a, enterprise = auth.user_token(a), auth.enterprise_token()
    with caplog.at_level(logging.DEBUG, logger="boxjwt"):
        store.swap = {key_b: key_a}
        token_b = auth.user_token(b)
        assert (token_b.subject_type, token_b.subject_id) == ("user", b)
        assert auth.user_token(b).subject_id == b  # still swapped: refused again
        store.swap = {key_b: key_e}  # the service account's token under B's key
        assert auth.user_token(b).subject_id == b
        store.swap = {key_e: key_a}  # a user's token under the enterprise key
        assert auth.enterprise_token().subject_type == "enterprise"
    assert emu.token_requests(subject_type="user", subject_id=b) == 3
    assert emu.token_requests(subject_type="enterprise") == 2
    assert emu.token_requests(subject_type="user", subject_id=a) == 1
    refused = [r for r in caplog.records if "another subject" in r.getMessage()]
    assert len(refused) == 12  # one per read of the store: three per refresh, four refreshes
    warnings_ = [r for r in refused if r.levelno == logging.WARNING]
    assert [r.args for r in warnings_] == [(f"user {b}",), ("enterprise " + keyfile.enterprise_id,)]
    assert_no_secret_in_text(
        [r.getMessage() for r in caplog.records],
        [token_a.value.reveal(), enterprise.value.reveal(), token_b.value.reveal()],
    )


def test_warn_once_memory_is_bounded(
    emu: BoxEmulator,
    keyfile: KeyFile,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("boxjwt._authenticator._MAX_REFUSED_KEYS", 1)
    a, b = emu.managed_users[0].id, emu.managed_users[1].id
    key_a, key_b = (subject_key(keyfile.client_id, "user", u) for u in (a, b))
    store = SwappedStore()
    auth = make_auth(keyfile, emu, clock, token_store=store)
    auth.user_token(a)
    auth.user_token(b)
    store.swap = {key_a: key_b, key_b: key_a}
    with caplog.at_level(logging.WARNING, logger="boxjwt"):
        auth.user_token(a)
        auth.user_token(b)
        auth.user_token(a)  # a was forgotten when b was remembered: warned again
    refused = [r for r in caplog.records if "another subject" in r.getMessage()]
    assert len(refused) == 3


def test_a_token_of_another_app_is_refused(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    store = MemoryTokenStore()
    auth = make_auth(keyfile, emu, clock, token_store=store)
    key = subject_key(keyfile.client_id, "enterprise", keyfile.enterprise_id)
    mine = auth.enterprise_token()
    assert mine.client_id == keyfile.client_id
    foreign = attrs.evolve(mine, client_id="another-app", value="f" * 32)
    store.set(key, foreign)
    assert auth.enterprise_token() not in (foreign, mine)
    hand_made = attrs.evolve(mine, client_id=None, value="h" * 32)  # no app recorded: accepted
    store.set(key, hand_made)
    assert auth.enterprise_token() is hand_made
    assert emu.token_requests() == 2


def test_memory_store_basics() -> None:
    with pytest.raises(ConfigurationError, match="max_size"):
        MemoryTokenStore(0)
    store = MemoryTokenStore(3)
    assert repr(store) == "MemoryTokenStore(size=0, max_size=3)"
    assert isinstance(store, TokenStore)


def test_lru_bound_on_user_tokens(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    users = emu.managed_users[:3]
    auth = make_auth(keyfile, emu, clock, max_user_tokens=2)
    for user in users[:2]:
        auth.user_token(user.id)
    assert len(auth.token_store) == 2  # type: ignore[arg-type]
    auth.user_token(users[2].id)  # evicts the least recently used user token
    assert len(auth.token_store) == 2  # type: ignore[arg-type]
    auth.user_token(users[2].id)  # still cached
    auth.user_token(users[1].id)  # still cached
    auth.user_token(users[0].id)  # evicted earlier: exchanged again
    assert emu.token_requests() == 4


def test_user_tokens_never_evict_the_enterprise_token(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13 item 10: the service account's token lives outside the user LRU."""
    users = emu.managed_users[:3]
    auth = make_auth(keyfile, emu, clock, max_user_tokens=2)
    enterprise = auth.enterprise_token()
    with caplog.at_level(logging.DEBUG, logger="boxjwt"):
        for _ in range(3):
            for user in users:  # three users through a bound of two: they thrash...
                auth.user_token(user.id)
            assert auth.enterprise_token() is enterprise  # ...the enterprise token stays
    assert emu.token_requests(subject_type="enterprise") == 1
    assert emu.token_requests(subject_type="user") == 9
    assert len(auth.token_store) == 3  # type: ignore[arg-type]  # 2 users + the enterprise token
    assert auth.token_store.evictions == 7  # type: ignore[attr-defined]
    warned = [r for r in caplog.records if "cache is full" in r.getMessage()]
    assert len(warned) == 1  # logged once, however many evictions follow
    assert warned[0].levelno == logging.WARNING
    assert warned[0].name == "boxjwt"
    assert "max_user_tokens" in warned[0].getMessage()
    assert_no_secret_in_text([r.getMessage() for r in caplog.records], [enterprise.value.reveal()])


def test_evicting_expired_user_tokens_is_not_worth_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    store = MemoryTokenStore(1, clock=lambda: now[0])

    def token(subject_id: str, lifetime: float) -> AccessToken:
        return AccessToken(
            value="v" * 32,
            issued_at=now[0],
            expires_at=now[0] + lifetime,
            subject_type="user",
            subject_id=subject_id,
        )

    with caplog.at_level(logging.DEBUG, logger="boxjwt"):
        store.set("a", token("1", 10))
        now[0] += 20  # a's token has expired
        store.set("b", token("2", 10))  # evicts a: no warning, it was dead anyway
        store.set("c", token("3", 10))  # evicts b, still valid: the warning
        store.set("d", token("4", 10))  # evicts c: debug only
    assert store.evictions == 2
    levels = [r.levelno for r in caplog.records]
    assert levels == [logging.WARNING, logging.DEBUG]
    enterprise = attrs.evolve(token("5", 10), subject_type="enterprise")
    store.set("e", enterprise)
    assert store.get("e") is enterprise
    assert store.get("d") is not None  # the enterprise token took no user slot
    store.set("e", token("5", 10))  # the same key as a user token now: moved to the LRU
    assert store.get("d") is None
    assert not store.delete("e", only_if=enterprise)
    assert store.delete("e")
    assert not store.delete("e")


# --------------------------------------------------------------------------- BoxAuth


@pytest.mark.filterwarnings("ignore:BoxAuth:DeprecationWarning")  # the old spellings, on purpose
def test_box_auth_as_service_account_user_and_as_user(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock)
    user = emu.managed_users[0]
    service_account = emu.app_by_client_id(keyfile.client_id).service_account  # type: ignore[union-attr]
    url = f"{auth.api_url}/users/me"
    assert requests.get(url, auth=BoxAuth(auth), timeout=10).json()["id"] == service_account.id
    assert requests.get(url, auth=BoxAuth(auth, user.id), timeout=10).json()["id"] == user.id
    response = requests.get(url, auth=BoxAuth(auth, as_user=user.id), timeout=10)
    assert response.json()["id"] == user.id
    assert response.request.headers["As-User"] == user.id
    with requests.Session() as session:
        session.headers["As-User"] = "999"
        session.auth = BoxAuth(auth)
        # issue 13: a stray As-User is refused (it used to be dropped: the call ran as another)
        with pytest.raises(ConfigurationError, match="for_user"):
            session.get(url, timeout=10)
    assert emu.token_requests() == 2  # enterprise + that user


def test_box_auth_recovers_from_a_401_once(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock)
    box_auth = BoxAuth(auth)
    url = f"{auth.api_url}/users/me"
    old = auth.enterprise_token()
    emu.revoke_all_tokens()
    response = requests.get(url, auth=box_auth, timeout=10)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert auth.enterprise_token() != old
    assert emu.token_requests() == 2
    # a 401 that persists is returned after one resend, never looped
    emu.faults.push("/2.0/users/me", 401, count=2)
    response = requests.get(url, auth=box_auth, timeout=10)
    assert response.status_code == 401
    assert len(response.history) == 1


def test_box_auth_does_not_resend_when_told_not_to_or_unable(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock)
    url = f"{auth.api_url}/users/me"
    first = auth.enterprise_token()
    emu.revoke_all_tokens()
    response = requests.get(url, auth=BoxAuth(auth, retry_on_401=False), timeout=10)
    assert response.status_code == 401
    second = auth.enterprise_token()
    assert second != first  # the rejected token was dropped all the same
    emu.revoke_all_tokens()
    response = requests.get(url, auth=BoxAuth(auth), data=io.BytesIO(b"stream"), timeout=10)
    assert response.status_code == 401  # a stream body cannot be replayed
    assert auth.enterprise_token() != second


@pytest.mark.filterwarnings("ignore:BoxAuth:DeprecationWarning")  # the old spellings, on purpose
def test_box_auth_validation_and_identity(keyfile: KeyFile) -> None:
    auth = JWTAuthenticator(keyfile)
    with pytest.raises(ConfigurationError):
        BoxAuth("auth")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        BoxAuth(auth, user_id="me")
    with pytest.raises(ConfigurationError):
        BoxAuth(auth, as_user="")
    a = BoxAuth(auth, "12", as_user="34")
    assert a == BoxAuth(auth, "12", as_user="34")
    assert hash(a) == hash(BoxAuth(auth, "12", as_user="34"))
    assert a != BoxAuth(auth, "12")
    assert a != "BoxAuth"
    assert repr(a) == "BoxAuth(user_id='12', as_user='34')"


# --------------------------------------------------------------------------- logging


@pytest.mark.filterwarnings("ignore:BoxAuth:DeprecationWarning")  # the old spellings, on purpose
def test_logs_say_what_happened_and_never_a_secret(
    emu: BoxEmulator,
    ekf: EmulatedKeyFile,
    keyfile: KeyFile,
    clock: FakeClock,
    captured_logs: support.Capture,
) -> None:
    auth = make_auth(keyfile, emu, clock)
    tokens = [auth.enterprise_token()]
    emu.faults.push("/oauth2/token", 503)
    emu.clock_offset = 300
    user = emu.managed_users[0]
    tokens.append(auth.user_token(user.id))
    tokens.append(auth.downscope(tokens[0], ["item_preview"]))
    emu.revoke_all_tokens()
    requests.get(f"{auth.api_url}/users/me", auth=BoxAuth(auth, as_user=user.id), timeout=10)
    tokens.append(auth.enterprise_token())
    with pytest.raises(InvalidSubjectError):
        auth.user_token("99999999999")
    auth.revoke(tokens[-1])

    texts = captured_logs.texts()
    secrets = [t.value.reveal() for t in tokens] + keyfile_secrets(ekf)
    assert_no_secret_in_text(texts, secrets)
    boxjwt_records = [r for r in captured_logs.records if r.name == "boxjwt"]
    messages = [r.getMessage() for r in boxjwt_records]
    first_id = emu.records("POST", "/oauth2/token")[0].request_id
    assert any(
        f"got a token for enterprise {keyfile.enterprise_id} in 1 attempt(s)" in m and first_id in m
        for m in messages
    )
    assert any(f"got a token for user {user.id} in 3 attempt(s)" in m for m in messages)
    assert any("TokenServerError" in m and "retrying in" in m for m in messages)
    assert any("behind Box's" in m for m in messages)
    assert any("failed after 1 attempt(s): InvalidSubjectError" in m for m in messages)
    assert {r.levelno for r in boxjwt_records} <= {logging.DEBUG, logging.INFO, logging.WARNING}


def test_permanent_error_in_logs_has_the_request_id(
    emu: BoxEmulator, clock: FakeClock, captured_logs: support.Capture
) -> None:
    disabled = emu.make_keyfile(authorized=False)
    auth = make_auth(disabled.load(), emu, clock)
    with pytest.raises(AppNotAuthorizedError) as info:
        auth.enterprise_token()
    assert info.value.request_id
    assert any(
        info.value.request_id in r.getMessage() for r in captured_logs.records if r.name == "boxjwt"
    )
    assert_no_secret_in_text(captured_logs.texts(), keyfile_secrets(disabled))


def test_max_user_tokens_with_a_token_store_of_ones_own_is_refused(keyfile: KeyFile) -> None:
    """It bounds only the default in-memory store: with token_store= it used to be ignored."""
    store = MemoryTokenStore(5)
    with pytest.raises(ConfigurationError, match=r"MemoryTokenStore\(max_size=\.\.\.\)"):
        JWTAuthenticator(keyfile, token_store=store, max_user_tokens=50)
    assert JWTAuthenticator(keyfile, token_store=store).token_store is store
    assert JWTAuthenticator(keyfile).token_store.max_size == 10_000  # type: ignore[attr-defined]
