"""Every error and warning boxjwt raises.

Catch :class:`BoxJWTError` to catch them all. Messages say what is wrong, where, and how to
fix it; they never contain a secret (client secret, passphrase, private key, token, assertion).
Every error also carries the fix on its own, ``remedy`` (words, or None when there is nothing
to do), and ``retryable`` (whether trying the same thing again may succeed). Errors built from
an answer of Box share :class:`ResponseError`: ``status_code``, ``code`` (alias ``error``),
``request_id``, ``body`` (bounded), ``headers`` and ``retry_after``.

The tree::

    BoxJWTError                                    .remedy, .retryable
    ├── KeyFileError (ValueError)                 key.json / PEM problems, found locally
    │   ├── KeyFileNotFoundError
    │   ├── KeyFileNotReadableError                a directory, no permission, not UTF-8
    │   ├── KeyFileTooLargeError                   over 1 MiB: not a Box config
    │   ├── KeyFileJSONError                       invalid JSON (line, column) or not an object
    │   ├── KeyFileFieldError                      fields missing or of the wrong type (all at once)
    │   ├── NotAJWTAppError                        a Client Credentials Grant config (no appAuth)
    │   ├── EnterpriseIDError                      empty, "0" or not a number
    │   └── PrivateKeyError
    │       ├── PrivateKeyMissingError             privateKey empty and no PEM given
    │       ├── PassphraseRequiredError            encrypted key, no passphrase
    │       ├── WrongPassphraseError
    │       ├── InvalidPEMError                    corrupt, truncated, or not PEM at all
    │       ├── UnsupportedKeyTypeError            EC, Ed25519, DSA... Box needs RSA
    │       ├── WeakKeyError                       RSA under 2048 bits
    │       └── KeyDerivationCostError             PBKDF2/scrypt cost far beyond real keys'
    ├── ResponseError                              Box answered with an error (status, body...)
    │   ├── TokenExchangeError                     POST /oauth2/token (or /oauth2/revoke) failed
    │   │   ├── AppNotAuthorizedError              unauthorized_client
    │   │   ├── InvalidClientCredentialsError      invalid_client (client ID/secret)
    │   │   ├── PublicKeyNotFoundError             'kid' invalid: key pair deleted or unknown
    │   │   ├── SignatureMismatchError             private key does not match the kid
    │   │   ├── NoPublicKeyError                   the app has no public key at all
    │   │   ├── AlgorithmNotAllowedError           the assertion's alg is not RS256/384/512
    │   │   ├── IssuerMismatchError                'iss' claim
    │   │   ├── InvalidSubjectError                'sub' claim: enterprise/user ID wrong
    │   │   ├── AssertionExpError                  'exp' claim: clock skew (either way)
    │   │   │   ├── AssertionExpiredError          'exp' passed: local clock behind Box
    │   │   │   ├── AssertionExpTooFarError        'exp' > 60 s ahead: local clock ahead of Box
    │   │   │   └── InvalidExpClaimError           'exp' not an integer
    │   │   ├── JTIReusedError                     'jti' replayed
    │   │   ├── UserTokenNotAllowedError           user tokens off / App Access Only
    │   │   ├── GrantTypeUnauthorizedError         not a JWT app (OAuth 2.0 user-auth app)
    │   │   ├── InvalidGrantTypeError              wrong host / redirect followed
    │   │   ├── InvalidSubjectTokenError           downscope: the token to downscope is bad
    │   │   ├── UnsupportedScopeError              downscope: a scope Box or the token lacks
    │   │   ├── TokenRateLimitedError              429
    │   │   └── TokenServerError                   5xx, 202, unparseable answers
    │   └── APIError                               a Box API call failed (any of Box's 3 shapes)
    │       ├── InvalidTokenError                  401 invalid_token / expired_token
    │       ├── InsufficientScopeError             403 insufficient_scope (header only)
    │       ├── AccessDeniedError                  403 JSON access_denied_* (and other 403s)
    │       │   ├── StorageLimitExceededError      403 storage_limit_exceeded: a quota
    │       │   ├── FileSizeLimitExceededError     403 file_size_limit_exceeded: a plan limit
    │       │   └── ForbiddenByPolicyError         403 forbidden_by_policy: an enterprise policy
    │       ├── NotFoundError                      404
    │       ├── ConflictError                      409
    │       │   └── TemporaryConflictError         409 operation_blocked_temporary /
    │       │                                          name_temporarily_reserved: retried
    │       ├── RateLimitExceededError             429
    │       └── ServerAPIError                     5xx
    ├── TransportError                             connection failure, timeout, bad TLS
    ├── TokenStoreError                            a shared token store failed
    └── ConfigurationError (ValueError)            a wrong argument to a boxjwt call

    BoxJWTWarning (UserWarning)
    ├── InsecureKeyWarning                         the private key is not passphrase-protected
    ├── KeyFilePermissionWarning                   group/others can read the key file
    ├── EnterpriseIDCoercedWarning                 integer enterpriseID turned into a string
    ├── IgnoredPassphraseWarning                   passphrase given for an unencrypted key
    ├── TokenStoreFallbackWarning                  shared store down: using the local cache
    └── RateLimiterFallbackWarning                 shared rate limiter down: pacing per process

The three 403 leaves under :class:`AccessDeniedError` and :class:`TemporaryConflictError` under
:class:`ConflictError` are not permission problems or lasting conflicts; they sit there so that
``except`` clauses written before they existed keep catching them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from boxjwt import _remedies as remedies

__all__ = [
    "APIError",
    "AccessDeniedError",
    "AlgorithmNotAllowedError",
    "AppNotAuthorizedError",
    "AssertionExpError",
    "AssertionExpTooFarError",
    "AssertionExpiredError",
    "BoxJWTError",
    "BoxJWTWarning",
    "ConfigurationError",
    "ConflictError",
    "EnterpriseIDCoercedWarning",
    "EnterpriseIDError",
    "FileSizeLimitExceededError",
    "ForbiddenByPolicyError",
    "GrantTypeUnauthorizedError",
    "IgnoredPassphraseWarning",
    "InsecureKeyWarning",
    "InsufficientScopeError",
    "InvalidClientCredentialsError",
    "InvalidExpClaimError",
    "InvalidGrantTypeError",
    "InvalidPEMError",
    "InvalidSubjectError",
    "InvalidSubjectTokenError",
    "InvalidTokenError",
    "IssuerMismatchError",
    "JTIReusedError",
    "KeyDerivationCostError",
    "KeyFileError",
    "KeyFileFieldError",
    "KeyFileJSONError",
    "KeyFileNotFoundError",
    "KeyFileNotReadableError",
    "KeyFilePermissionWarning",
    "KeyFileTooLargeError",
    "NoPublicKeyError",
    "NotAJWTAppError",
    "NotFoundError",
    "PassphraseRequiredError",
    "PrivateKeyError",
    "PrivateKeyMissingError",
    "PublicKeyNotFoundError",
    "RateLimitExceededError",
    "RateLimiterFallbackWarning",
    "ResponseError",
    "ServerAPIError",
    "SignatureMismatchError",
    "StorageLimitExceededError",
    "TemporaryConflictError",
    "TokenExchangeError",
    "TokenRateLimitedError",
    "TokenServerError",
    "TokenStoreError",
    "TokenStoreFallbackWarning",
    "TransportError",
    "UnsupportedKeyTypeError",
    "UnsupportedScopeError",
    "UserTokenNotAllowedError",
    "WeakKeyError",
    "WrongPassphraseError",
]

#: At most this many characters of an answer's body are kept on an exception.
MAX_ERROR_BODY = 64 * 1024


class BoxJWTError(Exception):
    """Root of every boxjwt error.

    ``message`` is the text; ``remedy`` says how to fix it, in words (None when there is
    nothing to do or nothing known); ``retryable`` whether trying the same thing again may
    succeed. Subclasses set the defaults of both (``remedy`` and ``default_retryable``); a
    ``remedy=`` / ``retryable=`` given to the constructor wins.
    """

    #: Whether instances are retryable unless told otherwise.
    default_retryable: ClassVar[bool] = False
    #: How to fix it (the class's default; an instance may carry a more specific one).
    remedy: str | None = None

    def __init__(
        self, *args: object, remedy: str | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(*args)
        self.message = str(args[0]) if args else ""
        if remedy is not None:
            self.remedy = remedy
        self.retryable = self.default_retryable if retryable is None else retryable


# --------------------------------------------------------------------------- key file

_FIX = " Fix: "


class KeyFileError(BoxJWTError, ValueError):
    """The key file (key.json) or the private key could not be used.

    ``source`` names where the config came from (a path, ``"<BOXJWT_CONFIG>"``, ``"<dict>"``)
    and ``field`` the JSON path at fault (e.g. ``"boxAppSettings.appAuth.passphrase"``), when
    known. ``problem`` is the message without its fix; ``remedy`` the fix. Given a ``remedy=``,
    the message becomes ``"<message> Fix: <remedy>"``; given a message that already ends with
    ``" Fix: ..."``, that part is the remedy; otherwise the class's remedy applies.
    """

    remedy = remedies.KEYFILE_DEFAULT

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        field: str | None = None,
        remedy: str | None = None,
    ):
        problem, said, fix = message.partition(_FIX)
        if remedy is not None:
            if not said:
                message = f"{message}{_FIX}{remedy}"
        elif said:
            remedy = fix.strip() or None
        super().__init__(message, remedy=remedy)
        self.problem = problem.rstrip()
        self.source = source
        self.field = field


class KeyFileNotFoundError(KeyFileError):
    """No file at the given path."""

    remedy = remedies.KEYFILE_NOT_FOUND


class KeyFileNotReadableError(KeyFileError):
    """The path is a directory, is not readable, or is not UTF-8 text."""

    remedy = remedies.KEYFILE_NOT_READABLE


class KeyFileTooLargeError(KeyFileError):
    """The file is far larger than any Box config (over 1 MiB)."""

    remedy = remedies.KEYFILE_TOO_LARGE


class KeyFileJSONError(KeyFileError):
    """The text is not valid JSON, or its top level is not an object."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        remedy: str | None = None,
    ):
        super().__init__(message, source=source, remedy=remedy)
        self.line = line
        self.column = column


