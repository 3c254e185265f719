"""Turn Box API error responses (all three shapes) into boxjwt exceptions: the ``requests``
side. The exceptions themselves are built, free of ``requests``, by :mod:`boxjwt._answers`.
"""

from __future__ import annotations

from typing import Any

import requests

from boxjwt._answers import api_error, parse_www_authenticate
from boxjwt._bounded import error_text
from boxjwt._http import get_header, parse_retry_after, safe_url
from boxjwt._retry import default_retry_after
from boxjwt.exceptions import BoxJWTError

__all__ = [
    "api_error_from_response",
    "parse_www_authenticate",
    "raise_for_box_error",
    "retry_after_of",
]


def retry_after_of(outcome: object) -> float | None:
    """Seconds Box asked us to wait: a response's ``Retry-After``, or an error's ``retry_after``.

    The one reader of that header for retry policies (sessions and preflight alike).
    """
    if isinstance(outcome, requests.Response):
        return parse_retry_after(get_header(outcome.headers, "retry-after"))
    return default_retry_after(outcome)


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
    request: Any = getattr(response, "request", None)  # None on a hand-made Response
    return api_error(
        response.status_code,
        response.headers,
        error_text(response),  # at most 64 KiB read; the exception keeps at most 4 KiB
        method=request.method if request is not None else None,
        url=safe_url(response.url or (request.url if request is not None else None)),
        reason=response.reason,
        service_account=service_account,
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
