"""Turn Box API error responses (all three shapes) into boxjwt exceptions.

Box answers errors in three shapes (box-facts §5):

1. a JSON client error ``{"type": "error", "status": 403, "code": "...", "message": "...",
   "request_id": "...", "help_url": "...", "context_info": {...}}``;
2. an empty body with the reason only in ``WWW-Authenticate`` (401 ``invalid_token`` /
   ``expired_token``, 403 ``insufficient_scope``);
3. the OAuth shape ``{"error": "...", "error_description": "..."}`` from ``/oauth2/*``.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from boxjwt._bounded import error_text
from boxjwt._classify import CallContext, api_class, api_remedy
from boxjwt._http import get_header, json_object, parse_retry_after, safe_url
from boxjwt._retry import default_retry_after
from boxjwt._token_endpoint import token_error_from_response
from boxjwt.exceptions import BoxJWTError

__all__ = [
    "api_error_from_response",
    "parse_www_authenticate",
    "raise_for_box_error",
    "retry_after_of",
]

#: A name starts only where no name character precedes it, so a long run of letters is tried
#: once, not from each of its positions (linear, whatever the header holds).
_AUTH_PARAM = re.compile(
    r'(?<![A-Za-z0-9_-])([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))'
)
_ESCAPE = re.compile(r"\\(.)")
#: A ``WWW-Authenticate`` header is read up to this many characters.
_MAX_CHALLENGE = 4096


def parse_www_authenticate(value: str | None) -> dict[str, str]:
    """The auth-params of a ``WWW-Authenticate: Bearer k="v", ...`` header, keys lower-cased."""
    if not value:
        return {}
    params: dict[str, str] = {}
    for match in _AUTH_PARAM.finditer(value[:_MAX_CHALLENGE]):
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = _ESCAPE.sub(r"\1", raw)
    return params


def retry_after_of(outcome: object) -> float | None:
    """Seconds Box asked us to wait: a response's ``Retry-After``, or an error's ``retry_after``.

    The one reader of that header for retry policies (sessions and preflight alike).
    """
    if isinstance(outcome, requests.Response):
        return parse_retry_after(get_header(outcome.headers, "retry-after"))
    return default_retry_after(outcome)


def _text(where: str, status: int, code: str | None, said: str | None) -> str:
    text = f"{where} failed: HTTP {status}"
    if code:
        text += f" {code}"
    if said:
        text += f": {said}"
    return text


def api_error_from_response(
    response: requests.Response, *, service_account: bool | None = None
) -> BoxJWTError:
    """The boxjwt exception describing an error ``response`` (which must not be a success).

    OAuth-shaped bodies become :class:`~boxjwt.exceptions.TokenExchangeError` subclasses; the
    other two shapes become :class:`~boxjwt.exceptions.APIError` subclasses. The raw body
    (bounded), headers and Box request id are kept on the exception. ``service_account=True``
    says the call ran as the service account (its enterprise token, no ``As-User``): a 404
    then gets the remedy to act as the content's owner.
    """
    status = response.status_code
    headers = dict(response.headers)
    body = error_text(response)  # at most 64 KiB read; the exception keeps at most 4 KiB
    data = json_object(body)
    if data is not None and "error" in data and data.get("type") != "error":
        return token_error_from_response(response)

    request: Any = getattr(response, "request", None)  # None on a hand-made Response
    method = request.method if request is not None else None
    url = safe_url(response.url or (request.url if request is not None else None))
    where = f"{method} {url}" if method else (url or "request")
    request_id = get_header(headers, "box-request-id")
    help_url = context_info = None
    if data is not None and (data.get("type") == "error" or "code" in data):
        code = str(data["code"]) if data.get("code") is not None else None
        box_message = str(data["message"]) if data.get("message") else None
        said: str | None = box_message or response.reason or "error"
        request_id = str(data["request_id"]) if data.get("request_id") else request_id
        help_url = str(data["help_url"]) if data.get("help_url") else None
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


def raise_for_box_error(
    response: requests.Response, *, service_account: bool | None = None
) -> requests.Response:
    """Raise the matching boxjwt exception if ``response`` is a Box error; else return it.

    Anything under 400 passes through (a 3xx is handed back untouched).
    ``service_account=True`` says the call ran as the service account (its enterprise token,
    no ``As-User``): a 404 then gets the remedy to act as the content's owner
    (``for_user(...)``). :class:`~boxjwt.AsUserSession` passes it.
    """
    if response.status_code < 400:
        return response
    error = api_error_from_response(response, service_account=service_account)
    del response  # its request's headers (a bearer token) stay out of the traceback's frames
    raise error