class KeyFileFieldError(KeyFileError):
    """One or more required fields are missing or have the wrong type.

    ``problems`` lists every one of them as ``(json_path, what_is_wrong)``.
    """

    remedy = remedies.DOWNLOAD_CONFIG

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        problems: list[tuple[str, str]] | None = None,
        remedy: str | None = None,
    ):
        problems = list(problems or [])
        super().__init__(
            message,
            source=source,
            field=problems[0][0] if problems else None,
            remedy=remedy,
        )
        self.problems = problems


class NotAJWTAppError(KeyFileError):
    """The config has no ``appAuth``: it is a Client Credentials Grant app, not a JWT app."""

    remedy = remedies.NOT_A_JWT_APP


class EnterpriseIDError(KeyFileError):
    """``enterpriseID`` is empty, ``"0"`` or not made of digits."""

    remedy = remedies.ENTERPRISE_ID


class PrivateKeyError(KeyFileError):
    """The private key could not be loaded."""


class PrivateKeyMissingError(PrivateKeyError):
    """``privateKey`` is empty in the config and no separate PEM was given."""

    remedy = remedies.PRIVATE_KEY_MISSING


class PassphraseRequiredError(PrivateKeyError):
    """The key is encrypted and no passphrase was given."""

    remedy = remedies.PASSPHRASE


