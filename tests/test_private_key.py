"""PEM text and passphrase to an RSA key: every format, every kind of damage, every failure."""

from __future__ import annotations

import base64
import re
import threading
import warnings
from collections.abc import Callable

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed448, padding, rsa, x25519

from boxjwt import Secret
from boxjwt import _private_key as pk
from boxjwt.exceptions import (
    BoxJWTError,
    IgnoredPassphraseWarning,
    InsecureKeyWarning,
    InvalidPEMError,
    PassphraseRequiredError,
    PrivateKeyError,
    UnsupportedKeyTypeError,
    WeakKeyError,
    WrongPassphraseError,
)
from openssl_keys import Keys


def _sign_and_verify(key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey) -> None:
    message = b"box assertion"
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())  # raises if bad


def _body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and "-----" not in line and ":" not in line]


def _assert_no_key_text(message: str, pem: str, *secrets: str) -> None:
    for line in _body_lines(pem):
        assert line[:16] not in message
    for secret in secrets:
        assert secret not in message


# --------------------------------------------------------------------------- formats


def test_box_format_is_exactly_what_box_generates(keys: Keys) -> None:
    asn1 = keys.box_asn1
    assert keys.box.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert ":PBES2" in asn1
    assert ":PBKDF2" in asn1
    assert ":des-ede3-cbc" in asn1
    assert "INTEGER           :0800" in asn1  # 2048 iterations
    assert "hmacWithSHA256" not in asn1  # the PRF is the default, HMAC-SHA1


ENCRYPTED = ["box", "pkcs8_aes256", "trad_des3", "trad_aes256"]


@pytest.mark.parametrize("name", ENCRYPTED)
def test_encrypted_formats_load_and_sign(keys: Keys, name: str) -> None:
    loaded = pk.load_private_key(getattr(keys, name), keys.passphrase)
    assert loaded.encrypted
    assert "encrypted" in loaded.description
    assert loaded.key.key_size == 2048
    _sign_and_verify(loaded.key, keys.public_key)


@pytest.mark.parametrize(("name", "label"), [("pkcs1", "RSA PRIVATE KEY"), ("pkcs8", "PKCS#8")])
def test_unencrypted_formats_load_with_a_warning(keys: Keys, name: str, label: str) -> None:
    with pytest.warns(InsecureKeyWarning, match="unencrypted") as record:
        loaded = pk.load_private_key(getattr(keys, name))
    assert not loaded.encrypted
    assert label in loaded.description
    assert "openssl pkcs8 -topk8" in str(record[0].message)  # the fix
    _sign_and_verify(loaded.key, keys.public_key)


def test_descriptions_and_repr_hide_the_key(keys: Keys) -> None:
    block = pk.parse_pem(keys.trad_des3)
    assert block.encrypted
    assert block.dek_info is not None
    assert block.dek_info[0] == "DES-EDE3-CBC"
    assert "DES-EDE3-CBC" in block.description
    assert "der" not in repr(block)
    loaded = pk.load_private_key(keys.box, Secret(keys.passphrase))
    assert "RSAPrivateKey" not in repr(loaded)
    assert loaded.encrypted


# --------------------------------------------------------------------------- mangling


def _squash(pem: str) -> str:
    return pem.replace("\n", " ")


MANGLES: dict[str, Callable[[str], str]] = {
    "literal-backslash-n": lambda p: p.replace("\n", "\\n"),
    "literal-backslash-r-n": lambda p: p.replace("\n", "\\r\\n"),
    "double-escaped": lambda p: p.replace("\n", "\\\\n"),
    "crlf": lambda p: p.replace("\n", "\r\n"),
    "cr-only": lambda p: p.replace("\n", "\r"),
    "surrounding-whitespace": lambda p: "\n\n  \t" + p + "  \n\n",
    "no-final-newline": lambda p: p.rstrip("\n"),
    "indented": lambda p: "\n".join("        " + line for line in p.splitlines()),
    "trailing-spaces": lambda p: "\n".join(line + "   " for line in p.splitlines()),
    "one-line-spaces": _squash,
    "one-line-nothing": lambda p: p.replace("\n", ""),
    "rewrapped-76": lambda p: _rewrap(p, 76),
    "quoted": lambda p: '"' + p.replace("\n", "\\n") + '"',
    "bom": lambda p: "\ufeff" + p,
    "blank-lines": lambda p: p.replace("\n", "\n\n"),
}


