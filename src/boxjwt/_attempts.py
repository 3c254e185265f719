"""One token exchange's attempts, whatever carries them (``requests`` or ``httpx``): I/O-free."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from boxjwt.exceptions import (
    AssertionExpError,
    JTIReusedError,
    TokenExchangeError,
    TransportError,
)

if TYPE_CHECKING:
    from boxjwt._assertion import AssertionBuilder
    from boxjwt._token import AccessToken, SubjectType

__all__ = ["ExchangeAttempts"]

logger = logging.getLogger("boxjwt")


class Authenticator(Protocol):
    """What the attempts need of an authenticator (a :class:`boxjwt.JWTAuthenticator`)."""

    @property
    def _assertions(self) -> AssertionBuilder: ...

    def box_time(self) -> float: ...

    def _learn_offset(self, exc: TokenExchangeError) -> None: ...


class Result(Protocol):
    """What the attempts read of an exchange's result (a ``TokenResult``)."""

    @property
    def token(self) -> AccessToken: ...

    @property
    def request_id(self) -> str | None: ...


class ExchangeAttempts:
    """The attempts of one token exchange, whatever carries them (``requests`` or ``httpx``).

    Builds each attempt's assertion (a fresh ``jti``, Box's time), decides what an ``exp`` or
    ``jti`` refusal means (one immediate retry each; an ``exp`` refusal teaches the clock
    offset from Box's ``Date``) and logs the outcome. Free of I/O.
    """

    __slots__ = (
        "attempts",
        "auth",
        "jti_retried",
        "skew_retried",
        "subject",
        "subject_id",
        "subject_type",
        "what",
    )

    def __init__(self, auth: Authenticator, subject_type: SubjectType, subject_id: str) -> None:
        self.auth = auth
        self.subject_type: SubjectType = subject_type
        self.subject_id = subject_id
        self.subject = f"{subject_type} {subject_id}"
        self.what = f"token request for {self.subject}"
        self.attempts = 0
        self.skew_retried = False
        self.jti_retried = False

    def assertion(self) -> str:
        """The next attempt's signed assertion (~0.3 ms of RSA)."""
        self.attempts += 1
        auth = self.auth
        return auth._assertions.build(self.subject_type, self.subject_id, auth.box_time())

    def refused(self, exc: AssertionExpError | JTIReusedError) -> None:
        """An ``exp`` or ``jti`` refusal: retry at once, the first time only."""
        if isinstance(exc, AssertionExpError):  # any refusal naming exp: the clocks differ
            if self.skew_retried:
                exc.retryable = False
                return
            self.skew_retried = True
            self.auth._learn_offset(exc)
        else:
            if self.jti_retried:
                exc.retryable = False
                return
            self.jti_retried = True
        exc.retry_after = 0.0

    def gave_up(self, exc: TokenExchangeError | TransportError) -> None:
        """Log the last failure of the exchange."""
        logger.warning(
            "token request for %s failed after %d attempt(s): %s%s",
            self.subject,
            self.attempts,
            type(exc).__name__,
            f" (Box request id {exc.request_id})"
            if isinstance(exc, TokenExchangeError) and exc.request_id
            else "",
        )

    def got(self, result: Result) -> AccessToken:
        """Log the success of the exchange; its token."""
        token = result.token
        logger.info(
            "got a token for %s in %d attempt(s), valid %.0f s (Box request id %s)",
            self.subject,
            self.attempts,
            token.lifetime,
            result.request_id or "-",
        )
        return token
