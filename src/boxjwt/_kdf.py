"""How costly an encrypted PKCS#8 key is to decrypt, read from its DER before decrypting it.

An ``ENCRYPTED PRIVATE KEY`` names its own key-derivation cost: PBKDF2's iteration count, or
scrypt's N, r and p. Whoever controls the key file controls that cost, so a hostile (or absurd)
key can make each passphrase attempt take minutes, or exhaust memory. :func:`kdf_cost` walks
the few DER elements needed (no new dependency), and the loader refuses a key whose cost is
above :data:`MAX_PBKDF2_ITERATIONS` / :data:`MAX_SCRYPT_COST` before trying any passphrase.

Structures read (RFC 8018, RFC 7914, RFC 7292)::

    EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier,
                                           encryptedData OCTET STRING }
    PBES2-params  ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier,
                                 encryptionScheme AlgorithmIdentifier }
    PBKDF2-params ::= SEQUENCE { salt, iterationCount INTEGER, keyLength INTEGER OPTIONAL,
                                 prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
    scrypt-params ::= SEQUENCE { salt OCTET STRING, costParameter INTEGER,
                                 blockSize INTEGER, parallelizationParameter INTEGER, ... }
    PBES1 / PKCS#12 PBE params ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
"""

from __future__ import annotations

from typing import Final

import attrs

__all__ = ["MAX_PBKDF2_ITERATIONS", "MAX_SCRYPT_COST", "KdfCost", "MalformedDERError", "kdf_cost"]

#: The most PBKDF2 (or PBES1 / PKCS#12) iterations accepted. Box's downloads and
#: ``openssl pkcs8`` use 2,048; the most careful tools today use up to ~600,000 (OWASP's
#: PBKDF2-HMAC-SHA256 advice). One attempt at 1,000,000 takes about 0.6 s with HMAC-SHA256 and
#: 1.5 s with HMAC-SHA1 (measured on a busy 2-core machine); at 4 billion, hours.
MAX_PBKDF2_ITERATIONS: Final = 1_000_000

#: The largest scrypt work factor accepted, as N x r x p. ``openssl pkcs8 -scrypt`` uses
#: N=16384, r=8, p=1 (131,072); the bound is 8 times that (about 1 s, at most 128 MiB).
MAX_SCRYPT_COST: Final = 1 << 20

_SEQUENCE: Final = 0x30
_INTEGER: Final = 0x02
_OCTET_STRING: Final = 0x04
_OID: Final = 0x06

# DER encodings of the object identifiers' contents.
_PBES2: Final = bytes.fromhex("2a864886f70d01050d")  # 1.2.840.113549.1.5.13
_PBKDF2: Final = bytes.fromhex("2a864886f70d01050c")  # 1.2.840.113549.1.5.12
_SCRYPT: Final = bytes.fromhex("2b06010401da47040b")  # 1.3.6.1.4.1.11591.4.11
# PBES1 (1.2.840.113549.1.5.{1,3,4,6,10,11}) and PKCS#12 PBE (1.2.840.113549.1.12.1.{1-6}):
# iterated hashing with SEQUENCE { salt, iterations } parameters.
_PBE: Final = frozenset(
    [bytes.fromhex("2a864886f70d0105") + bytes([n]) for n in (1, 3, 4, 6, 10, 11)]
    + [bytes.fromhex("2a864886f70d010c01") + bytes([n]) for n in range(1, 7)]
)


class MalformedDERError(ValueError):
    """The DER is not the structure an encrypted PKCS#8 key must have."""


@attrs.frozen
class KdfCost:
    """The key-derivation function of an encrypted key, and its cost parameters."""

    #: ``"PBKDF2"``, ``"scrypt"`` or ``"PBE"`` (PBES1 / PKCS#12: iterated hashing).
    name: str
    #: Iterations (PBKDF2 and PBE), or None.
    iterations: int | None = None
    #: scrypt's N, r and p, or None.
    scrypt: tuple[int, int, int] | None = None

    @property
    def too_costly(self) -> bool:
        """Whether the cost is beyond :data:`MAX_PBKDF2_ITERATIONS` / :data:`MAX_SCRYPT_COST`."""
        if self.scrypt is not None:
            n, r, p = self.scrypt
            return n * r * p > MAX_SCRYPT_COST
        return self.iterations is not None and self.iterations > MAX_PBKDF2_ITERATIONS

    def describe(self) -> str:
        """E.g. ``"PBKDF2 with 4,294,967,295 iterations"`` (bounded length)."""
        if self.scrypt is not None:
            n, r, p = (_number(v) for v in self.scrypt)
            return f"scrypt with N={n}, r={r}, p={p}"
        return f"{self.name} with {_number(self.iterations or 0)} iterations"


def _number(value: int) -> str:
    return f"{value:,}" if value < 10**15 else "more than 10^15"


class _Reader:
    """Reads DER elements (tag, content) one after another from ``data[start:end]``."""

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end

    def element(self, expected: int | None = None) -> tuple[int, int, int]:
        """The next element as ``(tag, content_start, content_end)``; moves past it."""
        data, pos, end = self.data, self.pos, self.end
        if pos + 2 > end:
            raise MalformedDERError("truncated element")
        tag, first = data[pos], data[pos + 1]
        pos += 2
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            if count == 0 or count > 4 or pos + count > end:  # 0: indefinite length (BER)
                raise MalformedDERError("unsupported length")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if pos + length > end:
            raise MalformedDERError("element longer than its container")
        if expected is not None and tag != expected:
            raise MalformedDERError(f"expected tag {expected:#x}, found {tag:#x}")
        self.pos = pos + length
        return tag, pos, pos + length

    def sequence(self) -> _Reader:
        _, start, end = self.element(_SEQUENCE)
        return _Reader(self.data, start, end)

    def bytes_of(self, expected: int) -> bytes:
        _, start, end = self.element(expected)
        return self.data[start:end]

    def integer(self) -> int:
        content = self.bytes_of(_INTEGER)
        if not content or content[0] & 0x80:
            raise MalformedDERError("not a non-negative INTEGER")
        return int.from_bytes(content, "big")


def _pbkdf2(params: _Reader) -> KdfCost:
    params.element()  # salt: OCTET STRING, or (never used) an AlgorithmIdentifier
    return KdfCost("PBKDF2", iterations=params.integer())


def _scrypt(params: _Reader) -> KdfCost:
    params.element(_OCTET_STRING)  # salt
    return KdfCost("scrypt", scrypt=(params.integer(), params.integer(), params.integer()))


def kdf_cost(der: bytes) -> KdfCost | None:
    """The KDF of the ``EncryptedPrivateKeyInfo`` ``der``, or None when it names one this
    module does not know (cryptography then decides whether it can read it at all).

    Raises :class:`MalformedDERError` when the structure cannot be walked.
    """
    info = _Reader(der).sequence()
    algorithm = info.sequence()
    oid = algorithm.bytes_of(_OID)
    info.element(_OCTET_STRING)  # encryptedData: present, or the key is not well formed
    if oid == _PBES2:
        pbes2 = algorithm.sequence()
        kdf = pbes2.sequence()
        kdf_oid = kdf.bytes_of(_OID)
        pbes2.sequence()  # encryptionScheme
        if kdf_oid == _PBKDF2:
            return _pbkdf2(kdf.sequence())
        if kdf_oid == _SCRYPT:
            return _scrypt(kdf.sequence())
        return None
    if oid in _PBE:
        params = algorithm.sequence()
        params.element(_OCTET_STRING)  # salt
        return KdfCost("PBE", iterations=params.integer())
    return None
