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

from boxjwt.exceptions._api import (
    AccessDeniedError,
    APIError,
    ConflictError,
    FileSizeLimitExceededError,
    ForbiddenByPolicyError,
    InsufficientScopeError,
    InvalidTokenError,
    NotFoundError,
    RateLimitExceededError,
    ServerAPIError,
    StorageLimitExceededError,
    TemporaryConflictError,
)
from boxjwt.exceptions._base import MAX_ERROR_BODY as MAX_ERROR_BODY  # for tests and docs
from boxjwt.exceptions._base import (
    BoxJWTError,
    BoxJWTWarning,
    ConfigurationError,
    EnterpriseIDCoercedWarning,
    IgnoredPassphraseWarning,
    InsecureKeyWarning,
    KeyFilePermissionWarning,
    RateLimiterFallbackWarning,
    ResponseError,
    TokenStoreError,
    TokenStoreFallbackWarning,
    TransportError,
)
from boxjwt.exceptions._keyfile import (
    EnterpriseIDError,
    InvalidPEMError,
    KeyDerivationCostError,
    KeyFileError,
    KeyFileFieldError,
    KeyFileJSONError,
    KeyFileNotFoundError,
    KeyFileNotReadableError,
    KeyFileTooLargeError,
    NotAJWTAppError,
    PassphraseRequiredError,
    PrivateKeyError,
    PrivateKeyMissingError,
    UnsupportedKeyTypeError,
    WeakKeyError,
    WrongPassphraseError,
)
from boxjwt.exceptions._token import (
    AlgorithmNotAllowedError,
    AppNotAuthorizedError,
    AssertionExpError,
    AssertionExpiredError,
    AssertionExpTooFarError,
    GrantTypeUnauthorizedError,
    InvalidClientCredentialsError,
    InvalidExpClaimError,
    InvalidGrantTypeError,
    InvalidSubjectError,
    InvalidSubjectTokenError,
    IssuerMismatchError,
    JTIReusedError,
    NoPublicKeyError,
    PublicKeyNotFoundError,
    SignatureMismatchError,
    TokenExchangeError,
    TokenRateLimitedError,
    TokenServerError,
    UnsupportedScopeError,
    UserTokenNotAllowedError,
)

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

# Documented, pickled and shown in tracebacks as boxjwt.exceptions.X, where users import them.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
