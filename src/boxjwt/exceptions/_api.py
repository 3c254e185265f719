"""Errors of Box API calls (any of Box's three error shapes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boxjwt import _remedies as remedies
from boxjwt.exceptions._base import ResponseError

__all__ = [
    "APIError",
    "AccessDeniedError",
    "ConflictError",
    "FileSizeLimitExceededError",
    "ForbiddenByPolicyError",
    "InsufficientScopeError",
    "InvalidTokenError",
    "NotFoundError",
    "RateLimitExceededError",
    "ServerAPIError",
    "StorageLimitExceededError",
    "TemporaryConflictError",
]

# --------------------------------------------------------------------------- API


class APIError(ResponseError):
    """A Box API call failed.

    Built from any of Box's three error shapes (JSON client error, header-only 401/403, OAuth
    error). Besides :class:`ResponseError`'s attributes (``code`` is Box's ``code``, or the
    ``WWW-Authenticate`` / OAuth ``error``): ``message``, ``help_url``, ``method``, ``url``
    (without its query string), ``context_info``, ``box_message`` (Box's own words: the JSON
    ``message`` or the ``WWW-Authenticate`` ``error_description``). :class:`~boxjwt.RetryPolicy`
    honours ``retry_after``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        help_url: str | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        url: str | None = None,
        context_info: Any = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        box_message: str | None = None,
        remedy: str | None = None,
    ):
        super().__init__(
            message,
            status_code=status_code,
            code=code,
            request_id=request_id,
            body=body,
            headers=headers,
            retry_after=retry_after,
            remedy=remedy,
            retryable=retryable,
        )
        self.box_message = box_message
        self.help_url = help_url
        self.method = method
        self.url = url
        self.context_info = context_info


class InvalidTokenError(APIError):
    """401: the access token is invalid, expired or revoked."""

    default_retryable = True
    remedy = remedies.INVALID_TOKEN


class InsufficientScopeError(APIError):
    """403 with an empty body and ``error="insufficient_scope"``: a scope or As-User is off."""

    remedy = remedies.INSUFFICIENT_SCOPE


class AccessDeniedError(APIError):
    """403 JSON ``access_denied_*``: the acting user may not do this.

    Also raised for a 403 with an unknown code (``remedy`` is then None: Box's message says
    it). The permission remedy belongs to ``access_denied_*`` codes only.
    """


class StorageLimitExceededError(AccessDeniedError):
    """403 ``storage_limit_exceeded``: the owner's storage quota is full (not a permission)."""

    remedy = remedies.STORAGE_LIMIT


class FileSizeLimitExceededError(AccessDeniedError):
    """403 ``file_size_limit_exceeded``: the file exceeds the account's per-file limit."""

    remedy = remedies.FILE_SIZE_LIMIT


class ForbiddenByPolicyError(AccessDeniedError):
    """403 ``forbidden_by_policy``: an enterprise policy forbids it (not a permission)."""

    remedy = remedies.FORBIDDEN_BY_POLICY


class NotFoundError(APIError):
    """404: no such item (or the acting user cannot see it)."""

    remedy = remedies.NOT_FOUND


class ConflictError(APIError):
    """409: e.g. an item with that name already exists."""


class TemporaryConflictError(ConflictError):
    """409 ``operation_blocked_temporary`` / ``name_temporarily_reserved``: wait and retry.

    Retried like a 429 (every method: Box did nothing).
    """

    default_retryable = True
    remedy = remedies.TEMPORARY_CONFLICT


class RateLimitExceededError(APIError):
    """429: too many requests."""

    default_retryable = True
    remedy = remedies.RATE_LIMITED


class ServerAPIError(APIError):
    """5xx from the API."""

    default_retryable = True
    remedy = remedies.SERVER_ERROR
