"""Errors found locally, in the key file or the private key."""

from __future__ import annotations

from boxjwt import _remedies as remedies
from boxjwt.exceptions._base import BoxJWTError

__all__ = [
    "EnterpriseIDError",
    "InvalidPEMError",
    "KeyDerivationCostError",
    "KeyFileError",
    "KeyFileFieldError",
    "KeyFileJSONError",
    "KeyFileNotFoundError",
    "KeyFileNotReadableError",
    "KeyFileTooLargeError",
    "NotAJWTAppError",
    "PassphraseRequiredError",
    "PrivateKeyError",
    "PrivateKeyMissingError",
    "UnsupportedKeyTypeError",
    "WeakKeyError",
    "WrongPassphraseError",
]

# --------------------------------------------------------------------------- key file

_FIX = "Fix: "


def _split_fix(message: str) -> tuple[str, str | None]:
    """``"<problem> Fix: <remedy>"`` -> (problem, remedy): the last "Fix: " after a space or
    a line break (the fix ends the message; a path in the problem may hold anything)."""
    at = max(message.rfind(f" {_FIX}"), message.rfind(f"\n{_FIX}"))
    if at == -1:
        return message, None
    return message[:at].rstrip(), message[at + 1 + len(_FIX) :].strip() or None


class KeyFileError(BoxJWTError, ValueError):
    """The key file (key.json) or the private key could not be used.

    ``source`` names where the config came from (a path, ``"<BOXJWT_CONFIG>"``, ``"<dict>"``)
    and ``field`` the JSON path at fault (e.g. ``"boxAppSettings.appAuth.passphrase"``), when
    known. ``problem`` is the message without its fix; ``remedy`` the fix. Given a ``remedy=``,
    the message ends with ``"Fix: <remedy>"`` (appended unless it already does); given none,
    a message ending with ``" Fix: ..."`` names it; otherwise the class's remedy applies.
    """

    remedy = remedies.KEYFILE_DEFAULT

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        field: str | None = None,
        remedy: str | None = None,
    ):
        if remedy is None:
            problem, remedy = _split_fix(message)
        elif message.endswith(f"{_FIX}{remedy}"):
            problem = message[: -len(f"{_FIX}{remedy}")].rstrip()
        else:
            problem, message = message, f"{message} {_FIX}{remedy}"
        super().__init__(message, remedy=remedy)
        self.problem = problem
        self.source = source
        self.field = field


class KeyFileNotFoundError(KeyFileError):
    """No file at the given path."""

    remedy = remedies.KEYFILE_NOT_FOUND


class KeyFileNotReadableError(KeyFileError):
    """The path is a directory, is not readable, or is not UTF-8 text."""

    remedy = remedies.KEYFILE_NOT_READABLE


class KeyFileTooLargeError(KeyFileError):
    """The file is far larger than any Box config (over 1 MiB)."""

    remedy = remedies.KEYFILE_TOO_LARGE


class KeyFileJSONError(KeyFileError):
    """The text is not valid JSON, or its top level is not an object."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        remedy: str | None = None,
    ):
        super().__init__(message, source=source, remedy=remedy)
        self.line = line
        self.column = column


class KeyFileFieldError(KeyFileError):
    """One or more required fields are missing or have the wrong type.

    ``problems`` lists every one of them as ``(json_path, what_is_wrong)``.
    """

    remedy = remedies.DOWNLOAD_CONFIG

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        problems: list[tuple[str, str]] | None = None,
        remedy: str | None = None,
    ):
        problems = list(problems or [])
        super().__init__(
            message,
            source=source,
            field=problems[0][0] if problems else None,
            remedy=remedy,
        )
        self.problems = problems


class NotAJWTAppError(KeyFileError):
    """The config has no ``appAuth``: it is a Client Credentials Grant app, not a JWT app."""

    remedy = remedies.NOT_A_JWT_APP


class EnterpriseIDError(KeyFileError):
    """``enterpriseID`` is empty, ``"0"`` or not made of digits."""

    remedy = remedies.ENTERPRISE_ID


class PrivateKeyError(KeyFileError):
    """The private key could not be loaded."""


class PrivateKeyMissingError(PrivateKeyError):
    """``privateKey`` is empty in the config and no separate PEM was given."""

    remedy = remedies.PRIVATE_KEY_MISSING


class PassphraseRequiredError(PrivateKeyError):
    """The key is encrypted and no passphrase was given."""

    remedy = remedies.PASSPHRASE


class WrongPassphraseError(PrivateKeyError):
    """The passphrase does not decrypt the key."""

    remedy = remedies.PASSPHRASE


class InvalidPEMError(PrivateKeyError):
    """The key text is corrupt, truncated, or not PEM at all."""

    remedy = remedies.PEM_DAMAGED


class UnsupportedKeyTypeError(PrivateKeyError):
    """The key is not an RSA key (Box signs only with RS256/384/512)."""

    remedy = remedies.NEW_RSA_KEY


class WeakKeyError(PrivateKeyError):
    """The RSA key is shorter than 2048 bits."""

    remedy = remedies.NEW_RSA_KEY


class KeyDerivationCostError(PrivateKeyError):
    """The encrypted key demands a key-derivation cost (PBKDF2 iterations, scrypt N x r x p)
    far beyond what real keys use, so that each passphrase attempt would take minutes."""

    remedy = remedies.KDF_COST
