"""RSA key generation and PEM encodings, including Box's own (PKCS#8, PBES2, 3DES).

``cryptography`` cannot write every encoding users really have (it never writes 3DES, and
never writes the traditional ``Proc-Type: 4,ENCRYPTED`` form with a cipher of our choosing),
so the encrypted encodings are built here from cryptography's primitives:

``"box"``
    ``-----BEGIN ENCRYPTED PRIVATE KEY-----``: PKCS#8 ``EncryptedPrivateKeyInfo``, PBES2 with
    PBKDF2-HMAC-SHA1 (the default PRF, so it is omitted from the DER), 8-byte salt, 2048
    iterations, ``des-ede3-cbc``. Byte for byte the structure of a key Box's Developer Console
    downloads.
``"pkcs8-aes256"``
    The same PBES2 structure with PBKDF2-HMAC-SHA256, 16-byte salt, 2048 iterations and
    ``aes-256-cbc`` (what ``openssl pkcs8 -topk8`` writes today).
``"traditional-3des"`` / ``"traditional-aes256"``
    ``-----BEGIN RSA PRIVATE KEY-----`` (PKCS#1) with ``Proc-Type: 4,ENCRYPTED`` and
    ``DEK-Info: DES-EDE3-CBC,<IV>`` / ``AES-256-CBC,<IV>`` headers, the key derived with OpenSSL's
    ``EVP_BytesToKey`` (MD5, one round, salt = first 8 IV bytes), as ``openssl genrsa -des3``.
``"pkcs1"`` / ``"pkcs8"``
    Unencrypted ``BEGIN RSA PRIVATE KEY`` / ``BEGIN PRIVATE KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import warnings
from typing import Final, Literal

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

try:  # cryptography >= 43 keeps it here; the old location warns from 43 and goes in 48
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES as _TripleDES
except ImportError:  # pragma: no cover - cryptography 42
    from cryptography.hazmat.primitives.ciphers.algorithms import (
        TripleDES as _TripleDES,
    )

__all__ = [
    "ENCRYPTED_KEY_FORMATS",
    "KEY_FORMATS",
    "KeyFormat",
    "encode_private_key",
    "generate_rsa_key",
    "public_key_pem",
]

KeyFormat = Literal[
    "box", "pkcs8-aes256", "traditional-3des", "traditional-aes256", "pkcs1", "pkcs8"
]
"""The PEM encodings :func:`encode_private_key` writes."""

KEY_FORMATS: Final[tuple[KeyFormat, ...]] = (
    "box",
    "pkcs8-aes256",
    "traditional-3des",
    "traditional-aes256",
    "pkcs1",
    "pkcs8",
)
"""Every :data:`KeyFormat`, Box's own first."""

ENCRYPTED_KEY_FORMATS: Final[frozenset[str]] = frozenset(KEY_FORMATS[:4])
"""The formats that need a passphrase."""

BOX_PBKDF2_ITERATIONS: Final = 2048

_OID_PBES2 = "1.2.840.113549.1.5.13"
_OID_PBKDF2 = "1.2.840.113549.1.5.12"
_OID_HMAC_SHA256 = "1.2.840.113549.2.9"
_OID_DES_EDE3_CBC = "1.2.840.113549.3.7"
_OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"


def _triple_des(key: bytes) -> CipherAlgorithm:
    """TripleDES from wherever this cryptography version keeps it, without the warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _TripleDES(key)


# --------------------------------------------------------------------------- DER (tiny)


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _octets(data: bytes) -> bytes:
    return _tlv(0x04, data)


def _integer(n: int) -> bytes:
    body = n.to_bytes(n.bit_length() // 8 + 1, "big")  # always room for the sign bit
    return _tlv(0x02, body)


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    out = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        rest = part >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out.extend(reversed(chunk))
    return _tlv(0x06, bytes(out))


_NULL = b"\x05\x00"


# --------------------------------------------------------------------------- helpers


def _pem(label: str, der: bytes, headers: str = "") -> str:
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n{headers}" + "\n".join(lines) + f"\n-----END {label}-----\n"


def _cbc_encrypt(algorithm: CipherAlgorithm, iv: bytes, data: bytes, block_bits: int) -> bytes:
    padder = padding.PKCS7(block_bits).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithm, modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def _evp_bytes_to_key(passphrase: bytes, salt: bytes, key_len: int) -> bytes:
    """OpenSSL's ``EVP_BytesToKey`` with MD5 and one round (PEM ``DEK-Info`` encryption)."""
    derived = b""
    block = b""
    while len(derived) < key_len:
        block = hashlib.md5(block + passphrase + salt, usedforsecurity=False).digest()
        derived += block
    return derived[:key_len]


