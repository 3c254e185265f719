"""Box's error answers as boxjwt exceptions: pure functions over status, headers and body.

Free of ``requests``: a transport reads the answer (bounded) and hands over its status code,
headers and body text; :func:`token_error` and :func:`api_error` pick the class
(:mod:`boxjwt._classify`), say what Box said and how to fix it, and keep the raw answer.
The ``requests`` adapters are :func:`boxjwt._token_endpoint.token_error_from_response` and
:func:`boxjwt._errors.api_error_from_response`; an asyncio transport reuses these as they are.

Box answers errors in three shapes (box-facts §5):

1. a JSON client error ``{"type": "error", "status": 403, "code": "...", "message": "...",
   "request_id": "...", "help_url": "...", "context_info": {...}}``;
2. an empty body with the reason only in ``WWW-Authenticate`` (401 ``invalid_token`` /
   ``expired_token``, 403 ``insufficient_scope``);
3. the OAuth shape ``{"error": "...", "error_description": "..."}`` from ``/oauth2/*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from boxjwt._classify import MAX_DESCRIPTION, CallContext, api_class, api_remedy, token_class
from boxjwt._http import get_header, json_object, opt_str, parse_retry_after, server_time
from boxjwt.exceptions import (
    BoxJWTError,
    InvalidGrantTypeError,
    TokenExchangeError,
    TokenRateLimitedError,
    TokenServerError,
)

__all__ = [
    "MASK",
    "api_error",
    "is_oauth_error",
    "parse_www_authenticate",
    "redact",
    "snippet",
    "token_error",
]

#: What a secret echoed back by a server is replaced with.
MASK: Final = "**********"
_SNIPPET: Final = 300
#: Box's description is quoted in a message up to this many characters.
_QUOTED: Final = 1000
_SPACES = re.compile(r"\s+")
#: A name starts only where no name character precedes it, so a long run of letters is tried
#: once, not from each of its positions (linear, whatever the header holds).
_AUTH_PARAM = re.compile(
    r'(?<![A-Za-z0-9_-])([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))'
)
_ESCAPE = re.compile(r"\\(.)")
#: A ``WWW-Authenticate`` header is read up to this many characters.
_MAX_CHALLENGE: Final = 4096


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (of 4 characters or more) replaced by :data:`MASK`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


def snippet(text: str, limit: int = _SNIPPET) -> str:
    """``text`` on one line, cut to ``limit`` characters (``...`` marks a cut)."""
    text = _SPACES.sub(" ", text[: limit * 4]).strip()
    return text if len(text) <= limit else text[:limit] + "..."


def parse_www_authenticate(value: str | None) -> dict[str, str]:
    """The auth-params of a ``WWW-Authenticate: Bearer k="v", ...`` header, keys lower-cased."""
    if not value:
        return {}
    params: dict[str, str] = {}
    for match in _AUTH_PARAM.finditer(value[:_MAX_CHALLENGE]):
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = _ESCAPE.sub(r"\1", raw)
    return params


def is_oauth_error(data: Mapping[str, Any] | None) -> bool:
    """True for the OAuth shape ``{"error": ...}`` (not a JSON client error)."""
    return data is not None and "error" in data and data.get("type") != "error"


# --------------------------------------------------------------------------- token endpoint


def _said(status: int, error: str | None, description: str | None, body: str) -> str:
    if description or error:
        quoted = snippet(description, _QUOTED) if description else "(no description)"
        return f"HTTP {status} {error}: {quoted}" if error else f"HTTP {status}: {quoted}"
    if body.strip():
        return f"HTTP {status}, unexpected answer: {snippet(body)}"
    return f"HTTP {status} with an empty body"


def token_error(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    context: str | None = None,
    redact_secrets: Iterable[str] = (),
) -> TokenExchangeError:
    """The exception for an unsuccessful answer of ``/oauth2/*`` (any status).

    ``context`` says what was asked (e.g. ``"the token for user 123"``); ``redact_secrets``
    lists secrets that must not be echoed back in the body, headers or message.
    """
    secrets = [s for s in redact_secrets if s]
    body = redact(body, secrets)
    headers = {k: redact(v, secrets) for k, v in headers.items()}
    data = json_object(body)
    error = opt_str(data.get("error")) if data else None
    description = opt_str(data.get("error_description")) if data else None
    if description is not None:
        description = description[:MAX_DESCRIPTION]
    request_id = (opt_str(data.get("request_id")) if data else None) or get_header(
        headers, "box-request-id"
    )
    retry_after = parse_retry_after(get_header(headers, "retry-after"), now=server_time(headers))

    if 300 <= status < 400:
        cls: type[TokenExchangeError] = InvalidGrantTypeError
        host = urlsplit(get_header(headers, "location") or "").hostname or "an unknown host"
        said = (
            f"HTTP {status} redirect to {host}; boxjwt never follows redirects on /oauth2/* "
            "(the credentials would go to another host)"
        )
        retryable: bool | None = False
    else:
        cls = token_class(status, error, description)
        said = _said(status, error, description, body)
        retryable = None

    unavailable = cls in (TokenServerError, TokenRateLimitedError)
    verb = "could not serve" if unavailable else "refused"
    message = f"Box {verb} {context or 'the token request'}: {said}."
    if cls.remedy and not unavailable:  # the remedy of those is "wait": exc.remedy has it
        message += f" {cls.remedy}"
    if retry_after is not None and cls.default_retryable:
        message += f" Box asked to retry after {retry_after:g} s."
    if request_id:
        message += f" (Box request id {request_id})"
    return cls(
        redact(message, secrets),
        status_code=status,
        error=error,
        error_description=description,
        request_id=request_id,
        body=body,
        headers=headers,
        retryable=retryable,
        retry_after=retry_after,
    )


# --------------------------------------------------------------------------- API


def _text(where: str, status: int, code: str | None, said: str | None) -> str:
    text = f"{where} failed: HTTP {status}"
    if code:
        text += f" {code}"
    if said:
        text += f": {said}"
    return text


def api_error(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    method: str | None = None,
    url: str | None = None,
    reason: str | None = None,
    service_account: bool | None = None,
) -> BoxJWTError:
    """The exception for an error answer of the API (any of Box's three shapes).

    ``url`` must already be safe to show (no query string); ``reason`` is the HTTP reason
    phrase. ``service_account=True`` says the call ran as the service account (its
    enterprise token, no ``As-User``): a 404 then gets the remedy to act as the owner.
    """
    data = json_object(body)
    if is_oauth_error(data):
        return token_error(status, headers, body)
    headers = dict(headers)
    where = f"{method} {url}" if method else (url or "request")
    request_id = get_header(headers, "box-request-id")
    help_url = context_info = None
    if data is not None and (data.get("type") == "error" or "code" in data):
        code = opt_str(data.get("code"))
        box_message = str(data["message"]) if data.get("message") else None
        said: str | None = snippet(box_message, _QUOTED) if box_message else reason or "error"
        request_id = opt_str(data.get("request_id")) or request_id
        help_url = opt_str(data.get("help_url"))
        context_info = data.get("context_info")
    else:
        challenge = parse_www_authenticate(get_header(headers, "www-authenticate"))
        code = challenge.get("error")
        box_message = challenge.get("error_description") or None
        said = box_message.rstrip(".") if box_message else None
    cls = api_class(status, code)
    remedy = api_remedy(cls, code, CallContext(service_account=service_account))
    text = _text(where, status, code, said)
    if remedy:
        text = f"{text.rstrip('.')}. {remedy}"
    if request_id:
        text += f" (Box request id {request_id})"
    return cls(
        text,
        status_code=status,
        code=code,
        request_id=request_id,
        help_url=help_url,
        body=body,
        headers=headers,
        method=method,
        url=url,
        context_info=context_info,
        retry_after=parse_retry_after(get_header(headers, "retry-after")),
        box_message=box_message,
        remedy=remedy,
    )
