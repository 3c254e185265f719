"""Which boxjwt exception an error answer of Box is, and whether to try again: tables only.

Pure functions over plain values (status code, Box's error code, a description, a headers
mapping, a body's text), free of ``requests``, so that every transport reads Box the same way.

Token endpoint (box-facts §3): one ``error`` (``invalid_grant``) covers many causes, so the
``error_description`` decides. It is matched on meaning: its *words* (lower case; quotes,
``\\/`` escapes, punctuation and spacing ignored) must contain a rule's key phrase, so
``'kid'``, ``"kid"`` and ``kid``, ``date\\/time`` and ``date/time``, a trailing period or a long
tail all match alike. Only substring tests on a text truncated to
:data:`MAX_DESCRIPTION` characters: classification is linear, whatever Box (or a hostile
server) sends.

API (box-facts §5): the class follows from the status and Box's ``code``
(:data:`API_CODES`, :data:`API_STATUSES`); the remedy may depend on how the call was made
(:class:`CallContext`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final

import attrs

from boxjwt import _remedies as remedies
from boxjwt._http import get_header, json_object
from boxjwt.exceptions import (
    AccessDeniedError,
    AlgorithmNotAllowedError,
    APIError,
    AppNotAuthorizedError,
    AssertionExpError,
    AssertionExpiredError,
    AssertionExpTooFarError,
    ConflictError,
    FileSizeLimitExceededError,
    ForbiddenByPolicyError,
    GrantTypeUnauthorizedError,
    InsufficientScopeError,
    InvalidClientCredentialsError,
    InvalidExpClaimError,
    InvalidGrantTypeError,
    InvalidSubjectError,
    InvalidSubjectTokenError,
    InvalidTokenError,
    IssuerMismatchError,
    JTIReusedError,
    NoPublicKeyError,
    NotFoundError,
    PublicKeyNotFoundError,
    RateLimitExceededError,
    ServerAPIError,
    SignatureMismatchError,
    StorageLimitExceededError,
    TemporaryConflictError,
    TokenExchangeError,
    TokenRateLimitedError,
    TokenServerError,
    UnsupportedScopeError,
    UserTokenNotAllowedError,
)

__all__ = [
    "API_CODES",
    "API_STATUSES",
    "MAX_DESCRIPTION",
    "TOKEN_RULES",
    "TRANSIENT_409_CODES",
    "CallContext",
    "TokenRule",
    "api_class",
    "api_remedy",
    "description_words",
    "retryable_response",
    "token_class",
]

#: Descriptions are cut to this many characters before matching (Box's are under 200).
MAX_DESCRIPTION: Final = 4096

# --------------------------------------------------------------------------- token endpoint


@attrs.frozen
class TokenRule:
    """One row: a class, and what Box's answer must look like to select it.

    ``statuses`` (HTTP codes; empty: any 4xx or an unknown status), ``error`` (Box's ``error``,
    lower case; None: any) and ``phrases``: alternatives, each a tuple of key phrases that must
    all occur in the description's words (empty: any description). All given conditions hold.
    """

    cls: type[TokenExchangeError]
    statuses: frozenset[int] = frozenset()
    error: str | None = None
    phrases: tuple[tuple[str, ...], ...] = ()

    def matches(self, status: int | None, error: str | None, words: str) -> bool:
        """True when this row selects Box's answer (``words``: see :func:`description_words`)."""
        if self.statuses:
            if status not in self.statuses:
                return False
        elif status is not None and not 400 <= status < 500:
            return False
        if self.error is not None and self.error != error:
            return False
        if not self.phrases:
            return True
        return any(all(f" {p} " in words for p in group) for group in self.phrases)


def _rule(
    cls: type[TokenExchangeError],
    *phrases: str | tuple[str, ...],
    error: str | None = None,
    statuses: tuple[int, ...] = (),
) -> TokenRule:
    groups = tuple((p,) if isinstance(p, str) else p for p in phrases)
    return TokenRule(cls, frozenset(statuses), error, groups)


#: First match wins. Descriptions are matched before bare ``error`` codes, because one
#: ``error`` covers many causes. Within the ``exp`` rows, the specific ones come first; the
#: last catches any description naming the ``exp`` claim (Box's short form included).
TOKEN_RULES: Final[tuple[TokenRule, ...]] = (
    _rule(TokenRateLimitedError, statuses=(429,)),
    _rule(TokenServerError, statuses=(202, 408, *range(500, 600))),
    _rule(
        AppNotAuthorizedError,
        "not authorized by the enterprise",
        "not authorised by the enterprise",
    ),
    _rule(InvalidClientCredentialsError, "client credentials are invalid", "client credentials"),
    _rule(AlgorithmNotAllowedError, ("algorithm", "not allowed"), "unsupported algorithm"),
    _rule(
        SignatureMismatchError,
        "signature verification",
        "unable to verify data",
        "must correspond to the private key",
    ),
    _rule(
        PublicKeyNotFoundError,
        "kid invalid",
        "kid is invalid",
        "invalid kid",
        "unable to lookup correct key",
        "unable to look up correct key",
    ),
    _rule(NoPublicKeyError, "no public key", "not configured properly"),
    _rule(InvalidSubjectTokenError, "subject token"),
    _rule(UnsupportedScopeError, "unsupported scope", "invalid scope"),
    _rule(IssuerMismatchError, "iss"),
    _rule(InvalidSubjectError, "sub"),
    _rule(AssertionExpiredError, "before the expiration", ("exp", "expired")),
    _rule(AssertionExpTooFarError, "exceeds the maximum", "beyond the issue time"),
    _rule(InvalidExpClaimError, ("exp", "integer")),
    _rule(AssertionExpError, "exp"),
    _rule(JTIReusedError, "jti"),
    _rule(
        UserTokenNotAllowedError,
        "cannot obtain user token",
        ("cannot obtain", "token", "enterprise configuration"),
    ),
    _rule(
        GrantTypeUnauthorizedError,
        "grant type is unauthorized",
        "grant type is unauthorised",
        "grant type is not authorized",
    ),
    _rule(InvalidGrantTypeError, "invalid grant type", "grant type parameter"),
    # bare error codes, when the description is unknown or missing
    _rule(AppNotAuthorizedError, error="unauthorized_client"),
    _rule(InvalidClientCredentialsError, error="invalid_client"),
    _rule(GrantTypeUnauthorizedError, error="unsupported_grant_type"),
    _rule(UnsupportedScopeError, error="invalid_scope"),
)

