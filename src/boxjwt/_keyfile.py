"""The Box app config ("key.json") turned into credentials that can sign.

Every named constructor funnels into :func:`_build`, the one validator: it reports every missing
or mistyped field at once, then checks the values, then loads (decrypts) the private key exactly
once. Errors say what is wrong, where (the source and the JSON path) and how to fix it, and never
contain a secret.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
from collections.abc import Mapping
from typing import Any, Final

import attrs
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from boxjwt import _remedies as remedies
from boxjwt._files import MAX_KEYFILE_BYTES, read_bytes, read_config_file
from boxjwt._private_key import LoadedPrivateKey, load_private_key, warn
from boxjwt._scrub import scrubbed
from boxjwt._secret import Secret
from boxjwt._validate import MAX_ID_DIGITS, describe
from boxjwt.exceptions import (
    ConfigurationError,
    EnterpriseIDCoercedWarning,
    EnterpriseIDError,
    InvalidPEMError,
    KeyFileError,
    KeyFileFieldError,
    KeyFileJSONError,
    KeyFileTooLargeError,
    NotAJWTAppError,
    PrivateKeyMissingError,
)

__all__ = ["MAX_KEYFILE_BYTES", "KeyFile"]

_log = logging.getLogger("boxjwt.keyfile")


_ENV_KEYFILE: Final = "BOXJWT_KEYFILE"
_ENV_CONFIG: Final = "BOXJWT_CONFIG"
_ENV_PASSPHRASE: Final = "BOXJWT_PASSPHRASE"

_F_SETTINGS: Final = "boxAppSettings"
_F_CLIENT_ID: Final = "boxAppSettings.clientID"
_F_CLIENT_SECRET: Final = "boxAppSettings.clientSecret"
_F_APP_AUTH: Final = "boxAppSettings.appAuth"
_F_PUBLIC_KEY_ID: Final = "boxAppSettings.appAuth.publicKeyID"
_F_PRIVATE_KEY: Final = "boxAppSettings.appAuth.privateKey"
_F_PASSPHRASE: Final = "boxAppSettings.appAuth.passphrase"
_F_ENTERPRISE_ID: Final = "enterpriseID"
_F_WEBHOOKS: Final = "webhooks"


PassphraseArg = str | bytes | Secret | None
PathArg = str | os.PathLike[str]


class _SigningKey:
    """Holds the decrypted key. Immutable once built, so sharing it across threads is safe."""

    __slots__ = ("_key",)

    def __init__(self, key: RSAPrivateKey) -> None:
        self._key = key

    def get(self) -> RSAPrivateKey:
        return self._key

    def __repr__(self) -> str:
        return f"<RSA-{self._key.key_size} private key>"

    def __reduce__(self) -> Any:
        raise TypeError("a private key cannot be pickled")

    def __copy__(self) -> _SigningKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _SigningKey:
        return self


def _to_secret_or_none(value: object) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(str(value))


@attrs.frozen(kw_only=True)
class KeyFile:
    """A validated Box JWT app config with its private key decrypted once, ready to sign.

    Build one with :meth:`from_file`, :meth:`from_json`, :meth:`from_dict` or :meth:`from_env`;
    construction validates every field and decrypts the key, so every problem surfaces there.
    ``client_id``, ``enterprise_id`` and ``public_key_id`` are plain strings; the client secret
    and webhook keys are :class:`~boxjwt.Secret`; the passphrase and key text are not kept.
    """

    client_id: str
    enterprise_id: str
    public_key_id: str
    client_secret: Secret = attrs.field(repr=False, converter=Secret)
    #: Where the config came from: a path, ``"<BOXJWT_CONFIG>"``, ``"<json>"`` or ``"<dict>"``.
    source: str
    path: pathlib.Path | None = attrs.field(default=None, repr=False)
    #: Whether the private key was passphrase-protected where it was stored.
    key_encrypted: bool = attrs.field(default=False, repr=False)
    webhook_primary_key: Secret | None = attrs.field(
        default=None, repr=False, converter=_to_secret_or_none
    )
    webhook_secondary_key: Secret | None = attrs.field(
        default=None, repr=False, converter=_to_secret_or_none
    )
    _signing_key: _SigningKey = attrs.field(repr=False, eq=False, alias="_signing_key")

    def private_key(self) -> RSAPrivateKey:
        """The decrypted RSA private key (decrypted once, at construction; never log it)."""
        return self._signing_key.get()

    def public_key_pem(self) -> str:
        """The matching public key as PEM (SubjectPublicKeyInfo), e.g. to register with Box."""
        return (
            self.private_key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    # ------------------------------------------------------------------ named constructors

    @classmethod
    @scrubbed
    def from_file(
        cls,
        path: PathArg,
        *,
        passphrase: PassphraseArg = None,
        private_key_path: PathArg | None = None,
        private_key: str | bytes | Secret | None = None,
    ) -> KeyFile:
        """Load the config file Box downloads (``<enterpriseID>_<publicKeyID>_config.json``).

        ``passphrase`` overrides ``appAuth.passphrase``; ``private_key_path`` (a PEM file) or
        ``private_key`` (PEM text) override ``appAuth.privateKey``, e.g. for a key pair added
        by hand, whose config has an empty ``privateKey``.
        """
        _check_overrides(passphrase, private_key_path, private_key)
        file_path = pathlib.Path(path)
        text = read_config_file(file_path)
        data = _parse_json(text, source=os.fspath(path))
        return _build(
            data,
            source=os.fspath(path),
            path=file_path,
            passphrase=passphrase,
            passphrase_from="the passphrase= argument",
            private_key_path=private_key_path,
            private_key=private_key,
        )

    @classmethod
    @scrubbed
    def from_json(
        cls,
        text: str | bytes,
        *,
        passphrase: PassphraseArg = None,
        private_key_path: PathArg | None = None,
        private_key: str | bytes | Secret | None = None,
    ) -> KeyFile:
        """Load the config from its JSON text (same overrides as :meth:`from_file`)."""
        _check_overrides(passphrase, private_key_path, private_key)
        return _from_text(
            text,
            source="<json>",
            passphrase=passphrase,
            passphrase_from="the passphrase= argument",
            private_key_path=private_key_path,
            private_key=private_key,
        )

    @classmethod
    @scrubbed
    def from_dict(
        cls,
        mapping: Mapping[str, Any],
        *,
        passphrase: PassphraseArg = None,
        private_key_path: PathArg | None = None,
        private_key: str | bytes | Secret | None = None,
    ) -> KeyFile:
        """Load the config from an already parsed mapping (same overrides as :meth:`from_file`)."""
        _check_overrides(passphrase, private_key_path, private_key)
        return _build(
            mapping,
            source="<dict>",
            path=None,
            passphrase=passphrase,
            passphrase_from="the passphrase= argument",
            private_key_path=private_key_path,
            private_key=private_key,
        )

    @classmethod
    @scrubbed
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        passphrase: PassphraseArg = None,
        private_key_path: PathArg | None = None,
        private_key: str | bytes | Secret | None = None,
    ) -> KeyFile:
        """Load the config named by the environment (``os.environ`` unless ``environ`` is given).

        ``BOXJWT_KEYFILE`` is a path to the config file; ``BOXJWT_CONFIG`` is the whole JSON
        text (set one of them). ``BOXJWT_PASSPHRASE``, when set, overrides the passphrase in
        the config; the ``passphrase=`` keyword overrides both.
        """
        _check_overrides(passphrase, private_key_path, private_key)
        env = os.environ if environ is None else environ
        keyfile = env.get(_ENV_KEYFILE) or None
        config = env.get(_ENV_CONFIG) or None
        passphrase_from = "the passphrase= argument"
        if passphrase is None and env.get(_ENV_PASSPHRASE):
            passphrase = Secret(env[_ENV_PASSPHRASE])
            passphrase_from = _ENV_PASSPHRASE
        if keyfile is not None and config is not None:
            raise KeyFileError(
                f"Both {_ENV_KEYFILE} and {_ENV_CONFIG} are set, so the config is ambiguous.",
                source="<environment>",
                remedy=remedies.ENV_AMBIGUOUS,
            )
        if keyfile is not None:
            file_path = pathlib.Path(keyfile)
            text = read_config_file(file_path, via=_ENV_KEYFILE)
            return _build(
                _parse_json(text, source=keyfile),
                source=keyfile,
                path=file_path,
                passphrase=passphrase,
                passphrase_from=passphrase_from,
                private_key_path=private_key_path,
                private_key=private_key,
            )
        if config is not None:
            return _from_text(
                config,
                source=f"<{_ENV_CONFIG}>",
                passphrase=passphrase,
                passphrase_from=passphrase_from,
                private_key_path=private_key_path,
                private_key=private_key,
            )
        raise KeyFileError(
            f"No Box config in the environment: neither {_ENV_KEYFILE} nor {_ENV_CONFIG} is set.",
            source="<environment>",
            remedy=remedies.ENV_MISSING,
        )


# ---------------------------------------------------------------------- reading


def _check_overrides(passphrase: object, private_key_path: object, private_key: object) -> None:
    if passphrase is not None and not isinstance(passphrase, str | bytes | Secret):
        raise ConfigurationError(
            f"passphrase= must be a str (or a Secret), not {type(passphrase).__name__}."
        )
    if private_key_path is not None and not isinstance(private_key_path, str | os.PathLike):
        raise ConfigurationError(
            "private_key_path= must be a path (str or os.PathLike), not "
            f"{type(private_key_path).__name__}."
        )
    if private_key is not None and not isinstance(private_key, str | bytes | Secret):
        raise ConfigurationError(
            f"private_key= must be PEM text (str, bytes or Secret), not "
            f"{type(private_key).__name__}."
        )
    if private_key is not None and private_key_path is not None:
        raise ConfigurationError(
            "Give private_key= (PEM text) or private_key_path= (a PEM file), not both."
        )


def _parse_json(text: str, *, source: str) -> object:
    try:
        # strict=False: tolerate raw newlines inside strings (a PEM pasted into the JSON).
        return json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise KeyFileJSONError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
            source=source,
            line=exc.lineno,
            column=exc.colno,
            remedy=remedies.REPAIR_JSON,
        ) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer with too many digits
        raise KeyFileJSONError(
            f"{source}: invalid JSON ({type(exc).__name__}: the document is malformed or nested "
            "too deeply).",
            source=source,
            remedy=remedies.AS_DOWNLOADED,
        ) from None


def _from_text(
    text: str | bytes,
    *,
    source: str,
    passphrase: PassphraseArg,
    passphrase_from: str,
    private_key_path: PathArg | None,
    private_key: str | bytes | Secret | None,
) -> KeyFile:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise KeyFileJSONError(
                f"{source}: the config is not UTF-8 text (invalid byte at offset {exc.start}).",
                source=source,
                remedy=remedies.JSON_TEXT,
            ) from None
    elif not isinstance(text, str):
        raise ConfigurationError(
            f"KeyFile.from_json() takes the JSON text (str or bytes), not {type(text).__name__}; "
            "use from_dict() for a mapping or from_file() for a path."
        )
    if len(text) > MAX_KEYFILE_BYTES:
        raise KeyFileTooLargeError(
            f"{source}: the config is {len(text)} characters; a Box config is a few kilobytes "
            f"(limit {MAX_KEYFILE_BYTES}).",
            source=source,
            remedy=remedies.CONFIG_JSON_TEXT,
        )
    return _build(
        _parse_json(text.lstrip("\ufeff"), source=source),
        source=source,
        path=None,
        passphrase=passphrase,
        passphrase_from=passphrase_from,
        private_key_path=private_key_path,
        private_key=private_key,
    )


# ---------------------------------------------------------------------- validation

_JSON_TYPE_NAMES: Final = {
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def _json_type(value: object) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return _JSON_TYPE_NAMES.get(type(value), f"a {type(value).__name__}")


class _Problems:
    """Collects ``(json_path, what_is_wrong)`` pairs while the validator walks the config."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, what: str) -> None:
        self.items.append((path, what))

    def section(self, parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any] | None:
        """A required JSON object, or None (with a problem recorded)."""
        if key not in parent:
            self.add(path, "missing (an object is required)")
            return None
        value = parent[key]
        if not isinstance(value, Mapping):
            self.add(path, f"must be an object, not {_json_type(value)}")
            return None
        return value

    def string(self, parent: Mapping[str, Any] | None, key: str, path: str) -> str | None:
        """A required non-empty string, or None (with a problem recorded)."""
        if parent is None:
            return None
        if key not in parent:
            self.add(path, "missing (a non-empty string is required)")
            return None
        value = parent[key]
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {_json_type(value)}")
            return None
        if not value.strip():
            self.add(path, "is empty")
            return None
        return value

    def optional_string(self, parent: Mapping[str, Any] | None, key: str, path: str) -> str | None:
        """An optional string (missing, null and "" all mean absent)."""
        if parent is None:
            return None
        value = parent.get(key)
        if value is None or isinstance(value, str):
            return value or None
        self.add(path, f"must be a string, not {_json_type(value)}")
        return None


