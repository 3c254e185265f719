"""KeyFile: load every real key.json, reject every bad one clearly, never leak a secret."""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import logging
import os
import pathlib
import pickle
import socket
import threading
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import attrs
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import boxjwt
from boxjwt import KeyFile, Secret
from boxjwt import _keyfile as keyfile_module
from boxjwt import _private_key as pk
from boxjwt.exceptions import (
    BoxJWTError,
    ConfigurationError,
    EnterpriseIDCoercedWarning,
    EnterpriseIDError,
    IgnoredPassphraseWarning,
    InsecureKeyWarning,
    InvalidPEMError,
    KeyFileError,
    KeyFileFieldError,
    KeyFileJSONError,
    KeyFileNotFoundError,
    KeyFileNotReadableError,
    KeyFilePermissionWarning,
    KeyFileTooLargeError,
    NotAJWTAppError,
    PassphraseRequiredError,
    PrivateKeyMissingError,
    UnsupportedKeyTypeError,
    WeakKeyError,
    WrongPassphraseError,
)
from openssl_keys import Keys, openssl_keys
from secret_scan import assert_no_secret_in_text

CLIENT_ID = "abcdefghijklmnopqrstuvwxyz012345"
CLIENT_SECRET = "Cl1entS3cretValueNeverShown0987"
PUBLIC_KEY_ID = "kid4c1d"
ENTERPRISE_ID = "1234567"
WRONG_PASSPHRASE = "wr0ng-passphrase-XYZ"
MiB = 1024 * 1024


def config(pem: str = "", passphrase: str = "", **top: Any) -> dict[str, Any]:
    """Box's key.json, exactly as the Developer Console downloads it."""
    data: dict[str, Any] = {
        "boxAppSettings": {
            "clientID": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "appAuth": {"publicKeyID": PUBLIC_KEY_ID, "privateKey": pem, "passphrase": passphrase},
        },
        "enterpriseID": ENTERPRISE_ID,
    }
    data.update(top)
    return data


def edit(
    data: dict[str, Any], path: str, value: Any = ..., *, delete: bool = False
) -> dict[str, Any]:
    """Set (or delete) the value at a dotted JSON path."""
    *parents, last = path.split(".")
    node = data
    for name in parents:
        node = node[name]
    if delete:
        del node[last]
    else:
        node[last] = value
    return data


def write(path: pathlib.Path, content: str | bytes, mode: int = 0o600) -> pathlib.Path:
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    path.chmod(mode)
    return path


def sign_and_verify(kf: KeyFile, keys: Keys) -> None:
    token = jwt.encode({"iss": kf.client_id}, kf.private_key(), algorithm="RS256")
    assert jwt.decode(token, keys.public_key, algorithms=["RS256"]) == {"iss": kf.client_id}
    signature = kf.private_key().sign(b"m", padding.PKCS1v15(), hashes.SHA256())
    keys.public_key.verify(signature, b"m", padding.PKCS1v15(), hashes.SHA256())


def secret_fragments(keys: Keys) -> list[str]:
    """Texts that must never appear in a message: secrets and pieces of every key."""
    out = [CLIENT_SECRET, keys.passphrase, WRONG_PASSPHRASE]
    for pem in (keys.box, keys.pkcs8, keys.pkcs1, keys.trad_des3, keys.trad_aes256):
        out += [line[:16] for line in pem.splitlines()[1:-1] if line and ":" not in line]
    return out


# =========================================================================== loading good input

Ctx = tuple[Keys, pathlib.Path, pytest.MonkeyPatch]
Case = Callable[[Ctx], KeyFile]


def _file(ctx: Ctx, data: dict[str, Any] | str, **kw: Any) -> KeyFile:
    tmp = ctx[1]
    text = data if isinstance(data, str) else json.dumps(data, indent=2)
    return KeyFile.from_file(write(tmp / "key.json", text), **kw)


def _pem_file(ctx: Ctx, pem: str, **kw: Any) -> KeyFile:
    tmp = ctx[1]
    path = write(tmp / "private_key.pem", pem)
    return KeyFile.from_file(
        write(tmp / "key.json", json.dumps(config())), private_key_path=path, **kw
    )


def _from_os_environ(ctx: Ctx) -> KeyFile:
    keys, _, monkeypatch = ctx
    monkeypatch.setenv("BOXJWT_CONFIG", json.dumps(config(keys.trad_aes256)))
    monkeypatch.setenv("BOXJWT_PASSPHRASE", keys.passphrase)
    monkeypatch.delenv("BOXJWT_KEYFILE", raising=False)
    return KeyFile.from_env()


K = openssl_keys  # shorthand inside the case table (called lazily, inside the test)

