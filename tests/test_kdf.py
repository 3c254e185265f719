"""Hostile key-derivation parameters: an encrypted key may not make loading stall.

Keys are made at test time with the ``openssl`` command line; hostile ones are made by
re-encoding a real key's DER with a larger iteration count (or scrypt cost), which is exactly
what an attacker who controls the key file would do. Refusals are checked by counting calls
into cryptography (none may happen), never by timing.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from boxjwt import KeyFile
from boxjwt import _private_key as pk
from boxjwt._kdf import (
    MAX_PBKDF2_ITERATIONS,
    MAX_SCRYPT_COST,
    KdfCost,
    MalformedDERError,
    kdf_cost,
)
from boxjwt.exceptions import (
    InvalidPEMError,
    KeyDerivationCostError,
    PrivateKeyError,
    WrongPassphraseError,
)
from openssl_keys import Keys, openssl_keys

PASSPHRASE = "kdf-test-passphrase"


@functools.cache
def _openssl_pkcs8(*options: str) -> str:
    """The test RSA key re-encrypted by ``openssl pkcs8 -topk8 <options>``."""
    source = openssl_keys().pkcs8
    with tempfile.TemporaryDirectory(prefix="boxjwt-kdf-") as tmp:
        path = Path(tmp) / "in.pem"
        path.write_text(source)
        done = subprocess.run(
            ["openssl", "pkcs8", "-topk8", *options, "-in", str(path), "-passout", "env:KDF_PASS"],
            env={**os.environ, "KDF_PASS": PASSPHRASE},
            capture_output=True,
            text=True,
            check=True,
        )
    return done.stdout


# --------------------------------------------------------------------------- DER, test-side


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


Node = tuple[int, "bytes | list[Node]"]


def _parse(data: bytes) -> list[Node]:
    """A generic DER tree (constructed elements have the 0x20 bit)."""
    out: list[Node] = []
    pos = 0
    while pos < len(data):
        tag, first = data[pos], data[pos + 1]
        pos += 2
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        content = data[pos : pos + length]
        pos += length
        out.append((tag, _parse(content) if tag & 0x20 else content))
    return out


def _encode(nodes: list[Node]) -> bytes:
    out = b""
    for tag, content in nodes:
        raw = _encode(content) if isinstance(content, list) else content
        out += bytes([tag]) + _der_length(len(raw)) + raw
    return out


def _integer(value: int) -> bytes:
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def _pem(der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join(
        ["-----BEGIN ENCRYPTED PRIVATE KEY-----", *lines, "-----END ENCRYPTED PRIVATE KEY-----", ""]
    )


def _der_of(pem: str) -> bytes:
    return base64.b64decode("".join(line for line in pem.splitlines() if "-----" not in line))


def _kdf_params(tree: list[Node]) -> list[Node]:
    """The PBKDF2/scrypt parameter SEQUENCE's children of a PBES2 key (mutable)."""
    info = tree[0][1]
    assert isinstance(info, list)
    algorithm = info[0][1]
    assert isinstance(algorithm, list)
    pbes2 = algorithm[1][1]
    assert isinstance(pbes2, list)
    kdf = pbes2[0][1]
    assert isinstance(kdf, list)
    params = kdf[1][1]
    assert isinstance(params, list)
    return params


def with_iterations(pem: str, iterations: int) -> str:
    """``pem`` (PBES2 + PBKDF2) with its iteration count replaced."""
    tree = _parse(_der_of(pem))
    params = _kdf_params(tree)
    params[1] = (0x02, _integer(iterations))
    return _pem(_encode(tree))


def with_scrypt(pem: str, n: int, r: int, p: int) -> str:
    """``pem`` (PBES2 + scrypt) with its cost parameters replaced."""
    tree = _parse(_der_of(pem))
    params = _kdf_params(tree)
    params[1:4] = [(0x02, _integer(n)), (0x02, _integer(r)), (0x02, _integer(p))]
    return _pem(_encode(tree))


def with_pbe_iterations(pem: str, iterations: int) -> str:
    """``pem`` (PBES1 / PKCS#12 PBE) with its iteration count replaced."""
    tree = _parse(_der_of(pem))
    info = tree[0][1]
    assert isinstance(info, list)
    algorithm = info[0][1]
    assert isinstance(algorithm, list)
    params = algorithm[1][1]
    assert isinstance(params, list)
    params[1] = (0x02, _integer(iterations))
    return _pem(_encode(tree))


@pytest.fixture
def deserialize_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes | None]:
    """Every call into cryptography's loader (a refusal must make none)."""
    calls: list[bytes | None] = []
    real = pk._deserialize

    def counting(pem: bytes, password: bytes | None) -> object:
        calls.append(password)
        return real(pem, password)

    monkeypatch.setattr(pk, "_deserialize", counting)
    return calls


