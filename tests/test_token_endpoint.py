"""/oauth2/* calls: the classification table, parsing, redirects, transport errors.

Protocol details are checked over real HTTP against a tiny scripted server on loopback (so
that odd answers Box's emulator never gives, and a redirect, can be served exactly).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from boxjwt._classify import MAX_DESCRIPTION, TOKEN_RULES, description_words
from boxjwt._secret import Secret
from boxjwt._token import AccessToken
from boxjwt._token_endpoint import (
    JWT_GRANT,
    TOKEN_EXCHANGE_GRANT,
    TokenEndpoint,
    classify,
    get_header,
    server_time,
    token_error_from_response,
    transport_error,
)
from boxjwt.exceptions import (
    MAX_ERROR_BODY,
    AlgorithmNotAllowedError,
    AppNotAuthorizedError,
    AssertionExpError,
    AssertionExpiredError,
    AssertionExpTooFarError,
    GrantTypeUnauthorizedError,
    InvalidClientCredentialsError,
    InvalidExpClaimError,
    InvalidGrantTypeError,
    InvalidSubjectError,
    InvalidSubjectTokenError,
    IssuerMismatchError,
    JTIReusedError,
    NoPublicKeyError,
    PublicKeyNotFoundError,
    SignatureMismatchError,
    TokenExchangeError,
    TokenRateLimitedError,
    TokenServerError,
    TransportError,
    UnsupportedScopeError,
    UserTokenNotAllowedError,
)
from recording_server import DROP, Answer, RecordingServer, echo

CLIENT_SECRET = "s3cr3t-client-secret-value-0123456789"
ASSERTION = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
TOKEN_VALUE = "T0kenValue0123456789abcdefABCDEF"
DATE = "Thu, 01 Jan 2026 00:00:00 GMT"
DATE_TS = 1_767_225_600.0


# --------------------------------------------------------------------------- scripted server


@pytest.fixture(scope="module")
def shared_server() -> Iterator[RecordingServer]:
    # No automatic Date or Content-Type: the script decides; an unscripted request gets a 500.
    with RecordingServer(auto_headers=False, otherwise=Answer(500, {}, b"")) as server:
        yield server


@pytest.fixture
def server(shared_server: RecordingServer) -> RecordingServer:
    shared_server.reset()
    return shared_server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def endpoint(url: str, session: requests.Session, now: float = 5000.0) -> TokenEndpoint:
    return TokenEndpoint(
        base_url=url,
        client_id="cid",
        client_secret=Secret(CLIENT_SECRET),
        session=session,
        timeout=5.0,
        clock=lambda: now,
    )


def ok_body(**extra: Any) -> dict[str, Any]:
    return {
        "access_token": TOKEN_VALUE,
        "expires_in": 4000,
        "restricted_to": [],
        "token_type": "bearer",
        **extra,
    }


# --------------------------------------------------------------------------- the table

#: Every wording of box-facts §3 (both tables), as Box sends it: (error, description, class).
BOX_ERRORS: list[tuple[str | None, str | None, type[TokenExchangeError]]] = [
    (
        "unauthorized_client",
        "This app is not authorized by the enterprise admin",
        AppNotAuthorizedError,
    ),
    ("unauthorized_client", "This app is not authorized by the enterprise", AppNotAuthorizedError),
    ("invalid_client", "The client credentials are invalid", InvalidClientCredentialsError),
    ("invalid_client", "The client credentials are not valid", InvalidClientCredentialsError),
    ("invalid_grant", "'kid' invalid, unable to lookup correct key", PublicKeyNotFoundError),
    ("invalid_grant", '"kid" invalid, unable to lookup correct key', PublicKeyNotFoundError),
    ("invalid_grant", "kid invalid, unable to lookup correct key", PublicKeyNotFoundError),
    ("invalid_grant", "Unable to lookup correct key", PublicKeyNotFoundError),
    (
        "invalid_grant",
        'Signature verification error. The public key identified by "kid" must correspond to '
        "the private key used for signing.",
        SignatureMismatchError,
    ),
    (
        "invalid_grant",
        "OpenSSL unable to verify data: error:0906D06C:PEM routines:PEM_read_bio:no start line",
        SignatureMismatchError,
    ),
    ("invalid_grant", "Signature verification error", SignatureMismatchError),
    (None, "This app is not configured properly. No public key(s) added", NoPublicKeyError),
    ("invalid_grant", "Algorithm not allowed", AlgorithmNotAllowedError),
    ("invalid_grant", "Please check the 'iss' claim.", IssuerMismatchError),
    ("invalid_grant", 'Please check the "iss" claim.', IssuerMismatchError),
    (
        "invalid_grant",
        "Please check the 'sub' claim. The 'sub' specified is invalid.",
        InvalidSubjectError,
    ),
    ("invalid_grant", "PLEASE CHECK THE SUB CLAIM", InvalidSubjectError),
    (
        "invalid_grant",
        "Current date/time MUST be before the expiration date/time listed in the 'exp' claim",
        AssertionExpiredError,
    ),
    (
        "invalid_grant",
        "Current date\\/time MUST be before the expiration date\\/time listed in the "
        "\\'exp\\' claim",
        AssertionExpiredError,
    ),
    (
        "invalid_grant",
        "Current date time must be before the expiration date time listed in the 'exp' claim.",
        AssertionExpiredError,
    ),
    (
        "invalid_grant",
        "Please check the 'exp' claim. The 'exp' value exceeds the maximum value of 60 seconds "
        "beyond the issue time.",
        AssertionExpTooFarError,
    ),
    ("invalid_grant", "Please check the 'exp' claim. Should be an integer", InvalidExpClaimError),
    ("invalid_grant", "Please check the 'exp' claim.", AssertionExpError),
    ("invalid_grant", "Please check the `exp` claim", AssertionExpError),
    (
        "invalid_grant",
        "Please check the \u2018jti\u2019 claim. A unique \u2018jti\u2019 value is required.",
        JTIReusedError,
    ),
    ("invalid_grant", "Please check the `jti` claim.", JTIReusedError),
    (
        "invalid_request",
        "Cannot obtain user token based on the enterprise configuration for your app",
        UserTokenNotAllowedError,
    ),
    (
        "invalid_request",
        "Cannot obtain token based on the enterprise configuration for your app",
        UserTokenNotAllowedError,
    ),
    (
        "invalid_request",
        "The grant type is unauthorized for this client_id",
        GrantTypeUnauthorizedError,
    ),
    (
        "invalid_request",
        "Invalid grant_type parameter or parameter missing",
        InvalidGrantTypeError,
    ),
    ("invalid_grant", "The subject_token provided is invalid", InvalidSubjectTokenError),
    ("invalid_request", 'Unsupported "scope": root_readwrite', UnsupportedScopeError),
    ("invalid_scope", None, UnsupportedScopeError),
    # bare codes
    ("unauthorized_client", "", AppNotAuthorizedError),
    ("INVALID_CLIENT", "something new", InvalidClientCredentialsError),
    ("unsupported_grant_type", None, GrantTypeUnauthorizedError),
    ("invalid_grant", "something Box has never said", TokenExchangeError),
    (None, None, TokenExchangeError),
]

_TAIL = (
    " See https:\\/\\/developer.box.com\\/guides\\/authentication\\/jwt for details; request "
    "rejected at the edge, please retry later with a corrected request body." * 3
)


def variants(description: str | None) -> list[str | None]:
    """The ways one wording reaches us: as is, and with another case, JSON-escaped slashes,
    other quotes, without / with a trailing period, with a long tail, padded."""
    if not description:
        return [description]
    bare = description.rstrip(".")
    return [
        description,
        description.upper(),
        description.lower(),
        description.replace("/", "\\/"),
        description.replace("'", '"'),
        description.replace('"', "'"),
        description.replace("'", "\\'"),
        bare,
        f"{bare}.",
        f"{bare}!",
        f"{bare}.{_TAIL}",
        f"  {description}\n",
    ]


@pytest.mark.parametrize(("error", "description", "expected"), BOX_ERRORS)
def test_classify_every_box_wording_in_every_variant(
    error: str | None, description: str | None, expected: type[TokenExchangeError]
) -> None:
    for text in variants(description):
        assert classify(400, error, text) is expected, text
        assert classify(None, error, text) is expected, text  # status unknown: same answer


def test_downscope_scope_refusal_may_come_as_401() -> None:
    words = 'Unsupported "scope": item_rename'
    assert classify(401, "invalid_request", words) is UnsupportedScopeError


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, TokenRateLimitedError),
        (500, TokenServerError),
        (502, TokenServerError),
        (503, TokenServerError),
        (599, TokenServerError),
        (202, TokenServerError),
        (408, TokenServerError),
        (204, TokenServerError),
        (401, TokenExchangeError),
        (301, TokenExchangeError),
    ],
)
def test_classify_by_status(status: int, expected: type[TokenExchangeError]) -> None:
    assert classify(status, None, None) is expected


def test_status_rules_win_over_descriptions() -> None:
    # a 5xx is transient even if its body repeats an error text
    assert classify(503, "invalid_grant", "Please check the 'sub' claim.") is TokenServerError
    assert classify(200, "invalid_grant", "Please check the 'sub' claim.") is TokenServerError


def test_every_class_in_the_table_has_a_remedy() -> None:
    for rule in TOKEN_RULES:
        assert rule.cls.remedy, rule.cls
    permanent = {r.cls for r in TOKEN_RULES if not r.cls.default_retryable}
    assert {PublicKeyNotFoundError, SignatureMismatchError, InvalidSubjectError} <= permanent
    transient = {r.cls for r in TOKEN_RULES if r.cls.default_retryable}
    assert transient == {
        TokenRateLimitedError,
        TokenServerError,
        AssertionExpError,
        AssertionExpiredError,
        AssertionExpTooFarError,
        InvalidExpClaimError,
        JTIReusedError,
    }


def test_description_words() -> None:
    assert description_words(None) == " "
    assert description_words("  Date\\/Time  'exp'\n \"x\" `y`. ") == " date time exp x y "
    assert description_words("a" * (MAX_DESCRIPTION + 10)) == f" {'a' * MAX_DESCRIPTION} "


def _classify_in_thread(description: str) -> bool:
    """Classify in a thread; True if it finished within a generous 5 s (linear: ~1 ms)."""
    done: list[type[TokenExchangeError]] = []
    worker = threading.Thread(
        target=lambda: done.append(classify(400, "invalid_grant", description)), daemon=True
    )
    worker.start()
    worker.join(timeout=5.0)
    return bool(done)


@pytest.mark.parametrize("size", [80_000, 320_000])
def test_classification_is_linear_on_hostile_descriptions(size: int) -> None:
    # Before: "exp " * 20,000 took ~10 s in the InvalidExpClaimError regex, 320 kB minutes.
    for description in ("exp " * (size // 4), "'exp' " * (size // 6), "kid " * (size // 4)):
        assert _classify_in_thread(description), description[:20]


def test_a_huge_description_is_bounded_on_the_exception(
    server: RecordingServer, session: requests.Session
) -> None:
    # 60 kB: under the 64 KiB read of a token answer (a longer one is not parsed at all)
    server.script(Answer(400, {}, {"error": "invalid_grant", "error_description": "exp " * 15_000}))
    with pytest.raises(AssertionExpError) as info:
        endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")
    err = info.value
    assert len(err.error_description or "") == MAX_DESCRIPTION
    assert len(str(err)) < 2000


def test_headers_and_server_time() -> None:
    headers = {"Date": DATE, "BOX-REQUEST-ID": "abc"}
    assert get_header(headers, "date") == DATE
    assert get_header(headers, "box-request-id") == "abc"
    assert get_header(headers, "missing") is None
    assert server_time(headers) == DATE_TS
    assert server_time({}) is None
    assert server_time({"date": "yesterday"}) is None
    assert server_time({"date": "Thu, 01 Jan 2026 00:00:00"}) is None  # no zone: not trusted


# --------------------------------------------------------------------------- success


def test_exchange_posts_the_jwt_grant_and_parses_the_token(
    server: RecordingServer, session: requests.Session
) -> None:
    server.script(
        Answer(
            200,
            {"box-request-id": "rid-1", "Date": DATE},
            ok_body(restricted_to=[{"scope": "x"}], token_type="Bearer"),
        )
    )
    result = endpoint(server.url, session, now=5000.0).exchange(ASSERTION, "user", "42")
    [req] = server.received
    assert req.path == "/oauth2/token"
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert req.headers["accept"] == "application/json"
    assert req.form == {
        "grant_type": JWT_GRANT,
        "client_id": "cid",
        "client_secret": CLIENT_SECRET,
        "assertion": ASSERTION,
    }
    token = result.token
    assert token.value == Secret(TOKEN_VALUE)
    assert (token.issued_at, token.expires_at) == (5000.0, 9000.0)
    assert (token.subject_type, token.subject_id) == ("user", "42")
    assert token.token_type == "Bearer"
    assert token.restricted_to == ({"scope": "x"},)
    assert result.request_id == "rid-1"
    assert result.server_time == DATE_TS


@pytest.mark.parametrize(
    "body",
    [
        "<html>captive portal</html>",
        "[1, 2]",
        {"expires_in": 4000},
        {"access_token": "", "expires_in": 4000},
        {"access_token": TOKEN_VALUE},
        {"access_token": TOKEN_VALUE, "expires_in": True},
        {"access_token": TOKEN_VALUE, "expires_in": -5},
        {"access_token": TOKEN_VALUE, "expires_in": "3600"},
    ],
)
def test_unreadable_success_is_a_retryable_server_error(
    server: RecordingServer, session: requests.Session, body: Any
) -> None:
    server.script(Answer(200, {"box-request-id": "rid-2"}, body))
    with pytest.raises(TokenServerError) as info:
        endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")
    err = info.value
    assert err.retryable
    assert err.status_code == 200
    assert err.request_id == "rid-2"
    assert "unreadable" in str(err)
    assert TOKEN_VALUE not in str(err)
    assert TOKEN_VALUE not in (err.body or "")


def test_unreadable_success_without_request_id(
    server: RecordingServer, session: requests.Session
) -> None:
    server.script(Answer(200, {}, ""))
    with pytest.raises(TokenServerError) as info:
        endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")
    assert info.value.request_id is None
    assert "request id" not in str(info.value)


def test_missing_optional_fields_have_defaults(
    server: RecordingServer, session: requests.Session
) -> None:
    server.script(
        Answer(200, {}, {"access_token": TOKEN_VALUE, "expires_in": 3600.5, "restricted_to": "x"})
    )
    result = endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")
    assert result.token.token_type == "bearer"
    assert result.token.restricted_to == ()
    assert result.token.lifetime == 3600.5
    assert (result.request_id, result.server_time) == (None, None)


# --------------------------------------------------------------------------- errors


def test_box_error_carries_everything_and_says_the_fix(
    server: RecordingServer, session: requests.Session
) -> None:
    body = {
        "error": "invalid_grant",
        "error_description": "Please check the 'sub' claim. The 'sub' specified is invalid.",
    }
    server.script(Answer(400, {"box-request-id": "hdr-rid", "Date": DATE}, body))
    with pytest.raises(InvalidSubjectError) as info:
        endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")
    err = info.value
    assert err.status_code == 400
    assert err.error == "invalid_grant"
    assert err.error_description == body["error_description"]
    assert err.request_id == "hdr-rid"
    assert json.loads(err.body or "") == body
    assert get_header(err.headers, "date") == DATE
    assert err.retryable is False
    assert err.retry_after is None
    text = str(err)
    assert "Please check the 'sub' claim" in text
    assert "the token for enterprise 1" in text
    assert InvalidSubjectError.remedy in text
    assert "hdr-rid" in text
    assert len(server.received) == 1


def test_body_request_id_wins_and_escaped_slashes_parse(
    server: RecordingServer, session: requests.Session
) -> None:
    raw = (
        '{"error":"invalid_grant","error_description":"Current date\\/time MUST be before the '
        'expiration date\\/time listed in the \'exp\' claim","request_id":"body-rid"}'
    )
    server.script(Answer(400, {"box-request-id": "hdr-rid"}, raw))
    with pytest.raises(AssertionExpiredError) as info:
        endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")
    assert info.value.request_id == "body-rid"
    assert info.value.retryable is True


@pytest.mark.parametrize(
    ("status", "headers", "body", "cls", "retry_after", "said"),
    [
        (429, {"Retry-After": "2"}, "", TokenRateLimitedError, 2.0, "empty body"),
        (429, {}, {"error": "rate_limited"}, TokenRateLimitedError, None, "rate_limited"),
        (503, {}, "<html><b>Service Unavailable</b></html>", TokenServerError, None, "<html>"),
        (500, {}, "", TokenServerError, None, "HTTP 500 with an empty body"),
        (502, {"Retry-After": "x"}, "bad gateway", TokenServerError, None, "bad gateway"),
        (202, {"Retry-After": "5"}, "", TokenServerError, 5.0, "retry after 5 s"),
        (
            503,
            {"Retry-After": "Thu, 01 Jan 2026 00:00:07 GMT", "Date": DATE},
            "",
            TokenServerError,
            7.0,
            "could not serve",
        ),
        (401, {}, {"error_description": "odd"}, TokenExchangeError, None, "HTTP 401: odd"),
    ],
)
def test_status_errors(
    server: RecordingServer,
    session: requests.Session,
    *,
    status: int,
    headers: dict[str, str],
    body: Any,
    cls: type[TokenExchangeError],
    retry_after: float | None,
    said: str,
) -> None:
    server.script(Answer(status, headers, body))
    with pytest.raises(TokenExchangeError) as info:
        endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.retry_after == retry_after
    assert err.retryable is cls.default_retryable
    assert said in str(err)


def test_long_bodies_are_shortened_in_the_message(
    server: RecordingServer, session: requests.Session
) -> None:
    server.script(Answer(502, {}, "x" * 5000))
    with pytest.raises(TokenServerError) as info:
        endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")
    assert len(str(info.value)) < 600
    assert info.value.body == "x" * MAX_ERROR_BODY  # 4 KiB kept (issue 13, item 6)
    assert info.value.body_truncated


def test_echoed_secrets_are_redacted(server: RecordingServer, session: requests.Session) -> None:
    server.script(
        Answer(
            400,
            {"X-Debug": CLIENT_SECRET},
            echo('{"error":"invalid_request","error_description":"bad request: {echo}"}'),
        )
    )
    with pytest.raises(TokenExchangeError) as info:
        endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")
    err = info.value
    everything = f"{err} {err.body} {err.error_description} {err.headers} {err!r}"
    assert "bad request" in everything
    assert CLIENT_SECRET not in everything
    assert ASSERTION not in everything


def test_redirect_is_not_followed_and_names_the_host(session: requests.Session) -> None:
    options: dict[str, Any] = {"auto_headers": False, "otherwise": Answer(500, {}, b"")}
    with RecordingServer(**options) as target, RecordingServer(**options) as box:
        target.script(Answer(200, {}, ok_body()))
        box.script(
            Answer(
                302, {"Location": f"http://evil.example:{target.url.rsplit(':', 1)[1]}/t?x=1"}, ""
            )
        )
        with pytest.raises(InvalidGrantTypeError) as info:
            endpoint(box.url, session).exchange(ASSERTION, "enterprise", "1")
        err = info.value
        assert err.status_code == 302
        assert err.retryable is False
        assert "evil.example" in str(err)
        assert "never follows redirects" in str(err)
        assert InvalidGrantTypeError.remedy in str(err)
        assert CLIENT_SECRET not in str(err)
        assert ASSERTION not in str(err)
        assert len(box.received) == 1
        assert target.received == []  # nothing was sent to the redirect target


def test_redirect_without_location(server: RecordingServer, session: requests.Session) -> None:
    server.script(Answer(307, {}, ""))
    with pytest.raises(InvalidGrantTypeError, match="an unknown host"):
        endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")


def test_token_error_from_response_default_context(
    server: RecordingServer, session: requests.Session
) -> None:
    server.script(
        Answer(
            400,
            {},
            {"error": "invalid_client", "error_description": "The client credentials are invalid"},
        )
    )
    response = session.post(f"{server.url}/oauth2/token", data={"a": "b"})
    err = token_error_from_response(response)
    assert isinstance(err, InvalidClientCredentialsError)
    assert str(err).startswith("Box refused the token request: HTTP 400 invalid_client")


# --------------------------------------------------------------------------- transport


def test_dropped_connection_is_a_retryable_transport_error(
    server: RecordingServer, session: requests.Session
) -> None:
    server.script(DROP)
    with pytest.raises(TransportError) as info:
        endpoint(server.url, session).exchange(ASSERTION, "enterprise", "1")
    assert info.value.retryable is True
    assert info.value.url == f"{server.url}/oauth2/token"
    assert CLIENT_SECRET not in str(info.value)
    assert ASSERTION not in str(info.value)


def test_connection_refused_is_a_retryable_transport_error(session: requests.Session) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(TransportError) as info:
        endpoint(f"http://127.0.0.1:{port}", session).exchange(ASSERTION, "enterprise", "1")
    assert info.value.retryable is True
    assert "Check base_url" in str(info.value)


@pytest.mark.parametrize(
    ("exc", "retryable", "text"),
    [
        (requests.ReadTimeout("read timed out"), True, "ReadTimeout"),
        (requests.ConnectTimeout("connect timed out"), True, "ConnectTimeout"),
        (requests.exceptions.ChunkedEncodingError("broken"), True, "broken"),
        (requests.exceptions.SSLError("certificate verify failed"), False, "CA bundle"),
        (requests.exceptions.InvalidURL("bad url"), False, "InvalidURL"),
        (requests.RequestException(""), False, "no details"),
    ],
)
def test_transport_error_mapping(
    exc: requests.RequestException, retryable: bool, text: str
) -> None:
    err = transport_error(exc, "POST", "https://api.box.com/oauth2/token")
    assert isinstance(err, TransportError)
    assert err.retryable is retryable
    assert text in str(err)


# --------------------------------------------------------------------------- downscope, revoke


def parent_token() -> AccessToken:
    return AccessToken(
        value="parent-token-value-0123456789abcdef",
        issued_at=0.0,
        expires_at=4000.0,
        subject_type="user",
        subject_id="77",
    )


def test_downscope_posts_the_token_exchange_grant(
    server: RecordingServer, session: requests.Session
) -> None:
    server.script(
        Answer(
            200,
            {},
            ok_body(
                restricted_to=[{"scope": "item_preview", "object": {"id": "5", "type": "file"}}],
                issued_token_type="urn:ietf:params:oauth:token-type:access_token",
            ),
        )
    )
    result = endpoint(server.url, session, now=10.0).downscope(
        parent_token(),
        ["item_preview", "item_download"],
        resource="https://api.box.com/2.0/files/5",
        shared_link="https://app.box.com/s/abc",
    )
    [req] = server.received
    assert req.form == {
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "subject_token": "parent-token-value-0123456789abcdef",
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "scope": "item_preview item_download",
        "resource": "https://api.box.com/2.0/files/5",
        "box_shared_link": "https://app.box.com/s/abc",
    }
    token = result.token
    assert (token.subject_type, token.subject_id) == ("user", "77")
    assert token.restricted_to[0]["scope"] == "item_preview"
    assert token.expires_at == 4010.0


def test_downscope_error_hides_the_parent_token(
    server: RecordingServer, session: requests.Session
) -> None:
    server.script(
        Answer(400, {}, echo('{"error":"invalid_grant","error_description":"no: {echo}"}'))
    )
    with pytest.raises(TokenExchangeError) as info:
        endpoint(server.url, session).downscope(parent_token(), ["root_readwrite"])
    assert "parent-token-value" not in f"{info.value} {info.value.body}"
    assert "a downscoped token for user 77" in str(info.value)
    assert "resource" not in server.received[0].form


def test_revoke(server: RecordingServer, session: requests.Session) -> None:
    server.script(Answer(200, {"box-request-id": "rv-1"}, ""))
    server.script(
        Answer(
            400,
            {},
            {"error": "invalid_client", "error_description": "The client credentials are invalid"},
        )
    )
    ep = endpoint(server.url, session)
    assert ep.revoke("tok-value-123456") == "rv-1"
    assert server.received[0].path == "/oauth2/revoke"
    assert server.received[0].form == {
        "client_id": "cid",
        "client_secret": CLIENT_SECRET,
        "token": "tok-value-123456",
    }
    with pytest.raises(InvalidClientCredentialsError, match="token revocation"):
        ep.revoke("tok-value-123456")


def test_endpoint_repr_hides_the_secret(session: requests.Session) -> None:
    text = repr(endpoint("https://api.box.com", session))
    assert CLIENT_SECRET not in text
    assert "cid" in text
