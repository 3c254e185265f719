"""PEM text (and a passphrase) to an RSA private key, with every failure mapped to ours.

The PEM is first rebuilt from its parts (label, encryption headers, base64 body), so the usual
damage done by environment variables and secret stores does not matter: literal ``\\n``
sequences, CRLF, indentation, surrounding whitespace or quotes, a missing final newline, lines of
any length, even a whole PEM squashed onto one line. Whether the key is encrypted is read from the
PEM itself (``ENCRYPTED PRIVATE KEY``, or ``Proc-Type: 4,ENCRYPTED``), so the errors can say
exactly what is missing. No message ever contains key text or a passphrase.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import os
import re
import sys
import unicodedata
import warnings
from collections.abc import Iterator
from types import FrameType
from typing import Final

import attrs
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from boxjwt import _remedies as remedies
from boxjwt._kdf import MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_COST, MalformedDERError, kdf_cost
from boxjwt._secret import Secret
from boxjwt.exceptions import (
    IgnoredPassphraseWarning,
    InsecureKeyWarning,
    InvalidPEMError,
    KeyDerivationCostError,
    PassphraseRequiredError,
    PrivateKeyError,
    UnsupportedKeyTypeError,
    WeakKeyError,
    WrongPassphraseError,
)

__all__ = ["MIN_RSA_BITS", "LoadedPrivateKey", "PEMBlock", "load_private_key", "parse_pem"]

#: Box refuses shorter RSA keys.
MIN_RSA_BITS: Final = 2048

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

_BEGIN = re.compile(r"-----\s*BEGIN ([A-Z0-9]+(?: [A-Z0-9]+)*)\s*-----")
_END = re.compile(r"-----\s*END ([A-Z0-9]+(?: [A-Z0-9]+)*)\s*-----")
# Two-character escape sequences left where newlines should be (one or more backslashes: JSON
# inside an environment variable inside YAML escapes them again at every level).
_LITERAL_NEWLINES = re.compile(r"\\+(?:r\\+n|n|r)")
_PROC_TYPE = re.compile(r"Proc-Type:\s*(\d+)\s*,\s*(ENCRYPTED|[A-Za-z_-]+)")
_DEK_INFO = re.compile(r"DEK-Info:\s*([A-Za-z0-9-]+)\s*,\s*")
_OTHER_HEADER = re.compile(r"^[ \t]*[A-Za-z][A-Za-z0-9-]*:[^\n]*$", re.MULTILINE)
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# Traditional (DEK-Info) ciphers every supported cryptography version decrypts.
_READABLE_CIPHERS = frozenset(
    {"DES-EDE3-CBC", "DES-CBC", "AES-128-CBC", "AES-192-CBC", "AES-256-CBC"}
)

_FIX_REDOWNLOAD = remedies.PASTE_WHOLE_KEY


#: When set (by :func:`collect_warnings`), key-file warnings are appended here instead of being
#: issued: a context variable, so concurrent threads never see each other's warnings.
_collector: contextvars.ContextVar[list[Warning] | None] = contextvars.ContextVar(
    "boxjwt_key_warnings", default=None
)


@contextlib.contextmanager
def collect_warnings() -> Iterator[list[Warning]]:
    """Collect the key-file warnings raised in this context instead of issuing them.

    Thread-safe, unlike ``warnings.catch_warnings`` (which swaps process-wide state): preflight
    uses it to turn warnings into check results while other threads load keys as usual.
    """
    caught: list[Warning] = []
    token = _collector.set(caught)
    try:
        yield caught
    finally:
        _collector.reset(token)


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` attributed to the first caller outside the boxjwt package."""
    caught = _collector.get()
    if caught is not None:
        caught.append(category(message))
        return
    level = 2
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        level += 1
        frame = frame.f_back
    warnings.warn(message, category, stacklevel=level)


@attrs.frozen
class PEMBlock:
    """One private key PEM block, rebuilt from its parts."""

    label: str
    der: bytes = attrs.field(repr=False)
    #: ``(cipher, iv_hex)`` from a traditional ``DEK-Info`` header, or None.
    dek_info: tuple[str, str] | None = None

    @property
    def encrypted(self) -> bool:
        """Whether a passphrase is needed to read the key."""
        return self.label == "ENCRYPTED PRIVATE KEY" or self.dek_info is not None

    @property
    def description(self) -> str:
        """Human words for the format, for messages."""
        if self.label == "ENCRYPTED PRIVATE KEY":
            return "an encrypted PKCS#8 key (ENCRYPTED PRIVATE KEY)"
        if self.label == "PRIVATE KEY":
            return "an unencrypted PKCS#8 key (PRIVATE KEY)"
        if self.dek_info is not None:
            return f"an encrypted traditional key ({self.label}, {self.dek_info[0]})"
        return f"an unencrypted traditional key ({self.label})"

    def to_pem(self) -> bytes:
        """The canonical PEM: 64-column base64, LF line ends, final newline."""
        lines = [f"-----BEGIN {self.label}-----"]
        if self.dek_info is not None:
            lines += ["Proc-Type: 4,ENCRYPTED", "DEK-Info: {},{}".format(*self.dek_info), ""]
        body = base64.b64encode(self.der).decode("ascii")
        lines += [body[i : i + 64] for i in range(0, len(body), 64)]
        lines.append(f"-----END {self.label}-----")
        return ("\n".join(lines) + "\n").encode("ascii")