def _rewrap(pem: str, width: int) -> str:
    lines = pem.strip().splitlines()
    headers = [line for line in lines[1:-1] if ":" in line]
    body = "".join(line for line in lines[1:-1] if line and ":" not in line)
    wrapped = [body[i : i + width] for i in range(0, len(body), width)]
    return "\n".join([lines[0], *headers, *([""] if headers else []), *wrapped, lines[-1]])


@pytest.mark.parametrize("mangle", sorted(MANGLES))
@pytest.mark.parametrize("name", ["box", "trad_des3", "trad_aes256", "pkcs1"])
def test_mangled_pem_is_repaired(keys: Keys, name: str, mangle: str) -> None:
    original = getattr(keys, name)
    canonical = pk.parse_pem(original).to_pem()
    assert canonical == original.encode()  # openssl already writes the canonical form
    assert pk.parse_pem(MANGLES[mangle](original)).to_pem() == canonical


def test_mangled_key_really_loads(keys: Keys) -> None:
    mangled = "  " + keys.trad_des3.rstrip("\n").replace("\n", "\\r\\n")
    loaded = pk.load_private_key(mangled, keys.passphrase)
    _sign_and_verify(loaded.key, keys.public_key)


def test_other_headers_are_dropped(keys: Keys) -> None:
    lines = keys.pkcs8.splitlines()
    with_comment = "\n".join([lines[0], "Comment: made by hand", *lines[1:]])
    assert pk.parse_pem(with_comment).to_pem() == keys.pkcs8.encode()


def test_first_private_key_block_is_used(keys: Keys) -> None:
    bundle = keys.public_pem + keys.pkcs8
    assert pk.parse_pem(bundle).label == "PRIVATE KEY"


def test_bytes_and_secret_input(keys: Keys) -> None:
    assert pk.parse_pem(keys.box.encode()).label == "ENCRYPTED PRIVATE KEY"
    assert pk.parse_pem(Secret(keys.box)).label == "ENCRYPTED PRIVATE KEY"


# --------------------------------------------------------------------------- passphrases


def test_passphrase_forms(keys: Keys) -> None:
    import unicodedata

    nfd = unicodedata.normalize("NFD", keys.passphrase)
    assert nfd != keys.passphrase
    for form in (
        keys.passphrase,
        Secret(keys.passphrase),
        keys.passphrase.encode(),
        nfd,
        keys.passphrase + "\n",
        "  " + keys.passphrase,
    ):
        loaded = pk.load_private_key(keys.box, form)
        _sign_and_verify(loaded.key, keys.public_key)


def test_non_utf8_passphrase_from_the_environment(keys: Keys) -> None:
    # os.environ hands undecodable bytes over as lone surrogates: the original bytes must win.
    raw = b"p\xe4ss-latin-1"
    key = serialization.load_pem_private_key(keys.pkcs8.encode(), None)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(raw),
    ).decode()
    as_environ = raw.decode("utf-8", "surrogateescape")
    loaded = pk.load_private_key(pem, as_environ)
    _sign_and_verify(loaded.key, keys.public_key)
    with pytest.raises(WrongPassphraseError):
        pk.load_private_key(pem, "\ud800 not encodable")


@pytest.mark.parametrize("name", ENCRYPTED)
def test_wrong_passphrase(keys: Keys, name: str) -> None:
    with pytest.raises(WrongPassphraseError) as info:
        pk.load_private_key(getattr(keys, name), "not the passphrase", passphrase_from="X_PASS")
    message = str(info.value)
    assert "cannot be decrypted with X_PASS" in message
    assert "Fix:" in message
    _assert_no_key_text(message, getattr(keys, name), "not the passphrase")


@pytest.mark.parametrize("name", ENCRYPTED)
@pytest.mark.parametrize("passphrase", [None, "", Secret(""), b""])
def test_missing_passphrase(keys: Keys, name: str, passphrase: str | None) -> None:
    with pytest.raises(
        PassphraseRequiredError, match=r"no passphrase was given.*BOXJWT_PASSPHRASE"
    ):
        pk.load_private_key(getattr(keys, name), passphrase)


@pytest.mark.parametrize("name", ["pkcs1", "pkcs8"])
def test_passphrase_for_an_unencrypted_key_is_ignored(keys: Keys, name: str) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        loaded = pk.load_private_key(
            getattr(keys, name), "some-passphrase-123", passphrase_from="P"
        )
    categories = [w.category for w in record]
    assert categories == [IgnoredPassphraseWarning, InsecureKeyWarning]
    assert "P was ignored" in str(record[0].message)
    assert all("some-passphrase-123" not in str(w.message) for w in record)
    assert all(w.filename == __file__ for w in record)  # attributed to the caller
    _sign_and_verify(loaded.key, keys.public_key)