GOOD: dict[str, tuple[Case, bool, set[type[Warning]]]] = {
    "box-format-from-file": (lambda c: _file(c, config(K().box, K().passphrase)), True, set()),
    "box-format-from-json": (
        lambda c: KeyFile.from_json(json.dumps(config(K().box, K().passphrase))),
        True,
        set(),
    ),
    "box-format-from-json-bytes": (
        lambda c: KeyFile.from_json(json.dumps(config(K().box, K().passphrase)).encode()),
        True,
        set(),
    ),
    "box-format-from-dict": (
        lambda c: KeyFile.from_dict(config(K().box, K().passphrase)),
        True,
        set(),
    ),
    "pkcs8-aes256": (lambda c: _file(c, config(K().pkcs8_aes256, K().passphrase)), True, set()),
    "traditional-des-ede3-cbc": (
        lambda c: _file(c, config(K().trad_des3, K().passphrase)),
        True,
        set(),
    ),
    "traditional-aes-256-cbc": (
        lambda c: _file(c, config(K().trad_aes256, K().passphrase)),
        True,
        set(),
    ),
    "unencrypted-pkcs1": (lambda c: _file(c, config(K().pkcs1)), False, {InsecureKeyWarning}),
    "unencrypted-pkcs8": (lambda c: _file(c, config(K().pkcs8)), False, {InsecureKeyWarning}),
    "unencrypted-null-passphrase": (
        lambda c: KeyFile.from_dict(
            edit(config(K().pkcs8), "boxAppSettings.appAuth.passphrase", None)
        ),
        False,
        {InsecureKeyWarning},
    ),
    "separate-pem-file": (
        lambda c: _pem_file(c, K().trad_des3, passphrase=K().passphrase),
        True,
        set(),
    ),
    "separate-pem-file-no-privateKey-field": (
        lambda c: KeyFile.from_dict(
            edit(config(), "boxAppSettings.appAuth.privateKey", delete=True),
            private_key_path=write(c[1] / "k.pem", K().pkcs8_aes256),
            passphrase=Secret(K().passphrase),
        ),
        True,
        set(),
    ),
    "separate-pem-file-with-bom": (
        lambda c: _pem_file(c, "\ufeff" + K().pkcs8),
        False,
        {InsecureKeyWarning},
    ),
    "private-key-text-override": (
        lambda c: KeyFile.from_json(
            json.dumps(config()), private_key=Secret(K().box), passphrase=K().passphrase
        ),
        True,
        set(),
    ),
    "literal-backslash-n": (
        lambda c: _file(c, config(K().box.replace("\n", "\\n"), K().passphrase)),
        True,
        set(),
    ),
    "crlf": (
        lambda c: _file(c, config(K().box.replace("\n", "\r\n"), K().passphrase)),
        True,
        set(),
    ),
    "surrounding-whitespace": (
        lambda c: _file(c, config("\n   " + K().box + "\n\n  ", K().passphrase)),
        True,
        set(),
    ),
    "missing-final-newline": (
        lambda c: _file(c, config(K().trad_des3.rstrip("\n"), K().passphrase)),
        True,
        set(),
    ),
    "indented": (
        lambda c: _file(
            c, config("\n".join("    " + x for x in K().box.splitlines()), K().passphrase)
        ),
        True,
        set(),
    ),
    "raw-newlines-inside-the-json-string": (
        lambda c: _file(c, json.dumps(config("@PEM@", K().passphrase)).replace("@PEM@", K().box)),
        True,
        set(),
    ),
    "passphrase-nfd": (
        lambda c: _file(c, config(K().box, unicodedata.normalize("NFD", K().passphrase))),
        True,
        set(),
    ),
    "integer-enterprise-id": (
        lambda c: _file(c, config(K().box, K().passphrase, enterpriseID=int(ENTERPRISE_ID))),
        True,
        {EnterpriseIDCoercedWarning},
    ),
    "passphrase-for-unencrypted-key": (
        lambda c: _file(c, config(K().pkcs1, K().passphrase)),
        False,
        {IgnoredPassphraseWarning, InsecureKeyWarning},
    ),
    "passphrase-keyword-beats-json": (
        lambda c: _file(c, config(K().box, WRONG_PASSPHRASE), passphrase=K().passphrase),
        True,
        set(),
    ),
    "env-keyfile": (
        lambda c: KeyFile.from_env(
            {
                "BOXJWT_KEYFILE": str(
                    write(c[1] / "k.json", json.dumps(config(K().box, K().passphrase)))
                )
            }
        ),
        True,
        set(),
    ),
    "env-config": (
        lambda c: KeyFile.from_env({"BOXJWT_CONFIG": json.dumps(config(K().box, K().passphrase))}),
        True,
        set(),
    ),
    "env-passphrase-overrides-json": (
        lambda c: KeyFile.from_env(
            {
                "BOXJWT_CONFIG": json.dumps(config(K().box, WRONG_PASSPHRASE)),
                "BOXJWT_PASSPHRASE": K().passphrase,
            }
        ),
        True,
        set(),
    ),
    "env-keyword-passphrase-beats-env": (
        lambda c: KeyFile.from_env(
            {"BOXJWT_CONFIG": json.dumps(config(K().box)), "BOXJWT_PASSPHRASE": WRONG_PASSPHRASE},
            passphrase=K().passphrase,
        ),
        True,
        set(),
    ),
    "env-os-environ": (_from_os_environ, True, set()),
    "utf8-bom-file": (
        lambda c: _file(c, "\ufeff" + json.dumps(config(K().box, K().passphrase))),
        True,
        set(),
    ),
    "webhook-keys-and-unknown-fields": (
        lambda c: KeyFile.from_dict(
            config(
                K().box,
                K().passphrase,
                webhooks={"primaryKey": "wh-primary", "secondaryKey": ""},
                somethingNew={"x": [1, 2]},
            )
        ),
        True,
        set(),
    ),
    "whitespace-around-ids": (
        lambda c: KeyFile.from_dict(
            edit(
                edit(config(K().box, K().passphrase), "enterpriseID", f" {ENTERPRISE_ID}\n"),
                "boxAppSettings.clientID",
                f" {CLIENT_ID} ",
            )
        ),
        True,
        set(),
    ),
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_input_loads_and_signs(
    keys: Keys, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    build, encrypted, expected_warnings = GOOD[case]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        kf = build((keys, tmp_path, monkeypatch))
    assert {w.category for w in record} == expected_warnings
    for w in record:
        assert w.filename == __file__  # attributed to the caller, not to boxjwt
        assert_no_secret_in_text(str(w.message), secret_fragments(keys))
    assert kf.client_id == CLIENT_ID
    assert kf.enterprise_id == ENTERPRISE_ID
    assert kf.public_key_id == PUBLIC_KEY_ID
    assert kf.client_secret == Secret(CLIENT_SECRET)
    assert kf.key_encrypted is encrypted
    assert kf.private_key().key_size == 2048
    assert kf.public_key_pem() == keys.public_pem
    sign_and_verify(kf, keys)


def test_sources_and_paths(keys: Keys, tmp_path: pathlib.Path) -> None:
    path = write(
        tmp_path / "1234567_kid_config.json", json.dumps(config(keys.box, keys.passphrase))
    )
    assert KeyFile.from_file(path).source == str(path)
    assert KeyFile.from_file(str(path)).path == path
    assert KeyFile.from_json(path.read_text()).source == "<json>"
    assert KeyFile.from_json(path.read_text()).path is None
    assert KeyFile.from_dict(json.loads(path.read_text())).source == "<dict>"
    assert KeyFile.from_env({"BOXJWT_CONFIG": path.read_text()}).source == "<BOXJWT_CONFIG>"
    assert KeyFile.from_env({"BOXJWT_KEYFILE": str(path)}).path == path


def test_webhook_keys_are_secrets(keys: Keys) -> None:
    kf = KeyFile.from_dict(
        config(keys.box, keys.passphrase, webhooks={"primaryKey": "wh-1", "secondaryKey": "wh-2"})
    )
    assert kf.webhook_primary_key == Secret("wh-1")
    assert kf.webhook_secondary_key == Secret("wh-2")
    plain = KeyFile.from_dict(config(keys.box, keys.passphrase, webhooks=None))
    assert plain.webhook_primary_key is None


def test_boxjwt_exports_keyfile() -> None:
    assert boxjwt.KeyFile is KeyFile
    assert "KeyFile" in boxjwt.__all__
    assert boxjwt.__all__ == sorted(boxjwt.__all__)


# =========================================================================== rejecting bad input

Raiser = Callable[[Ctx], object]


def _bad_file(ctx: Ctx, content: str | bytes, name: str = "key.json") -> object:
    return KeyFile.from_file(write(ctx[1] / name, content))


def _bad_dict(data: dict[str, Any], **kw: Any) -> Raiser:
    return lambda c: KeyFile.from_dict(data, **kw)


def _unreadable(ctx: Ctx) -> object:
    keys, tmp, monkeypatch = ctx
    path = write(tmp / "key.json", json.dumps(config(keys.box, keys.passphrase)), mode=0o000)
    if os.geteuid() == 0:  # root reads anything: simulate the refusal the OS gives others

        def refuse(path: Any, *args: Any, **kwargs: Any) -> Any:
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(os, "open", refuse)
    return KeyFile.from_file(path)


def _mutated(pem: str) -> str:
    lines = pem.splitlines()
    lines[5] = lines[5][:10] + "!" + lines[5][11:]
    return "\n".join(lines)


P = "boxAppSettings.appAuth.privateKey"
BAD: dict[str, tuple[Raiser, type[BoxJWTError], list[str]]] = {
    # ---- the file itself
    "missing-file": (
        lambda c: KeyFile.from_file(c[1] / "nope.json"),
        KeyFileNotFoundError,
        ["nope.json", "does not exist", "_config.json"],
    ),
    "directory": (lambda c: KeyFile.from_file(c[1]), KeyFileNotReadableError, ["is a directory"]),
    "unreadable": (_unreadable, KeyFileNotReadableError, ["cannot be read", "chmod 600"]),
    "path-through-a-file": (
        lambda c: KeyFile.from_file(write(c[1] / "f", "x") / "key.json"),
        KeyFileNotReadableError,
        ["cannot be examined", "permissions"],
    ),
    "path-with-nul-byte": (
        lambda c: KeyFile.from_file("key\0.json"),
        KeyFileNotReadableError,
        ["cannot be examined"],
    ),
    "over-1-mib": (
        lambda c: _bad_file(c, " " * (MiB + 1)),
        KeyFileTooLargeError,
        ["1048577 bytes", "right file"],
    ),
    "character-device": (
        lambda c: KeyFile.from_file("/dev/zero"),
        KeyFileNotReadableError,
        ["is a character device", "only a regular file is read"],
    ),
    "over-1-mib-json-text": (
        lambda c: KeyFile.from_json(" " * (MiB + 1)),
        KeyFileTooLargeError,
        ["<json>", "few kilobytes"],
    ),
    "not-utf8": (
        lambda c: _bad_file(c, b'{"boxAppSettings": "\xff\xfe\xfd"}'),
        KeyFileNotReadableError,
        ["not UTF-8", "offset 20"],
    ),
    "utf16": (
        lambda c: _bad_file(c, json.dumps(config()).encode("utf-16")),
        KeyFileNotReadableError,
        ["UTF-16", "save it as UTF-8"],
    ),
    "not-utf8-json-bytes": (
        lambda c: KeyFile.from_json(b"\xff{}"),
        KeyFileJSONError,
        ["not UTF-8"],
    ),
    # ---- JSON
    "invalid-json": (
        lambda c: _bad_file(c, '{\n  "boxAppSettings": {\n    "clientID": "x",,\n'),
        KeyFileJSONError,
        ["line 3, column 21", "invalid JSON", "Fix:"],
    ),
    "empty-file": (lambda c: _bad_file(c, ""), KeyFileJSONError, ["line 1, column 1"]),
    "json-huge-integer": (
        lambda c: KeyFile.from_json('{"enterpriseID": ' + "9" * 5000 + "}"),
        KeyFileJSONError,
        ["invalid JSON"],
    ),
    "json-nested-too-deeply": (
        lambda c: KeyFile.from_json("[" * 200_000 + "]" * 200_000),
        KeyFileJSONError,
        ["nested too deeply"],
    ),
    "json-array": (lambda c: _bad_file(c, "[]"), KeyFileJSONError, ["JSON object", "an array"]),
    "json-string": (lambda c: KeyFile.from_json('"x"'), KeyFileJSONError, ["not a string"]),
    "json-number": (lambda c: KeyFile.from_json("3"), KeyFileJSONError, ["not a number"]),
    "json-null": (lambda c: KeyFile.from_json("null"), KeyFileJSONError, ["not null"]),
    "dict-not-a-mapping": (
        lambda c: KeyFile.from_dict([1, 2]),  # type: ignore[arg-type]
        KeyFileJSONError,
        ["<dict>", "JSON object"],
    ),
    # ---- fields
    **{
        f"missing-{field.rsplit('.', 1)[-1]}": (
            _bad_dict(edit(config(K().box, K().passphrase), field, delete=True)),
            KeyFileFieldError,
            [field, "missing"],
        )
        for field in (
            "boxAppSettings",
            "boxAppSettings.appAuth.publicKeyID",
            "enterpriseID",
        )
    },
    "missing-clientID": (
        _bad_dict(edit(config(K().box, K().passphrase), "boxAppSettings.clientID", delete=True)),
        KeyFileFieldError,
        ["boxAppSettings.clientID", "missing"],
    ),
    "missing-clientSecret": (
        _bad_dict(
            edit(config(K().box, K().passphrase), "boxAppSettings.clientSecret", delete=True)
        ),
        KeyFileFieldError,
        ["boxAppSettings.clientSecret", "missing"],
    ),
    "missing-privateKey-field": (
        _bad_dict(edit(config(K().box, K().passphrase), P, delete=True)),
        PrivateKeyMissingError,
        [P, "private_key_path="],
    ),
    "empty-clientID": (
        _bad_dict(edit(config(K().box, K().passphrase), "boxAppSettings.clientID", " ")),
        KeyFileFieldError,
        ["boxAppSettings.clientID: is empty"],
    ),
    **{
        f"wrong-type-{path}-{type(value).__name__}": (
            _bad_dict(edit(config(K().box, K().passphrase), path, value)),
            KeyFileFieldError,
            [path, f"must be {what}", "Download as JSON"],
        )
        for path, value, what in [
            ("boxAppSettings", "x", "an object, not a string"),
            ("boxAppSettings.clientID", 42, "a string, not a number"),
            ("boxAppSettings.clientSecret", None, "a string, not null"),
            ("boxAppSettings.appAuth", [], "an object, not an array"),
            ("boxAppSettings.appAuth.publicKeyID", True, "a string, not a boolean"),
            (P, 1.5, "a string, not a number"),
            ("boxAppSettings.appAuth.passphrase", {"a": 1}, "a string, not an object"),
            ("enterpriseID", 1234567.0, "a string of digits, not a number"),
            ("enterpriseID", False, "a string of digits, not a boolean"),
            ("enterpriseID", {1, 2}, "a string of digits, not a set"),
            ("webhooks", "x", "an object, not a string"),
        ]
    },
    "wrong-type-webhooks.primaryKey": (
        _bad_dict(config(K().box, K().passphrase, webhooks={"primaryKey": 1})),
        KeyFileFieldError,
        ["webhooks.primaryKey", "must be a string"],
    ),
    # ---- app type
    "client-credentials-grant-config": (
        _bad_dict(edit(config(), "boxAppSettings.appAuth", delete=True)),
        NotAJWTAppError,
        ["not a JWT app", "Client Credentials Grant", "Server Authentication (with JWT)"],
    ),
    "client-credentials-grant-null-appAuth": (
        lambda c: KeyFile.from_json(
            '{"boxAppSettings": {"clientID": "c", "clientSecret": "s", "appAuth": null},'
            ' "enterpriseID": "1"}'
        ),
        NotAJWTAppError,
        ["<json>", "boxAppSettings.appAuth", "not a JWT app"],
    ),
    # ---- the private key
    "empty-privateKey-no-pem": (
        _bad_dict(config("", K().passphrase)),
        PrivateKeyMissingError,
        [P, "private_key_path=", "private_key="],
    ),
    "wrong-passphrase-box": (
        _bad_dict(config(K().box, WRONG_PASSPHRASE)),
        WrongPassphraseError,
        [P, "cannot be decrypted with boxAppSettings.appAuth.passphrase", "Fix:"],
    ),
    "wrong-passphrase-traditional-3des": (
        _bad_dict(config(K().trad_des3, WRONG_PASSPHRASE)),
        WrongPassphraseError,
        ["DES-EDE3-CBC", "passphrase"],
    ),
    "wrong-passphrase-aes": (
        _bad_dict(config(K().pkcs8_aes256, WRONG_PASSPHRASE)),
        WrongPassphraseError,
        ["passphrase"],
    ),
    "wrong-passphrase-keyword": (
        _bad_dict(config(K().box), passphrase=WRONG_PASSPHRASE),
        WrongPassphraseError,
        ["the passphrase= argument"],
    ),
    "wrong-passphrase-env": (
        lambda c: KeyFile.from_env(
            {"BOXJWT_CONFIG": json.dumps(config(K().box)), "BOXJWT_PASSPHRASE": WRONG_PASSPHRASE}
        ),
        WrongPassphraseError,
        ["BOXJWT_PASSPHRASE", "<BOXJWT_CONFIG>"],
    ),
    "missing-passphrase": (
        _bad_dict(config(K().box)),
        PassphraseRequiredError,
        [P, "no passphrase", "BOXJWT_PASSPHRASE", "passphrase="],
    ),
    "corrupt-pem": (
        _bad_dict(config(_mutated(K().pkcs8))),
        InvalidPEMError,
        [P, "corrupt", "BEGIN"],
    ),
    "corrupt-encrypted-pem": (
        _bad_dict(config(_mutated(K().box), K().passphrase)),
        InvalidPEMError,
        [P, "corrupt"],
    ),
    "truncated-pem": (
        _bad_dict(config(K().box[:700], K().passphrase)),
        InvalidPEMError,
        [P, "truncated", "-----END"],
    ),
    "truncated-pem-body": (
        _bad_dict(config("\n".join(K().pkcs8.splitlines()[:10] + K().pkcs8.splitlines()[-1:]))),
        InvalidPEMError,
        [P, "truncated"],
    ),
    "not-pem": (
        _bad_dict(config("this is not a key")),
        InvalidPEMError,
        [P, "not PEM", "-----BEGIN"],
    ),
    "public-key-instead": (
        _bad_dict(config(K().public_pem)),
        InvalidPEMError,
        ["PUBLIC KEY, not a private key"],
    ),
    "ec-key": (_bad_dict(config(K().ec_sec1)), UnsupportedKeyTypeError, [P, "EC", "RSA"]),
    "ec-key-pkcs8": (_bad_dict(config(K().ec_pkcs8)), UnsupportedKeyTypeError, ["EC", "2048"]),
    "ed25519-key": (_bad_dict(config(K().ed25519)), UnsupportedKeyTypeError, ["Ed25519", "RSA"]),
    "dsa-key": (_bad_dict(config(K().dsa_pkcs8)), UnsupportedKeyTypeError, ["DSA", "RSA"]),
    "rsa-1024": (_bad_dict(config(K().rsa1024)), WeakKeyError, [P, "1024-bit", "2048"]),
    "separate-pem-missing": (
        lambda c: KeyFile.from_dict(config(), private_key_path=c[1] / "missing.pem"),
        KeyFileNotFoundError,
        ["Private key file", "missing.pem", "does not exist"],
    ),
    "separate-pem-is-der": (
        lambda c: KeyFile.from_dict(
            config(), private_key_path=write(c[1] / "k.der", pk.parse_pem(K().pkcs8).der)
        ),
        InvalidPEMError,
        ["Private key file", "k.der", "openssl pkey -inform DER"],
    ),
    "separate-pem-ec": (
        lambda c: KeyFile.from_dict(config(), private_key_path=write(c[1] / "ec.pem", K().ec_sec1)),
        UnsupportedKeyTypeError,
        ["Private key file", "ec.pem"],
    ),
    "separate-pem-wrong-passphrase": (
        lambda c: KeyFile.from_dict(
            config(), private_key_path=write(c[1] / "k.pem", K().trad_des3), passphrase="nope"
        ),
        WrongPassphraseError,
        ["Private key file", "k.pem", "passphrase= argument"],
    ),
    "private-key-argument-not-pem": (
        _bad_dict(config(), private_key="garbage"),
        InvalidPEMError,
        ["private_key= argument", "not PEM"],
    ),
    # ---- enterprise ID
    **{
        f"enterprise-id-{name}": (
            _bad_dict(config(K().box, K().passphrase, enterpriseID=value)),
            EnterpriseIDError,
            ["enterpriseID", what, '"enterpriseID": "1234567"'],
        )
        for name, value, what in [
            ("empty", "", "is empty"),
            ("blank", "  ", "is empty"),
            ("zero", "0", '"0"'),
            ("zeros", "000", '"0"'),
            ("letters", "12ab", "not a number"),
            ("fullwidth-digits", "\uff11\uff12\uff13", "not a number"),
            ("int-zero", 0, "number 0"),
            ("negative", -5, "number -5"),
            ("huge-int", 10**5000, "far too long"),
            ("long-int", 10**40, "far too long"),
            ("long-digits", "1" * 100_000, "100000 digits long"),
        ]
    },
    # ---- environment
    "env-nothing-set": (
        lambda c: KeyFile.from_env({"BOXJWT_PASSPHRASE": "x"}),
        KeyFileError,
        ["BOXJWT_KEYFILE", "BOXJWT_CONFIG", "set"],
    ),
    "env-both-set": (
        lambda c: KeyFile.from_env({"BOXJWT_KEYFILE": "a", "BOXJWT_CONFIG": "{}"}),
        KeyFileError,
        ["Both", "unset one"],
    ),
    "env-keyfile-missing": (
        lambda c: KeyFile.from_env({"BOXJWT_KEYFILE": str(c[1] / "gone.json")}),
        KeyFileNotFoundError,
        ["from BOXJWT_KEYFILE", "gone.json"],
    ),
    "env-config-invalid-json": (
        lambda c: KeyFile.from_env({"BOXJWT_CONFIG": "{oops"}),
        KeyFileJSONError,
        ["<BOXJWT_CONFIG>", "line 1, column 2"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_rejected_clearly(
    keys: Keys, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    if case == "character-device" and not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    raise_it, error, needles = BAD[case]
    with pytest.raises(error) as info:
        raise_it((keys, tmp_path, monkeypatch))
    exc = info.value
    assert isinstance(exc, KeyFileError)
    assert isinstance(exc, BoxJWTError)
    assert isinstance(exc, ValueError)  # old `except ValueError` code still catches it
    message = str(exc)
    for needle in needles:
        assert needle in message
    assert "Fix:" in message
    assert exc.source
    texts = [message, repr(exc), repr(exc.args), repr(getattr(exc, "problems", ""))]
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        texts.append(repr(cause))
    assert_no_secret_in_text(texts, secret_fragments(keys))


# --------------------------------------------------------------------------- not a regular file


def _within(seconds: float, call: Callable[[], object]) -> BaseException:
    """Run ``call`` in a thread; the exception it raised, or a failure if it is still blocked
    after ``seconds`` (a generous safety bound: it must fail at once, without blocking)."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "reading the key file blocked"
    assert outcome, "a non-regular file was accepted"
    return outcome[0]


def _unblock(fifo: pathlib.Path) -> None:
    """Open the FIFO for writing once (if someone is blocked reading it) so the reader sees EOF."""
    with contextlib.suppress(OSError):  # no reader: nothing is blocked
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("how", ["from_file", "private_key_path", "BOXJWT_KEYFILE", "socket"])
def test_a_fifo_or_socket_as_key_file_is_refused_at_once(
    keys: Keys, tmp_path: pathlib.Path, how: str
) -> None:
    """Regression: a FIFO as key file (or as private_key_path) blocked forever in open()."""
    special = tmp_path / "key.pipe"
    if how == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(special))
        calls: Callable[[], object] = functools.partial(KeyFile.from_file, special)
        kind = "is a socket"
    else:
        server = None
        os.mkfifo(special, 0o600)
        kind = "is a named pipe (FIFO)"
        config_path = write(tmp_path / "key.json", json.dumps(config()))
        calls = {
            "from_file": functools.partial(KeyFile.from_file, special),
            "private_key_path": functools.partial(
                KeyFile.from_file, config_path, private_key_path=special
            ),
            "BOXJWT_KEYFILE": functools.partial(KeyFile.from_env, {"BOXJWT_KEYFILE": str(special)}),
        }[how]
    try:
        exc = _within(10, calls)
    finally:
        if server is None:
            _unblock(special)
        else:
            server.close()
    assert isinstance(exc, KeyFileNotReadableError), repr(exc)
    assert kind in str(exc)
    assert "only a regular file is read" in str(exc)
    assert exc.source == str(special)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_file_swapped_for_a_fifo_while_opening_is_refused(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is made on the open descriptor too: a path that turns into a FIFO between
    ``stat`` and ``open`` (a race, simulated by a stale ``stat``) is still refused."""
    regular = write(tmp_path / "regular.json", "{}")
    fifo = tmp_path / "key.pipe"
    os.mkfifo(fifo, 0o600)
    regular_stat = regular.stat()
    real_stat = pathlib.Path.stat

    def stale_stat(self: pathlib.Path, **kwargs: Any) -> os.stat_result:
        return regular_stat if self == fifo else real_stat(self, **kwargs)

    monkeypatch.setattr(pathlib.Path, "stat", stale_stat)
    exc = _within(10, functools.partial(KeyFile.from_file, fifo))
    _unblock(fifo)
    assert isinstance(exc, KeyFileNotReadableError)
    assert "named pipe (FIFO) (it changed while being opened)" in str(exc)


def test_a_file_larger_than_its_reported_size_is_read_only_up_to_the_limit(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files whose size says nothing (procfs reports 0) are still read at most 1 MiB + 1."""
    big = write(tmp_path / "big.json", b" " * (3 * MiB))
    real_fstat = os.fstat

    def zero_size(fd: int) -> Any:
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, *st[1:6], 0, *st[7:]))

    monkeypatch.setattr(os, "fstat", zero_size)
    with pytest.raises(KeyFileTooLargeError, match="over 1048576 bytes"):
        KeyFile.from_file(big)


def test_a_read_error_is_not_readable(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "key.json", "{}")

    def eio(fd: int, n: int) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "read", eio)
    with pytest.raises(KeyFileNotReadableError, match=r"cannot be read \(Input/output error\)"):
        KeyFile.from_file(path)


def test_every_field_problem_is_reported_at_once(keys: Keys) -> None:
    data = {
        "boxAppSettings": {"clientID": 7, "appAuth": {"privateKey": 3, "passphrase": []}},
        "enterpriseID": "0",
        "webhooks": {"secondaryKey": False},
    }
    with pytest.raises(KeyFileFieldError) as info:
        KeyFile.from_dict(data)
    assert info.value.problems == [
        ("boxAppSettings.clientID", "must be a string, not a number"),
        ("boxAppSettings.clientSecret", "missing (a non-empty string is required)"),
        ("boxAppSettings.appAuth.publicKeyID", "missing (a non-empty string is required)"),
        (P, "must be a string, not a number"),
        ("boxAppSettings.appAuth.passphrase", "must be a string, not an array"),
        ("webhooks.secondaryKey", "must be a string, not a boolean"),
        ("enterpriseID", 'is "0" (a placeholder, not an enterprise ID)'),
    ]
    assert info.value.field == "boxAppSettings.clientID"
    assert str(info.value).startswith("<dict>: 7 problems in the Box config:\n  - ")


def test_value_problems_are_listed_together(keys: Keys) -> None:
    with pytest.raises(KeyFileFieldError) as info:
        KeyFile.from_dict(config("", enterpriseID=""))
    assert [path for path, _ in info.value.problems] == ["enterpriseID", P]
    with pytest.raises(KeyFileFieldError) as info:
        KeyFile.from_dict(edit(config(enterpriseID="x"), P, delete=True))
    assert [path for path, _ in info.value.problems] == ["enterpriseID", P]
    assert "missing and no separate key" in str(info.value)
    with pytest.raises(KeyFileFieldError, match="1 problem in") as info:
        KeyFile.from_dict(edit(config(K().box, K().passphrase), "boxAppSettings.appAuth", 5))
    assert info.value.problems == [("boxAppSettings.appAuth", "must be an object, not a number")]


def test_json_error_position(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "key.json", '{\n  "a": 1\n  "b": 2\n}')
    with pytest.raises(KeyFileJSONError) as info:
        KeyFile.from_file(path)
    assert (info.value.line, info.value.column) == (3, 3)
    assert info.value.source == str(path)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"passphrase": 123}, "passphrase= must be a str"),
        ({"private_key_path": 123}, "private_key_path= must be a path"),
        ({"private_key": 123}, "private_key= must be PEM text"),
        ({"private_key": "x", "private_key_path": "y"}, "not both"),
    ],
)
def test_wrong_arguments(kwargs: dict[str, Any], needle: str) -> None:
    constructors: list[Callable[[], KeyFile]] = [
        lambda: KeyFile.from_dict(config(), **kwargs),
        lambda: KeyFile.from_json("{}", **kwargs),
        lambda: KeyFile.from_file("key.json", **kwargs),
        lambda: KeyFile.from_env({}, **kwargs),
    ]
    for constructor in constructors:
        with pytest.raises(ConfigurationError, match=needle):
            constructor()


def test_from_json_wants_text() -> None:
    with pytest.raises(ConfigurationError, match="from_dict"):
        KeyFile.from_json({"a": 1})  # type: ignore[arg-type]


# =========================================================================== file permissions


posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_key_file_readable_by_others_warns(keys: Keys, tmp_path: pathlib.Path, mode: int) -> None:
    path = write(tmp_path / "key.json", json.dumps(config(keys.box, keys.passphrase)), mode=mode)
    with pytest.warns(KeyFilePermissionWarning, match=f"mode {mode:04o}.*chmod 600") as record:
        KeyFile.from_file(path)
    assert record[0].filename == __file__


@posix_only
def test_private_key_file_readable_by_others_warns(keys: Keys, tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "k.pem", keys.trad_des3, mode=0o640)
    with pytest.warns(KeyFilePermissionWarning, match="Private key file"):
        KeyFile.from_dict(config(), private_key_path=path, passphrase=keys.passphrase)


@posix_only
def test_private_file_does_not_warn(keys: Keys, tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "key.json", json.dumps(config(keys.box, keys.passphrase)), mode=0o600)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        KeyFile.from_file(path)
    assert record == []


def test_permission_warning_can_be_filtered(keys: Keys, tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "key.json", json.dumps(config(keys.box, keys.passphrase)), mode=0o644)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=KeyFilePermissionWarning)
        kf = KeyFile.from_file(path)
    assert record == []
    assert kf.key_encrypted


# =========================================================================== the object


@pytest.fixture(scope="module")
def kf() -> KeyFile:
    k = openssl_keys()
    return KeyFile.from_dict(
        config(k.box, k.passphrase, webhooks={"primaryKey": "wh-one", "secondaryKey": "wh-two"})
    )


def test_repr_shows_only_public_fields(kf: KeyFile) -> None:
    assert repr(kf) == (
        f"KeyFile(client_id='{CLIENT_ID}', enterprise_id='{ENTERPRISE_ID}', "
        f"public_key_id='{PUBLIC_KEY_ID}', source='<dict>')"
    )
    assert str(kf) == repr(kf)


def test_asdict_reveals_nothing(kf: KeyFile, keys: Keys) -> None:
    for data in (attrs.asdict(kf), attrs.asdict(kf, recurse=False), attrs.astuple(kf)):
        assert_no_secret_in_text(
            repr(data) + str(data), [*secret_fragments(keys), "wh-one", "wh-two"]
        )
    assert attrs.asdict(kf)["client_secret"] == Secret(CLIENT_SECRET)
    assert repr(attrs.asdict(kf)["_signing_key"]) == "<RSA-2048 private key>"


def test_equality_copy_and_pickle(kf: KeyFile, keys: Keys) -> None:
    again = KeyFile.from_dict(
        config(
            keys.box, keys.passphrase, webhooks={"primaryKey": "wh-one", "secondaryKey": "wh-two"}
        )
    )
    assert again == kf
    assert hash(again) == hash(kf)
    assert again != attrs.evolve(kf, public_key_id="other")
    assert copy.deepcopy(kf) == kf
    assert copy.deepcopy(kf).private_key() is kf.private_key()
    assert copy.copy(kf).private_key() is kf.private_key()
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(kf)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        kf.client_id = "x"  # type: ignore[misc]


def test_direct_construction_converts_secrets(kf: KeyFile) -> None:
    built = KeyFile(
        client_id="c",
        enterprise_id="1",
        public_key_id="k",
        client_secret="plain",
        source="<test>",
        webhook_primary_key="w",
        _signing_key=keyfile_module._SigningKey(kf.private_key()),
    )
    assert built.client_secret == Secret("plain")
    assert built.webhook_primary_key == Secret("w")
    holder = keyfile_module._SigningKey(kf.private_key())
    with pytest.raises(TypeError):
        pickle.dumps(holder)
    assert copy.copy(holder) is holder


def test_debug_log_names_the_config_but_no_secret(
    keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="boxjwt"):
        KeyFile.from_dict(config(keys.box, keys.passphrase))
    assert len(caplog.records) == 1
    logged = caplog.records[0].getMessage()
    assert CLIENT_ID in logged
    assert "encrypted PKCS#8" in logged
    assert_no_secret_in_text(logged, secret_fragments(keys))


# =========================================================================== decrypt exactly once


def test_key_is_decrypted_once_however_many_threads_sign(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_loader, real_deserialize = pk.load_private_key, pk._deserialize

    def loader(*args: Any, **kwargs: Any) -> Any:
        calls.append("load")
        return real_loader(*args, **kwargs)

    def deserialize(pem: bytes, password: bytes | None) -> object:
        calls.append("decrypt")
        return real_deserialize(pem, password)

    monkeypatch.setattr(keyfile_module, "load_private_key", loader)
    monkeypatch.setattr(pk, "_deserialize", deserialize)
    kf = KeyFile.from_dict(config(keys.box, keys.passphrase))
    assert calls == ["load", "decrypt"]

    threads, rounds = 8, 25
    barrier = threading.Barrier(threads)

    def sign_many(i: int) -> int:
        barrier.wait()
        for j in range(rounds):
            token = jwt.encode({"n": f"{i}-{j}"}, kf.private_key(), algorithm="RS256")
            assert jwt.decode(token, keys.public_key, algorithms=["RS256"])["n"] == f"{i}-{j}"
        return rounds

    with ThreadPoolExecutor(max_workers=threads) as pool:
        assert sum(pool.map(sign_many, range(threads))) == threads * rounds
    evolved = attrs.evolve(kf, public_key_id="rotated")
    assert evolved.private_key() is kf.private_key()
    assert calls == ["load", "decrypt"]  # 200 signatures, one decryption


# =========================================================================== Hypothesis

VOCAB = [
    "boxAppSettings",
    "clientID",
    "clientSecret",
    "appAuth",
    "publicKeyID",
    "privateKey",
    "passphrase",
    "enterpriseID",
    "webhooks",
    "primaryKey",
    "secondaryKey",
]


@functools.lru_cache(maxsize=512)
def _fast_deserialize(pem: bytes, password: bytes | None) -> object:
    # These properties are about structure and leaks, not RSA key validation (35 ms a key).
    return serialization.load_pem_private_key(pem, password, unsafe_skip_rsa_key_validation=True)


def _pem_values() -> st.SearchStrategy[str]:
    k = openssl_keys()
    return st.sampled_from(
        [
            k.pkcs8,
            k.pkcs1,
            k.box,
            k.trad_des3,
            k.ec_sec1,
            k.ed25519,
            k.rsa1024,
            k.public_pem,
            k.pkcs8.replace("\n", "\\n"),
            k.box[:300],
            "",
        ]
    )


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["0", "1234567", " ", "-1"])
    | st.deferred(_pem_values)
)
json_keys = st.sampled_from(VOCAB) | st.text(max_size=6)


def _objects(
    values: st.SearchStrategy[Any], min_size: int = 0
) -> st.SearchStrategy[dict[str, Any]]:
    # Pairs then dict() rather than st.dictionaries: no unique-key retries (cheap under coverage).
    return st.lists(st.tuples(json_keys, values), min_size=min_size, max_size=5).map(dict)


json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | _objects(children),
    max_leaves=10,
)


def _only_boxjwt_errors(call: Callable[[], object]) -> None:
    with (
        warnings.catch_warnings(),
        mock.patch.object(pk, "_deserialize", _fast_deserialize),
    ):
        warnings.simplefilter("ignore")
        try:
            result = call()
        except BoxJWTError as exc:
            event(type(exc).__name__)
            return
        except Exception as exc:
            raise AssertionError(f"{type(exc).__name__} escaped: {exc}") from exc
    event("loaded")
    assert isinstance(result, KeyFile)


@given(json_values | _objects(json_values, min_size=1))
def test_arbitrary_json_like_structures_only_raise_boxjwt_errors(value: Any) -> None:
    _only_boxjwt_errors(lambda: KeyFile.from_dict(value))
    _only_boxjwt_errors(lambda: KeyFile.from_json(json.dumps(value)))


@given(st.text() | st.binary())
def test_arbitrary_text_only_raises_boxjwt_errors(text: str | bytes) -> None:
    _only_boxjwt_errors(lambda: KeyFile.from_json(text))


def _walk(node: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(node, dict):
        for key in list(node):
            yield node, key
            yield from _walk(node[key])
    elif isinstance(node, list):
        for i in range(len(node)):
            yield node, i
            yield from _walk(node[i])


@st.composite
def _mutated_string(draw: st.DrawFn, text: str) -> str:  # noqa: PLR0911 - one return per mutation
    i = draw(st.integers(0, len(text)))
    j = draw(st.integers(i, len(text)))
    how = draw(st.sampled_from(["cut", "insert", "delete", "escape", "crlf", "upper", "dup"]))
    if how == "cut":
        return text[:i]
    if how == "insert":
        return text[:i] + draw(st.text(min_size=1, max_size=4)) + text[i:]
    if how == "delete":
        return text[:i] + text[j:]
    if how == "escape":
        return text.replace("\n", "\\n")
    if how == "crlf":
        return text.replace("\n", "\r\n")
    if how == "upper":
        return text[:i] + text[i:j].upper() + text[j:]
    return text[:j] + text[i:j] + text[j:]


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict[str, Any]:
    k = openssl_keys()
    pem = draw(st.sampled_from([k.pkcs8, k.pkcs1, k.box, k.trad_des3, k.ec_pkcs8, k.rsa1024, ""]))
    passphrase = draw(st.sampled_from([k.passphrase, "", WRONG_PASSPHRASE]))
    data = config(pem, passphrase)
    if draw(st.booleans()):
        data["webhooks"] = {"primaryKey": "p", "secondaryKey": ""}
    if draw(st.booleans()):  # damage the key itself often: the PEM parser is the riskiest part
        data["boxAppSettings"]["appAuth"]["privateKey"] = draw(_mutated_string(pem))
    for _ in range(draw(st.integers(1, 5))):
        places = list(_walk(data))
        if not places:
            break
        parent, key = draw(st.sampled_from(places))
        op = draw(st.sampled_from(["delete", "replace", "mutate", "insert"]))
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(json_values)
        elif op == "mutate" and isinstance(parent[key], str):
            parent[key] = draw(_mutated_string(parent[key]))
        elif op == "insert" and isinstance(parent[key], dict):
            parent[key][draw(json_keys)] = draw(json_values)
    return data


@given(mutated_configs(), st.sampled_from(["dict", "json", "env"]))
def test_mutated_configs_only_raise_boxjwt_errors(data: dict[str, Any], via: str) -> None:
    if via == "dict":
        _only_boxjwt_errors(lambda: KeyFile.from_dict(data))
    elif via == "json":
        _only_boxjwt_errors(lambda: KeyFile.from_json(json.dumps(data)))
    else:
        _only_boxjwt_errors(lambda: KeyFile.from_env({"BOXJWT_CONFIG": json.dumps(data)}))


# ---- no secret ever leaks

MARK = "Zq9~"  # makes each random secret unique text, so "not in" checks are meaningful
secrets_st = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=32
).map(lambda s: MARK + s)


@functools.lru_cache(maxsize=1)
def _rsa_key() -> Any:
    return serialization.load_pem_private_key(openssl_keys().pkcs8.encode(), None)


def _encrypt(passphrase: str) -> str:
    return str(
        _rsa_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
        .decode()
    )


SCENARIOS = [
    "loads",
    "wrong-passphrase",
    "wrong-env-passphrase",
    "ignored-passphrase",
    "field-errors",
    "enterprise-id",
    "not-jwt",
    "bad-json",
    "secret-as-pem",
]


def _scenario(name: str, client_secret: str, passphrase: str, webhook: str) -> Callable[[], Any]:  # noqa: PLR0911 - one return per scenario
    k = openssl_keys()
    data = config(k.box, passphrase, webhooks={"primaryKey": webhook})
    data["boxAppSettings"]["clientSecret"] = client_secret
    if name == "loads":
        data["boxAppSettings"]["appAuth"]["privateKey"] = _encrypt(passphrase)
        return lambda: KeyFile.from_json(json.dumps(data))
    if name == "wrong-passphrase":
        return lambda: KeyFile.from_dict(data)
    if name == "wrong-env-passphrase":
        env = {"BOXJWT_CONFIG": json.dumps(data), "BOXJWT_PASSPHRASE": passphrase}
        return lambda: KeyFile.from_env(env)
    if name == "ignored-passphrase":
        return lambda: KeyFile.from_dict(edit(data, P, k.pkcs8))
    if name == "field-errors":
        return lambda: KeyFile.from_dict(edit(data, "boxAppSettings.clientID", [passphrase]))
    if name == "enterprise-id":
        return lambda: KeyFile.from_dict(edit(data, "enterpriseID", "0"))
    if name == "not-jwt":
        return lambda: KeyFile.from_dict(edit(data, "boxAppSettings.appAuth", delete=True))
    if name == "bad-json":
        return lambda: KeyFile.from_json(json.dumps(data)[:-3])
    return lambda: KeyFile.from_dict(data, private_key=passphrase, passphrase=client_secret)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    scenario=st.sampled_from(SCENARIOS),
    client_secret=secrets_st,
    passphrase=secrets_st,
    webhook=secrets_st,
)
def test_no_secret_appears_anywhere(
    caplog: pytest.LogCaptureFixture,
    scenario: str,
    client_secret: str,
    passphrase: str,
    webhook: str,
) -> None:
    call = _scenario(scenario, client_secret, passphrase, webhook)
    caplog.clear()
    texts: list[str] = []
    with (
        caplog.at_level(logging.DEBUG, logger="boxjwt"),
        warnings.catch_warnings(record=True) as record,
        mock.patch.object(pk, "_deserialize", _fast_deserialize),
    ):
        warnings.simplefilter("always")
        try:
            kf = call()
        except BoxJWTError as exc:
            assert scenario != "loads"
            texts += [str(exc), repr(exc), repr(exc.args), repr(vars(exc))]
            chained = exc.__cause__ or exc.__context__
            texts += [repr(chained), str(chained)]
        else:
            assert scenario in ("loads", "ignored-passphrase")
            assert kf.client_secret.reveal() == client_secret  # the secret is really in there
            assert kf.webhook_primary_key == Secret(webhook)
            texts += [repr(kf), str(kf), f"{kf}", f"{kf.client_secret}", repr(kf.client_secret)]
            texts += [repr(attrs.asdict(kf)), str(attrs.asdict(kf, recurse=False))]
            texts += [repr(attrs.astuple(kf)), repr(kf.webhook_primary_key)]
    texts += [str(w.message) for w in record]
    texts += [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    if scenario == "loads":
        assert caplog.records  # the check below is not vacuous
    forms = [
        form
        for secret in (client_secret, passphrase, webhook)
        for form in (secret, json.dumps(secret)[1:-1], repr(secret)[1:-1])
    ]
    assert_no_secret_in_text(texts, forms)
