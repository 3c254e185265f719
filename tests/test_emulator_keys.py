"""boxjwt.testing key generation and encodings, checked with cryptography and the openssl CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from boxjwt.testing import (
    ENCRYPTED_KEY_FORMATS,
    KEY_FORMATS,
    FakeClock,
    encode_private_key,
    generate_rsa_key,
    mangle_pem,
    public_key_pem,
)
from boxjwt.testing._keys import _evp_bytes_to_key, pooled_rsa_key

PASS = "correct horse"

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return generate_rsa_key(cached=True)


def _write(tmp_path: Path, pem: str) -> Path:
    path = tmp_path / "key.pem"
    path.write_text(pem)
    return path


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("fmt", KEY_FORMATS)
def test_cryptography_loads_every_format(key: rsa.RSAPrivateKey, fmt: str) -> None:
    encrypted = fmt in ENCRYPTED_KEY_FORMATS
    pem = encode_private_key(key, fmt, PASS if encrypted else None)  # type: ignore[arg-type]
    loaded = serialization.load_pem_private_key(pem.encode(), PASS.encode() if encrypted else None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == key.private_numbers()
    if encrypted:
        with pytest.raises(ValueError):
            serialization.load_pem_private_key(pem.encode(), b"wrong passphrase")


@needs_openssl
@pytest.mark.parametrize("fmt", KEY_FORMATS)
def test_openssl_reads_every_format(key: rsa.RSAPrivateKey, fmt: str, tmp_path: Path) -> None:
    encrypted = fmt in ENCRYPTED_KEY_FORMATS
    path = _write(tmp_path, encode_private_key(key, fmt, PASS if encrypted else None))  # type: ignore[arg-type]
    args = ["pkey", "-in", str(path), "-pubout"]
    if encrypted:
        args += ["-passin", f"pass:{PASS}"]
    result = _openssl(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == public_key_pem(key)
    if encrypted:
        wrong = _openssl("pkey", "-in", str(path), "-noout", "-passin", "pass:nope")
        assert wrong.returncode != 0


@needs_openssl
def test_box_format_structure(key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    pem = encode_private_key(key, "box", PASS)
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert pem.endswith("-----END ENCRYPTED PRIVATE KEY-----\n")
    assert all(len(line) <= 64 for line in pem.splitlines())
    out = _openssl("asn1parse", "-in", str(_write(tmp_path, pem))).stdout
    objects = re.findall(r"OBJECT\s+:(\S+)", out)
    assert objects == ["PBES2", "PBKDF2", "des-ede3-cbc"]  # no PRF: the default HMAC-SHA1
    assert re.search(r"INTEGER\s+:0800\b", out)  # 2048 iterations
    salt, iv = re.findall(r"OCTET STRING\s+\[HEX DUMP\]:([0-9A-F]+)\n", out)[:2]
    assert len(salt) == 16  # 8 bytes
    assert len(iv) == 16  # 8 bytes: a 3DES block


@needs_openssl
def test_pkcs8_aes256_structure(key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    pem = encode_private_key(key, "pkcs8-aes256", PASS)
    out = _openssl("asn1parse", "-in", str(_write(tmp_path, pem))).stdout
    assert re.findall(r"OBJECT\s+:(\S+)", out) == [
        "PBES2",
        "PBKDF2",
        "hmacWithSHA256",
        "aes-256-cbc",
    ]
    assert re.search(r"INTEGER\s+:0800\b", out)


@pytest.mark.parametrize(
    ("fmt", "cipher", "iv_hex"),
    [("traditional-3des", "DES-EDE3-CBC", 16), ("traditional-aes256", "AES-256-CBC", 32)],
)
def test_traditional_headers(key: rsa.RSAPrivateKey, fmt: str, cipher: str, iv_hex: int) -> None:
    pem = encode_private_key(key, fmt, PASS.encode())  # type: ignore[arg-type]
    lines = pem.splitlines()
    assert lines[0] == "-----BEGIN RSA PRIVATE KEY-----"
    assert lines[1] == "Proc-Type: 4,ENCRYPTED"
    name, iv = lines[2].removeprefix("DEK-Info: ").split(",")
    assert name == cipher
    assert re.fullmatch(f"[0-9A-F]{{{iv_hex}}}", iv)
    assert lines[3] == ""
    assert lines[-1] == "-----END RSA PRIVATE KEY-----"


def test_unencrypted_headers(key: rsa.RSAPrivateKey) -> None:
    assert encode_private_key(key, "pkcs1").startswith("-----BEGIN RSA PRIVATE KEY-----\nMII")
    assert encode_private_key(key, "pkcs8").startswith("-----BEGIN PRIVATE KEY-----\n")


def test_fresh_salt_and_iv_each_time(key: rsa.RSAPrivateKey) -> None:
    assert encode_private_key(key, "box", PASS) != encode_private_key(key, "box", PASS)


def test_evp_bytes_to_key_matches_openssl_vector() -> None:
    # openssl enc -des-ede3-cbc -pass pass:password -S 0102030405060708 -P -md md5
    derived = _evp_bytes_to_key(b"password", bytes.fromhex("0102030405060708"), 32)
    assert derived.hex().upper() == (
        "E7B0971E52CA5CC8D0539FB3412F6316F7BA2E6EE293D9F3"  # the 3DES key
        "457B99436B51CE02"  # what openssl derives next (its IV)
    )


@needs_openssl
def test_evp_bytes_to_key_agrees_with_openssl_enc() -> None:
    result = _openssl(
        "enc",
        "-des-ede3-cbc",
        "-pass",
        "pass:password",
        "-S",
        "0102030405060708",
        "-P",
        "-md",
        "md5",
    )
    if result.returncode != 0:  # FIPS-only builds refuse 3DES here
        pytest.skip(result.stderr)
    openssl_key = re.search(r"key=([0-9A-F]+)", result.stdout)
    assert openssl_key is not None
    derived = _evp_bytes_to_key(b"password", bytes.fromhex("0102030405060708"), 24)
    assert derived.hex().upper() == openssl_key.group(1)


@pytest.mark.parametrize(
    ("fmt", "passphrase", "match"),
    [
        ("box", None, "needs a passphrase"),
        ("traditional-3des", "", "needs a passphrase"),
        ("pkcs1", "x", "unencrypted"),
        ("pkcs8", b"x", "unencrypted"),
        ("jks", None, "unknown key format"),
    ],
)
def test_encode_errors(
    key: rsa.RSAPrivateKey, fmt: str, passphrase: str | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        encode_private_key(key, fmt, passphrase)  # type: ignore[arg-type]


def test_generate_rsa_key() -> None:
    cached = generate_rsa_key(cached=True)
    assert generate_rsa_key(cached=True) is cached
    small = generate_rsa_key(1024)
    assert small.key_size == 1024
    assert small.public_key().public_numbers().e == 65537
    assert generate_rsa_key(1024, cached=True) is generate_rsa_key(1024, cached=True)


def test_pool_keys_are_distinct_and_stable() -> None:
    first, second = pooled_rsa_key(0), pooled_rsa_key(1)
    assert first is pooled_rsa_key(0)
    assert first.private_numbers() != second.private_numbers()


def test_public_key_pem(key: rsa.RSAPrivateKey) -> None:
    pem = public_key_pem(key)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert public_key_pem(key.public_key()) == pem


def test_mangle_pem(key: rsa.RSAPrivateKey) -> None:
    pem = encode_private_key(key, "pkcs8")
    assert mangle_pem(pem, None) == pem
    assert "\n" not in mangle_pem(pem, "escaped-newlines")
    assert "\\n" in mangle_pem(pem, "escaped-newlines")
    assert mangle_pem(pem, "crlf").count("\r\n") == pem.count("\n")
    spaced = mangle_pem(pem, "whitespace")
    assert spaced != pem
    assert spaced.split() == pem.split()
    with pytest.raises(ValueError, match="unknown mangling"):
        mangle_pem(pem, "rot13")  # type: ignore[arg-type]


def test_fake_clock() -> None:
    clock = FakeClock(100.0)
    assert clock() == 100.0
    assert clock.now == 100.0
    assert clock.advance(5) == 105.0
    clock.set(50)
    assert clock() == 50.0
    clock.sleep(2.5)
    clock.sleep(-1)
    assert clock() == 52.5
    assert clock.sleeps == [2.5, -1]
    assert repr(clock) == "FakeClock(52.500)"
    assert FakeClock()() == 1_767_225_600.0