# --------------------------------------------------------------------------- real keys load


def test_the_test_der_helpers_round_trip(keys: Keys) -> None:
    assert _encode(_parse(_der_of(keys.box))) == _der_of(keys.box)
    assert with_iterations(keys.box, 2048) == pk.parse_pem(keys.box).to_pem().decode()


@pytest.mark.parametrize(
    "options",
    [
        ("-v2", "des3", "-v2prf", "hmacWithSHA1", "-iter", "2048"),  # Box's own format
        ("-v2", "aes-256-cbc", "-iter", "100000"),
        ("-scrypt",),  # N=16384, r=8, p=1
        ("-v1", "PBE-SHA1-3DES"),  # PKCS#12 PBE, 2048 iterations
    ],
    ids=["box", "pbkdf2-100k", "scrypt-default", "pkcs12-pbe"],
)
def test_keys_real_tools_make_still_load(keys: Keys, options: tuple[str, ...]) -> None:
    pem = _openssl_pkcs8(*options)
    cost = kdf_cost(pk.parse_pem(pem).der)
    assert cost is not None
    assert not cost.too_costly
    loaded = pk.load_private_key(pem, PASSPHRASE)
    assert loaded.encrypted
    assert loaded.key.public_key().public_numbers() == keys.public_key.public_numbers()


def test_the_limits_are_far_above_real_keys() -> None:
    assert MAX_PBKDF2_ITERATIONS == 1_000_000  # 488 x Box's 2048; above OWASP's 600,000
    assert MAX_SCRYPT_COST == 8 * 16384 * 8  # 8 x openssl's default N*r*p
    assert not KdfCost("PBKDF2", iterations=MAX_PBKDF2_ITERATIONS).too_costly
    assert KdfCost("PBKDF2", iterations=MAX_PBKDF2_ITERATIONS + 1).too_costly
    assert not KdfCost("scrypt", scrypt=(16384, 8, 8)).too_costly
    assert KdfCost("scrypt", scrypt=(16384, 8, 9)).too_costly


# --------------------------------------------------------------------------- hostile keys


@pytest.mark.parametrize(
    ("iterations", "shown"),
    [
        (MAX_PBKDF2_ITERATIONS + 1, "1,000,001 iterations"),
        (2**32 - 1, "4,294,967,295 iterations"),
        (10**30, "more than 10^15 iterations"),
    ],
)
def test_hostile_pbkdf2_iterations_are_refused_before_any_attempt(
    keys: Keys, deserialize_calls: list[bytes | None], iterations: int, shown: str
) -> None:
    """Regression: a key with billions of PBKDF2 iterations took minutes per attempt (and up to
    four passphrase variants were tried); it is refused without a single attempt."""
    hostile = with_iterations(keys.box, iterations)
    with pytest.raises(KeyDerivationCostError) as info:
        pk.load_private_key(hostile, keys.passphrase + " ")  # would try several variants
    message = str(info.value)
    assert shown in message
    assert "at most 1,000,000 iterations" in message
    assert "Fix:" in message
    assert "openssl pkcs8 -topk8" in message
    assert isinstance(info.value, PrivateKeyError)
    assert deserialize_calls == []


def test_a_real_key_just_over_the_limit_is_refused(
    keys: Keys, deserialize_calls: list[bytes | None]
) -> None:
    """Made by openssl itself (decryptable with the right passphrase), still refused."""
    pem = _openssl_pkcs8("-v2", "aes-256-cbc", "-iter", str(MAX_PBKDF2_ITERATIONS + 1))
    with pytest.raises(KeyDerivationCostError, match="1,000,001 iterations"):
        pk.load_private_key(pem, PASSPHRASE)
    assert deserialize_calls == []


def test_hostile_key_is_refused_even_without_a_passphrase(keys: Keys) -> None:
    with pytest.raises(KeyDerivationCostError):
        pk.load_private_key(with_iterations(keys.box, 10**9))


@pytest.mark.parametrize(
    ("n", "r", "p", "shown"),
    [
        (16384, 8, 64, "N=16,384, r=8, p=64"),
        (2**20, 8, 1, "N=1,048,576, r=8, p=1"),
        (2**40, 2**20, 2**20, "N=1,099,511,627,776"),
    ],
)
def test_hostile_scrypt_parameters_are_refused(
    deserialize_calls: list[bytes | None], n: int, r: int, p: int, shown: str
) -> None:
    hostile = with_scrypt(_openssl_pkcs8("-scrypt"), n, r, p)
    with pytest.raises(KeyDerivationCostError) as info:
        pk.load_private_key(hostile, PASSPHRASE)
    assert shown in str(info.value)
    assert "N x r x p of at most 1,048,576" in str(info.value)
    assert deserialize_calls == []