class WrongPassphraseError(PrivateKeyError):
    """The passphrase does not decrypt the key."""

    remedy = remedies.PASSPHRASE


class InvalidPEMError(PrivateKeyError):
    """The key text is corrupt, truncated, or not PEM at all."""

    remedy = remedies.PEM_DAMAGED


class UnsupportedKeyTypeError(PrivateKeyError):
    """The key is not an RSA key (Box signs only with RS256/384/512)."""

    remedy = remedies.NEW_RSA_KEY


class WeakKeyError(PrivateKeyError):
    """The RSA key is shorter than 2048 bits."""

    remedy = remedies.NEW_RSA_KEY


class KeyDerivationCostError(PrivateKeyError):
    """The encrypted key demands a key-derivation cost (PBKDF2 iterations, scrypt N x r x p)
    far beyond what real keys use, so that each passphrase attempt would take minutes."""

    remedy = remedies.KDF_COST


# --------------------------------------------------------------------------- Box's answers


class ResponseError(BoxJWTError):
    """Box answered, with an error: what token-endpoint and API errors have in common.

    Attributes: ``status_code`` (None when there was no HTTP answer), ``code`` (Box's error
    code: the OAuth ``error``, the JSON ``code`` or the ``WWW-Authenticate`` ``error``; also
    readable as ``error``), ``request_id`` (for Box Support), ``body`` (the raw text, at most
    :data:`MAX_ERROR_BODY` characters; ``body_truncated`` says whether more was cut),
    ``headers`` and ``retry_after`` (seconds Box asked to wait, else None).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
        remedy: str | None = None,
        retryable: bool | None = None,
    ):
        super().__init__(message, remedy=remedy, retryable=retryable)
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.body_truncated = body is not None and len(body) > MAX_ERROR_BODY
        self.body = body[:MAX_ERROR_BODY] if body is not None else None
        self.headers: dict[str, str] = dict(headers or {})
        self.retry_after = retry_after

    @property
    def error(self) -> str | None:
        """Box's error code (the same as ``code``; the OAuth name)."""
        return self.code

    @error.setter
    def error(self, value: str | None) -> None:
        self.code = value


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


