"""raise_for_box_error / api_error_from_response: Box's three error shapes, over real HTTP.

A :class:`RecordingServer` answers exactly the bytes Box would (and the odd variants); the
responses are fetched with plain ``requests`` so the parser sees real ``requests.Response``s.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from boxjwt import (
    AsUserSession,
    JWTAuthenticator,
    KeyFile,
    RateLimiter,
    RetryPolicy,
    exceptions,
    raise_for_box_error,
)
from boxjwt import _remedies as remedies
from boxjwt._answers import api_error, token_error
from boxjwt._errors import api_error_from_response, parse_www_authenticate
from boxjwt._token_endpoint import transport_error
from boxjwt.exceptions import (
    MAX_ERROR_BODY,
    AccessDeniedError,
    APIError,
    AppNotAuthorizedError,
    AssertionExpError,
    BoxJWTError,
    ConfigurationError,
    ConflictError,
    EnterpriseIDError,
    FileSizeLimitExceededError,
    ForbiddenByPolicyError,
    InsufficientScopeError,
    InvalidPEMError,
    InvalidTokenError,
    KeyFileError,
    KeyFileFieldError,
    KeyFileJSONError,
    KeyFileNotFoundError,
    KeyFileNotReadableError,
    NotFoundError,
    PassphraseRequiredError,
    PrivateKeyMissingError,
    RateLimitExceededError,
    ResponseError,
    ServerAPIError,
    StorageLimitExceededError,
    TemporaryConflictError,
    TokenExchangeError,
    TokenServerError,
    TransportError,
    WrongPassphraseError,
)
from boxjwt.testing import BoxEmulator, FakeClock
from recording_server import Answer, RecordingServer

INSUFFICIENT_SCOPE = (
    'Bearer realm="Service", error="insufficient_scope", '
    'error_description="The request requires higher privileges than provided by the access token."'
)
ME = "/2.0/users/me"
INVALID_TOKEN = (
    'Bearer realm="Service", error="invalid_token", '
    'error_description="The access token provided is invalid."'
)


@pytest.fixture(scope="module")
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as srv:
        yield srv


def fetch(
    server: RecordingServer, answer: Answer, method: str = "GET", path: str = "/2.0/files/1"
) -> requests.Response:
    server.script(answer)
    return requests.request(method, server.url + path, timeout=10, allow_redirects=False)


def box_json(status: int, code: str | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "error",
        "status": status,
        "code": code,
        "help_url": "http://developers.box.com/docs/#errors",
        "message": extra.pop("message", "Something"),
        "request_id": extra.pop("request_id", "body-rid"),
    }
    body.update(extra)
    return body


def error_of(response: requests.Response) -> BoxJWTError:
    with pytest.raises(BoxJWTError) as caught:
        raise_for_box_error(response)
    assert caught.value is not None
    return caught.value


# --------------------------------------------------------------------------- shape 1: JSON


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "bad_request", APIError),
        (403, "access_denied_insufficient_permissions", AccessDeniedError),
        (403, "forbidden_by_policy", ForbiddenByPolicyError),
        (403, "storage_limit_exceeded", StorageLimitExceededError),
        (403, "file_size_limit_exceeded", FileSizeLimitExceededError),
        (403, "some_new_reason", AccessDeniedError),
        (404, "not_found", NotFoundError),
        (409, "item_name_in_use", ConflictError),
        (409, "operation_blocked_temporary", TemporaryConflictError),
        (409, "name_temporarily_reserved", TemporaryConflictError),
        (429, "rate_limit_exceeded", RateLimitExceededError),
        (500, "internal_server_error", ServerAPIError),
        (503, "unavailable", ServerAPIError),
        (401, "unauthorized", InvalidTokenError),
        (405, "method_not_allowed", APIError),
    ],
)
def test_json_client_errors_map_by_status_and_code(
    server: RecordingServer, status: int, code: str, cls: type[APIError]
) -> None:
    response = fetch(
        server,
        Answer(status, {"box-request-id": "header-rid"}, box_json(status, code)),
    )
    exc = error_of(response)
    assert type(exc) is cls
    assert isinstance(exc, APIError)
    assert exc.status_code == status
    assert exc.code == code
    assert exc.request_id == "body-rid"  # the body's id wins over the header's
    assert exc.help_url == "http://developers.box.com/docs/#errors"
    assert json.loads(exc.body or "")["code"] == code
    assert exc.headers["box-request-id"] == "header-rid"
    assert exc.method == "GET"
    assert exc.url == f"{server.url}/2.0/files/1"
    assert exc.retryable is cls.default_retryable
    assert exc.retryable is (
        cls in (RateLimitExceededError, ServerAPIError, InvalidTokenError, TemporaryConflictError)
    )
    assert f"HTTP {status} {code}: Something" in str(exc)
    assert "(Box request id body-rid)" in str(exc)
    assert exc.box_message is not None
    assert exc.box_message.startswith("Something")  # Box's words, without our advice


def test_access_denied_explains_as_user_causes(server: RecordingServer) -> None:
    exc = error_of(
        fetch(server, Answer(403, {}, box_json(403, "access_denied_insufficient_permissions")))
    )
    assert "App + Enterprise Access" in str(exc)


def test_json_error_without_request_id_uses_the_header(server: RecordingServer) -> None:
    body = box_json(404, "not_found", request_id=None)
    exc = error_of(fetch(server, Answer(404, {"BOX-REQUEST-ID": "hdr-1"}, body)))
    assert exc.request_id == "hdr-1"  # type: ignore[attr-defined]


def test_json_error_without_code_or_message(server: RecordingServer) -> None:
    body = {"type": "error", "status": 500}
    exc = error_of(fetch(server, Answer(500, {}, body)))
    assert isinstance(exc, ServerAPIError)
    assert exc.code is None
    assert exc.request_id is None
    assert exc.box_message is None
    assert "HTTP 500: Internal Server Error" in str(exc)
    assert " :" not in str(exc)


def test_json_error_without_type_but_with_a_code_is_tolerated(server: RecordingServer) -> None:
    exc = error_of(fetch(server, Answer(404, {}, {"status": 404, "code": "not_found"})))
    assert isinstance(exc, NotFoundError)
    assert exc.code == "not_found"


def test_context_info_and_retry_after_are_kept(server: RecordingServer) -> None:
    conflict = box_json(409, "item_name_in_use", context_info={"conflicts": {"id": "9"}})
    exc = error_of(fetch(server, Answer(409, {}, conflict)))
    assert isinstance(exc, ConflictError)
    assert exc.context_info == {"conflicts": {"id": "9"}}
    limited = error_of(
        fetch(server, Answer(429, {"Retry-After": "7"}, box_json(429, "rate_limit_exceeded")))
    )
    assert isinstance(limited, RateLimitExceededError)
    assert limited.retry_after == 7.0
    assert limited.retryable


# --------------------------------------------------------------------------- shape 2: header only


@pytest.mark.parametrize(
    "header_name", ["WWW-Authenticate", "www-authenticate", "Www-Authenticate"]
)
def test_header_only_401(server: RecordingServer, header_name: str) -> None:
    response = fetch(
        server, Answer(401, {header_name: INVALID_TOKEN, "box-request-id": "r401"}, b"")
    )
    exc = error_of(response)
    assert isinstance(exc, InvalidTokenError)
    assert exc.code == "invalid_token"
    assert exc.request_id == "r401"
    assert exc.body == ""
    assert exc.retryable
    assert "The access token provided is invalid." in str(exc)
    assert "a new one must be obtained" in str(exc)


def test_header_only_401_expired_token(server: RecordingServer) -> None:
    header = 'Bearer realm="Service", error="expired_token", error_description="expired"'
    exc = error_of(fetch(server, Answer(401, {"WWW-Authenticate": header}, b"")))
    assert isinstance(exc, InvalidTokenError)
    assert exc.code == "expired_token"
    assert exc.request_id is None
    assert "Box request id" not in str(exc)


def test_header_only_403_insufficient_scope(server: RecordingServer) -> None:
    response = fetch(
        server, Answer(403, {"WWW-Authenticate": INSUFFICIENT_SCOPE, "box-request-id": "r403"}, b"")
    )
    exc = error_of(response)
    assert isinstance(exc, InsufficientScopeError)
    assert exc.code == "insufficient_scope"
    assert exc.request_id == "r403"
    assert exc.box_message == (
        "The request requires higher privileges than provided by the access token."
    )
    assert "Reauthorize App" in str(exc)
    assert not exc.retryable


def test_403_with_neither_body_nor_header_is_access_denied(server: RecordingServer) -> None:
    exc = error_of(fetch(server, Answer(403, {}, b"")))
    assert isinstance(exc, AccessDeniedError)
    assert exc.code is None
    assert str(exc) == f"GET {server.url}/2.0/files/1 failed: HTTP 403"


def test_non_json_bodies_are_kept_raw(server: RecordingServer) -> None:
    html = b"<html><body>502 Bad Gateway</body></html>"
    exc = error_of(fetch(server, Answer(502, {"Content-Type": "text/html"}, html)))
    assert isinstance(exc, ServerAPIError)
    assert exc.body == html.decode()
    assert exc.code is None
    listed = error_of(fetch(server, Answer(400, {}, b"[1, 2]")))
    assert type(listed) is APIError
    assert listed.body == "[1, 2]"


def test_the_query_string_never_reaches_the_error(server: RecordingServer) -> None:
    response = fetch(
        server,
        Answer(404, {}, box_json(404, "not_found")),
        path="/2.0/shared_items?password=hunter2",
    )
    exc = error_of(response)
    assert "hunter2" not in str(exc)
    assert isinstance(exc, APIError)
    assert exc.url == f"{server.url}/2.0/shared_items"


# --------------------------------------------------------------------------- shape 3: OAuth


def test_oauth_shape_becomes_a_token_exchange_error(server: RecordingServer) -> None:
    body = (
        b'{"error":"unauthorized_client",'
        b'"error_description":"This app is not authorized by the enterprise admin"}'
    )
    exc = error_of(
        fetch(server, Answer(400, {"box-request-id": "oauth-rid"}, body), "POST", "/oauth2/token")
    )
    assert isinstance(exc, AppNotAuthorizedError)
    assert isinstance(exc, TokenExchangeError)
    assert exc.error == "unauthorized_client"
    assert exc.request_id == "oauth-rid"
    assert exc.body == body.decode()


def test_oauth_shape_5xx(server: RecordingServer) -> None:
    exc = error_of(fetch(server, Answer(503, {}, {"error": "temporarily_unavailable"})))
    assert isinstance(exc, TokenServerError)
    assert exc.retryable


# --------------------------------------------------------------------------- helpers


def test_successes_and_redirects_pass_through(server: RecordingServer) -> None:
    ok = fetch(server, Answer(200, {}, {"id": "1"}))
    assert raise_for_box_error(ok) is ok
    moved = fetch(server, Answer(302, {"Location": "https://dl.boxcloud.com/x"}, b""))
    assert raise_for_box_error(moved) is moved
    accepted = fetch(server, Answer(202, {"Retry-After": "3"}, b""))
    assert raise_for_box_error(accepted) is accepted


def test_a_hand_made_response_without_request() -> None:
    response = requests.Response()
    response.status_code = 404
    response._content = b""
    exc = api_error_from_response(response)
    assert isinstance(exc, NotFoundError)
    assert exc.method is None
    assert exc.url is None
    assert str(exc).startswith("request failed: HTTP 404")
    response.url = "/2.0/files/1?x=1"
    relative = api_error_from_response(response)
    assert str(relative).startswith("/2.0/files/1 failed: HTTP 404")


def test_parse_www_authenticate() -> None:
    assert parse_www_authenticate(None) == {}
    assert parse_www_authenticate("") == {}
    params = parse_www_authenticate(
        'Bearer realm="Service", ERROR=invalid_token, error_description="say \\"hi\\", ok"'
    )
    assert params == {
        "realm": "Service",
        "error": "invalid_token",
        "error_description": 'say "hi", ok',
    }


# --------------------------------------------------------------------------- the error model


def test_every_error_carries_remedy_and_retryable() -> None:
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        if not issubclass(cls, BoxJWTError):
            continue
        assert cls.remedy is None or cls.remedy.strip(), name
        assert isinstance(cls.default_retryable, bool), name
    plain = BoxJWTError("x")
    assert (plain.message, plain.remedy, plain.retryable) == ("x", None, False)
    told = ConfigurationError("bad", remedy="do this", retryable=True)
    assert (told.remedy, told.retryable, str(told)) == ("do this", True, "bad")
    assert isinstance(told, ValueError)


def test_response_errors_share_one_base() -> None:
    token = TokenExchangeError("t", status_code=400, error="invalid_grant", retry_after=2.0)
    api = APIError("a", status_code=404, code="not_found", request_id="r", headers={"a": "b"})
    for exc in (token, api):
        assert isinstance(exc, ResponseError)
    assert (token.code, token.error, token.retry_after) == ("invalid_grant", "invalid_grant", 2.0)
    assert (api.error, api.request_id, api.headers) == ("not_found", "r", {"a": "b"})
    api.error = "changed"
    assert api.code == "changed"


def test_a_huge_error_body_is_kept_bounded(server: RecordingServer) -> None:
    huge = b'{"type": "error", "status": 500, "code": "x", "message": "' + b"y" * 300_000 + b'"}'
    exc = error_of(fetch(server, Answer(500, {}, huge)))
    assert isinstance(exc, ServerAPIError)
    assert len(exc.body or "") == MAX_ERROR_BODY
    assert exc.body_truncated
    small = error_of(fetch(server, Answer(500, {}, b"tiny")))
    assert isinstance(small, ServerAPIError)
    assert (small.body, small.body_truncated) == ("tiny", False)


@pytest.mark.parametrize(
    ("code", "cls", "remedy"),
    [
        ("storage_limit_exceeded", StorageLimitExceededError, remedies.STORAGE_LIMIT),
        ("file_size_limit_exceeded", FileSizeLimitExceededError, remedies.FILE_SIZE_LIMIT),
        ("forbidden_by_policy", ForbiddenByPolicyError, remedies.FORBIDDEN_BY_POLICY),
        ("some_new_reason", AccessDeniedError, None),
    ],
)
def test_only_permission_403s_get_the_permission_hint(
    server: RecordingServer, code: str, cls: type[AccessDeniedError], remedy: str | None
) -> None:
    exc = error_of(fetch(server, Answer(403, {}, box_json(403, code, message="Nope"))))
    assert type(exc) is cls
    assert isinstance(exc, AccessDeniedError)  # old except clauses still catch it
    assert exc.remedy == remedy
    assert "App Access Level" not in str(exc)
    assert "lacks permission" not in str(exc)
    if remedy is not None:
        assert str(exc).endswith(f"Nope. {remedy} (Box request id body-rid)")


@pytest.mark.parametrize(
    "code", ["access_denied_insufficient_permissions", "access_denied_item_locked"]
)
def test_permission_403s_name_the_access_level_and_the_target(
    server: RecordingServer, code: str
) -> None:
    exc = error_of(fetch(server, Answer(403, {}, box_json(403, code))))
    assert type(exc) is AccessDeniedError
    assert exc.remedy == remedies.ACCESS_DENIED
    assert "App Access Level" in str(exc)


def test_transient_409s_are_retryable_conflicts(server: RecordingServer) -> None:
    exc = error_of(
        fetch(
            server,
            Answer(409, {"Retry-After": "4"}, box_json(409, "operation_blocked_temporary")),
        )
    )
    assert isinstance(exc, TemporaryConflictError)
    assert isinstance(exc, ConflictError)
    assert (exc.retryable, exc.retry_after) == (True, 4.0)
    assert exc.remedy == remedies.TEMPORARY_CONFLICT


@pytest.mark.parametrize(
    ("service_account", "expected"),
    [
        (True, remedies.NOT_FOUND_AS_SERVICE_ACCOUNT),
        (False, remedies.NOT_FOUND),
        (None, remedies.NOT_FOUND),
    ],
)
def test_404_remedy_depends_on_who_made_the_call(
    server: RecordingServer, service_account: bool | None, expected: str
) -> None:
    response = fetch(server, Answer(404, {}, box_json(404, "not_found")))
    exc = api_error_from_response(response, service_account=service_account)
    assert isinstance(exc, NotFoundError)
    assert exc.remedy == expected
    assert expected in str(exc)
    with pytest.raises(NotFoundError) as raised:
        raise_for_box_error(response, service_account=service_account)
    assert raised.value.remedy == expected


def test_keyfile_errors_split_problem_and_remedy() -> None:
    baked = KeyFileError("key.json: bad thing. Fix: do the fix.", source="key.json")
    assert (baked.problem, baked.remedy) == ("key.json: bad thing.", "do the fix.")
    assert str(baked) == "key.json: bad thing. Fix: do the fix."
    given = PassphraseRequiredError("no passphrase.", remedy=remedies.PASSPHRASE)
    assert str(given) == f"no passphrase. Fix: {remedies.PASSPHRASE}"
    assert (given.problem, given.remedy) == ("no passphrase.", remedies.PASSPHRASE)
    both = KeyFileError("bad.\nFix: the fix.", remedy="the fix.")
    assert (str(both), both.problem, both.remedy) == ("bad.\nFix: the fix.", "bad.", "the fix.")
    odd = KeyFileError("'a Fix: b.json' does not exist.", remedy="check the path.")
    assert str(odd) == "'a Fix: b.json' does not exist. Fix: check the path."
    assert (odd.problem, odd.remedy) == ("'a Fix: b.json' does not exist.", "check the path.")
    default = WrongPassphraseError("wrong passphrase.")
    assert (default.problem, default.remedy) == ("wrong passphrase.", remedies.PASSPHRASE)
    assert str(default) == "wrong passphrase."


def test_transport_errors_carry_their_remedy() -> None:
    err = transport_error(requests.ConnectionError("refused"), "GET", "https://api.box.com/x")
    assert (err.retryable, err.remedy) == (True, remedies.NETWORK)
    tls = transport_error(requests.exceptions.SSLError("bad cert"), "GET", "https://x/")
    assert (tls.retryable, tls.remedy) == (False, remedies.TLS)
    assert TransportError("x").retryable is True


# --------------------------------------------------------------------------- through a session


@pytest.fixture
def auth(emu: BoxEmulator, clock: FakeClock) -> Iterator[JWTAuthenticator]:
    keyfile = emu.make_keyfile().load()
    authenticator = JWTAuthenticator(
        keyfile,
        base_url=emu.base_url,
        clock=clock,
        sleep=clock.sleep,
        retry=RetryPolicy(jitter=0.0, max_total_time=600.0),
    )
    yield authenticator
    authenticator.close()


UPLOAD = "/api/2.0/files/content"


def upload(s: AsUserSession, name: str) -> requests.Response:
    attributes = json.dumps({"name": name, "parent": {"id": "0"}})
    return s.post(UPLOAD, files={"attributes": (None, attributes), "file": (name, b"data")})


@pytest.mark.parametrize("code", ["operation_blocked_temporary", "name_temporarily_reserved"])
def test_transient_409_is_retried_like_a_429_for_every_method(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock, code: str
) -> None:
    emu.faults.push(UPLOAD, 409, body=box_json(409, code), count=2)
    emu.faults.push(UPLOAD, 409, body=box_json(409, code), retry_after=7)
    with AsUserSession(auth, emu.managed_users[0].id) as s:
        assert upload(s, "a.txt").status_code == 201
    assert emu.count("POST", UPLOAD) == 4
    assert clock.sleeps == [1.0, 2.0, 7.0]  # backoff without Retry-After, else Retry-After


def test_a_lasting_409_is_not_retried(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock
) -> None:
    with AsUserSession(auth, emu.managed_users[0].id, raise_for_status=True) as s:
        upload(s, "same.txt")
        with pytest.raises(ConflictError) as info:
            upload(s, "same.txt")
    assert type(info.value) is ConflictError
    assert not info.value.retryable
    assert emu.count("POST", UPLOAD) == 2
    assert clock.sleeps == []


def test_429_without_retry_after_backs_off_exponentially(
    emu: BoxEmulator, auth: JWTAuthenticator, clock: FakeClock
) -> None:
    emu.faults.push(ME, 429, count=4)
    with AsUserSession(auth, rate_limiter=RateLimiter.disabled()) as s:  # the retry policy's
        assert s.get(ME).status_code == 200
    assert emu.count("GET", ME) == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]


def test_429_backoff_is_jittered_and_bounded(emu: BoxEmulator, clock: FakeClock) -> None:
    keyfile = emu.make_keyfile().load()
    policy = RetryPolicy(max_attempts=8, max_total_time=10_000.0, backoff_max=5.0)
    with JWTAuthenticator(
        keyfile, base_url=emu.base_url, clock=clock, sleep=clock.sleep, retry=policy
    ) as auth:
        emu.faults.push(ME, 429, count=7)
        with AsUserSession(auth, rate_limiter=RateLimiter.disabled()) as s:
            assert s.get(ME).status_code == 200
    nominal = [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]
    assert len(clock.sleeps) == len(nominal)
    for slept, expected in zip(clock.sleeps, nominal, strict=True):
        assert 0.5 * expected <= slept <= 1.5 * expected


def test_404_as_the_service_account_says_to_act_as_the_owner(
    emu: BoxEmulator, auth: JWTAuthenticator
) -> None:
    with AsUserSession(auth, raise_for_status=True) as service:
        with pytest.raises(NotFoundError) as as_service:
            service.get("/2.0/folders/123")
        assert as_service.value.remedy == remedies.NOT_FOUND_AS_SERVICE_ACCOUNT
        assert "for_user" in str(as_service.value)
        user = emu.managed_users[0].id
        for mode in ("as_user", "user_token"):
            acting = AsUserSession(auth, user, mode=mode, raise_for_status=True)  # type: ignore[arg-type]
            with pytest.raises(NotFoundError) as as_user:
                acting.get("/2.0/folders/123")
            assert as_user.value.remedy == remedies.NOT_FOUND
            assert "for_user" not in str(as_user.value)


def _config(**app_auth: str) -> dict[str, Any]:
    auth = {"publicKeyID": "kid1", "privateKey": "not a key", "passphrase": "", **app_auth}
    return {
        "boxAppSettings": {"clientID": "cid", "clientSecret": "sec", "appAuth": auth},
        "enterpriseID": "123",
    }


@pytest.mark.parametrize(
    ("make", "cls"),
    [
        (lambda tmp: KeyFile.from_file(tmp / "missing.json"), KeyFileNotFoundError),
        (KeyFile.from_file, KeyFileNotReadableError),
        (lambda tmp: KeyFile.from_json("{"), KeyFileJSONError),
        (lambda tmp: KeyFile.from_json("[]"), KeyFileJSONError),
        (lambda tmp: KeyFile.from_dict({"boxAppSettings": {}}), KeyFileFieldError),
        (lambda tmp: KeyFile.from_env(environ={}), KeyFileError),
        (lambda tmp: KeyFile.from_dict({**_config(), "enterpriseID": "0"}), EnterpriseIDError),
        (lambda tmp: KeyFile.from_dict(_config()), InvalidPEMError),
        (lambda tmp: KeyFile.from_dict(_config(privateKey="")), PrivateKeyMissingError),
    ],
)
def test_keyfile_errors_end_with_their_remedy(
    tmp_path: Path, make: Callable[[Path], object], cls: type[KeyFileError]
) -> None:
    with pytest.raises(KeyFileError) as info:
        make(tmp_path)
    exc = info.value
    assert type(exc) is cls
    assert exc.remedy
    assert str(exc).endswith(f"Fix: {exc.remedy}")
    assert "Fix:" not in exc.problem
    assert str(exc).startswith(exc.problem)


@pytest.mark.parametrize("header", ["a" * 100_000, 'Bearer error="' + "x" * 100_000, "a=" * 50_000])
def test_parsing_a_hostile_www_authenticate_is_linear(header: str) -> None:
    # Before: 100,000 letters took the auth-param regex O(n**2) steps (minutes).
    done: list[dict[str, str]] = []
    worker = threading.Thread(target=lambda: done.append(parse_www_authenticate(header)))
    worker.daemon = True
    worker.start()
    worker.join(timeout=5.0)
    assert done, "parse_www_authenticate did not finish within 5 s"


def test_answers_are_built_from_plain_values() -> None:
    refused = token_error(
        400,
        {"Date": "Thu, 01 Jan 2026 00:00:00 GMT"},
        '{"error": "invalid_grant", "error_description": "Please check the \'exp\' claim."}',
        context="the token for enterprise 1",
    )
    assert type(refused) is AssertionExpError
    assert refused.retryable
    assert str(refused).startswith("Box refused the token for enterprise 1: HTTP 400")
    scope = api_error(
        403,
        {"WWW-Authenticate": INSUFFICIENT_SCOPE},
        "",
        method="GET",
        url="https://api.box.com/2.0/users",
    )
    assert isinstance(scope, InsufficientScopeError)
    assert str(scope).startswith("GET https://api.box.com/2.0/users failed: HTTP 403")
    assert isinstance(api_error(400, {}, '{"error": "invalid_client"}'), TokenExchangeError)