# --------------------------------------------------------------------------- failures


def _pem(label: str, der: bytes, headers: str = "") -> str:
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN {label}-----\n{headers}{body}-----END {label}-----\n"


def _der(keys: Keys) -> bytes:
    return pk.parse_pem(keys.pkcs8).der


def _with_dek(keys: Keys, cipher: str, iv: str) -> str:
    return keys.trad_aes256.replace(
        re.search(r"DEK-Info: .*", keys.trad_aes256).group(0),  # type: ignore[union-attr]
        f"DEK-Info: {cipher},{iv}",
    )


def _other(kind: str) -> str:
    key = (
        ed448.Ed448PrivateKey.generate() if kind == "ed448" else x25519.X25519PrivateKey.generate()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _unknown_oid_pkcs8() -> str:
    der = base64.b64decode("".join(_other("x25519").splitlines()[1:-1]))
    return _pem(
        "PRIVATE KEY", der.replace(bytes([6, 3, 0x2B, 0x65, 0x6E]), b"\x06\x03\x2b\x65\x7f")
    )


BAD: list[tuple[str, Callable[[Keys], str | bytes], type[BoxJWTError], str]] = [
    ("empty", lambda k: "   \n ", InvalidPEMError, "is empty"),
    ("not-pem", lambda k: "hello world", InvalidPEMError, "not PEM"),
    ("base64-without-armor", lambda k: "".join(_body_lines(k.pkcs8)), InvalidPEMError, "BEGIN"),
    ("end-only", lambda k: k.pkcs8.split("\n", 1)[1], InvalidPEMError, "no -----BEGIN line"),
    ("no-end", lambda k: k.pkcs8[: len(k.pkcs8) // 2], InvalidPEMError, "truncated"),
    (
        "label-mismatch",
        lambda k: k.pkcs8.replace("END PRIVATE KEY", "END RSA PRIVATE KEY"),
        InvalidPEMError,
        "not closed by its own",
    ),
    (
        "two-begins",
        lambda k: k.pkcs8[:200] + "\n" + k.pkcs8,
        InvalidPEMError,
        "not closed by its own",
    ),
    ("public-key", lambda k: k.public_pem, InvalidPEMError, "a PUBLIC KEY, not a private key"),
    (
        "certificate",
        lambda k: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        InvalidPEMError,
        "a certificate",
    ),
    ("openssh", lambda k: k.openssh, InvalidPEMError, "ssh-keygen -p -m PKCS8"),
    ("ec-sec1", lambda k: k.ec_sec1, UnsupportedKeyTypeError, "an EC key"),
    (
        "dsa-traditional",
        lambda k: _pem("DSA PRIVATE KEY", b"\x30\x00"),
        UnsupportedKeyTypeError,
        "a DSA key",
    ),
    ("ec-pkcs8", lambda k: k.ec_pkcs8, UnsupportedKeyTypeError, "an EC key"),
    ("ed25519", lambda k: k.ed25519, UnsupportedKeyTypeError, "an Ed25519 key"),
    ("ed448", lambda k: _other("ed448"), UnsupportedKeyTypeError, "an Ed448 key"),
    ("x25519", lambda k: _other("x25519"), UnsupportedKeyTypeError, "X25519PrivateKey"),
    ("dsa-pkcs8", lambda k: k.dsa_pkcs8, UnsupportedKeyTypeError, "a DSA key"),
    ("rsa-1024", lambda k: k.rsa1024, WeakKeyError, "1024-bit RSA key"),
    (
        "proc-type-mic-only",
        lambda k: k.trad_des3.replace("4,ENCRYPTED", "4,MIC-ONLY"),
        InvalidPEMError,
        "unsupported Proc-Type",
    ),
    (
        "proc-type-without-dek-info",
        lambda k: re.sub(r"DEK-Info: .*\n", "", k.trad_des3),
        InvalidPEMError,
        "no DEK-Info",
    ),
    (
        "dek-info-bad-iv",
        lambda k: _with_dek(k, "AES-256-CBC", "XYZ"),
        InvalidPEMError,
        "no valid IV",
    ),
    (
        "empty-body",
        lambda k: "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----",
        InvalidPEMError,
        "is empty between",
    ),
    ("not-base64", lambda k: k.pkcs8.replace("M", "#", 3), InvalidPEMError, "not base64"),
    (
        "partial-base64",
        lambda k: _pem("PRIVATE KEY", b"").replace("\n-", "AB\n-"),
        InvalidPEMError,
        "incomplete",
    ),
    ("not-a-structure", lambda k: _pem("PRIVATE KEY", b"hello"), InvalidPEMError, "not a key"),
    (
        "bad-der-length",
        lambda k: _pem("PRIVATE KEY", b"\x30\x80\x00"),
        InvalidPEMError,
        "not a key",
    ),
    ("truncated-der", lambda k: _pem("PRIVATE KEY", _der(k)[:-100]), InvalidPEMError, "truncated"),
    (
        "trailing-der",
        lambda k: _pem("PRIVATE KEY", _der(k) + b"\0\0"),
        InvalidPEMError,
        "extra data",
    ),
    (
        "short-der",
        lambda k: _pem("PRIVATE KEY", b"\x30\x03\x02\x01\x00"),
        InvalidPEMError,
        "not a valid",
    ),
    (
        "truncated-ciphertext",
        lambda k: _pem(
            "RSA PRIVATE KEY",
            pk.parse_pem(k.trad_des3).der[:-3],
            "Proc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,0011223344556677\n\n",
        ),
        InvalidPEMError,
        "whole number of cipher blocks",
    ),
    ("der-bytes", _der, InvalidPEMError, "openssl pkey -inform DER"),
    ("a-file-name", lambda k: __file__, InvalidPEMError, "private_key_path="),
    (
        "unknown-cipher",
        lambda k: _with_dek(k, "CAMELLIA-256-CBC", "00" * 16),
        PrivateKeyError,
        "re-encrypt it with AES",
    ),
    ("other-cipher-iv", lambda k: _with_dek(k, "BF-CBC", "0" * 16), PrivateKeyError, "BF-CBC"),
]


@pytest.mark.parametrize(
    ("make", "error", "needle"), [pytest.param(*case[1:], id=case[0]) for case in BAD]
)
def test_bad_keys(
    keys: Keys, make: Callable[[Keys], str | bytes], error: type[BoxJWTError], needle: str
) -> None:
    text = make(keys)
    with pytest.raises(error) as info:
        pk.load_private_key(text, keys.passphrase, where="The key", source="src", field="f")
    message = str(info.value)
    assert needle in message
    assert isinstance(info.value, PrivateKeyError)
    assert info.value.source == "src"
    assert info.value.field == "f"
    assert message.startswith("The key ")
    assert keys.passphrase not in message
    for line in _body_lines(keys.pkcs8) + _body_lines(keys.trad_des3):
        assert line[:16] not in message


def test_unknown_key_algorithm() -> None:
    # cryptography >= 43 says "unsupported algorithm", 42 only "could not deserialize".
    with pytest.raises((UnsupportedKeyTypeError, InvalidPEMError)) as info:
        pk.load_private_key(_unknown_oid_pkcs8())
    needle = "only with RSA" if isinstance(info.value, UnsupportedKeyTypeError) else "corrupt"
    assert needle in str(info.value)


def test_fips_refusing_3des_is_explained(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(pem: bytes, password: bytes | None) -> object:
        raise UnsupportedAlgorithm("3DES is not allowed")

    monkeypatch.setattr(pk, "_deserialize", refuse)
    with pytest.raises(PrivateKeyError, match="FIPS mode") as info:
        pk.load_private_key(keys.box, keys.passphrase)
    assert type(info.value) is PrivateKeyError


def test_warn_attribution_from_nested_package_frames() -> None:
    with pytest.warns(InsecureKeyWarning) as record:
        pk.warn("x", InsecureKeyWarning)
    assert record[0].filename == __file__


def test_collect_warnings_is_per_thread() -> None:
    # Inside collect_warnings() warnings are gathered, not issued; another thread meanwhile
    # issues its own as usual (warnings.catch_warnings would have swapped global state).
    inside = threading.Event()
    release = threading.Event()
    gathered: list[list[Warning]] = []

    def collecting() -> None:
        with pk.collect_warnings() as caught:
            pk.warn("collected", InsecureKeyWarning)
            inside.set()
            release.wait(timeout=10)
        gathered.append(caught)

    worker = threading.Thread(target=collecting)
    worker.start()
    assert inside.wait(timeout=10)
    try:
        with pytest.warns(InsecureKeyWarning, match="issued"):
            pk.warn("issued", InsecureKeyWarning)
    finally:
        release.set()
        worker.join(timeout=10)
    ((warning,),) = gathered
    assert isinstance(warning, InsecureKeyWarning)
    assert str(warning) == "collected"
