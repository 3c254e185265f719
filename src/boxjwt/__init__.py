"""boxjwt: Box.com JWT server authentication for migration software.

Public names are re-exported here; everything in a module whose name starts with ``_`` is private.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from boxjwt import exceptions
from boxjwt._auth import BoxAuth, SessionMode
from boxjwt._authenticator import JWTAuthenticator
from boxjwt._errors import raise_for_box_error
from boxjwt._keyfile import KeyFile
from boxjwt._ratelimit import RateLimiter, RatePermit
from boxjwt._ratepolicy import (
    RateClass,
    RateClassStats,
    RateLimit,
    RateLimiterStats,
    RatePolicy,
    rate_class_of,
)
from boxjwt._retry import RetryEvent, RetryPolicy
from boxjwt._secret import Secret
from boxjwt._session import AsUserSession
from boxjwt._store import MemoryTokenStore, TokenStore
from boxjwt._token import AccessToken, SubjectType
from boxjwt.checkusers import ALL_USERS, UserCheck, UserCheckReport, check_users
from boxjwt.exceptions import BoxJWTError
from boxjwt.preflight import (
    CheckEvidence,
    CheckId,
    CheckResult,
    CheckStatus,
    PreflightReport,
    UserRef,
    preflight,
)

try:
    __version__ = version("boxjwt")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ALL_USERS",
    "AccessToken",
    "AsUserSession",
    "BoxAuth",
    "BoxJWTError",
    "CheckEvidence",
    "CheckId",
    "CheckResult",
    "CheckStatus",
    "JWTAuthenticator",
    "KeyFile",
    "MemoryTokenStore",
    "PreflightReport",
    "RateClass",
    "RateClassStats",
    "RateLimit",
    "RateLimiter",
    "RateLimiterStats",
    "RatePermit",
    "RatePolicy",
    "RetryEvent",
    "RetryPolicy",
    "Secret",
    "SessionMode",
    "SubjectType",
    "TokenStore",
    "UserCheck",
    "UserCheckReport",
    "UserRef",
    "__version__",
    "check_users",
    "exceptions",
    "preflight",
    "raise_for_box_error",
    "rate_class_of",
]