def _enterprise_id(  # noqa: PLR0911 - one return per way the field can be wrong
    data: Mapping[str, Any], problems: _Problems, coerced: list[str]
) -> tuple[str | None, str | None]:
    """``(enterprise_id, value_problem)``; a missing or mistyped field is recorded in ``problems``.

    A JSON number is turned into the string Box needs (and noted in ``coerced`` for a warning).
    """
    if _F_ENTERPRISE_ID not in data:
        problems.add(_F_ENTERPRISE_ID, "missing (a string of digits is required)")
        return None, None
    value = data[_F_ENTERPRISE_ID]
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            return None, f"is the number {describe(value)} (not an enterprise ID)"
        if value >= 10**MAX_ID_DIGITS:
            return None, f"is a number far too long to be an enterprise ID (> {MAX_ID_DIGITS})"
        value = str(value)
        coerced.append(value)
    elif not isinstance(value, str):
        problems.add(_F_ENTERPRISE_ID, f"must be a string of digits, not {_json_type(value)}")
        return None, None
    value = value.strip()
    if not value:
        return None, "is empty (Box needs your enterprise ID)"
    if not (value.isascii() and value.isdigit()):
        return None, "is not a number (Box enterprise IDs are digits)"
    if len(value) > MAX_ID_DIGITS:
        return None, f"is {len(value)} digits long (Box IDs have at most {MAX_ID_DIGITS})"
    if not value.strip("0"):
        return None, 'is "0" (a placeholder, not an enterprise ID)'
    return value, None


