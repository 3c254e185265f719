"""Issue 13 item 3 acceptance: no secret is reachable from any exception the public API raises.

For random secrets (client secret, passphrase, the key pair's PEM, tokens the emulator issued,
a shared-link password in a query string, a Fernet key), every scenario of the fault matrix
raises a boxjwt exception through the public API, and :mod:`secret_scan` looks at everything
an error reporter could show about it: ``TracebackException(capture_locals=True)`` of the whole
chain, message, ``repr``, every attribute, suppressed contexts, frame locals. Nothing may
contain a secret, nor anything shaped like a signed assertion.

The emulator runs on a fake clock and every authenticator retries at most once without real
waits, so an example costs a few milliseconds (RSA key validation is skipped when loading keys:
these properties are about leaks, not key validation).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import string
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import attrs
import pytest
import redis
import requests
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

import boxjwt._private_key as pk
from boxjwt import (
    AsUserSession,
    BoxAuth,
    JWTAuthenticator,
    KeyFile,
    MemoryTokenStore,
    RetryPolicy,
    Secret,
    preflight,
    raise_for_box_error,
)
from boxjwt._token_endpoint import sanitized_cause
from boxjwt.exceptions import (
    AccessDeniedError,
    APIError,
    AppNotAuthorizedError,
    AssertionExpiredError,
    BoxJWTError,
    ConfigurationError,
    ConflictError,
    InsufficientScopeError,
    InvalidClientCredentialsError,
    InvalidGrantTypeError,
    InvalidPEMError,
    InvalidSubjectError,
    InvalidTokenError,
    KeyFileFieldError,
    KeyFileJSONError,
    NotFoundError,
    PassphraseRequiredError,
    PublicKeyNotFoundError,
    RateLimitExceededError,
    ServerAPIError,
    SignatureMismatchError,
    TokenExchangeError,
    TokenRateLimitedError,
    TokenServerError,
    TransportError,
    UserTokenNotAllowedError,
    WrongPassphraseError,
)
from boxjwt.stores import RedisTokenStore
from boxjwt.testing import BoxEmulator, EmulatedKeyFile, FakeClock, encode_private_key
from redis_server import RedisServer, free_port
from secret_scan import assert_no_secret_reachable_from

FOLDER = "/2.0/folders/0"
ME = "/2.0/users/me"
ALNUM = string.ascii_letters + string.digits


def _fast_deserialize(pem: bytes, password: bytes | None) -> object:
    return serialization.load_pem_private_key(pem, password, unsafe_skip_rsa_key_validation=True)


@pytest.fixture(scope="module", autouse=True)
def _fast_keys() -> Iterator[None]:
    with mock.patch.object(pk, "_deserialize", _fast_deserialize):
        yield


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def emu(clock: FakeClock) -> Iterator[BoxEmulator]:
    with BoxEmulator(clock=clock, managed_users=1) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def ekf(emu: BoxEmulator) -> EmulatedKeyFile:
    return emu.make_keyfile()


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="boxjwt-no-secrets-") as name:
        yield Path(name)


def _pem_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if len(line) >= 40 and "-----" not in line]


@attrs.define
class World:
    """One example: the emulator, and a key file full of freshly drawn secrets."""

    emu: BoxEmulator
    clock: FakeClock
    ekf: EmulatedKeyFile
    workdir: Path
    client_secret: str
    passphrase: str
    other: str  # a wrong passphrase, or a wrong client secret: a secret too
    query_secret: str
    pem: str = ""
    config: dict[str, Any] = attrs.field(factory=dict)
    secrets: list[str] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        app = self.ekf.app
        with self.emu.state.lock:
            app._client_secret = self.client_secret  # the drawn secret is the app's secret
        self.pem = encode_private_key(self.ekf.private_key, "box", self.passphrase)
        self.config = {
            "boxAppSettings": {
                "clientID": app.client_id,
                "clientSecret": self.client_secret,
                "appAuth": {
                    "publicKeyID": self.ekf.kid,
                    "privateKey": self.pem,
                    "passphrase": self.passphrase,
                },
            },
            "enterpriseID": self.emu.enterprise_id,
        }
        plain = self.ekf.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.secrets = [
            self.client_secret,
            self.passphrase,
            self.other,
            self.query_secret,
            *_pem_lines(self.pem),
            *_pem_lines(plain),
        ]

    @property
    def text(self) -> str:
        return json.dumps(self.config, indent=2)

    def with_config(self, **changes: Any) -> str:
        """The key.json text with some ``appAuth``/``boxAppSettings`` values replaced."""
        config = json.loads(self.text)
        for name, value in changes.items():
            section = config["boxAppSettings"]
            if name in section["appAuth"]:
                section = section["appAuth"]
            if name == "enterpriseID":
                config[name] = value
            else:
                section[name] = value
        return json.dumps(config)

    def keyfile(self, **changes: Any) -> KeyFile:
        return KeyFile.from_json(self.with_config(**changes) if changes else self.text)

    def auth(self, keyfile: KeyFile | None = None, **options: Any) -> JWTAuthenticator:
        options.setdefault("base_url", self.emu.base_url)
        return JWTAuthenticator(
            keyfile or self.keyfile(),
            clock=self.clock,
            sleep=self.clock.sleep,
            retry=RetryPolicy(max_attempts=2),
            **options,
        )

    def token(self, auth: JWTAuthenticator) -> None:
        """Get a token first (so that it is a secret the failure must not show)."""
        self.secrets.append(auth.enterprise_token().value.reveal())

    def session(self, auth: JWTAuthenticator | None = None, **options: Any) -> AsUserSession:
        auth = auth or self.auth()
        self.token(auth)
        options.setdefault("raise_for_status", True)
        return AsUserSession(auth, retry=RetryPolicy(max_attempts=1), **options)

    def push(self, endpoint: str, *args: Any, **kwargs: Any) -> None:
        self.emu.faults.push(endpoint, *args, **kwargs)

    @property
    def url(self) -> str:
        """A Box URL with a secret in its query string."""
        return f"{FOLDER}?fields=id&shared_link_password={self.query_secret}"


Scenario = Callable[[World], Callable[[], object]]


def oauth(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description}


# ---------------------------------------------------------------------------- key files


def wrong_passphrase(w: World) -> Callable[[], object]:
    return lambda: KeyFile.from_json(w.text, passphrase=w.other)


def wrong_passphrase_file(w: World) -> Callable[[], object]:
    path = w.workdir / "key.json"
    path.write_text(w.text)
    os.chmod(path, 0o600)
    return lambda: KeyFile.from_file(path, passphrase=w.other)


def wrong_passphrase_env(w: World) -> Callable[[], object]:
    environ = {"BOXJWT_CONFIG": w.text, "BOXJWT_PASSPHRASE": w.other}
    return lambda: KeyFile.from_env(environ)


def wrong_passphrase_separate_pem(w: World) -> Callable[[], object]:
    config = json.loads(w.with_config(privateKey="", passphrase=""))
    return lambda: KeyFile.from_dict(config, private_key=w.pem, passphrase=w.other)


def passphrase_missing(w: World) -> Callable[[], object]:
    return lambda: KeyFile.from_json(w.with_config(passphrase=""))


def corrupt_pem(w: World) -> Callable[[], object]:
    lines = w.pem.splitlines()
    lines[3] = lines[3][:10] + "!" + lines[3][11:]
    return lambda: KeyFile.from_json(w.with_config(privateKey="\n".join(lines)))


def truncated_pem(w: World) -> Callable[[], object]:
    lines = w.pem.splitlines()
    return lambda: KeyFile.from_json(w.with_config(privateKey="\n".join(lines[:5] + lines[-1:])))


def bad_json(w: World) -> Callable[[], object]:
    return lambda: KeyFile.from_json(w.text.rstrip()[:-1])


def bad_field(w: World) -> Callable[[], object]:
    return lambda: KeyFile.from_json(w.with_config(clientID=12345))


def preflight_bad_argument(w: World) -> Callable[[], object]:
    path = w.workdir / "key.json"
    path.write_text(w.text)
    os.chmod(path, 0o600)
    return lambda: preflight(str(path), passphrase=w.other, concurrency=0)


# ---------------------------------------------------------------------------- token endpoint


def wrong_client_secret(w: World) -> Callable[[], object]:
    auth = w.auth(w.keyfile(clientSecret=w.other))
    return auth.enterprise_token


def wrong_enterprise(w: World) -> Callable[[], object]:
    return w.auth(w.keyfile(enterpriseID="98765")).enterprise_token


def scripted_token_error(status: int, body: Any = None, **kwargs: Any) -> Scenario:
    def scenario(w: World) -> Callable[[], object]:
        auth = w.auth()
        w.push("/oauth2/token", status, body=body, count=2, **kwargs)
        return auth.enterprise_token

    return scenario


def echoing_server(w: World) -> Callable[[], object]:
    """A hostile token endpoint echoing the client secret back in its answer."""
    auth = w.auth()
    echo = oauth("invalid_client", f"client_secret={w.client_secret} is not valid")
    w.push("/oauth2/token", 400, body=echo, headers={"X-Echo": w.client_secret})
    return auth.enterprise_token


def huge_echoing_body(w: World) -> Callable[[], object]:
    """A flood: 200 kB of error body, the client secret in it again and again."""
    auth = w.auth()
    body = (f"client_secret={w.client_secret}&" * 5000).encode()
    w.push("/oauth2/token", 400, body=body)
    return auth.enterprise_token


def unreadable_answer_with_token(w: World) -> Callable[[], object]:
    value = w.emu.issue_token()
    w.secrets.append(value)
    auth = w.auth()
    body = f'{{"access_token": "{value}", "expires_in": Infinity}}'
    w.push("/oauth2/token", 200, body=body, count=2)
    return auth.enterprise_token


def clock_behind(w: World) -> Callable[[], object]:
    auth = w.auth()
    expired = oauth("invalid_grant", "Current date/time MUST be before the expiration date/time")
    w.push("/oauth2/token", 400, body=expired, count=2)
    return auth.enterprise_token


def user_token_refused(w: World) -> Callable[[], object]:
    auth = w.auth()
    refused = oauth(
        "invalid_request", "Cannot obtain user token based on the enterprise configuration"
    )
    w.push("/oauth2/token", 400, body=refused)
    user = w.emu.managed_users[0].id
    return lambda: auth.user_token(user)


def token_endpoint_down(w: World) -> Callable[[], object]:
    return w.auth(base_url=f"http://127.0.0.1:{free_port()}").enterprise_token


def token_connection_dropped(w: World) -> Callable[[], object]:
    auth = w.auth()
    w.push("/oauth2/token", drop=True, count=2)
    return auth.enterprise_token


def downscope_refused(w: World) -> Callable[[], object]:
    auth = w.auth()
    w.token(auth)
    token = auth.enterprise_token()
    w.push("/oauth2/token", 400, body=oauth("invalid_request", "Unsupported scope"))
    return lambda: auth.downscope(token, ["item_preview"], resource=w.emu.api_url + FOLDER)


def revoke_failed(w: World) -> Callable[[], object]:
    auth = w.auth()
    w.token(auth)
    value = auth.enterprise_token().value.reveal()
    w.push("/oauth2/revoke", 500, count=2)
    return lambda: auth.revoke(value)  # the plain value, as a caller may pass it


def box_auth_token_failure(w: World) -> Callable[[], object]:
    auth = w.auth()
    w.push("/oauth2/token", 400, body=oauth("unauthorized_client", "not authorized"))
    url = w.emu.api_url + "/users/me"
    return lambda: requests.get(url, auth=BoxAuth(auth), timeout=5)


# ---------------------------------------------------------------------------- API calls


def api_error(status: int, **kwargs: Any) -> Scenario:
    def scenario(w: World) -> Callable[[], object]:
        session = w.session()
        w.push(FOLDER, status, count=2, **kwargs)
        return lambda: session.get(w.url)

    return scenario


def api_error_as_user_token(w: World) -> Callable[[], object]:
    auth = w.auth()
    user = w.emu.managed_users[0].id
    w.secrets.append(auth.user_token(user).value.reveal())
    session = w.session(auth, user_id=user, mode="user_token")
    w.push(FOLDER, 404)
    return lambda: session.get(w.url, headers={"X-Trace": "1"})


def raise_for_box_error_directly(w: World) -> Callable[[], object]:
    auth = w.auth()
    w.token(auth)
    w.push(FOLDER, 403)
    response = requests.get(
        w.emu.base_url + w.url,
        headers={"Authorization": auth.enterprise_token().authorization_header()},
        timeout=5,
    )
    return lambda: raise_for_box_error(response)


def api_connection_dropped(w: World) -> Callable[[], object]:
    session = w.session()
    w.push(FOLDER, drop=True, count=2)
    return lambda: session.get(w.url)


def upload_host_down(w: World) -> Callable[[], object]:
    auth = w.auth(upload_url=f"http://127.0.0.1:{free_port()}/api/2.0")
    session = w.session(auth)
    return lambda: session.post(
        f"/api/2.0/files/content?shared_link_password={w.query_secret}", data=b"x"
    )


SCENARIOS: dict[str, tuple[type[BoxJWTError], Scenario]] = {
    "wrong passphrase": (WrongPassphraseError, wrong_passphrase),
    "wrong passphrase, from_file": (WrongPassphraseError, wrong_passphrase_file),
    "wrong passphrase, from_env": (WrongPassphraseError, wrong_passphrase_env),
    "wrong passphrase, separate PEM": (WrongPassphraseError, wrong_passphrase_separate_pem),
    "passphrase missing": (PassphraseRequiredError, passphrase_missing),
    "corrupt PEM": (InvalidPEMError, corrupt_pem),
    "truncated PEM": (InvalidPEMError, truncated_pem),
    "bad JSON": (KeyFileJSONError, bad_json),
    "bad field": (KeyFileFieldError, bad_field),
    "preflight bad argument": (ConfigurationError, preflight_bad_argument),
    "wrong client secret": (InvalidClientCredentialsError, wrong_client_secret),
    "wrong enterprise": (InvalidSubjectError, wrong_enterprise),
    "app not authorized": (
        AppNotAuthorizedError,
        scripted_token_error(400, oauth("unauthorized_client", "This app is not authorized")),
    ),
    "kid invalid": (
        PublicKeyNotFoundError,
        scripted_token_error(400, oauth("invalid_grant", "'kid' invalid")),
    ),
    "signature mismatch": (
        SignatureMismatchError,
        scripted_token_error(400, oauth("invalid_grant", "Signature verification error")),
    ),
    "clock behind": (AssertionExpiredError, clock_behind),
    "user token refused": (UserTokenNotAllowedError, user_token_refused),
    "token 429": (TokenRateLimitedError, scripted_token_error(429, retry_after=1)),
    "token 500": (TokenServerError, scripted_token_error(500)),
    "token 202": (TokenServerError, scripted_token_error(202, retry_after=1)),
    "token redirect": (
        InvalidGrantTypeError,
        scripted_token_error(302, headers={"Location": "https://elsewhere.example/oauth2/token"}),
    ),
    "token unreadable": (TokenServerError, scripted_token_error(200, "<html>portal</html>")),
    "token answer with a bad lifetime": (TokenServerError, unreadable_answer_with_token),
    "hostile echo": (InvalidClientCredentialsError, echoing_server),
    "huge echoing body": (TokenExchangeError, huge_echoing_body),
    "token endpoint down": (TransportError, token_endpoint_down),
    "token connection dropped": (TransportError, token_connection_dropped),
    "downscope refused": (TokenExchangeError, downscope_refused),
    "revoke failed": (TokenServerError, revoke_failed),
    "BoxAuth token failure": (AppNotAuthorizedError, box_auth_token_failure),
    "API 401": (InvalidTokenError, api_error(401)),
    "API 403 JSON": (AccessDeniedError, api_error(403)),
    "API 403 scope": (
        InsufficientScopeError,
        api_error(
            403,
            body="",
            headers={"WWW-Authenticate": 'Bearer realm="Service", error="insufficient_scope"'},
        ),
    ),
    "API 404": (NotFoundError, api_error(404)),
    "API 409": (ConflictError, api_error(409)),
    "API 429": (RateLimitExceededError, api_error(429, retry_after=1)),
    "API 500": (ServerAPIError, api_error(500)),
    "API 503": (ServerAPIError, api_error(503)),
    "API 404 with a user token": (NotFoundError, api_error_as_user_token),
    "raise_for_box_error": (APIError, raise_for_box_error_directly),
    "API connection dropped": (TransportError, api_connection_dropped),
    "upload host down": (TransportError, upload_host_down),
}


def trigger(call: Callable[[], object]) -> BoxJWTError:
    """Run the public API call; return the boxjwt exception it raised."""
    try:
        call()
    except BoxJWTError as exc:
        return exc
    raise AssertionError("the scenario raised nothing")


def check(world: World, name: str) -> None:
    expected, scenario = SCENARIOS[name]
    world.emu.faults.clear()
    try:
        exc = trigger(scenario(world))
    finally:
        world.emu.faults.clear()
    assert isinstance(exc, expected), (name, exc)
    assert_no_secret_reachable_from(exc, world.secrets)


#: Secrets long and varied enough never to occur in other text by chance. The marker keeps
#: Hypothesis's guesses from the source's own string constants ("MemoryTokenStore"...) from
#: being "secrets" that any repr contains.
secret = (
    st.text(ALNUM, min_size=14, max_size=40).filter(lambda s: len(set(s)) >= 6).map("qZ".__add__)
)
four_secrets = st.lists(secret, min_size=4, max_size=4, unique=True)


def make_world(
    emu: BoxEmulator, clock: FakeClock, ekf: EmulatedKeyFile, workdir: Path, drawn: list[str]
) -> World:
    client_secret, passphrase, other, query = drawn
    return World(emu, clock, ekf, workdir, client_secret, passphrase, other, query)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_fault_leaks_nothing(
    emu: BoxEmulator, clock: FakeClock, ekf: EmulatedKeyFile, workdir: Path, name: str
) -> None:
    """Every scenario once, with random secrets: the matrix is covered in every run."""
    drawn = [secrets.token_hex(12) for _ in range(4)]
    check(make_world(emu, clock, ekf, workdir, drawn), name)


#: Each example makes real HTTP requests (a few to tens of milliseconds on a busy machine):
#: the property keeps to seconds even under the ``ci`` profile's 1,000 examples.
EXAMPLES = min(settings.default.max_examples, 150)


@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_no_secret_is_reachable_from_any_exception(
    emu: BoxEmulator, clock: FakeClock, ekf: EmulatedKeyFile, workdir: Path, data: st.DataObject
) -> None:
    """The property: random secrets, a random scenario, nothing reachable."""
    drawn = data.draw(four_secrets, label="secrets")
    name = data.draw(st.sampled_from(list(SCENARIOS)), label="scenario")
    check(make_world(emu, clock, ekf, workdir, drawn), name)


# ---------------------------------------------------------------------------- Redis


@pytest.fixture(scope="module")
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    conn = redis_server.client()
    yield conn
    conn.close()


@settings(max_examples=EXAMPLES)
@given(data=st.data())
@pytest.mark.redis
def test_no_secret_is_reachable_from_redis_store_errors(
    emu: BoxEmulator,
    clock: FakeClock,
    ekf: EmulatedKeyFile,
    workdir: Path,
    redis_client: redis.Redis,
    *,
    data: st.DataObject,
) -> None:
    drawn = data.draw(four_secrets, label="secrets")
    world = make_world(emu, clock, ekf, workdir, drawn)
    bad_key = data.draw(
        st.binary(min_size=16, max_size=48).filter(lambda k: len(k) != 44), label="bad key"
    )
    exc = trigger(lambda: RedisTokenStore(redis_client, encryption_key=[bad_key]))
    assert isinstance(exc, ConfigurationError)
    text_key = bad_key.decode("latin-1")
    assert_no_secret_reachable_from(exc, [text_key, bad_key.hex(), repr(bad_key)[2:-1]])

    good_key = data.draw(st.binary(min_size=32, max_size=32), label="good key")
    fernet_key = base64.urlsafe_b64encode(good_key).decode()
    store = RedisTokenStore(redis_client, encryption_key=fernet_key, prefix="noleak")
    auth = world.auth(token_store=store)
    emu.faults.push("/oauth2/token", 400, body=oauth("invalid_client", "bad"))
    try:
        exc = trigger(auth.enterprise_token)
    finally:
        emu.faults.clear()
    assert isinstance(exc, InvalidClientCredentialsError)
    assert_no_secret_reachable_from(exc, [*world.secrets, fernet_key])


# ---------------------------------------------------------------------------- the named attacks


@pytest.fixture
def world(emu: BoxEmulator, clock: FakeClock, ekf: EmulatedKeyFile, workdir: Path) -> World:
    return make_world(emu, clock, ekf, workdir, ["qZ" + secrets.token_hex(12) for _ in range(4)])


def formatted(exc: BaseException) -> str:
    """Exactly what Sentry-style reporters format: the whole chain, with every frame's locals."""
    report = traceback.TracebackException(type(exc), exc, exc.__traceback__, capture_locals=True)
    return "".join(report.format())


