"""``/oauth2/token`` and ``/oauth2/revoke``: post, parse, and raise Box's refusals.

Which exception an answer is comes from ONE table read by ONE pure function
(:func:`boxjwt._classify.token_class`); the exception is built, free of ``requests``, by
:func:`boxjwt._answers.token_error`: it says what Box said, carries the raw answer (bounded),
and appends the class's ``remedy``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

import attrs
import requests

from boxjwt import _remedies as remedies
from boxjwt._answers import MASK, snippet, token_error
from boxjwt._answers import redact as redact_secrets
from boxjwt._bounded import bounded_request, was_truncated
from boxjwt._classify import token_class
from boxjwt._http import (
    TOKEN_LIMITS,
    ReadLimits,
    get_header,
    json_object,
    opt_str,
    server_time,
)
from boxjwt._secret import Secret
from boxjwt._token import (
    MAX_TOKEN_LIFETIME,
    MIN_TOKEN_LIFETIME,
    AccessToken,
    SubjectType,
    clamp_lifetime,
)
from boxjwt.exceptions import (
    TokenExchangeError,
    TokenServerError,
    TransportError,
)

__all__ = [
    "JWT_GRANT",
    "TOKEN_EXCHANGE_GRANT",
    "TokenEndpoint",
    "TokenResult",
    "classify",
    "get_header",
    "json_object",
    "opt_str",
    "redact_query",
    "sanitized_cause",
    "server_time",
    "token_error_from_response",
    "transport_error",
    "transport_failure",
]

JWT_GRANT: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE_GRANT: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:access_token"

logger = logging.getLogger("boxjwt")

_MASK: Final = MASK

#: The classification, under its historical name.
classify = token_class


# --------------------------------------------------------------------------- helpers


def _lifetime(expires_in: object) -> float | None:
    """``expires_in`` as finite seconds above zero, or None (Infinity, NaN, 1e400, "3600"...)."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        return None
    try:
        seconds = float(expires_in)
    except OverflowError:  # an integer too large for a float
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


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
    return token_error(
        response.status_code,
        response.headers,
        response.text,
        context=context,
        redact_secrets=redact,
    )


# A query parameter's value in a URL quoted in free text (e.g. urllib3's "Max retries exceeded
# with url: /2.0/shared_items?shared_link_password=..."): everything up to a separator, a space,
# a quote or a closing parenthesis.
_QUERY_VALUE = re.compile(r"([?&;][^=&;?#\s'\"()]+=)[^&;#\s'\"()]+")


def redact_query(text: str) -> str:
    """``text`` with the value of every URL query parameter in it masked (names kept)."""
    return _QUERY_VALUE.sub(rf"\1{_MASK}", text)


def sanitized_cause(exc: requests.RequestException) -> requests.RequestException | None:
    """A stand-in for ``exc`` to chain (``raise ... from``): the same class and message (query
    values masked), without the request and response it carried, whose headers and bodies hold
    credentials (``Authorization``, ``client_secret=...&assertion=...``). None if it cannot be
    rebuilt."""
    try:
        return type(exc)(redact_query(str(exc)))
    except Exception:  # noqa: BLE001 - an exception class with another signature: chain nothing
        return None


def transport_error(exc: requests.RequestException, method: str, url: str) -> TransportError:
    """A :class:`TransportError` for a failed request; TLS and URL errors are not retryable."""
    tls = isinstance(exc, requests.exceptions.SSLError)
    retryable = not tls and isinstance(
        exc,
        requests.ConnectionError
        | requests.Timeout
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError,
    )
    return transport_failure(
        type(exc).__name__, str(exc), method, url, tls=tls, retryable=retryable
    )


def transport_failure(
    kind: str, detail: str, method: str, url: str, *, tls: bool, retryable: bool
) -> TransportError:
    """The :class:`TransportError` for a request that failed with an exception named ``kind``
    saying ``detail`` (query values masked, cut), for any transport (``requests``, ``httpx``)."""
    reason = snippet(redact_query(detail)) or "no details"
    remedy = remedies.TLS if tls else remedies.NETWORK
    hint = ""
    if tls:
        hint = f" {remedies.TLS}"
    elif retryable:
        hint = " Check base_url, proxies and network access to Box."
    return TransportError(
        f"{method} {url} failed: {kind}: {reason}.{hint}",
        url=url,
        retryable=retryable,
        remedy=remedy,
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
    ``clock`` gives local Unix seconds for ``issued_at`` / ``expires_at``. Each answer must
    arrive whole within ``limits.deadline`` seconds, and at most ``limits.max_bytes`` of it
    are read (:func:`boxjwt._bounded.bounded_request`).
    """

    base_url: str
    client_id: str
    client_secret: Secret = attrs.field(repr=False)
    session: requests.Session = attrs.field(repr=False)
    timeout: float | tuple[float, float]
    clock: Callable[[], float] = attrs.field(repr=False)
    limits: ReadLimits = TOKEN_LIMITS

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
            response = bounded_request(
                self.session,
                "POST",
                url,
                limits=self.limits,
                data=dict(data),
                headers={"Accept": "application/json", "Accept-Encoding": "identity"},
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
        return self.token_result(
            response.status_code,
            response.headers,
            response.text,
            truncated=was_truncated(response),
            issued_at=issued_at,
            subject_type=subject_type,
            subject_id=subject_id,
            context=context,
            redact=redact,
        )

    def token_result(
        self,
        status: int,
        headers: Mapping[str, str],
        text: str,
        *,
        truncated: bool,
        issued_at: float,
        subject_type: SubjectType,
        subject_id: str,
        context: str,
        redact: Sequence[str],
    ) -> TokenResult:
        """The token in a 200 answer (status, headers, body text; ``truncated``: the body was
        cut at ``limits.max_bytes``), or a :class:`TokenServerError`. Free of I/O: every
        transport parses token answers here."""
        request_id = get_header(headers, "box-request-id")
        data = json_object(text)
        value = data.get("access_token") if data else None
        lifetime = _lifetime(data.get("expires_in") if data else None)
        if data is None or not isinstance(value, str) or not value or lifetime is None:
            if truncated:
                missing = f"over {self.limits.max_bytes} bytes: not a token answer"
            elif data is None:
                missing = "not a JSON object"
            else:
                missing = "no access_token, or expires_in is not a finite number of seconds above 0"
            message = f"Box's answer to {context} is unreadable (HTTP {status}, {missing})."
            if request_id:
                message += f" (Box request id {request_id})"
            redact = [*redact, value] if isinstance(value, str) else list(redact)
            raise TokenServerError(
                message,
                status_code=status,
                request_id=request_id,
                body=redact_secrets(text, redact),
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

    def jwt_request(
        self, assertion: str, subject_type: SubjectType, subject_id: str
    ) -> tuple[dict[str, str], str, tuple[str, str]]:
        """What a JWT-bearer exchange posts: (form, context for messages, secrets to redact)."""
        secret = self.client_secret.reveal()
        form = {
            "grant_type": JWT_GRANT,
            "client_id": self.client_id,
            "client_secret": secret,
            "assertion": assertion,
        }
        return form, f"the token for {_subject_text(subject_type, subject_id)}", (secret, assertion)

    def exchange(self, assertion: str, subject_type: SubjectType, subject_id: str) -> TokenResult:
        """One JWT-bearer exchange (one HTTP request): the token, or a classified exception."""
        form, context, redact = self.jwt_request(assertion, subject_type, subject_id)
        issued_at = self.clock()
        response = self._post(self.token_url, form, context=context, redact=redact)
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