def _problem_message(source: str, items: list[tuple[str, str]]) -> str:
    head = "1 problem" if len(items) == 1 else f"{len(items)} problems"
    lines = "\n".join(f"  - {path}: {what}" for path, what in items)
    return f"{source}: {head} in the Box config:\n{lines}\nFix: {remedies.DOWNLOAD_CONFIG}"


def _build(  # noqa: PLR0912, PLR0915 - the one validator, in the order errors are reported
    data: object,
    *,
    source: str,
    path: pathlib.Path | None,
    passphrase: PassphraseArg,
    passphrase_from: str,
    private_key_path: PathArg | None,
    private_key: str | bytes | Secret | None,
) -> KeyFile:
    """The one validator every constructor funnels into."""
    if not isinstance(data, Mapping):
        raise KeyFileJSONError(
            f'{source}: the config must be a JSON object ({{"boxAppSettings": ..., '
            f'"enterpriseID": ...}}), not {_json_type(data)}.',
            source=source,
            remedy=remedies.CONFIG_FILE,
        )
    problems = _Problems()
    coerced: list[str] = []
    settings = problems.section(data, _F_SETTINGS, _F_SETTINGS)
    if (
        settings is not None
        and settings.get("appAuth") is None
        and ("clientID" in settings or "clientSecret" in settings)
    ):
        raise NotAJWTAppError(
            f"{source}: {_F_APP_AUTH} is missing, so this is not a JWT app config (it looks "
            "like a Client Credentials Grant app, which authenticates with its client secret "
            "alone).",
            source=source,
            field=_F_APP_AUTH,
            remedy=remedies.JWT_APP_CONFIG,
        )
    client_id = problems.string(settings, "clientID", _F_CLIENT_ID)
    client_secret = problems.string(settings, "clientSecret", _F_CLIENT_SECRET)
    app_auth = problems.section(settings, "appAuth", _F_APP_AUTH) if settings is not None else None
    public_key_id = problems.string(app_auth, "publicKeyID", _F_PUBLIC_KEY_ID)
    pem_text = problems.optional_string(app_auth, "privateKey", _F_PRIVATE_KEY)
    json_passphrase = problems.optional_string(app_auth, "passphrase", _F_PASSPHRASE)
    webhook_keys: list[str | None] = [None, None]
    if _F_WEBHOOKS in data and data[_F_WEBHOOKS] is not None:
        webhooks = problems.section(data, _F_WEBHOOKS, _F_WEBHOOKS)
        for i, name in enumerate(("primaryKey", "secondaryKey")):
            webhook_keys[i] = problems.optional_string(webhooks, name, f"webhooks.{name}")
    enterprise_id, enterprise_problem = _enterprise_id(data, problems, coerced)
    no_key = pem_text is None and private_key is None and private_key_path is None
    items = list(problems.items)
    if enterprise_problem is not None:
        items.append((_F_ENTERPRISE_ID, enterprise_problem))
    if items and no_key and app_auth is not None and _F_PRIVATE_KEY not in dict(items):
        state = "is empty" if app_auth.get("privateKey") is not None else "missing"
        what = f"{state} and no separate key was given ({remedies.SEPARATE_KEY})"
        items.append((_F_PRIVATE_KEY, what))
    if problems.items or len(items) > 1:
        raise KeyFileFieldError(
            _problem_message(source, items),
            source=source,
            problems=items,
            remedy=remedies.DOWNLOAD_CONFIG,
        )
    if enterprise_problem is not None:
        raise EnterpriseIDError(
            f"{source}: {_F_ENTERPRISE_ID} {enterprise_problem}.",
            source=source,
            field=_F_ENTERPRISE_ID,
            remedy=remedies.ENTERPRISE_ID_FIELD,
        )
    # From here every required value is present and well typed.
    assert client_id is not None  # noqa: S101 - narrowing for the type checker
    assert client_secret is not None  # noqa: S101
    assert public_key_id is not None  # noqa: S101
    assert enterprise_id is not None  # noqa: S101
    if no_key:
        raise PrivateKeyMissingError(
            f"{source}: {_F_PRIVATE_KEY} is missing or empty and no separate key was given.",
            source=source,
            field=_F_PRIVATE_KEY,
            remedy=remedies.PRIVATE_KEY_ARGUMENT,
        )
    for text in coerced:
        warn(
            f"{source}: {_F_ENTERPRISE_ID} is the number {text}; Box needs the string "
            f'"{text}", which is used instead. Fix: quote it in the config.',
            EnterpriseIDCoercedWarning,
        )

    if passphrase is not None:
        effective_passphrase: PassphraseArg = passphrase
    else:
        effective_passphrase = json_passphrase
        passphrase_from = f"{_F_PASSPHRASE} in {source}"
    key_field: str | None
    if private_key is not None:
        where, key_field, key_source = "The private_key= argument", None, source
        pem: str | bytes | Secret = private_key
    elif private_key_path is not None:
        pem_path = pathlib.Path(private_key_path)
        key_source = os.fspath(private_key_path)
        where, key_field = f"Private key file {key_source!r}", None
        pem = read_bytes(pem_path, what="Private key file")
        try:
            pem = pem.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidPEMError(
                f"{where} is binary, not PEM text (DER?).",
                source=key_source,
                remedy=remedies.DER_TO_PEM,
            ) from None
    else:
        assert pem_text is not None  # noqa: S101
        where, key_field, key_source = f"{_F_PRIVATE_KEY} in {source}", _F_PRIVATE_KEY, source
        pem = pem_text
    loaded: LoadedPrivateKey = load_private_key(
        pem,
        effective_passphrase,
        where=where,
        passphrase_from=passphrase_from,
        source=key_source,
        field=key_field,
    )
    keyfile = KeyFile(
        client_id=client_id.strip(),
        enterprise_id=enterprise_id,
        public_key_id=public_key_id.strip(),
        client_secret=client_secret,
        source=source,
        path=path,
        key_encrypted=loaded.encrypted,
        webhook_primary_key=webhook_keys[0],
        webhook_secondary_key=webhook_keys[1],
        _signing_key=_SigningKey(loaded.key),
    )
    _log.debug(
        "loaded Box config %s: client_id=%s enterprise_id=%s public_key_id=%s, key: %s",
        source,
        keyfile.client_id,
        keyfile.enterprise_id,
        keyfile.public_key_id,
        loaded.description,
    )
    return keyfile