def test_wrong_passphrase_frames_show_where_but_not_the_key_file(world: World) -> None:
    path = world.workdir / "key.json"
    path.write_text(world.text)
    os.chmod(path, 0o600)
    wrong = Secret(world.other)  # the caller's own frames hold nothing readable either
    exc = trigger(lambda: KeyFile.from_file(path, passphrase=wrong))
    assert isinstance(exc, WrongPassphraseError)
    text = formatted(exc)
    assert "in load_private_key" in text  # the frames are still there...
    assert "_keyfile.py" in text
    for value in world.secrets:
        assert value not in text  # ...their locals are not
    assert '"boxAppSettings"' not in text


def test_a_token_error_chains_no_request(world: World) -> None:
    exc = trigger(wrong_client_secret(world))
    assert isinstance(exc, InvalidClientCredentialsError)
    assert exc.__cause__ is None
    assert exc.__context__ is None  # not merely suppressed: gone, with its request body
    assert world.client_secret not in formatted(exc)


@pytest.mark.parametrize("scenario", [api_connection_dropped, upload_host_down])
def test_a_transport_error_chains_a_sanitized_cause(world: World, scenario: Scenario) -> None:
    exc = trigger(scenario(world))
    assert isinstance(exc, TransportError)
    cause = exc.__cause__
    assert isinstance(cause, requests.ConnectionError)  # the type callers may test for
    assert cause.request is None  # no Authorization header to find
    assert cause.response is None
    assert exc.__context__ is None
    assert cause.__traceback__ is None
    assert world.query_secret not in str(exc)
    assert world.query_secret not in str(cause)


