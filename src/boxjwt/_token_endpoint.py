"""``/oauth2/token`` and ``/oauth2/revoke``: post, parse, and classify Box's answers.

Every cause Box reports (box-facts §3) maps to one exception class through ONE table
(:data:`RULES`) read by ONE pure function (:func:`classify`). Matching is tolerant: case,
quote style (``'kid'``, ``"kid"``, ``kid``), JSON ``\\/`` escaping and the short and long forms of
each description. The exception says what Box said, carries the raw answer, and appends the
class's ``remedy``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urlsplit

import attrs
import requests

from boxjwt._retry import parse_retry_after
from boxjwt._secret import Secret
from boxjwt._token import (
    MAX_TOKEN_LIFETIME,
    MIN_TOKEN_LIFETIME,
    AccessToken,
    SubjectType,
    clamp_lifetime,
)
from boxjwt.exceptions import (
    AppNotAuthorizedError,
    AssertionExpiredError,
    AssertionExpTooFarError,
    GrantTypeUnauthorizedError,
    InvalidClientCredentialsError,
    InvalidExpClaimError,
    InvalidGrantTypeError,
    InvalidSubjectError,
    IssuerMismatchError,
    JTIReusedError,
    NoPublicKeyError,
    PublicKeyNotFoundError,
    SignatureMismatchError,
    TokenExchangeError,
    TokenRateLimitedError,
    TokenServerError,
    TransportError,
    UserTokenNotAllowedError,
)

__all__ = [
    "JWT_GRANT",
    "RULES",
    "TOKEN_EXCHANGE_GRANT",
    "Rule",
    "TokenEndpoint",
    "TokenResult",
    "classify",
    "get_header",
    "normalize_description",
    "server_time",
    "token_error_from_response",
    "transport_error",
]

JWT_GRANT: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE_GRANT: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:access_token"

logger = logging.getLogger("boxjwt")

_MASK: Final = "**********"
_SNIPPET: Final = 300


# --------------------------------------------------------------------------- classification


@attrs.frozen
class Rule:
    """One row of the table: a class, and what Box's answer must look like to select it.

    ``status`` (a set of HTTP codes; empty: any 4xx), ``error`` (Box's ``error``, or None: any)
    and ``pattern`` (a regular expression searched in the normalised ``error_description``,
    or None: any). All given conditions must hold.
    """

    cls: type[TokenExchangeError]
    status: frozenset[int] = frozenset()
    error: str | None = None
    pattern: re.Pattern[str] | None = None


def _rule(
    cls: type[TokenExchangeError],
    pattern: str | None = None,
    *,
    error: str | None = None,
    status: Iterable[int] = (),
) -> Rule:
    return Rule(cls, frozenset(status), error, re.compile(pattern) if pattern else None)


#: First match wins. Descriptions are matched before bare ``error`` codes, because one
#: ``error`` (``invalid_grant``) covers many causes and Box may change its codes.
RULES: Final[tuple[Rule, ...]] = (
    _rule(TokenRateLimitedError, status=(429,)),
    _rule(TokenServerError, status=(202, 408, *range(500, 600))),
    # descriptions (normalised: lower case, no quotes, "\/" -> "/", single spaces)
    _rule(AppNotAuthorizedError, r"not authori[sz]ed by the enterprise admin"),
    _rule(InvalidClientCredentialsError, r"client credentials are invalid"),
    _rule(
        SignatureMismatchError,
        r"signature verification error|openssl unable to verify data"
        r"|must correspond to the private key",
    ),
    _rule(PublicKeyNotFoundError, r"\bkid\W+(?:is\W+)?invalid|unable to look ?up correct key"),
    _rule(NoPublicKeyError, r"no public key|not configured properly"),
    _rule(IssuerMismatchError, r"check the iss claim"),
    _rule(InvalidSubjectError, r"check the sub claim|sub specified is invalid"),
    _rule(AssertionExpiredError, r"must be before the expiration"),
    _rule(AssertionExpTooFarError, r"exceeds the maximum value|seconds beyond the issue time"),
    _rule(InvalidExpClaimError, r"\bexp\b.*\binteger\b"),
    _rule(JTIReusedError, r"check the jti claim|unique jti"),
    _rule(UserTokenNotAllowedError, r"cannot obtain user token"),
    _rule(GrantTypeUnauthorizedError, r"grant type is unauthori[sz]ed for this client"),
    _rule(
        InvalidGrantTypeError,
        r"invalid grant_type parameter|grant_type parameter or parameter missing",
    ),
    # bare error codes, when the description is unknown or missing
    _rule(AppNotAuthorizedError, error="unauthorized_client"),
    _rule(InvalidClientCredentialsError, error="invalid_client"),
    _rule(GrantTypeUnauthorizedError, error="unsupported_grant_type"),
)

_QUOTES = re.compile("['\"`\u2018\u2019\u201c\u201d]")
_SPACES = re.compile(r"\s+")


def normalize_description(text: str | None) -> str:
    """Lower case, ``\\/`` unescaped, quotes dropped, whitespace collapsed."""
    if not text:
        return ""
    text = text.replace("\\/", "/").lower()
    text = _QUOTES.sub("", text)
    return _SPACES.sub(" ", text).strip()


def classify(
    status: int | None, error: str | None, error_description: str | None
) -> type[TokenExchangeError]:
    """The exception class for Box's answer. Pure: a table lookup, first match wins."""
    code = (error or "").strip().lower() or None
    description = normalize_description(error_description)
    for rule in RULES:
        if rule.status:
            if status not in rule.status:
                continue
        elif status is not None and not 400 <= status < 500:
            continue
        if rule.error is not None and rule.error != code:
            continue
        if rule.pattern is not None and not rule.pattern.search(description):
            continue
        return rule.cls
    if status is not None and 200 <= status < 300:
        return TokenServerError  # a "success" we cannot read
    return TokenExchangeError


# --------------------------------------------------------------------------- helpers


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value, case-insensitively, from any mapping."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def server_time(headers: Mapping[str, str]) -> float | None:
    """Box's clock from the ``Date`` header (Unix seconds), or None if absent or unreadable."""
    value = get_header(headers, "date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return when.timestamp()


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _MASK)
    return text


def json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def opt_str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _lifetime(expires_in: object) -> float | None:
    """``expires_in`` as finite seconds above zero, or None (Infinity, NaN, 1e400, "3600"...)."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        return None
    try:
        seconds = float(expires_in)
    except OverflowError:  # an integer too large for a float
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _snippet(text: str) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def token_error_from_response(
    response: requests.Response,
    *,
    context: str | None = None,
    redact: Iterable[str] = (),
) -> TokenExchangeError:
    """The exception for an unsuccessful answer of ``/oauth2/*`` (any status).

    ``context`` says what was asked (e.g. ``"the token for user 123"``); ``redact`` lists
    secrets that must not be echoed back in the body, headers or message.
    """
    secrets = [s for s in redact if s]
    status = response.status_code
    body = _redact(response.text, secrets)
    headers = {k: _redact(v, secrets) for k, v in response.headers.items()}
    data = json_object(body)
    error = opt_str(data.get("error")) if data else None
    description = opt_str(data.get("error_description")) if data else None
    request_id = (opt_str(data.get("request_id")) if data else None) or get_header(
        headers, "box-request-id"
    )
    now = server_time(headers)
    retry_after = parse_retry_after(get_header(headers, "retry-after"), now=now)

    what = context or "the token request"
    if 300 <= status < 400:
        cls: type[TokenExchangeError] = InvalidGrantTypeError
        location = get_header(headers, "location") or ""
        host = urlsplit(location).hostname or "an unknown host"
        said = (
            f"HTTP {status} redirect to {host}; boxjwt never follows redirects on /oauth2/* "
            "(the credentials would go to another host)"
        )
        retryable: bool | None = False
    else:
        cls = classify(status, error, description)
        if description or error:
            said = f"HTTP {status} {error or ''}: {description or '(no description)'}"
            said = said.replace(f"{status} :", f"{status}:")
        elif body.strip():
            said = f"HTTP {status}, unexpected answer: {_snippet(body)}"
        else:
            said = f"HTTP {status} with an empty body"
        retryable = None

    verb = "could not serve" if cls in (TokenServerError, TokenRateLimitedError) else "refused"
    message = f"Box {verb} {what}: {said}."
    if cls.remedy:
        message += f" {cls.remedy}"
    if retry_after is not None and cls.default_retryable:
        message += f" Box asked to retry after {retry_after:g} s."
    if request_id:
        message += f" (Box request id {request_id})"
    return cls(
        _redact(message, secrets),
        status_code=status,
        error=error,
        error_description=description,
        request_id=request_id,
        body=body,
        headers=headers,
        retryable=retryable,
        retry_after=retry_after,
    )


def transport_error(exc: requests.RequestException, method: str, url: str) -> TransportError:
    """A :class:`TransportError` for a failed request; TLS and URL errors are not retryable."""
    retryable = isinstance(
        exc,
        requests.ConnectionError
        | requests.Timeout
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError,
    ) and not isinstance(exc, requests.exceptions.SSLError)
    reason = _snippet(str(exc)) or "no details"
    hint = " Check base_url, proxies and network access to Box." if retryable else ""
    if isinstance(exc, requests.exceptions.SSLError):
        hint = " TLS failed: check the system's CA bundle (REQUESTS_CA_BUNDLE) and any proxy."
    return TransportError(
        f"{method} {url} failed: {type(exc).__name__}: {reason}.{hint}",
        url=url,
        retryable=retryable,
    )


# --------------------------------------------------------------------------- the endpoint


@attrs.frozen
class TokenResult:
    """A token and what the answer said about it (Box request id, Box's clock)."""

    token: AccessToken
    request_id: str | None
    server_time: float | None


def _subject_text(subject_type: SubjectType, subject_id: str) -> str:
    return f"enterprise {subject_id}" if subject_type == "enterprise" else f"user {subject_id}"


@attrs.frozen(kw_only=True)
class TokenEndpoint:
    """Box's ``/oauth2/*`` endpoints, spoken to over a dedicated session.

    Never follows redirects; every failure becomes a boxjwt exception (see :func:`classify`).
    ``clock`` gives local Unix seconds for ``issued_at`` / ``expires_at``.
    """

    base_url: str
    client_id: str
    client_secret: Secret = attrs.field(repr=False)
    session: requests.Session = attrs.field(repr=False)
    timeout: float | tuple[float, float]
    clock: Callable[[], float] = attrs.field(repr=False)

    @property
    def token_url(self) -> str:
        """``{base_url}/oauth2/token``."""
        return f"{self.base_url}/oauth2/token"

    @property
    def revoke_url(self) -> str:
        """``{base_url}/oauth2/revoke``."""
        return f"{self.base_url}/oauth2/revoke"

    def _post(
        self, url: str, data: Mapping[str, str], *, context: str, redact: Sequence[str]
    ) -> requests.Response:
        try:
            response = self.session.post(
                url,
                data=dict(data),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise transport_error(exc, "POST", url) from None
        if response.status_code != 200:
            raise token_error_from_response(response, context=context, redact=redact)
        return response

    def _token_from(
        self,
        response: requests.Response,
        *,
        issued_at: float,
        subject_type: SubjectType,
        subject_id: str,
        context: str,
        redact: Sequence[str],
    ) -> TokenResult:
        headers = response.headers
        request_id = get_header(headers, "box-request-id")
        data = json_object(response.text)
        value = data.get("access_token") if data else None
        lifetime = _lifetime(data.get("expires_in") if data else None)
        if data is None or not isinstance(value, str) or not value or lifetime is None:
            missing = (
                "not a JSON object"
                if data is None
                else "no access_token, or expires_in is not a finite number of seconds above 0"
            )
            message = (
                f"Box's answer to {context} is unreadable (HTTP {response.status_code}, {missing})."
            )
            if request_id:
                message += f" (Box request id {request_id})"
            redact = [*redact, value] if isinstance(value, str) else list(redact)
            raise TokenServerError(
                message,
                status_code=response.status_code,
                request_id=request_id,
                body=_redact(response.text, redact),
                headers=dict(headers),
            )
        restricted = data.get("restricted_to") or ()
        if clamp_lifetime(lifetime) != lifetime:
            logger.warning(
                "Box's answer to %s says the token lives %g s; using %g s (boxjwt believes "
                "%g s to %g s; Box issues about 3600 s)",
                context,
                lifetime,
                clamp_lifetime(lifetime),
                MIN_TOKEN_LIFETIME,
                MAX_TOKEN_LIFETIME,
            )
        token = AccessToken(
            value=value,
            issued_at=issued_at,
            expires_at=issued_at + clamp_lifetime(lifetime),
            subject_type=subject_type,
            subject_id=subject_id,
            token_type=str(data.get("token_type") or "bearer"),
            restricted_to=tuple(restricted) if isinstance(restricted, list) else (),
            client_id=self.client_id,
        )
        return TokenResult(token, request_id, server_time(headers))

    def exchange(self, assertion: str, subject_type: SubjectType, subject_id: str) -> TokenResult:
        """One JWT-bearer exchange (one HTTP request): the token, or a classified exception."""
        context = f"the token for {_subject_text(subject_type, subject_id)}"
        secret = self.client_secret.reveal()
        redact = (secret, assertion)
        issued_at = self.clock()
        response = self._post(
            self.token_url,
            {
                "grant_type": JWT_GRANT,
                "client_id": self.client_id,
                "client_secret": secret,
                "assertion": assertion,
            },
            context=context,
            redact=redact,
        )
        return self._token_from(
            response,
            issued_at=issued_at,
            subject_type=subject_type,
            subject_id=subject_id,
            context=context,
            redact=redact,
        )

    def downscope(
        self,
        token: AccessToken,
        scopes: Sequence[str],
        *,
        resource: str | None = None,
        shared_link: str | None = None,
    ) -> TokenResult:
        """A token restricted to ``scopes`` (and ``resource`` / ``shared_link``), from ``token``.

        The token-exchange grant; the new token keeps the subject of ``token``.
        """
        context = f"a downscoped token for {_subject_text(token.subject_type, token.subject_id)}"
        subject_token = token.value.reveal()
        data = {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": subject_token,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "scope": " ".join(scopes),
        }
        if resource is not None:
            data["resource"] = resource
        if shared_link is not None:
            data["box_shared_link"] = shared_link
        redact = (subject_token,)
        issued_at = self.clock()
        response = self._post(self.token_url, data, context=context, redact=redact)
        return self._token_from(
            response,
            issued_at=issued_at,
            subject_type=token.subject_type,
            subject_id=token.subject_id,
            context=context,
            redact=redact,
        )

    def revoke(self, token: str) -> str | None:
        """Revoke ``token`` (one request). Returns Box's request id, if it sent one."""
        secret = self.client_secret.reveal()
        response = self._post(
            self.revoke_url,
            {"client_id": self.client_id, "client_secret": secret, "token": token},
            context="the token revocation",
            redact=(secret, token),
        )
        return get_header(response.headers, "box-request-id")
