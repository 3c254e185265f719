"""Every error and warning boxjwt raises.

Catch :class:`BoxJWTError` to catch them all. Messages say what is wrong, where, and how to
fix it; they never contain a secret (client secret, passphrase, private key, token, assertion).

The tree::

    BoxJWTError
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
    ├── TokenExchangeError                         POST /oauth2/token (or /oauth2/revoke) failed
    │   ├── AppNotAuthorizedError                  unauthorized_client
    │   ├── InvalidClientCredentialsError          invalid_client (client ID/secret)
    │   ├── PublicKeyNotFoundError                 'kid' invalid: key pair deleted or unknown
    │   ├── SignatureMismatchError                 private key does not match the kid
    │   ├── NoPublicKeyError                       the app has no public key at all
    │   ├── IssuerMismatchError                    'iss' claim
    │   ├── InvalidSubjectError                    'sub' claim: enterprise/user ID wrong
    │   ├── AssertionExpiredError                  'exp' passed: local clock behind Box
    │   ├── AssertionExpTooFarError                'exp' > 60 s ahead: local clock ahead of Box
    │   ├── InvalidExpClaimError                   'exp' not an integer
    │   ├── JTIReusedError                         'jti' replayed
    │   ├── UserTokenNotAllowedError               user tokens off / App Access Only
    │   ├── GrantTypeUnauthorizedError             not a JWT app (OAuth 2.0 user-auth app)
    │   ├── InvalidGrantTypeError                  wrong host / redirect followed
    │   ├── TokenRateLimitedError                  429
    │   └── TokenServerError                       5xx, 202, unparseable answers
    ├── APIError                                   a Box API call failed (any of Box's 3 shapes)
    │   ├── InvalidTokenError                      401 invalid_token / expired_token
    │   ├── InsufficientScopeError                 403 insufficient_scope (header only)
    │   ├── AccessDeniedError                      403 JSON access_denied_*
    │   ├── NotFoundError                          404
    │   ├── ConflictError                          409
    │   ├── RateLimitExceededError                 429
    │   └── ServerAPIError                         5xx
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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "AccessDeniedError",
    "AppNotAuthorizedError",
    "AssertionExpTooFarError",
    "AssertionExpiredError",
    "BoxJWTError",
    "BoxJWTWarning",
    "ConfigurationError",
    "ConflictError",
    "EnterpriseIDCoercedWarning",
    "EnterpriseIDError",
    "GrantTypeUnauthorizedError",
    "IgnoredPassphraseWarning",
    "InsecureKeyWarning",
    "InsufficientScopeError",
    "InvalidClientCredentialsError",
    "InvalidExpClaimError",
    "InvalidGrantTypeError",
    "InvalidPEMError",
    "InvalidSubjectError",
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
    "ServerAPIError",
    "SignatureMismatchError",
    "TokenExchangeError",
    "TokenRateLimitedError",
    "TokenServerError",
    "TokenStoreError",
    "TokenStoreFallbackWarning",
    "TransportError",
    "UnsupportedKeyTypeError",
    "UserTokenNotAllowedError",
    "WeakKeyError",
    "WrongPassphraseError",
]


class BoxJWTError(Exception):
    """Root of every boxjwt error."""


# --------------------------------------------------------------------------- key file


class KeyFileError(BoxJWTError, ValueError):
    """The key file (key.json) or the private key could not be used.

    ``source`` names where the config came from (a path, ``"<BOXJWT_CONFIG>"``, ``"<dict>"``)
    and ``field`` the JSON path at fault (e.g. ``"boxAppSettings.appAuth.passphrase"``), when known.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.field = field


class KeyFileNotFoundError(KeyFileError):
    """No file at the given path."""


class KeyFileNotReadableError(KeyFileError):
    """The path is a directory, is not readable, or is not UTF-8 text."""


class KeyFileTooLargeError(KeyFileError):
    """The file is far larger than any Box config (over 1 MiB)."""


class KeyFileJSONError(KeyFileError):
    """The text is not valid JSON, or its top level is not an object."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ):
        super().__init__(message, source=source)
        self.line = line
        self.column = column


class KeyFileFieldError(KeyFileError):
    """One or more required fields are missing or have the wrong type.

    ``problems`` lists every one of them as ``(json_path, what_is_wrong)``.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        problems: list[tuple[str, str]] | None = None,
    ):
        problems = list(problems or [])
        super().__init__(message, source=source, field=problems[0][0] if problems else None)
        self.problems = problems


