"""How the emulator words the refusals whose exact form Box does not document.

Each field of :class:`BoxAnswers` is one such refusal, *(unconfirmed)*: the default is our best
reading of Box's documentation and the SDKs' issue trackers, and a test that depends on the
wording can set another one (``emu.answers = BoxAnswers(as_user_inactive=ApiAnswer(...))``, or
``dataclasses.replace(emu.answers, ...)``). Code under test should match on meaning (status,
error code), not on these sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = ["ACCESS_DENIED", "ApiAnswer", "BoxAnswers", "OAuthAnswer"]


@dataclass(frozen=True)
class ApiAnswer:
    """A JSON client error of the ``/2.0`` API: ``status``, ``code``, ``message``.

    ``message`` may contain ``{value}`` (the offending value, where there is one).
    """

    status: int
    code: str
    message: str


@dataclass(frozen=True)
class OAuthAnswer:
    """An ``/oauth2/token`` refusal: ``{"error": error, "error_description": description}``.

    ``description`` may contain ``{value}`` (the offending value, where there is one).
    """

    error: str
    description: str
    status: int = 400


ACCESS_DENIED: Final = ApiAnswer(
    403, "access_denied_insufficient_permissions", "Access denied - insufficient permission"
)
"""Box's JSON 403 (documented); the default for every As-User refusal below."""


@dataclass(frozen=True)
class BoxAnswers:
    """The refusals whose wording Box does not document, each *(unconfirmed)* and settable."""

    as_user_inactive: ApiAnswer = ACCESS_DENIED
    """``As-User`` naming an inactive user *(unconfirmed: Box refuses, wording unknown)*."""
    as_user_external: ApiAnswer = ACCESS_DENIED
    """``As-User`` naming a user outside the enterprise *(unconfirmed)*."""
    user_token_inactive: OAuthAnswer = field(
        default=OAuthAnswer(
            "invalid_grant", "Please check the 'sub' claim. The 'sub' specified is invalid."
        )
    )
    """A user token (``box_sub_type=user``) for an inactive user *(unconfirmed)*."""
    upload_restricted: ApiAnswer = ACCESS_DENIED
    """An upload acting as a ``cannot_delete_edit_upload`` user *(unconfirmed)*."""
    offset_too_large: ApiAnswer = ApiAnswer(
        400, "bad_request", "Invalid value '{value}' for query parameter 'offset'"
    )
    """``GET /2.0/users`` with ``offset`` above 10000 (Box documents the 400; the code and
    message are *(unconfirmed)*)."""
    scope_not_held: OAuthAnswer = OAuthAnswer("invalid_scope", 'Unsupported "scope": {value}')
    """Token exchange asking for a scope the subject token does not carry (box-python-sdk#101
    shows the description; the ``error`` code and the status are *(unconfirmed)*: Box's
    reference also speaks of a 401)."""
    oauth_error_request_id: bool = False
    """Whether ``/oauth2/*`` error answers carry a ``box-request-id`` header. Box's
    token-endpoint errors pasted in issues have none (API errors always do), hence ``False``.
    (Successful token answers carry one: whether Box's do is *(unconfirmed)*.)"""
