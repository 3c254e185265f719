"""raise_for_box_error / api_error_from_response: Box's three error shapes, over real HTTP.

A :class:`RecordingServer` answers exactly the bytes Box would (and the odd variants); the
responses are fetched with plain ``requests`` so the parser sees real ``requests.Response``s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from boxjwt import raise_for_box_error
from boxjwt._errors import api_error_from_response, parse_www_authenticate
from boxjwt.exceptions import (
    AccessDeniedError,
    APIError,
    AppNotAuthorizedError,
    BoxJWTError,
    ConflictError,
    InsufficientScopeError,
    InvalidTokenError,
    NotFoundError,
    RateLimitExceededError,
    ServerAPIError,
    TokenExchangeError,
    TokenServerError,
)
from recording_server import Answer, RecordingServer

INSUFFICIENT_SCOPE = (
    'Bearer realm="Service", error="insufficient_scope", '
    'error_description="The request requires higher privileges than provided by the access token."'
)
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
        (403, "forbidden_by_policy", AccessDeniedError),
        (404, "not_found", NotFoundError),
        (409, "item_name_in_use", ConflictError),
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
    assert exc.retryable is (cls in (RateLimitExceededError, ServerAPIError, InvalidTokenError))
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
