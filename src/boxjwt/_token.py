"""Access tokens and the arithmetic of their freshness (the clock is always passed in)."""

from __future__ import annotations

import json
import math
from typing import Any, Final, Literal

import attrs

from boxjwt._secret import Secret
from boxjwt.exceptions import TokenStoreError

__all__ = [
    "MAX_TOKEN_LIFETIME",
    "MIN_TOKEN_LIFETIME",
    "AccessToken",
    "SubjectType",
    "clamp_lifetime",
    "subject_key",
]

SubjectType = Literal["enterprise", "user"]

#: The shortest lifetime (seconds) believed from a token answer. Box issues 3600-4200 s; a
#: server claiming less (``expires_in: 0.001``) would otherwise force an exchange per call.
#: Low enough for the emulator's deliberately short tokens (``token_expires_in = 5``).
MIN_TOKEN_LIFETIME: Final = 5.0
#: The longest lifetime (seconds) believed: a day. ``expires_in: 1e300`` must not make a token
#: fresh forever (Box's own are about an hour; a 401 replaces one that dies sooner).
MAX_TOKEN_LIFETIME: Final = 86_400.0


def clamp_lifetime(seconds: float) -> float:
    """``seconds`` bounded to [:data:`MIN_TOKEN_LIFETIME`, :data:`MAX_TOKEN_LIFETIME`].

    The caller has already refused anything that is not a finite number above zero.
    """
    return min(max(seconds, MIN_TOKEN_LIFETIME), MAX_TOKEN_LIFETIME)


def subject_key(client_id: str, subject_type: SubjectType, subject_id: str) -> str:
    """The cache key of a subject: one token per (app, subject type, subject id)."""
    return f"{client_id}:{subject_type}:{subject_id}"


@attrs.frozen(kw_only=True)
class AccessToken:
    """A Box access token.

    ``value`` is a :class:`~boxjwt.Secret`; ``issued_at`` and ``expires_at`` are Unix seconds on
    the local clock (already corrected for Box's clock skew when it was known). ``client_id``
    is the app the token was issued to (None when unknown, e.g. a token built by hand):
    together with ``subject_type`` and ``subject_id`` it names whom the token acts for, and the
    authenticator refuses a token from a store whose subject is not the one asked for.
    """

    value: Secret = attrs.field(converter=Secret)
    expires_at: float
    issued_at: float
    subject_type: SubjectType
    subject_id: str
    token_type: str = "bearer"
    # Downscoped tokens list the items they are restricted to (dicts): kept out of eq/hash.
    restricted_to: tuple[Any, ...] = attrs.field(default=(), converter=tuple, eq=False)
    # Kept out of eq/hash: a store that drops it must not defeat invalidate()'s compare-and-swap.
    client_id: str | None = attrs.field(default=None, eq=False)

    @property
    def lifetime(self) -> float:
        """Seconds between issue and expiry."""
        return self.expires_at - self.issued_at

    def expires_in(self, now: float) -> float:
        """Seconds left at ``now`` (negative once expired)."""
        return self.expires_at - now

    def refresh_margin(self, margin: float) -> float:
        """The margin actually applied: ``margin``, but never more than half the lifetime."""
        return max(0.0, min(margin, self.lifetime / 2))

    def is_fresh(self, now: float, margin: float) -> bool:
        """True while the token has more than the (bounded) refresh margin left."""
        return self.expires_in(now) > self.refresh_margin(margin)

    def authorization_header(self) -> str:
        """The ``Authorization`` header value. Never log it."""
        return f"Bearer {self.value.reveal()}"

    # -- serialisation for shared stores: the only place a token is revealed to be stored --

    def to_json(self, *, key: str | None = None) -> str:
        """Serialise, secret included, for a token store. Encrypt it if the store is shared.

        ``key`` (the store's subject key) binds the record to its subject: :meth:`from_json`
        given another ``key`` refuses it, so a record copied under another subject's key (in
        an encrypted record, the binding is authenticated) is never used for that subject.
        """
        data: dict[str, Any] = {
            "value": self.value.reveal(),
            "expires_at": self.expires_at,
            "issued_at": self.issued_at,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "token_type": self.token_type,
            "restricted_to": list(self.restricted_to),
        }
        if self.client_id is not None:
            data["client_id"] = self.client_id
        if key is not None:
            data["key"] = key
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, *, key: str | None = None) -> AccessToken:
        """The inverse of :meth:`to_json`; raises :class:`TokenStoreError` for a record that is
        damaged, has non-finite times, or (with ``key``) is not bound to ``key``."""
        outcome = _parse_record(text, key)
        if isinstance(outcome, str):
            del text  # the record: no plaintext token in this frame's locals, no chained cause
            raise TokenStoreError(outcome)
        return outcome


def _parse_record(text: str | bytes, key: str | None) -> AccessToken | str:
    """The token in a stored record, or why it is refused. Never raises (returns instead), so
    no frame holding the record is ever part of a traceback."""
    try:
        data = json.loads(text)
        subject_type = data["subject_type"]
        if subject_type not in ("enterprise", "user"):
            return "a stored token record is damaged (bad subject_type); it will be replaced"
        expires_at, issued_at = float(data["expires_at"]), float(data["issued_at"])
        client_id = data.get("client_id")
        token = AccessToken(
            value=Secret(str(data["value"])),
            expires_at=expires_at,
            issued_at=issued_at,
            subject_type=subject_type,
            subject_id=str(data["subject_id"]),
            token_type=str(data.get("token_type", "bearer")),
            restricted_to=tuple(data.get("restricted_to", ())),
            client_id=None if client_id is None else str(client_id),
        )
        bound = data.get("key")
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        return f"a stored token record is damaged ({type(exc).__name__}); it will be replaced"
    if not (math.isfinite(expires_at) and math.isfinite(issued_at)):
        return "a stored token record is damaged (times not finite); it will be replaced"
    if key is not None and bound != key:
        return (
            "a stored token record is bound to another subject (or predates subject binding): "
            "refused; it will be replaced"
        )
    return token