def test_hostile_pkcs12_pbe_iterations_are_refused(deserialize_calls: list[bytes | None]) -> None:
    hostile = with_pbe_iterations(_openssl_pkcs8("-v1", "PBE-SHA1-3DES"), 3_000_000_000)
    with pytest.raises(KeyDerivationCostError, match="PBE with 3,000,000,000 iterations"):
        pk.load_private_key(hostile, PASSPHRASE)
    assert deserialize_calls == []


def test_hostile_key_in_a_key_file(keys: Keys, tmp_path: Path) -> None:
    """Through the public API: KeyFile.from_file with the hostile key in key.json."""
    config = {
        "boxAppSettings": {
            "clientID": "c" * 32,
            "clientSecret": "s" * 32,
            "appAuth": {
                "publicKeyID": "kid",
                "privateKey": with_iterations(keys.box, 4_000_000_000),
                "passphrase": keys.passphrase,
            },
        },
        "enterpriseID": "1234567",
    }
    path = tmp_path / "key.json"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    with pytest.raises(KeyDerivationCostError) as info:
        KeyFile.from_file(path)
    assert info.value.field == "boxAppSettings.appAuth.privateKey"
    assert info.value.source == str(path)


# --------------------------------------------------------------------------- odd structures


def test_unreadable_encryption_parameters_are_a_corrupt_key(keys: Keys) -> None:
    tree = _parse(_der_of(keys.box))
    params = _kdf_params(tree)
    params[1] = (0x04, b"\x08\x00")  # the iteration count as an OCTET STRING
    with pytest.raises(InvalidPEMError, match="encryption parameters cannot be read"):
        pk.load_private_key(_pem(_encode(tree)), keys.passphrase)


def test_an_unknown_kdf_is_left_to_cryptography(keys: Keys) -> None:
    tree = _parse(_der_of(keys.box))
    info = tree[0][1]
    assert isinstance(info, list)
    algorithm = info[0][1]
    assert isinstance(algorithm, list)
    pbes2 = algorithm[1][1]
    assert isinstance(pbes2, list)
    kdf = pbes2[0][1]
    assert isinstance(kdf, list)
    kdf[0] = (0x06, bytes.fromhex("2a864886f70d01050f"))  # 1.2.840.113549.1.5.15: not a KDF
    der = _encode(tree)
    assert kdf_cost(der) is None
    with pytest.raises(PrivateKeyError):
        pk.load_private_key(_pem(der), keys.passphrase)


def test_an_unknown_encryption_algorithm_is_left_to_cryptography(keys: Keys) -> None:
    tree = _parse(_der_of(keys.box))
    info = tree[0][1]
    assert isinstance(info, list)
    algorithm = info[0][1]
    assert isinstance(algorithm, list)
    algorithm[0] = (0x06, bytes.fromhex("2b0601040182370a0301"))  # an unrelated OID
    assert kdf_cost(_encode(tree)) is None


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"\x30",
        b"\x31\x00",  # a SET, not a SEQUENCE
        b"\x30\x80\x00\x00",  # BER indefinite length
        b"\x30\x85" + b"\x00" * 5,  # a 5-byte length
        b"\x30\x05\x30\x03\x06\x01",  # inner element longer than its container
        b"\x30\x02\x30\x00",  # no algorithm OID
        bytes.fromhex("300f300b0609") + bytes.fromhex("2a864886f70d01050d") + b"\x04\x00",
    ],
    ids=["empty", "truncated", "set", "indefinite", "long-length", "overflow", "no-oid", "bare"],
)
def test_malformed_der_is_reported(der: bytes) -> None:
    with pytest.raises(MalformedDERError):
        kdf_cost(der)


def test_negative_or_empty_integers_are_malformed(keys: Keys) -> None:
    for bad in (b"\xff", b""):
        tree = _parse(_der_of(keys.box))
        _kdf_params(tree)[1] = (0x02, bad)
        with pytest.raises(MalformedDERError):
            kdf_cost(_encode(tree))


def test_box_key_cost_is_read(keys: Keys) -> None:
    der = _der_of(keys.box)
    cost = kdf_cost(der)
    assert cost == KdfCost("PBKDF2", iterations=2048)
    assert cost.describe() == "PBKDF2 with 2,048 iterations"
    assert KdfCost("scrypt", scrypt=(1, 2, 3)).describe() == "scrypt with N=1, r=2, p=3"
    assert not KdfCost("PBE").too_costly


def test_wrong_passphrase_is_still_reported_for_a_normal_key(keys: Keys) -> None:
    with pytest.raises(WrongPassphraseError):
        pk.load_private_key(keys.box, "not the passphrase")
