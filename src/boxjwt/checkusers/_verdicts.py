"""What Box's answers mean for one user: the verdicts, their reasons and fixes (pure).

The rules (box-facts §5): Box refuses As-User to inactive users, to the primary admin and
co-admins, to users outside the enterprise, to the service account itself and to app users
of other apps, with a JSON 403 ``access_denied_insufficient_permissions`` (the same answer
App Access Only gives for every managed user); a 403 with an empty body and
``insufficient_scope`` means the As-User feature is off. User tokens need "Generate user
access tokens" (``invalid_request`` "Cannot obtain user token ..." otherwise) and an active
user of the enterprise (``invalid_grant`` about ``sub`` otherwise). The fixes live in
:mod:`boxjwt._remedies`.
"""

from __future__ import annotations

import attrs

from boxjwt import _remedies as remedies
from boxjwt._http import opt_str
from boxjwt.checkusers._model import Reason, UserKind, Verdict, VerdictStatus
from boxjwt.exceptions import (
    AccessDeniedError,
    InsufficientScopeError,
    InvalidSubjectError,
    RateLimitExceededError,
    TokenExchangeError,
    TransportError,
    UserTokenNotAllowedError,
)
from boxjwt.preflight._client import Answer
from boxjwt.preflight._model import CheckEvidence
from boxjwt.preflight._texts import FIX_AS_USER_DENIED
from boxjwt.preflight._users import BoxUser

__all__ = [
    "Resolved",
    "as_user_verdict",
    "external",
    "lookup_failed",
    "not_checked",
    "not_found",
    "service_account",
    "user_token_refused",
    "user_token_verdict_ok",
]


@attrs.frozen
class Resolved:
    """A user Box described (listing or look-up); ``external``: not of this enterprise."""

    user: BoxUser
    external: bool = False

    @property
    def kind(self) -> UserKind:
        """Managed, app user, external or the service account."""
        if self.external:
            return UserKind.EXTERNAL
        if self.user.is_service_account:
            return UserKind.SERVICE_ACCOUNT
        if self.user.platform_only:
            return UserKind.APP_USER
        return UserKind.MANAGED

    @property
    def needs_call(self) -> bool:
        """True for a user of the enterprise (As-User is asked); others are decided already."""
        return self.kind in (UserKind.MANAGED, UserKind.APP_USER)

    def __str__(self) -> str:
        return str(self.user.ref())


def _refused(
    reason: Reason, message: str, fix: str, evidence: CheckEvidence | None = None
) -> Verdict:
    return Verdict(
        status=VerdictStatus.REFUSED, reason=reason, message=message, fix=fix, evidence=evidence
    )


def not_found(asked: str) -> Verdict:
    """No user ``asked`` (an ID or a login) in the enterprise: no call was made."""
    what = "ID" if asked.isdigit() else "login"
    return _refused(
        Reason.NOT_FOUND,
        f"not found: Box knows no user with {what} {asked!r} in this enterprise.",
        remedies.USER_NOT_FOUND,
    )


def external(user: Resolved) -> Verdict:
    """A user outside the enterprise: Box acts only as its own users (no call made)."""
    return _refused(
        Reason.EXTERNAL,
        f"external: {user} is not a member of this enterprise (an external collaborator).",
        remedies.USER_EXTERNAL,
    )


def service_account(user: Resolved) -> Verdict:
    """The app's own service account (no call made)."""
    return _refused(
        Reason.SERVICE_ACCOUNT,
        f"service account: {user} is the app's own service account.",
        remedies.USER_SERVICE_ACCOUNT,
    )


def not_checked() -> Verdict:
    """The run stopped before this user was checked."""
    return Verdict(
        status=VerdictStatus.UNKNOWN,
        reason=Reason.NOT_CHECKED,
        message="not checked: the run was stopped first.",
        fix="Run the check again.",
    )


