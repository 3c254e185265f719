"""Key files (Box's ``key.json``) for emulated apps, in every variant users really have."""

from __future__ import annotations

import json
import os
import pathlib
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from boxjwt.testing._content import random_string
from boxjwt.testing._http import BOX_AUDIENCE
from boxjwt.testing._keys import ENCRYPTED_KEY_FORMATS, KeyFormat, encode_private_key
from boxjwt.testing._principals import EmulatedApp
from boxjwt.testing._state import EnterpriseState

if TYPE_CHECKING:
    from boxjwt._keyfile import KeyFile

__all__ = [
    "EmulatedKeyFile",
    "Mangling",
    "build_keyfile",
    "deep_merge",
    "mangle_pem",
    "write_private",
]

Mangling = Literal["escaped-newlines", "crlf", "whitespace"]
"""How a PEM gets damaged on its way through environment variables and secret managers."""


def mangle_pem(pem: str, how: Mangling | None) -> str:
    """Damage ``pem`` the way users' pipelines do (``None``: unchanged).

    ``"escaped-newlines"``: literal two-character ``\\n`` sequences instead of newlines;
    ``"crlf"``: CRLF line ends; ``"whitespace"``: stray spaces and blank lines around it.
    """
    if how is None:
        return pem
    if how == "escaped-newlines":
        return pem.replace("\n", "\\n")
    if how == "crlf":
        return pem.replace("\n", "\r\n")
    if how == "whitespace":
        return "  \n" + pem.replace("\n", "  \n") + "\n\t"
    raise ValueError(f"unknown mangling {how!r}")