# --------------------------------------------------------------------------- other


class TransportError(BoxJWTError):
    """No usable HTTP answer: connection refused or dropped, timeout, TLS failure.

    Retryable unless told otherwise (TLS and URL errors are not).
    """

    default_retryable = True
    remedy = remedies.NETWORK

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        retryable: bool | None = None,
        remedy: str | None = None,
    ):
        super().__init__(message, remedy=remedy, retryable=retryable)
        self.url = url


class TokenStoreError(BoxJWTError):
    """A shared token store could not be used."""


class ConfigurationError(BoxJWTError, ValueError):
    """A boxjwt call was given an invalid argument (the message says which, and how)."""


# --------------------------------------------------------------------------- warnings


class BoxJWTWarning(UserWarning):
    """Root of boxjwt's warnings: filter them with ``warnings.filterwarnings``."""


class InsecureKeyWarning(BoxJWTWarning):
    """The private key is stored without a passphrase."""


class KeyFilePermissionWarning(BoxJWTWarning):
    """The key file can be read by group or others (like ssh's "unprotected private key")."""


class EnterpriseIDCoercedWarning(BoxJWTWarning):
    """``enterpriseID`` was a JSON number and was turned into the string Box expects."""


class IgnoredPassphraseWarning(BoxJWTWarning):
    """A passphrase was given but the key is not encrypted; it was ignored."""


class TokenStoreFallbackWarning(BoxJWTWarning):
    """The shared token store is unavailable; tokens are cached in this process meanwhile."""


class RateLimiterFallbackWarning(BoxJWTWarning):
    """The shared rate limiter (Redis) is unavailable; each process paces on its own meanwhile."""
