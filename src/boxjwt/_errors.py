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
from urllib.parse import urlsplit

import requests

from boxjwt._retry import default_retry_after, parse_retry_after
from boxjwt._token_endpoint import get_header, json_object, token_error_from_response
from boxjwt.exceptions import (
    AccessDeniedError,
    APIError,
    BoxJWTError,
    ConflictError,
    InsufficientScopeError,
    InvalidTokenError,
    NotFoundError,
    RateLimitExceededError,
    ServerAPIError,
)

__all__ = [
    "api_error_from_response",
    "parse_www_authenticate",
    "raise_for_box_error",
    "retry_after_of",
]

_AUTH_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')

_SCOPE_HINT = (
    "The app lacks a scope for this call, or As-User is not enabled: Developer Console > your "
    "app > Configuration > Application Scopes / Advanced Features. If it is already enabled, the "
    "app has not been re-authorized since: Admin Console > Integrations > Platform Apps Manager > "
    "the app's menu > Reauthorize App."
)
_TOKEN_HINT = "The access token is invalid, expired or revoked; a new one must be obtained."


def parse_www_authenticate(value: str | None) -> dict[str, str]:
    """The auth-params of a ``WWW-Authenticate: Bearer k="v", ...`` header, keys lower-cased."""
    if not value:
        return {}
    params: dict[str, str] = {}
    for match in _AUTH_PARAM.finditer(value):
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", raw)
    return params


def retry_after_of(outcome: object) -> float | None:
    """Seconds Box asked us to wait: a response's ``Retry-After``, or an error's ``retry_after``.

    The one reader of that header for retry policies (sessions and preflight alike).
    """
    if isinstance(outcome, requests.Response):
        return parse_retry_after(get_header(outcome.headers, "retry-after"))
    return default_retry_after(outcome)


def _safe_url(url: str | None) -> str | None:
    """The URL without its query string (which may carry shared-link passwords)."""
    if not url:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path


def _api_class(status: int, code: str | None) -> type[APIError]:
    if status == 401:
        return InvalidTokenError
    if status == 403:
        if code == "insufficient_scope":
            return InsufficientScopeError
        return AccessDeniedError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitExceededError
    if status >= 500:
        return ServerAPIError
    return APIError


def api_error_from_response(response: requests.Response) -> BoxJWTError:
    """The boxjwt exception describing an error ``response`` (which must not be a success).

    OAuth-shaped bodies become :class:`~boxjwt.exceptions.TokenExchangeError` subclasses; the
    other two shapes become :class:`~boxjwt.exceptions.APIError` subclasses. The raw body,
    headers and Box request id are kept on the exception.
    """
    status = response.status_code
    headers = dict(response.headers)
    body = response.text
    data = json_object(body)
    request: Any = getattr(response, "request", None)  # None on a hand-made Response
    method = request.method if request is not None else None
    url = _safe_url(response.url or (request.url if request is not None else None))
    header_request_id = get_header(headers, "box-request-id")
    retry_after = parse_retry_after(get_header(headers, "retry-after"))

    if data is not None and "error" in data and data.get("type") != "error":
        return token_error_from_response(response)

    where = f"{method} {url}" if method else (url or "request")
    if data is not None and (data.get("type") == "error" or "code" in data):
        code = str(data["code"]) if data.get("code") is not None else None
        message = str(data.get("message") or response.reason or "error")
        request_id = str(data["request_id"]) if data.get("request_id") else header_request_id
        cls = _api_class(status, code)
        text = f"{where} failed: HTTP {status}"
        if code:
            text += f" {code}"
        text += f": {message}"
        if cls is AccessDeniedError:
            text += (
                ". The acting user (or the service account) lacks permission; for As-User "
                "calls check the App Access Level (App + Enterprise Access) and that the target "
                "is not an admin, the service account or the token's own user."
            )
        if request_id:
            text += f" (Box request id {request_id})"
        return cls(
            text,
            status_code=status,
            code=code,
            request_id=request_id,
            help_url=str(data["help_url"]) if data.get("help_url") else None,
            body=body,
            headers=headers,
            method=method,
            url=url,
            context_info=data.get("context_info"),
            retry_after=retry_after,
            box_message=str(data["message"]) if data.get("message") else None,
        )

    challenge = parse_www_authenticate(get_header(headers, "www-authenticate"))
    code = challenge.get("error")
    description = challenge.get("error_description")
    cls = _api_class(status, code)
    text = f"{where} failed: HTTP {status}"
    if code:
        text += f" {code}"
    if description:
        text += f": {description.rstrip('.')}"
    if cls is InsufficientScopeError:
        text += f". {_SCOPE_HINT}"
    elif cls is InvalidTokenError:
        text += f". {_TOKEN_HINT}"
    if header_request_id:
        text += f" (Box request id {header_request_id})"
    return cls(
        text,
        status_code=status,
        code=code,
        request_id=header_request_id,
        body=body,
        headers=headers,
        method=method,
        url=url,
        retry_after=retry_after,
        box_message=description or None,
    )


def raise_for_box_error(response: requests.Response) -> requests.Response:
    """Raise the matching boxjwt exception if ``response`` is a Box error; else return it.

    Anything under 400 passes through (a 3xx is handed back untouched).
    """
    if response.status_code < 400:
        return response
    raise api_error_from_response(response)