def deep_merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overrides`` into ``base`` recursively; an override of ``None`` deletes the key."""
    for key, value in overrides.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def write_private(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 (also when the file existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


class EmulatedKeyFile:
    """A key file for an emulated app, as Box's Developer Console would have produced it.

    Attributes: :attr:`config` (the dict, Box's exact shape, every value a string unless a
    variant says otherwise), :attr:`json` (its text), :attr:`path` (where it was written, or
    ``None``), :attr:`pem` / :attr:`pem_path` (the private-key PEM and, for ``separate_pem``
    variants, the file it was written to), :attr:`passphrase`, :attr:`private_key` (the signing
    key, for hand-built assertions), :attr:`kid`, :attr:`app` (the :class:`EmulatedApp`, to
    toggle its settings), :attr:`key_format`, :attr:`separate_pem`.

    Secrets (client secret, passphrase, key) are plain attributes, since these are test
    credentials, but never appear in ``repr``.
    """

    def __init__(
        self,
        *,
        state: EnterpriseState,
        app: EmulatedApp,
        config: dict[str, Any],
        kid: str | None,
        private_key: rsa.RSAPrivateKey | None,
        pem: str | None,
        passphrase: str | None,
        key_format: KeyFormat | None,
        separate_pem: bool,
    ) -> None:
        self._state = state
        self.app = app
        self.config = config
        self.json = json.dumps(config, indent=2)
        self.kid = kid
        self.private_key = private_key
        self.pem = pem
        self.passphrase = passphrase
        self.key_format = key_format
        self.separate_pem = separate_pem
        self.path: pathlib.Path | None = None
        self.pem_path: pathlib.Path | None = None

    def __repr__(self) -> str:
        return (
            f"EmulatedKeyFile(client_id={self.app.client_id!r}, kid={self.kid!r}, "
            f"key_format={self.key_format!r}, path={self.path!r})"
        )

    @property
    def client_id(self) -> str:
        """The app's client ID."""
        return self.app.client_id

    @property
    def enterprise_id(self) -> str:
        """The emulated enterprise's ID (a string, whatever the config holds)."""
        return self._state.enterprise_id

    def write(
        self, path: str | os.PathLike[str] | None, *, pem_path: str | os.PathLike[str] | None = None
    ) -> pathlib.Path | None:
        """Write the JSON to ``path`` (mode 0600) and, for ``separate_pem`` key files, the PEM
        to ``pem_path`` (default: ``path`` with the suffix ``.pem``). Returns the JSON path."""
        if path is not None:
            self.path = pathlib.Path(path)
            write_private(self.path, self.json)
            if self.separate_pem and pem_path is None:
                pem_path = self.path.with_suffix(".pem")
                if pem_path == self.path:
                    pem_path = self.path.with_suffix(".key.pem")
        if self.separate_pem and pem_path is not None and self.pem is not None:
            self.pem_path = pathlib.Path(pem_path)
            write_private(self.pem_path, self.pem)
        return self.path

    def load(self, **overrides: Any) -> KeyFile:
        """Load this key file with :class:`boxjwt.KeyFile` (``from_file`` when written, else
        ``from_json``). For ``separate_pem`` variants the PEM (path or text) and passphrase are
        passed along; ``overrides`` (``passphrase=``, ``private_key=``...) replace them."""
        from boxjwt._keyfile import KeyFile  # noqa: PLC0415 - lazy: no import cycle

        kwargs: dict[str, Any] = {}
        if self.separate_pem:
            if self.pem_path is not None:
                kwargs["private_key_path"] = self.pem_path
            else:
                kwargs["private_key"] = self.pem
            if self.passphrase:
                kwargs["passphrase"] = self.passphrase
        kwargs.update(overrides)
        if self.path is not None:
            return KeyFile.from_file(self.path, **kwargs)
        return KeyFile.from_json(self.json, **kwargs)

    def make_assertion(
        self,
        *,
        subject_type: str = "enterprise",
        subject_id: str | None = None,
        lifetime: int = 30,
        alg: str = "RS256",
        key: rsa.RSAPrivateKey | None = None,
        headers: Mapping[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """Sign a JWT assertion the way Box expects (``exp`` = emulator now + ``lifetime``).

        ``claims`` override or add claims (``None`` removes one, e.g. ``jti=None``); ``headers``
        likewise for the JOSE header (``kid`` is set to this key file's). ``key`` signs
        instead of :attr:`private_key`.
        """
        payload: dict[str, Any] = {
            "iss": self.client_id,
            "sub": subject_id if subject_id is not None else self.enterprise_id,
            "box_sub_type": subject_type,
            "aud": BOX_AUDIENCE,
            "jti": secrets.token_urlsafe(32),
            "exp": int(self._state.now()) + lifetime,
        }
        deep_merge(payload, claims)
        header: dict[str, Any] = {"kid": self.kid}
        deep_merge(header, headers or {})
        signer = key or self.private_key
        if signer is None:
            raise ValueError("this key file has no private key (a CCG config); pass key=")
        return jwt.encode(payload, signer, algorithm=alg, headers=header)

    def token_request(
        self, assertion: str | None = None, **assertion_options: Any
    ) -> dict[str, str]:
        """The form fields of a JWT-bearer ``POST /oauth2/token`` for this key file
        (a fresh :meth:`make_assertion` unless ``assertion`` is given)."""
        return {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "client_id": self.client_id,
            "client_secret": self.app.client_secret,
            "assertion": assertion or self.make_assertion(**assertion_options),
        }


def build_keyfile(
    state: EnterpriseState,
    app: EmulatedApp,
    *,
    kid: str | None,
    key_format: KeyFormat,
    passphrase: str | None,
    separate_pem: bool,
    int_enterprise_id: bool,
    webhooks: bool,
    mangle: Mangling | None,
    config_overrides: Mapping[str, Any] | None,
) -> EmulatedKeyFile:
    """The key.json Box's console would download for ``app`` (see ``BoxEmulator.make_keyfile``).

    ``kid``: one of the app's keys (``None`` for a CCG app, which has no ``appAuth``).
    """
    ccg = app.auth == "ccg"
    if key_format in ENCRYPTED_KEY_FORMATS and passphrase is None:
        passphrase = secrets.token_hex(16)
    if key_format not in ENCRYPTED_KEY_FORMATS and passphrase is not None:
        raise ValueError(f"key format {key_format!r} is unencrypted: pass no passphrase")
    private_key: rsa.RSAPrivateKey | None = None
    pem: str | None = None
    settings: dict[str, Any] = {"clientID": app.client_id, "clientSecret": app.client_secret}
    if not ccg:
        private_key = app.private_key(kid)
        pem = mangle_pem(encode_private_key(private_key, key_format, passphrase), mangle)
        settings["appAuth"] = {
            "publicKeyID": kid,
            "privateKey": "" if separate_pem else pem,
            "passphrase": "" if separate_pem else (passphrase or ""),
        }
    enterprise_id = state.enterprise_id
    config: dict[str, Any] = {
        "boxAppSettings": settings,
        "enterpriseID": int(enterprise_id) if int_enterprise_id else enterprise_id,
    }
    if webhooks:
        config["webhooks"] = {"primaryKey": random_string(32), "secondaryKey": random_string(32)}
    deep_merge(config, config_overrides or {})
    return EmulatedKeyFile(
        state=state,
        app=app,
        config=config,
        kid=None if ccg else kid,
        private_key=private_key,
        pem=pem,
        passphrase=passphrase,
        key_format=None if ccg else key_format,
        separate_pem=separate_pem and not ccg,
    )