def test_a_transport_error_message_masks_query_values(world: World) -> None:
    exc = trigger(upload_host_down(world))
    assert "Max retries exceeded" in str(exc)  # urllib3 quotes the URL it tried...
    assert "shared_link_password=**********" in str(exc)  # ...names kept, values masked
    assert world.query_secret not in str(exc)


def test_scrubbing_stops_at_the_callers_own_exception() -> None:
    def callers_code() -> None:
        callers_local = "qZcallersOwnValue1"  # noqa: F841 - inspected through the frame
        raise ValueError("the caller's")

    caught: list[BaseException] = []
    try:
        callers_code()
    except ValueError as outer:
        caught.append(outer)
        exc = trigger(lambda: KeyFile.from_json("[]"))  # raised while the caller handles one
    assert isinstance(exc, KeyFileJSONError)
    assert exc.__context__ is caught[0]  # chained to the caller's, as Python does...
    tb = caught[0].__traceback__
    assert tb is not None
    assert tb.tb_next is not None
    assert tb.tb_next.tb_frame.f_locals["callers_local"] == "qZcallersOwnValue1"  # left alone


def test_errors_that_are_not_boxjwts_keep_their_locals(world: World) -> None:
    class BrokenStore(MemoryTokenStore):
        def lock(self, key: str) -> contextlib.AbstractContextManager[None]:
            raise RuntimeError("a bug in a custom store")

    auth = world.auth(token_store=BrokenStore())
    with pytest.raises(RuntimeError) as info:
        auth.enterprise_token()
    names = [frame.f_code.co_name for frame, _ in traceback.walk_tb(info.value.__traceback__)]
    frame = next(
        f for f, _ in traceback.walk_tb(info.value.__traceback__) if f.f_code.co_name == "_refresh"
    )
    assert "_refresh" in names
    assert frame.f_locals["subject_type"] == "enterprise"  # debuggable as before


def test_a_cause_that_cannot_be_rebuilt_is_not_chained() -> None:
    class Unusual(requests.RequestException):
        def __init__(self, code: int, text: str) -> None:
            super().__init__(f"{code}: {text}")

    assert sanitized_cause(Unusual(7, "odd")) is None
    rebuilt = sanitized_cause(requests.ConnectionError("GET /x?password=qZsecret123456 failed"))
    assert isinstance(rebuilt, requests.ConnectionError)
    assert str(rebuilt) == "GET /x?password=********** failed"
