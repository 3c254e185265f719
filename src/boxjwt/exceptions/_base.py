"""The root of boxjwt's errors, the base of errors built from Box's answers, the rest,
and the warnings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from boxjwt import _remedies as remedies

__all__ = [
    "MAX_ERROR_BODY",
    "BoxJWTError",
    "BoxJWTWarning",
    "ConfigurationError",
    "EnterpriseIDCoercedWarning",
    "IgnoredPassphraseWarning",
    "InsecureKeyWarning",
    "KeyFilePermissionWarning",
    "RateLimiterFallbackWarning",
    "ResponseError",
    "TokenStoreError",
    "TokenStoreFallbackWarning",
    "TransportError",
]

#: At most this many characters of an answer's body are kept on an exception (Box's error
#: bodies are well under 1 KiB; a server cannot make an exception hold megabytes).
MAX_ERROR_BODY = 4 * 1024


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


# --------------------------------------------------------------------------- Box's answers


class ResponseError(BoxJWTError):
    """Box answered, with an error: what token-endpoint and API errors have in common.

    Attributes: ``status_code`` (None when there was no HTTP answer), ``code`` (Box's error
    code: the OAuth ``error``, the JSON ``code`` or the ``WWW-Authenticate`` ``error``; also
    readable as ``error``), ``request_id`` (for Box Support), ``body`` (the raw text, at most
    4 KiB of it; ``body_truncated`` says whether more was cut),
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