class NotAJWTAppError(KeyFileError):
    """The config has no ``appAuth``: it is a Client Credentials Grant app, not a JWT app."""


class EnterpriseIDError(KeyFileError):
    """``enterpriseID`` is empty, ``"0"`` or not made of digits."""


class PrivateKeyError(KeyFileError):
    """The private key could not be loaded."""


class PrivateKeyMissingError(PrivateKeyError):
    """``privateKey`` is empty in the config and no separate PEM was given."""


class PassphraseRequiredError(PrivateKeyError):
    """The key is encrypted and no passphrase was given."""


class WrongPassphraseError(PrivateKeyError):
    """The passphrase does not decrypt the key."""


class InvalidPEMError(PrivateKeyError):
    """The key text is corrupt, truncated, or not PEM at all."""


class UnsupportedKeyTypeError(PrivateKeyError):
    """The key is not an RSA key (Box signs only with RS256/384/512)."""


class WeakKeyError(PrivateKeyError):
    """The RSA key is shorter than 2048 bits."""


class KeyDerivationCostError(PrivateKeyError):
    """The encrypted key demands a key-derivation cost (PBKDF2 iterations, scrypt N x r x p)
    far beyond what real keys use, so that each passphrase attempt would take minutes."""


# --------------------------------------------------------------------------- token exchange


class TokenExchangeError(BoxJWTError):
    """Box's token endpoint refused or failed the exchange.

    Attributes: ``status_code`` (None when no HTTP answer), ``error`` and ``error_description``
    (Box's OAuth fields), ``request_id`` (body ``request_id`` or the ``box-request-id`` header,
    for Box Support), ``body`` (the raw text), ``headers`` and ``retryable`` (whether trying
    again may succeed). Subclasses set a default ``retryable``.
    """

    default_retryable: bool = False
    #: What to do about it; appended to the message.
    remedy: str = ""

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
    ):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error = error
        self.error_description = error_description
        self.request_id = request_id
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after


class AppNotAuthorizedError(TokenExchangeError):
    """``unauthorized_client``: the app is not authorized (or is disabled) in the enterprise."""

    remedy = (
        "A Box admin must authorize the app: Admin Console > Integrations > Platform Apps "
        "Manager > Server Authentication Apps > Add App (paste the client ID), or enable it "
        "there if it was disabled."
    )


class InvalidClientCredentialsError(TokenExchangeError):
    """``invalid_client``: the client ID or client secret is wrong (e.g. the secret was reset)."""

    remedy = (
        "Download a fresh config from the Developer Console (Configuration tab) or copy the "
        "current client secret; a reset secret invalidates old key files."
    )


class PublicKeyNotFoundError(TokenExchangeError):
    """``'kid' invalid``: Box has no public key with this ``publicKeyID`` for the app."""

    remedy = (
        "The key pair was deleted or belongs to another app: in the Developer Console, "
        "Configuration > Add and Manage Public Keys, generate a new key pair (or add your "
        "public key) and use the new config."
    )


class SignatureMismatchError(TokenExchangeError):
    """The signature does not verify with the public key named by ``kid``."""

    remedy = (
        "The private key does not belong to the publicKeyID in the config: use the config "
        "downloaded together with this key, or re-add the matching public key."
    )


class NoPublicKeyError(TokenExchangeError):
    """The app has no public key registered."""

    remedy = (
        "Developer Console > your app > Configuration > Add and Manage Public Keys: generate "
        "a key pair or add a public key."
    )


class IssuerMismatchError(TokenExchangeError):
    """``iss`` (the client ID) does not match."""

    remedy = "The clientID in the config is wrong; download the config again."


class InvalidSubjectError(TokenExchangeError):
    """``sub`` is wrong: a wrong/zero enterprise ID, or a user outside the enterprise."""

    remedy = (
        "Check enterpriseID in the config (Admin Console > Account & Billing shows it) or the "
        "user ID: the user must belong to this enterprise."
    )


