"""Request/response values passed between the HTTP plumbing and the endpoint handlers, and
Box's three error shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs

__all__ = [
    "API_ERROR_MESSAGES",
    "BOX_AUDIENCE",
    "INSUFFICIENT_SCOPE",
    "INVALID_TOKEN",
    "NO_TOKEN",
    "Request",
    "Response",
    "api_error",
    "insufficient_scope",
    "invalid_token",
    "json_response",
    "oauth_error",
    "rate_limited",
]

BOX_AUDIENCE: Final = "https://api.box.com/oauth2/token"
"""The one ``aud`` Box accepts, whatever host the token request went to."""

HELP_URL: Final = "http://developers.box.com/docs/#errors"

INVALID_TOKEN: Final = (
    'Bearer realm="Service", error="invalid_token", '
    'error_description="The access token provided is invalid."'
)
INSUFFICIENT_SCOPE: Final = (
    'Bearer realm="Service", error="insufficient_scope", '
    'error_description="The request requires higher privileges than provided by the access token."'
)
NO_TOKEN: Final = (
    'Bearer realm="Service", error="invalid_request", '
    'error_description="The access token was not found."'
)  # (unconfirmed) no Authorization header at all

API_ERROR_MESSAGES: Final[dict[int, tuple[str, str]]] = {
    400: ("bad_request", "Bad Request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("access_denied_insufficient_permissions", "Access denied - insufficient permission"),
    404: ("not_found", "Not Found"),
    405: ("method_not_allowed", "Method Not Allowed"),
    409: ("item_name_in_use", "Item with the same name already exists"),
    429: ("rate_limit_exceeded", "Request rate limit exceeded, please try again later"),
    500: ("internal_server_error", "Internal Server Error"),
    502: ("bad_gateway", "Bad Gateway"),
    503: ("unavailable", "Unavailable"),
    504: ("gateway_timeout", "Gateway Timeout"),
}


@dataclass
class Request:
    """A parsed request. ``headers`` keys are lower-case. ``notes`` feed the request log."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    request_id: str
    endpoint: str = ""
    notes: dict[str, str | None] = field(default_factory=dict)
    _form: dict[str, str] | None = None

    def header(self, name: str) -> str | None:
        """A request header (case-insensitive), or ``None``."""
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or ``None``."""
        values = self.query.get(name)
        return values[0] if values else None

    def form(self) -> dict[str, str]:
        """The ``application/x-www-form-urlencoded`` body (first value of each field)."""
        if self._form is None:
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            parsed = parse_qs(text, keep_blank_values=True)
            self._form = {k: v[0] for k, v in parsed.items()}
        return self._form


@dataclass
class Response:
    """An answer to send. ``error`` is recorded in the request log."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    """A JSON answer."""
    body = json.dumps(payload).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/json"), *(headers or [])])


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    """The OAuth error shape of ``/oauth2/*``. Like Box, ``/`` is escaped as ``\\/``."""
    text = json.dumps({"error": error, "error_description": description}).replace("/", "\\/")
    return Response(
        status,
        text.encode("utf-8"),
        [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
        error=error,
    )


def api_error(
    status: int,
    request_id: str,
    *,
    code: str | None = None,
    message: str | None = None,
    context_info: dict[str, Any] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """Box's JSON client error (``{"type": "error", ...}``)."""
    default_code, default_message = API_ERROR_MESSAGES.get(status, ("error", "Error"))
    payload: dict[str, Any] = {
        "type": "error",
        "status": status,
        "code": code or default_code,
        "help_url": HELP_URL,
        "message": message or default_message,
        "request_id": request_id,
    }
    if context_info is not None:
        payload["context_info"] = context_info
    response = json_response(status, payload, headers)
    response.error = payload["code"]
    return response


def invalid_token(header: str = INVALID_TOKEN) -> Response:
    """401, empty body, the reason in ``WWW-Authenticate``."""
    error = header.split('error="', 1)[1].split('"', 1)[0]
    return Response(401, b"", [("WWW-Authenticate", header)], error=error)


def insufficient_scope() -> Response:
    """403, empty body, ``insufficient_scope`` in ``WWW-Authenticate``."""
    return Response(
        403, b"", [("WWW-Authenticate", INSUFFICIENT_SCOPE)], error="insufficient_scope"
    )


def rate_limited(request_id: str, retry_after: int | None) -> Response:
    """Box's 429: the JSON ``rate_limit_exceeded`` error and ``retry-after`` in whole seconds
    (no header when ``retry_after`` is ``None``)."""
    headers = [] if retry_after is None else [("retry-after", str(retry_after))]
    return api_error(429, request_id, headers=headers)