@attrs.frozen
class LoadedPrivateKey:
    """The outcome of :func:`load_private_key`."""

    key: rsa.RSAPrivateKey = attrs.field(repr=False)
    #: Whether the key was passphrase-protected where it was stored.
    encrypted: bool
    #: e.g. ``"an encrypted PKCS#8 key (ENCRYPTED PRIVATE KEY)"``.
    description: str


def _pem_error(
    what: str, where: str, fix: str, *, source: str | None, field: str | None
) -> InvalidPEMError:
    return InvalidPEMError(f"{where} {what}.", source=source, field=field, remedy=fix)


def _der_problem(der: bytes) -> str | None:
    """Why ``der`` is not exactly one complete DER SEQUENCE, or None if it is."""
    if len(der) < 2 or der[0] != 0x30:
        return "is corrupt: its content is not a key structure"
    first = der[1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            return "is corrupt: its content is not a key structure"
        header, length = 2 + count, int.from_bytes(der[2 : 2 + count], "big")
    if header + length > len(der):
        return "is truncated: part of its base64 body is missing"
    if header + length < len(der):
        return "is corrupt: extra data follows the key"
    return None


def _iv_hex_length(cipher: str) -> int | None:
    upper = cipher.upper()
    if upper.startswith("DES"):
        return 16
    if upper.startswith(("AES", "CAMELLIA", "ARIA", "SEED")):
        return 32
    return None


def parse_pem(  # noqa: PLR0912, PLR0915 - one check per PEM defect, each with its message
    text: str | bytes | Secret,
    *,
    where: str = "The private key",
    source: str | None = None,
    field: str | None = None,
) -> PEMBlock:
    """Find the private key block in ``text`` and rebuild it, repairing the usual mangling.

    Raises :class:`InvalidPEMError` when there is no usable PEM private key, and
    :class:`UnsupportedKeyTypeError` for labelled EC/DSA keys.
    """
    if isinstance(text, Secret):
        text = text.reveal()
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise _pem_error(
                "is binary, not PEM text (DER?)",
                where,
                remedies.DER_TO_PEM,
                source=source,
                field=field,
            ) from None
    text = _LITERAL_NEWLINES.sub("\n", text.replace("\ufeff", ""))
    text = text.replace("\r\n", "\n").replace("\r", "\n")

    begins = list(_BEGIN.finditer(text))
    if not text.strip():
        raise _pem_error("is empty", where, _FIX_REDOWNLOAD, source=source, field=field)
    if not begins:
        if _END.search(text):
            what = "is truncated: it has an -----END line but no -----BEGIN line"
            raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field)
        fix = _FIX_REDOWNLOAD
        stripped = text.strip()
        if "\n" not in stripped and len(stripped) < 4096 and os.path.exists(stripped):
            fix = remedies.FILE_NAME_AS_KEY
        what = "is not PEM: there is no -----BEGIN ... PRIVATE KEY----- line"
        raise _pem_error(what, where, fix, source=source, field=field)
    begin = next((m for m in begins if m.group(1).endswith("PRIVATE KEY")), None)
    if begin is None:
        label = begins[0].group(1)
        kind = "a certificate" if "CERTIFICATE" in label else f"a {label}"
        what = f"is {kind}, not a private key"
        raise _pem_error(what, where, remedies.PRIVATE_NOT_PUBLIC, source=source, field=field)
    label = begin.group(1)
    end = _END.search(text, begin.end())
    if end is None:
        what = f"is truncated: -----BEGIN {label}----- has no matching -----END line"
        raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field)
    if end.group(1) != label or _BEGIN.search(text, begin.end(), end.start()):
        what = f"is corrupt: -----BEGIN {label}----- is not closed by its own -----END line"
        raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field)

    if label == "OPENSSH PRIVATE KEY":
        what = "is in OpenSSH format, which Box cannot use"
        raise _pem_error(what, where, remedies.OPENSSH_TO_PKCS8, source=source, field=field)
    if label in ("EC PRIVATE KEY", "DSA PRIVATE KEY"):
        raise UnsupportedKeyTypeError(
            f"{where} is {'an EC' if label.startswith('EC') else 'a DSA'} key, but Box signs "
            "only with RSA.",
            remedy=remedies.RSA_2048,
            source=source,
            field=field,
        )

    inner = text[begin.end() : end.start()]
    dek_info: tuple[str, str] | None = None
    proc = _PROC_TYPE.search(inner)
    if proc is not None:
        if proc.group(2).upper() != "ENCRYPTED":
            what = f"has an unsupported Proc-Type header ({proc.group(2)[:20]})"
            raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field)
        inner = inner[: proc.start()] + "\n" + inner[proc.end() :]
    dek = _DEK_INFO.search(inner)
    if dek is not None:
        cipher = dek.group(1).upper()
        width = _iv_hex_length(cipher)
        iv_re = re.compile(rf"[0-9A-Fa-f]{{{width}}}" if width else r"[0-9A-Fa-f]+")
        iv = iv_re.match(inner, dek.end())
        if iv is None:
            what = "is corrupt: its DEK-Info header has no valid IV"
            raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field)
        dek_info = (cipher, iv.group(0).upper())
        inner = inner[: dek.start()] + "\n" + inner[iv.end() :]
    elif proc is not None:
        what = "is corrupt: it says Proc-Type: 4,ENCRYPTED but has no DEK-Info header"
        raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field)
    inner = _OTHER_HEADER.sub("", inner)

    body = "".join(inner.split())
    if not body:
        what = "is empty between its -----BEGIN and -----END lines"
        raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field)
    if not _BASE64.fullmatch(body):
        what = "is corrupt: its body contains characters that are not base64"
        raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field)
    try:
        der = base64.b64decode(body, validate=True)
    except binascii.Error:
        what = "is truncated: its base64 body is incomplete"
        raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field) from None
    if dek_info is None:
        problem = _der_problem(der)
        if problem is not None:
            raise _pem_error(problem, where, _FIX_REDOWNLOAD, source=source, field=field)
    elif len(der) % (16 if dek_info[0].startswith("AES") else 8):
        what = "is truncated: its encrypted body is not a whole number of cipher blocks"
        raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field)
    return PEMBlock(label=label, der=der, dek_info=dek_info)


