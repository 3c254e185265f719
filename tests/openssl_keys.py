"""Private keys in every format users really have, made at test time (never committed).

Box's own format comes from the ``openssl`` command line exactly as Box makes it (PKCS#8, PBES2,
PBKDF2-HMAC-SHA1, 2048 iterations, 3DES). Everything is generated once per test process
(:func:`openssl_keys` is cached), so test modules can wrap it in session-scoped fixtures.

Without an ``openssl`` binary the tests that need it are skipped locally and fail in CI.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, rsa

__all__ = ["PASSPHRASE", "Keys", "openssl_keys"]

#: Non-ASCII on purpose: UTF-8 passphrases must work.
PASSPHRASE = "Pässwörd-ключ-🔑"


@dataclass(frozen=True)
class Keys:
    """One RSA-2048 key in many encodings, plus keys Box must refuse."""

    passphrase: str
    box: str  # ENCRYPTED PRIVATE KEY, PBES2/PBKDF2-HMAC-SHA1/2048/des-ede3-cbc (Box's format)
    box_asn1: str  # `openssl asn1parse` of ``box``
    pkcs8_aes256: str  # ENCRYPTED PRIVATE KEY, PBES2 AES-256-CBC
    trad_des3: str  # RSA PRIVATE KEY, Proc-Type: 4,ENCRYPTED, DEK-Info: DES-EDE3-CBC
    trad_aes256: str  # RSA PRIVATE KEY, Proc-Type: 4,ENCRYPTED, DEK-Info: AES-256-CBC
    pkcs1: str  # RSA PRIVATE KEY, unencrypted
    pkcs8: str  # PRIVATE KEY, unencrypted
    public_pem: str  # the matching SubjectPublicKeyInfo PEM
    public_key: rsa.RSAPublicKey
    rsa1024: str  # PRIVATE KEY, 1024-bit RSA
    ec_sec1: str  # EC PRIVATE KEY
    ec_pkcs8: str  # PRIVATE KEY holding an EC key
    ed25519: str  # PRIVATE KEY holding an Ed25519 key
    dsa_pkcs8: str  # PRIVATE KEY holding a DSA key
    openssh: str  # OPENSSH PRIVATE KEY (the same RSA key)


def _openssl(*args: str, env: dict[str, str] | None = None, cwd: Path) -> str:
    done = subprocess.run(
        ["openssl", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@functools.cache
def _generate() -> Keys:
    env = {"BOXJWT_TEST_PASS": PASSPHRASE}
    pass_out = ("-passout", "env:BOXJWT_TEST_PASS")
    with tempfile.TemporaryDirectory(prefix="boxjwt-keys-") as tmp:
        d = Path(tmp)
        _openssl("genrsa", "-out", "rsa.pem", "2048", cwd=d)
        _openssl("pkcs8", "-topk8", "-in", "rsa.pem", "-nocrypt", "-out", "pkcs8.pem", cwd=d)
        _openssl(
            "pkcs8", "-topk8", "-v2", "des3", "-v2prf", "hmacWithSHA1", "-iter", "2048",
            "-in", "rsa.pem", "-out", "box.pem", *pass_out, env=env, cwd=d,
        )  # fmt: skip
        _openssl(
            "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "rsa.pem", "-out", "aes.pem",
            *pass_out, env=env, cwd=d,
        )  # fmt: skip
        _openssl(
            "rsa", "-in", "rsa.pem", "-des3", "-traditional", "-out", "trad3.pem", *pass_out,
            env=env, cwd=d,
        )  # fmt: skip
        _openssl(
            "rsa", "-in", "rsa.pem", "-aes256", "-traditional", "-out", "trada.pem", *pass_out,
            env=env, cwd=d,
        )  # fmt: skip
        _openssl("rsa", "-in", "rsa.pem", "-traditional", "-out", "pkcs1.pem", cwd=d)
        _openssl("rsa", "-in", "rsa.pem", "-pubout", "-out", "pub.pem", cwd=d)
        _openssl("genrsa", "-out", "rsa1024.pem", "1024", cwd=d)
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.pem", cwd=d)
        _openssl("pkcs8", "-topk8", "-nocrypt", "-in", "ec.pem", "-out", "ec8.pem", cwd=d)
        _openssl("genpkey", "-algorithm", "ed25519", "-out", "ed.pem", cwd=d)
        asn1 = _openssl("asn1parse", "-in", "box.pem", cwd=d)
        files = {p.stem: p.read_text() for p in d.glob("*.pem")}
    public_key = serialization.load_pem_public_key(files["pub"].encode())
    assert isinstance(public_key, rsa.RSAPublicKey)
    rsa_key = serialization.load_pem_private_key(files["pkcs8"].encode(), None)
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    dsa_pem = dsa.generate_private_key(1024).private_bytes(  # noqa: S505 - refused anyway
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    openssh = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return Keys(
        passphrase=PASSPHRASE,
        box=files["box"],
        box_asn1=asn1,
        pkcs8_aes256=files["aes"],
        trad_des3=files["trad3"],
        trad_aes256=files["trada"],
        pkcs1=files["pkcs1"],
        pkcs8=files["pkcs8"],
        public_pem=files["pub"],
        public_key=public_key,
        rsa1024=files["rsa1024"],
        ec_sec1=files["ec"],
        ec_pkcs8=files["ec8"],
        ed25519=files["ed"],
        dsa_pkcs8=dsa_pem.decode(),
        openssh=openssh.decode(),
    )


def openssl_keys() -> Keys:
    """The key set (generated on first use); skips (fails in CI) without ``openssl``."""
    if shutil.which("openssl") is None:
        message = "the openssl command line tool is needed to make Box-format keys"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return _generate()