def _pkcs8_pbes2(key: rsa.RSAPrivateKey, passphrase: bytes, *, aes: bool) -> str:
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt = os.urandom(16 if aes else 8)
    if aes:
        kdf_params = _seq(
            _octets(salt), _integer(BOX_PBKDF2_ITERATIONS), _seq(_oid(_OID_HMAC_SHA256), _NULL)
        )
        derived = PBKDF2HMAC(hashes.SHA256(), 32, salt, BOX_PBKDF2_ITERATIONS).derive(passphrase)
        iv = os.urandom(16)
        cipher: CipherAlgorithm = algorithms.AES(derived)
        scheme = _seq(_oid(_OID_AES256_CBC), _octets(iv))
        block_bits = 128
    else:
        kdf_params = _seq(_octets(salt), _integer(BOX_PBKDF2_ITERATIONS))
        derived = PBKDF2HMAC(hashes.SHA1(), 24, salt, BOX_PBKDF2_ITERATIONS).derive(passphrase)  # noqa: S303
        iv = os.urandom(8)
        cipher = _triple_des(derived)
        scheme = _seq(_oid(_OID_DES_EDE3_CBC), _octets(iv))
        block_bits = 64
    encrypted = _cbc_encrypt(cipher, iv, plain, block_bits)
    algorithm_id = _seq(_oid(_OID_PBES2), _seq(_seq(_oid(_OID_PBKDF2), kdf_params), scheme))
    return _pem("ENCRYPTED PRIVATE KEY", _seq(algorithm_id, _octets(encrypted)))


def _traditional(key: rsa.RSAPrivateKey, passphrase: bytes, *, aes: bool) -> str:
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    if aes:
        iv = os.urandom(16)
        cipher: CipherAlgorithm = algorithms.AES(_evp_bytes_to_key(passphrase, iv[:8], 32))
        name, block_bits = "AES-256-CBC", 128
    else:
        iv = os.urandom(8)
        cipher = _triple_des(_evp_bytes_to_key(passphrase, iv[:8], 24))
        name, block_bits = "DES-EDE3-CBC", 64
    encrypted = _cbc_encrypt(cipher, iv, plain, block_bits)
    headers = f"Proc-Type: 4,ENCRYPTED\nDEK-Info: {name},{iv.hex().upper()}\n\n"
    return _pem("RSA PRIVATE KEY", encrypted, headers)


# --------------------------------------------------------------------------- public


_cache_lock = threading.Lock()
_cached_keys: dict[int, rsa.RSAPrivateKey] = {}
_pool: dict[int, list[rsa.RSAPrivateKey]] = {}


def generate_rsa_key(bits: int = 2048, *, cached: bool = False) -> rsa.RSAPrivateKey:
    """Generate an RSA private key (public exponent 65537).

    RSA-2048 generation costs 50-100 ms. With ``cached=True`` the same process-wide key of
    that size is returned on every call (generated once): use it where any valid key will do.
    Keys only ever live in memory; nothing is written to disk.
    """
    if not cached:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    with _cache_lock:
        if bits not in _cached_keys:
            _cached_keys[bits] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        return _cached_keys[bits]


def pooled_rsa_key(index: int, bits: int = 2048) -> rsa.RSAPrivateKey:
    """The ``index``-th key of a process-wide pool (grown on demand): distinct indexes give
    distinct keys. The emulator draws its apps' keys from here, so a test run generates each
    key once however many emulators it starts."""
    with _cache_lock:
        keys = _pool.setdefault(bits, [])
        while len(keys) <= index:
            keys.append(rsa.generate_private_key(public_exponent=65537, key_size=bits))
        return keys[index]


def public_key_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """The ``-----BEGIN PUBLIC KEY-----`` (SubjectPublicKeyInfo) PEM, as pasted into Box."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def encode_private_key(
    key: rsa.RSAPrivateKey, fmt: KeyFormat = "box", passphrase: str | bytes | None = None
) -> str:
    """Encode ``key`` as PEM text in one of :data:`KEY_FORMATS` (see the module docstring).

    The encrypted formats (:data:`ENCRYPTED_KEY_FORMATS`) need a non-empty ``passphrase``;
    the unencrypted ones (``"pkcs1"``, ``"pkcs8"``) refuse one. Raises :class:`ValueError` on
    an unknown format or a passphrase mismatch. A fresh random salt and IV every call.
    """
    if fmt not in KEY_FORMATS:
        raise ValueError(f"unknown key format {fmt!r}; expected one of {', '.join(KEY_FORMATS)}")
    if fmt in ENCRYPTED_KEY_FORMATS:
        if not passphrase:
            raise ValueError(f"key format {fmt!r} needs a passphrase")
        secret = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
        if fmt.startswith("traditional-"):
            return _traditional(key, secret, aes=fmt.endswith("aes256"))
        return _pkcs8_pbes2(key, secret, aes=fmt == "pkcs8-aes256")
    if passphrase:
        raise ValueError(f"key format {fmt!r} is unencrypted: pass no passphrase")
    private_format = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if fmt == "pkcs1"
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(
        serialization.Encoding.PEM, private_format, serialization.NoEncryption()
    ).decode("ascii")