def _encode(passphrase: str) -> bytes:
    try:
        return passphrase.encode("utf-8")
    except UnicodeEncodeError:
        # Undecodable bytes from os.environ come back as lone surrogates: restore them.
        try:
            return passphrase.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return passphrase.encode("utf-8", "surrogatepass")


def _candidates(passphrase: str | bytes) -> list[bytes]:
    """The passphrase as UTF-8, then its NFC/NFD forms and without surrounding whitespace."""
    if isinstance(passphrase, bytes):
        return [passphrase]
    forms = [
        passphrase,
        unicodedata.normalize("NFC", passphrase),
        unicodedata.normalize("NFD", passphrase),
        passphrase.strip(),
    ]
    out: list[bytes] = []
    for form in forms:
        encoded = _encode(form)
        if form and encoded not in out:
            out.append(encoded)
    return out


def _key_kind(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "an EC"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "an Ed25519"
    if isinstance(key, ed448.Ed448PrivateKey):
        return "an Ed448"
    if isinstance(key, dsa.DSAPrivateKey):
        return "a DSA"
    return f"a non-RSA ({type(key).__name__})"


def _unsupported_cipher(
    block: PEMBlock, where: str, source: str | None, field: str | None
) -> PrivateKeyError:
    cipher = f" ({block.dek_info[0][:40]})" if block.dek_info else ""
    return PrivateKeyError(
        f"{where} is encrypted with a cipher{cipher} this cryptography/OpenSSL build cannot "
        "use (3DES is also refused in FIPS mode).",
        remedy=remedies.REENCRYPT_AES,
        source=source,
        field=field,
    )


def _check_kdf_cost(block: PEMBlock, where: str, source: str | None, field: str | None) -> None:
    """Refuse an encrypted PKCS#8 key whose key derivation would stall every attempt."""
    if block.label != "ENCRYPTED PRIVATE KEY":
        return  # traditional DEK-Info keys derive with one MD5 round: nothing to bound
    try:
        cost = kdf_cost(block.der)
    except MalformedDERError:
        what = "is corrupt: its encryption parameters cannot be read"
        raise _pem_error(what, where, _FIX_REDOWNLOAD, source=source, field=field) from None
    if cost is None or not cost.too_costly:
        return
    if cost.scrypt is not None:
        limit = f"N x r x p of at most {MAX_SCRYPT_COST:,} (OpenSSL uses 16,384 x 8 x 1)"
    else:
        limit = f"at most {MAX_PBKDF2_ITERATIONS:,} iterations (Box and OpenSSL use 2,048)"
    raise KeyDerivationCostError(
        f"{where} is encrypted with {cost.describe()}; boxjwt accepts {limit}, so that "
        "loading a key can never stall for minutes per passphrase attempt.",
        remedy=remedies.KDF_COST,
        source=source,
        field=field,
    )


def _deserialize(pem: bytes, password: bytes | None) -> object:
    """The one call into cryptography (a seam for tests that count or cache loads)."""
    return serialization.load_pem_private_key(pem, password)


def load_private_key(  # noqa: PLR0912 - one branch per key format and passphrase case
    pem: str | bytes | Secret,
    passphrase: str | bytes | Secret | None = None,
    *,
    where: str = "The private key",
    passphrase_from: str = "the passphrase",  # noqa: S107 - a description, not a secret
    source: str | None = None,
    field: str | None = None,
) -> LoadedPrivateKey:
    """Load an RSA private key (>= 2048 bits) from PEM text, decrypting it if needed.

    ``where`` and ``passphrase_from`` name the key and the passphrase in messages (e.g.
    ``"boxAppSettings.appAuth.privateKey in key.json"``, ``"BOXJWT_PASSPHRASE"``). Emits
    :class:`InsecureKeyWarning` for an unencrypted key and :class:`IgnoredPassphraseWarning`
    when a passphrase was given for one. Raises a :class:`PrivateKeyError` subclass.
    """
    block = parse_pem(pem, where=where, source=source, field=field)
    _check_kdf_cost(block, where, source, field)
    if isinstance(passphrase, Secret):
        passphrase = passphrase.reveal()
    if not passphrase:
        passphrase = None

    # Warnings wait until the key is known to be usable: no "insecure" noise before an error.
    pending: list[tuple[str, type[Warning]]] = []
    if not block.encrypted:
        if passphrase is not None:
            pending.append(
                (
                    f"{where} is not encrypted, so {passphrase_from} was ignored.",
                    IgnoredPassphraseWarning,
                )
            )
        pending.append(
            (
                f"{where} is {block.description}: anyone who can read it can act as the app. "
                "Consider encrypting it: `openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out "
                "encrypted.pem`, then pass the passphrase.",
                InsecureKeyWarning,
            )
        )
        passwords: list[bytes | None] = [None]
    elif passphrase is None:
        raise PassphraseRequiredError(
            f"{where} is {block.description} and no passphrase was given.",
            remedy=remedies.PUT_PASSPHRASE,
            source=source,
            field=field,
        )
    else:
        passwords = list(_candidates(passphrase))

    pem_bytes = block.to_pem()
    key: object = None
    failure: Exception | None = None
    for password in passwords:
        try:
            key = _deserialize(pem_bytes, password)
        except UnsupportedAlgorithm as exc:
            if block.encrypted:
                raise _unsupported_cipher(block, where, source, field) from exc
            raise UnsupportedKeyTypeError(
                f"{where} uses a key algorithm this library cannot read; Box signs only with RSA.",
                remedy=remedies.RSA_2048,
                source=source,
                field=field,
            ) from exc
        except Exception as exc:  # noqa: BLE001 - ValueError, TypeError...: not this key
            failure = exc
        else:
            break
    if key is None:
        if block.dek_info is not None and block.dek_info[0] not in _READABLE_CIPHERS:
            raise _unsupported_cipher(block, where, source, field) from failure
        if block.encrypted:
            raise WrongPassphraseError(
                f"{where} cannot be decrypted with {passphrase_from} ({block.description}).",
                remedy=remedies.RIGHT_PASSPHRASE,
                source=source,
                field=field,
            ) from failure
        raise _pem_error(
            "is corrupt: its content is not a valid private key",
            where,
            _FIX_REDOWNLOAD,
            source=source,
            field=field,
        ) from failure

    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnsupportedKeyTypeError(
            f"{where} is {_key_kind(key)} key, but Box signs only with RSA.",
            remedy=remedies.RSA_2048,
            source=source,
            field=field,
        )
    if key.key_size < MIN_RSA_BITS:
        raise WeakKeyError(
            f"{where} is a {key.key_size}-bit RSA key; Box requires at least {MIN_RSA_BITS} bits.",
            remedy=remedies.RSA_2048,
            source=source,
            field=field,
        )
    for message, category in pending:
        warn(message, category)
    return LoadedPrivateKey(key=key, encrypted=block.encrypted, description=block.description)