_NOT_WORD = re.compile(r"[^0-9a-z]+")  # a single character class: linear


def description_words(text: str | None) -> str:
    """Box's description as words: ``" please check the exp claim "``.

    Cut to :data:`MAX_DESCRIPTION` characters, lower case, ``\\/`` unescaped, every run of
    anything but letters and digits (quotes, punctuation, ``_``, spacing) one space, and one
    space at each end, so that ``f" {phrase} " in words`` matches whole words only.
    """
    if not text:
        return " "
    text = text[:MAX_DESCRIPTION].replace("\\/", "/").lower()
    return f" {_NOT_WORD.sub(' ', text).strip()} "


def token_class(
    status: int | None, error: str | None, error_description: str | None
) -> type[TokenExchangeError]:
    """The exception class for an answer of ``/oauth2/*``: the first row of the table that
    matches. Linear in the description's length (which is capped)."""
    code = (error or "").strip().lower() or None
    words = description_words(error_description)
    for rule in TOKEN_RULES:
        if rule.matches(status, code, words):
            return rule.cls
    if status is not None and 200 <= status < 300:
        return TokenServerError  # a "success" we cannot read
    return TokenExchangeError


# --------------------------------------------------------------------------- API


@attrs.frozen
class CallContext:
    """How an API call was made, as far as the caller knows (None: unknown).

    ``service_account``: the call ran as the service account (its enterprise token, no
    ``As-User``), which sees only its own content.
    """

    service_account: bool | None = None


#: 409 codes Box documents as "wait and retry".
TRANSIENT_409_CODES: Final = frozenset({"operation_blocked_temporary", "name_temporarily_reserved"})

#: (status, Box's code) -> class; looked up before :data:`API_STATUSES`.
API_CODES: Final[Mapping[tuple[int, str], type[APIError]]] = {
    (403, "insufficient_scope"): InsufficientScopeError,
    (403, "storage_limit_exceeded"): StorageLimitExceededError,
    (403, "file_size_limit_exceeded"): FileSizeLimitExceededError,
    (403, "forbidden_by_policy"): ForbiddenByPolicyError,
    **{(409, code): TemporaryConflictError for code in TRANSIENT_409_CODES},
}

#: status -> class, when the code is not in :data:`API_CODES`. 5xx: :class:`ServerAPIError`;
#: any other status: :class:`APIError`.
API_STATUSES: Final[Mapping[int, type[APIError]]] = {
    401: InvalidTokenError,
    403: AccessDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitExceededError,
}


def api_class(status: int, code: str | None) -> type[APIError]:
    """The exception class for an API error answer: two table lookups."""
    if code is not None:
        found = API_CODES.get((status, code))
        if found is not None:
            return found
    found = API_STATUSES.get(status)
    if found is not None:
        return found
    return ServerAPIError if status >= 500 else APIError


def api_remedy(cls: type[APIError], code: str | None, context: CallContext) -> str | None:
    """The remedy for an API error of class ``cls`` with Box's ``code``, made as ``context``.

    Only permission 403s (``access_denied_*``) get the permission remedy; a 404 of a call made
    as the service account gets the "use for_user" remedy.
    """
    if cls is NotFoundError and context.service_account:
        return remedies.NOT_FOUND_AS_SERVICE_ACCOUNT
    if cls is AccessDeniedError:
        return remedies.ACCESS_DENIED if code and code.startswith("access_denied") else None
    return cls.remedy


def _json_code(body: str) -> str | None:
    data = json_object(body)
    code = data.get("code") if data is not None else None
    return code if isinstance(code, str) else None


def retryable_response(
    status: int,
    headers: Mapping[str, str],
    body: Callable[[], str],
    *,
    idempotent: bool,
) -> bool:
    """Whether an API answer may be retried (Box refused before doing anything, or failed).

    Every method: 429, and 409 ``operation_blocked_temporary`` / ``name_temporarily_reserved``
    (``body`` is read only for a 409). Idempotent methods also: 5xx, and 202 with
    ``Retry-After``.
    """
    if status == 429:
        return True
    if status == 409:
        return _json_code(body()) in TRANSIENT_409_CODES
    if not idempotent:
        return False
    return status >= 500 or (status == 202 and get_header(headers, "retry-after") is not None)
