"""Errors of ``/oauth2/token`` and ``/oauth2/revoke``: one class per cause Box reports."""

from __future__ import annotations

from collections.abc import Mapping

from boxjwt import _remedies as remedies
from boxjwt.exceptions._base import ResponseError

__all__ = [
    "AlgorithmNotAllowedError",
    "AppNotAuthorizedError",
    "AssertionExpError",
    "AssertionExpTooFarError",
    "AssertionExpiredError",
    "GrantTypeUnauthorizedError",
    "InvalidClientCredentialsError",
    "InvalidExpClaimError",
    "InvalidGrantTypeError",
    "InvalidSubjectError",
    "InvalidSubjectTokenError",
    "IssuerMismatchError",
    "JTIReusedError",
    "NoPublicKeyError",
    "PublicKeyNotFoundError",
    "SignatureMismatchError",
    "TokenExchangeError",
    "TokenRateLimitedError",
    "TokenServerError",
    "UnsupportedScopeError",
    "UserTokenNotAllowedError",
]

# --------------------------------------------------------------------------- token exchange


class TokenExchangeError(ResponseError):
    """Box's token endpoint refused or failed the exchange.

    Besides :class:`ResponseError`'s attributes: ``error`` and ``error_description`` (Box's
    OAuth fields; ``request_id`` is the body's ``request_id`` or the ``box-request-id``
    header). Subclasses set a default ``retryable`` and ``remedy``; non-transient ones append
    the remedy to the message.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
        error_description: str | None = None,
        request_id: str | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        remedy: str | None = None,
    ):
        super().__init__(
            message,
            status_code=status_code,
            code=error,
            request_id=request_id,
            body=body,
            headers=headers,
            retry_after=retry_after,
            remedy=remedy,
            retryable=retryable,
        )
        self.error_description = error_description


class AppNotAuthorizedError(TokenExchangeError):
    """``unauthorized_client``: the app is not authorized (or is disabled) in the enterprise."""

    remedy = remedies.APP_NOT_AUTHORIZED


class InvalidClientCredentialsError(TokenExchangeError):
    """``invalid_client``: the client ID or client secret is wrong (e.g. the secret was reset)."""

    remedy = remedies.INVALID_CLIENT


class PublicKeyNotFoundError(TokenExchangeError):
    """``'kid' invalid``: Box has no public key with this ``publicKeyID`` for the app."""

    remedy = remedies.PUBLIC_KEY_NOT_FOUND


class SignatureMismatchError(TokenExchangeError):
    """The signature does not verify with the public key named by ``kid``."""

    remedy = remedies.SIGNATURE_MISMATCH


class NoPublicKeyError(TokenExchangeError):
    """The app has no public key registered."""

    remedy = remedies.NO_PUBLIC_KEY


class AlgorithmNotAllowedError(TokenExchangeError):
    """``Algorithm not allowed``: the assertion was not signed with RS256, RS384 or RS512."""

    remedy = remedies.ALGORITHM_NOT_ALLOWED


class IssuerMismatchError(TokenExchangeError):
    """``iss`` (the client ID) does not match."""

    remedy = remedies.ISSUER_MISMATCH


class InvalidSubjectError(TokenExchangeError):
    """``sub`` is wrong: a wrong/zero enterprise ID, or a user outside the enterprise."""

    remedy = remedies.INVALID_SUBJECT


class AssertionExpError(TokenExchangeError):
    """Box refused the assertion's ``exp``: the clocks differ (either way).

    Raised itself for Box's short form (``Please check the 'exp' claim.``), which does not say
    in which direction. Retryable: boxjwt retries once with Box's time (its ``Date`` header).
    """

    default_retryable = True
    remedy = remedies.CLOCK_SKEW


class AssertionExpiredError(AssertionExpError):
    """The assertion's ``exp`` had passed by Box's clock: the local clock is behind."""


class AssertionExpTooFarError(AssertionExpError):
    """``exp`` is more than 60 s past Box's time: the local clock is ahead."""


class InvalidExpClaimError(AssertionExpError):
    """``exp`` is not an integer (boxjwt always sends one: retried once like a skew)."""

    remedy = remedies.INVALID_EXP


class JTIReusedError(TokenExchangeError):
    """The assertion's ``jti`` was used before."""

    default_retryable = True
    remedy = remedies.JTI_REUSED


class UserTokenNotAllowedError(TokenExchangeError):
    """Box will not issue a user token for this app and user."""

    remedy = remedies.USER_TOKEN_NOT_ALLOWED


class GrantTypeUnauthorizedError(TokenExchangeError):
    """The app is not a JWT (Server Authentication) app."""

    remedy = remedies.GRANT_TYPE_UNAUTHORIZED


class InvalidGrantTypeError(TokenExchangeError):
    """Box did not see a JWT grant: usually the request went to the wrong host."""

    remedy = remedies.WRONG_TOKEN_HOST


class InvalidSubjectTokenError(TokenExchangeError):
    """Downscoping: ``The subject_token provided is invalid`` (expired, revoked, foreign)."""

    remedy = remedies.INVALID_SUBJECT_TOKEN


class UnsupportedScopeError(TokenExchangeError):
    """Downscoping: ``Unsupported "scope"``: a scope Box does not know or the token lacks."""

    remedy = remedies.UNSUPPORTED_SCOPE


class TokenRateLimitedError(TokenExchangeError):
    """HTTP 429 from the token endpoint."""

    default_retryable = True
    remedy = remedies.TOKEN_SERVICE


class TokenServerError(TokenExchangeError):
    """5xx, 202, or an unreadable answer from the token endpoint."""

    default_retryable = True
    remedy = remedies.TOKEN_SERVICE