def _why_denied(user: Resolved) -> tuple[Reason, str, str]:
    """The cause of a JSON 403 to As-User, from what Box said about the user."""
    u = user.user
    inactive = u.status == "inactive"
    also = " (and inactive)" if inactive else ""
    if u.role == "admin":
        return (
            Reason.ADMIN,
            f"admin: {user} is the primary admin{also}, and Box refuses As-User to admins.",
            remedies.USER_ADMIN,
        )
    if u.role == "coadmin":
        return (
            Reason.COADMIN,
            f"co-admin: {user} is a co-admin{also}, and Box refuses As-User to admins and "
            "co-admins.",
            remedies.USER_COADMIN,
        )
    if u.platform_only:
        return (
            Reason.OTHER_APP_USER,
            f"app user of another app: {user} is an app user this app did not create{also}.",
            remedies.USER_OTHER_APP,
        )
    if inactive:
        return (
            Reason.INACTIVE,
            f"inactive: {user} is inactive, and Box refuses to act as an inactive user.",
            remedies.USER_INACTIVE,
        )
    return (
        Reason.ACCESS_DENIED,
        f"access denied: Box refused As-User to {user}, an active managed user (403 "
        "access_denied_insufficient_permissions): the app's access level is App Access Only, "
        "or the app has not been re-authorized since it changed.",
        FIX_AS_USER_DENIED,
    )


def _unknown(what: str, error: BaseException | None, evidence: CheckEvidence | None) -> Verdict:
    if isinstance(error, RateLimitExceededError):
        fix = remedies.RATE_LIMITED
    elif isinstance(error, TokenExchangeError | TransportError) or error is None:
        fix = remedies.NETWORK
    else:
        fix = getattr(error, "remedy", None) or remedies.NETWORK
    return Verdict(
        status=VerdictStatus.UNKNOWN,
        reason=Reason.BOX_ERROR,
        message=f"unknown: {what}.",
        fix=fix,
        evidence=evidence,
    )


def as_user_verdict(user: Resolved, answer: Answer) -> Verdict:
    """The verdict of ``GET /2.0/users/me`` with ``As-User: <user>``."""
    if answer.data is not None:
        acted = opt_str(answer.data.get("id"))
        if acted == user.user.id:
            return Verdict(
                status=VerdictStatus.READY,
                reason=Reason.OK,
                message=f"ready: the service account can act as {user} with As-User.",
            )
        return _refused(
            Reason.AS_USER_IGNORED,
            f"As-User ignored: Box answered as user {acted}, not as {user}.",
            remedies.FIX_AS_USER,
            answer.evidence,
        )
    if isinstance(answer.error, InsufficientScopeError):
        return _refused(
            Reason.AS_USER_DISABLED,
            "As-User off: Box refused the As-User header (403 insufficient_scope, empty body): "
            'the app\'s advanced feature "Make API calls using the as-user header" is off.',
            remedies.FIX_AS_USER,
            answer.evidence,
        )
    if isinstance(answer.error, AccessDeniedError):
        reason, message, fix = _why_denied(user)
        return _refused(reason, message, fix, answer.evidence)
    return _unknown(
        f"Box gave no usable answer to acting as {user}{answer.unexpected()[:-1]}",
        answer.error,
        answer.evidence,
    )


def lookup_failed(asked: str, answer: Answer) -> Verdict:
    """Box did not answer the look-up of ``asked`` conclusively."""
    return _unknown(f"Box did not answer the look-up of {asked!r}", answer.error, answer.evidence)


def user_token_verdict_ok(user: Resolved) -> Verdict:
    """Box issued a user token."""
    return Verdict(
        status=VerdictStatus.READY,
        reason=Reason.OK,
        message=f"ready: Box issues user tokens for {user}.",
    )


def user_token_refused(
    user: Resolved, exc: TokenExchangeError | TransportError, evidence: CheckEvidence
) -> Verdict:
    """The verdict of a user-token request Box refused (or did not answer)."""
    if isinstance(exc, UserTokenNotAllowedError):
        return _refused(
            Reason.USER_TOKENS_DISABLED,
            f'user tokens refused: Box will not issue a user token for {user} ("Cannot '
            'obtain user token ..."): "Generate user access tokens" is off, or the app has '
            "App Access Only.",
            remedies.USER_TOKEN_NOT_ALLOWED,
            evidence,
        )
    if isinstance(exc, InvalidSubjectError):
        if user.user.status == "inactive":
            return _refused(
                Reason.INACTIVE,
                f"inactive: {user} is inactive, and Box issues no token for an inactive user.",
                remedies.USER_INACTIVE,
                evidence,
            )
        return _refused(
            Reason.NOT_FOUND,
            f"not found: Box does not accept {user} as a user of the app's enterprise "
            "(invalid 'sub').",
            remedies.USER_NOT_FOUND,
            evidence,
        )
    return _unknown(f"the user-token request for {user} failed ({exc.message})", exc, evidence)
