"""The JWT assertion: the only place Box's claim rules live (box-facts §2)."""

from __future__ import annotations

import base64
import functools
import json
import math
import secrets
from collections.abc import Callable
from typing import Any, Final

import attrs
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from boxjwt._token import SubjectType
from boxjwt.exceptions import ConfigurationError

__all__ = [
    "ALGORITHMS",
    "AUDIENCE",
    "DEFAULT_ASSERTION_LIFETIME",
    "MAX_ASSERTION_LIFETIME",
    "AssertionBuilder",
    "assertion_claims",
    "new_jti",
]

#: The only ``aud`` Box accepts, whatever host the request is posted to.
AUDIENCE: Final = "https://api.box.com/oauth2/token"
#: The signing algorithms Box accepts.
ALGORITHMS: Final = ("RS256", "RS384", "RS512")
_HASHES: Final[dict[str, hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
}
DEFAULT_ASSERTION_LIFETIME: Final = 30
#: Box refuses an ``exp`` more than 60 s after its own current time.
MAX_ASSERTION_LIFETIME: Final = 60


def new_jti() -> str:
    """A fresh ``jti``: 43 URL-safe characters from the OS CSPRNG (Box wants 16 to 128)."""
    return secrets.token_urlsafe(32)


def assertion_claims(
    *,
    client_id: str,
    subject_type: SubjectType,
    subject_id: str,
    now: float,
    lifetime: float = DEFAULT_ASSERTION_LIFETIME,
    jti: str,
) -> dict[str, Any]:
    """The claims of one assertion. ``now`` is Box's time as best known (Unix seconds)."""
    return {
        "iss": client_id,
        "sub": subject_id,
        "box_sub_type": subject_type,
        "aud": AUDIENCE,
        "jti": jti,
        "exp": math.floor(now + lifetime),
    }


def _b64(data: bytes) -> bytes:
    """base64url without padding (RFC 7515)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign_jws(header_segment: bytes, claims: dict[str, Any], key: RSAPrivateKey, alg: str) -> str:
    """A compact JWS: ``header_segment`` (already encoded), the claims as compact JSON, and an
    RSASSA-PKCS1-v1_5 signature, byte for byte what ``jwt.encode`` makes, without pyjwt's
    per-call key preparation and header encoding."""
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = header_segment + b"." + payload
    signature = key.sign(signing_input, padding.PKCS1v15(), _HASHES[alg])
    return (signing_input + b"." + _b64(signature)).decode("ascii")


@functools.lru_cache(maxsize=32)
def header_segment(alg: str, kid: str) -> bytes:
    """The encoded JOSE header of an assertion: ``alg``, ``kid`` and ``typ`` (sorted keys, as
    pyjwt writes it)."""
    header = {"alg": alg, "kid": kid, "typ": "JWT"}
    return _b64(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def validate_alg(alg: object) -> str:
    """``alg`` normalised to upper case, or :class:`ConfigurationError`."""
    if not isinstance(alg, str) or alg.upper() not in ALGORITHMS:
        raise ConfigurationError(
            f"alg must be one of {', '.join(ALGORITHMS)} (Box accepts only these), not {alg!r}"
        )
    return alg.upper()


def validate_lifetime(lifetime: object) -> float:
    """``lifetime`` as seconds in ``[1, 60]``, or :class:`ConfigurationError`."""
    if (
        isinstance(lifetime, bool)
        or not isinstance(lifetime, int | float)
        or not 1 <= lifetime <= MAX_ASSERTION_LIFETIME
    ):
        raise ConfigurationError(
            f"assertion_lifetime must be between 1 and {MAX_ASSERTION_LIFETIME} seconds (Box "
            f"refuses an exp more than 60 s ahead of its clock), not {lifetime!r}"
        )
    return float(lifetime)


@attrs.frozen(kw_only=True)
class AssertionBuilder:
    """Builds and signs a fresh assertion per call (new ``jti``, ``exp`` from ``now``).

    ``private_key`` returns the decrypted key (KeyFile caches it: decrypted once, signed with
    many times). ``jti_factory`` is injectable for tests only.
    """

    client_id: str
    public_key_id: str
    private_key: Callable[[], RSAPrivateKey] = attrs.field(repr=False)
    alg: str = attrs.field(default="RS256", converter=validate_alg)
    lifetime: float = attrs.field(default=DEFAULT_ASSERTION_LIFETIME, converter=validate_lifetime)
    jti_factory: Callable[[], str] = attrs.field(default=new_jti, repr=False)

    def claims(self, subject_type: SubjectType, subject_id: str, now: float) -> dict[str, Any]:
        """The claims a call to :meth:`build` would sign (with a fresh ``jti``)."""
        return assertion_claims(
            client_id=self.client_id,
            subject_type=subject_type,
            subject_id=subject_id,
            now=now,
            lifetime=self.lifetime,
            jti=self.jti_factory(),
        )

    def build(self, subject_type: SubjectType, subject_id: str, now: float) -> str:
        """The signed assertion (compact JWS). A secret: never log it."""
        return sign_jws(
            header_segment(self.alg, self.public_key_id),
            self.claims(subject_type, subject_id, now),
            self.private_key(),
            self.alg,
        )
