"""Access tokens and the arithmetic of their freshness (the clock is always passed in)."""

from __future__ import annotations

import json
from typing import Any, Literal

import attrs

from boxjwt._secret import Secret
from boxjwt.exceptions import TokenStoreError

__all__ = ["AccessToken", "SubjectType", "subject_key"]

SubjectType = Literal["enterprise", "user"]


def subject_key(client_id: str, subject_type: SubjectType, subject_id: str) -> str:
    """The cache key of a subject: one token per (app, subject type, subject id)."""
    return f"{client_id}:{subject_type}:{subject_id}"


@attrs.frozen(kw_only=True)
class AccessToken:
    """A Box access token.

    ``value`` is a :class:`~boxjwt.Secret`; ``issued_at`` and ``expires_at`` are Unix seconds on
    the local clock (already corrected for Box's clock skew when it was known).
    """

    value: Secret = attrs.field(converter=Secret)
    expires_at: float
    issued_at: float
    subject_type: SubjectType
    subject_id: str
    token_type: str = "bearer"
    # Downscoped tokens list the items they are restricted to (dicts): kept out of eq/hash.
    restricted_to: tuple[Any, ...] = attrs.field(default=(), converter=tuple, eq=False)

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

    def to_json(self) -> str:
        """Serialise, secret included, for a token store. Encrypt it if the store is shared."""
        return json.dumps(
            {
                "value": self.value.reveal(),
                "expires_at": self.expires_at,
                "issued_at": self.issued_at,
                "subject_type": self.subject_type,
                "subject_id": self.subject_id,
                "token_type": self.token_type,
                "restricted_to": list(self.restricted_to),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> AccessToken:
        """The inverse of :meth:`to_json`; a damaged record raises :class:`TokenStoreError`."""
        try:
            data = json.loads(text)
            subject_type = data["subject_type"]
            if subject_type not in ("enterprise", "user"):
                raise ValueError("bad subject_type")  # noqa: TRY301
            return cls(
                value=Secret(str(data["value"])),
                expires_at=float(data["expires_at"]),
                issued_at=float(data["issued_at"]),
                subject_type=subject_type,
                subject_id=str(data["subject_id"]),
                token_type=str(data.get("token_type", "bearer")),
                restricted_to=tuple(data.get("restricted_to", ())),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TokenStoreError(
                f"a stored token record is damaged ({type(exc).__name__}); it will be replaced"
            ) from None