class AssertionExpiredError(TokenExchangeError):
    """The assertion's ``exp`` had passed by Box's clock: the local clock is behind."""

    default_retryable = True
    remedy = "Synchronise this machine's clock (NTP); boxjwt corrects for skew once per attempt."


class AssertionExpTooFarError(TokenExchangeError):
    """``exp`` is more than 60 s past Box's time: the local clock is ahead."""

    default_retryable = True
    remedy = "Synchronise this machine's clock (NTP); boxjwt corrects for skew once per attempt."


class InvalidExpClaimError(TokenExchangeError):
    """``exp`` is not an integer."""

    remedy = "The assertion's exp claim must be integer Unix seconds."


class JTIReusedError(TokenExchangeError):
    """The assertion's ``jti`` was used before."""

    default_retryable = True
    remedy = "Each assertion needs a fresh jti; boxjwt retries once with a new one."


class UserTokenNotAllowedError(TokenExchangeError):
    """Box will not issue a user token for this app and user."""

    remedy = (
        'Developer Console > your app > Configuration > Advanced Features: enable "Generate '
        'user access tokens"; for managed users the App Access Level must be "App + Enterprise '
        'Access". Then re-authorize the app in the Admin Console (Platform Apps Manager > the '
        "app's menu > Reauthorize App). The service account itself cannot get a user token."
    )


class GrantTypeUnauthorizedError(TokenExchangeError):
    """The app is not a JWT (Server Authentication) app."""

    remedy = (
        'Create a Custom App with "Server Authentication (with JWT)"; an OAuth 2.0 or Client '
        "Credentials app cannot use JWT."
    )


class InvalidGrantTypeError(TokenExchangeError):
    """Box did not see a JWT grant: usually the request went to the wrong host."""

    remedy = "Post to https://api.box.com/oauth2/token (check base_url and proxies)."


class TokenRateLimitedError(TokenExchangeError):
    """HTTP 429 from the token endpoint."""

    default_retryable = True


class TokenServerError(TokenExchangeError):
    """5xx, 202, or an unreadable answer from the token endpoint."""

    default_retryable = True


# --------------------------------------------------------------------------- API


class APIError(BoxJWTError):
    """A Box API call failed.

    Built from any of Box's three error shapes (JSON client error, header-only 401/403, OAuth
    error). Attributes: ``status_code``, ``code`` (Box's ``code``, or the ``WWW-Authenticate``
    / OAuth ``error``), ``message``, ``request_id``, ``help_url``, ``body`` (raw text),
    ``headers``, ``method``, ``url``, ``box_message`` (Box's own words: the JSON ``message``
    or the ``WWW-Authenticate`` ``error_description``), ``retryable`` and ``retry_after``
    (seconds from the ``Retry-After`` header, else None; :class:`~boxjwt.RetryPolicy` honours
    it).
    """

    default_retryable: bool = False

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
    ):
        super().__init__(message)
        self.message = message
        self.box_message = box_message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.help_url = help_url
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        self.method = method
        self.url = url
        self.context_info = context_info
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after


class InvalidTokenError(APIError):
    """401: the access token is invalid, expired or revoked."""

    default_retryable = True


class InsufficientScopeError(APIError):
    """403 with an empty body and ``error="insufficient_scope"``: a scope or As-User is off."""


class AccessDeniedError(APIError):
    """403 JSON ``access_denied_*``: the acting user may not do this."""


class NotFoundError(APIError):
    """404: no such item (or the acting user cannot see it)."""


class ConflictError(APIError):
    """409: e.g. an item with that name already exists."""


class RateLimitExceededError(APIError):
    """429: too many requests."""

    default_retryable = True


class ServerAPIError(APIError):
    """5xx from the API."""

    default_retryable = True


# --------------------------------------------------------------------------- other


class TransportError(BoxJWTError):
    """No usable HTTP answer: connection refused or dropped, timeout, TLS failure."""

    def __init__(self, message: str, *, url: str | None = None, retryable: bool = True):
        super().__init__(message)
        self.message = message
        self.url = url
        self.retryable = retryable


class TokenStoreError(BoxJWTError):
    """A shared token store could not be used."""


class ConfigurationError(BoxJWTError, ValueError):
    """A boxjwt call was given an invalid argument."""


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
