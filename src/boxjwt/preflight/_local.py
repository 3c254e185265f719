"""The checks that need no request: the key file, its permissions, and the clock's verdict.

:func:`load_keyfile` reads the key file once and records what happened as a frozen
:class:`KeyLoad` (never an exception: those keep frames whose locals hold secrets); each key-file
check is a function of that record. A bad ``enterpriseID`` does not stop the key from being
checked: it is loaded again with a stand-in ID.
"""

from __future__ import annotations

import json
import os
import pathlib
import stat
from typing import Final

import attrs

from boxjwt._assertion import DEFAULT_ASSERTION_LIFETIME, MAX_ASSERTION_LIFETIME
from boxjwt._keyfile import KeyFile
from boxjwt._private_key import collect_warnings
from boxjwt._remedies import (
    CLOCK,
    ENTERPRISE_ID,
)
from boxjwt._secret import Secret
from boxjwt.exceptions import (
    EnterpriseIDCoercedWarning,
    EnterpriseIDError,
    KeyFileError,
    KeyFileFieldError,
    PrivateKeyError,
)
from boxjwt.preflight._model import CheckStatus
from boxjwt.preflight._outcome import Outcome, failed, passed, skipped, warned
from boxjwt.preflight._texts import (
    FIX_UNENCRYPTED_KEY,
    fix_integer_enterprise_id,
    fix_permissions,
    keyfile_problem,
)

__all__ = [
    "CLOCK_FAIL_AHEAD_SECONDS",
    "CLOCK_FAIL_BEHIND_SECONDS",
    "CLOCK_WARN_SECONDS",
    "ClockContext",
    "KeyFacts",
    "KeyFileArg",
    "KeyLoad",
    "Problem",
    "check_clock",
    "check_decrypt",
    "check_enterprise_id",
    "check_parse",
    "check_passphrase",
    "check_permissions",
    "load_keyfile",
]

#: A clock this far from Box's (either way) is reported as a warning.
CLOCK_WARN_SECONDS: Final = 5.0
#: A local clock this far behind Box's makes a ``now + 30 s`` assertion arrive expired.
CLOCK_FAIL_BEHIND_SECONDS: Final = float(DEFAULT_ASSERTION_LIFETIME)
#: A local clock this far ahead of Box's makes a ``now + 30 s`` ``exp`` exceed Box's 60 s limit.
CLOCK_FAIL_AHEAD_SECONDS: Final = float(MAX_ASSERTION_LIFETIME - DEFAULT_ASSERTION_LIFETIME)

KeyFileArg = KeyFile | str | os.PathLike[str]
Passphrase = str | bytes | Secret | None
KeyPath = str | os.PathLike[str] | None


@attrs.frozen
class Problem:
    """What is wrong, and what to do about it."""

    message: str
    remedy: str

    @classmethod
    def of(cls, exc: KeyFileError) -> Problem:
        """The problem a key-file error describes, and the error's remedy."""
        return cls(*keyfile_problem(exc))


@attrs.frozen
class KeyFacts:
    """The private key that loaded."""

    bits: int
    encrypted: bool

    @classmethod
    def of(cls, keyfile: KeyFile) -> KeyFacts:
        """The facts of ``keyfile``'s (already decrypted) key."""
        return cls(bits=keyfile.private_key().key_size, encrypted=keyfile.key_encrypted)


@attrs.frozen(kw_only=True)
class KeyLoad:
    """What reading the key file showed.

    ``keyfile`` is the usable config (None when it did not load); ``key`` the private key's
    facts, its problem, or None when it was not tried; ``given`` is True when the caller passed a
    loaded :class:`~boxjwt.KeyFile`.
    """

    source: str | None
    paths: tuple[pathlib.Path, ...] = ()
    given: bool = False
    keyfile: KeyFile | None = None
    parse_problem: Problem | None = None
    eid_problem: Problem | None = None
    key: KeyFacts | Problem | None = None
    eid_coerced: bool = False


def load_keyfile(keyfile: KeyFileArg, passphrase: Passphrase, private_key_path: KeyPath) -> KeyLoad:
    """Read ``keyfile`` (a path, or a loaded config) as the key-file checks need it."""
    if isinstance(keyfile, KeyFile):
        paths = () if keyfile.path is None else (keyfile.path,)
        return KeyLoad(
            source=keyfile.source,
            paths=paths,
            given=True,
            keyfile=keyfile,
            key=KeyFacts.of(keyfile),
        )
    path = pathlib.Path(keyfile)
    extra = () if private_key_path is None else (pathlib.Path(private_key_path),)
    base = KeyLoad(source=os.fspath(keyfile), paths=(path, *extra))
    try:
        with collect_warnings() as caught:
            loaded = KeyFile.from_file(
                path, passphrase=passphrase, private_key_path=private_key_path
            )
    except (EnterpriseIDError, KeyFileFieldError) as exc:
        if isinstance(exc, KeyFileFieldError) and not (
            exc.problems and all(p == "enterpriseID" for p, _ in exc.problems)
        ):
            return attrs.evolve(base, parse_problem=Problem.of(exc))
        bad_id = Problem(exc.problem, ENTERPRISE_ID)
        key = _key_despite_enterprise_id(path, passphrase, private_key_path)
        return attrs.evolve(base, eid_problem=bad_id, key=key)
    except PrivateKeyError as exc:
        return attrs.evolve(base, key=Problem.of(exc))
    except KeyFileError as exc:
        return attrs.evolve(base, parse_problem=Problem.of(exc))
    coerced = any(isinstance(w, EnterpriseIDCoercedWarning) for w in caught)
    return attrs.evolve(base, keyfile=loaded, key=KeyFacts.of(loaded), eid_coerced=coerced)


def _key_despite_enterprise_id(
    path: pathlib.Path, passphrase: Passphrase, private_key_path: KeyPath
) -> KeyFacts | Problem | None:
    """The enterprise ID is bad; still say whether the key loads (with a stand-in ID)."""
    try:
        data = json.loads(path.read_text("utf-8-sig"), strict=False)
        data["enterpriseID"] = "1"
        with collect_warnings():  # already reported as checks
            stand_in = KeyFile.from_dict(
                data, passphrase=passphrase, private_key_path=private_key_path
            )
    except PrivateKeyError as exc:
        return Problem.of(exc)
    except (KeyFileError, OSError, ValueError):  # pragma: no cover - the file changed meanwhile
        return None
    return KeyFacts.of(stand_in)


# --------------------------------------------------------------------------- key-file checks


def check_parse(load: KeyLoad) -> Outcome:
    """``keyfile.parse``: the file reads and is a JWT app config."""
    if load.parse_problem is not None:
        return failed(load.parse_problem.message, load.parse_problem.remedy)
    kf = load.keyfile
    if kf is None:  # the config is complete, but its key or enterprise ID is not usable
        return passed(f"{os.fspath(load.paths[0])} is a JWT app config with every required field.")
    if load.given:
        return passed(
            f"Loaded from {kf.source}: client ID {kf.client_id}, publicKeyID {kf.public_key_id}."
        )
    return passed(
        f"{load.source} is a JWT app config: client ID {kf.client_id}, publicKeyID "
        f"{kf.public_key_id}."
    )


def check_decrypt(load: KeyLoad) -> Outcome:
    """``keyfile.decrypt``: the private key loads."""
    key = load.key
    if isinstance(key, Problem):
        return failed(key.message, key.remedy)
    if key is None:  # pragma: no cover - the file changed while it was being read
        return skipped("Not checked: the key file changed while it was being read.")
    how = " with its passphrase." if key.encrypted else "."
    return passed(f"The RSA-{key.bits} private key loads{how}")


def check_passphrase(key: KeyFacts) -> Outcome:
    """``keyfile.passphrase``: the key is stored encrypted."""
    if key.encrypted:
        return passed("The private key is stored encrypted (passphrase-protected).")
    return warned(
        "The private key is stored unencrypted: anyone who can read it can act as the app in the "
        "whole enterprise.",
        FIX_UNENCRYPTED_KEY,
    )


def check_enterprise_id(load: KeyLoad) -> Outcome:
    """``keyfile.enterprise_id``: a string of digits (a JSON number warns)."""
    if load.eid_problem is not None:
        return failed(load.eid_problem.message, load.eid_problem.remedy)
    kf = load.keyfile
    if kf is None:
        return passed(
            "enterpriseID is a string of digits (the key failed to load, so it was not used)."
        )
    if load.eid_coerced:
        return warned(
            f"enterpriseID is the JSON number {kf.enterprise_id}; Box needs a string, so "
            "boxjwt used the string, but other tools send it as a bad 'sub' claim.",
            fix_integer_enterprise_id(kf.enterprise_id),
        )
    return passed(f"enterpriseID {kf.enterprise_id} is a string of digits.")


def check_permissions(load: KeyLoad) -> Outcome:
    """``keyfile.permissions``: only the owner can read the config (and the PEM file)."""
    if not load.paths:
        return skipped(f"Not checked: the config did not come from a file ({load.source}).")
    if os.name != "posix":  # pragma: no cover - POSIX permission bits only
        return skipped("Not checked: file modes are POSIX-only.")
    loose: list[str] = []
    for path in load.paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode) and mode & 0o077:
            loose.append(f"{os.fspath(path)} (mode {stat.S_IMODE(mode):04o})")
    checked = [os.fspath(p) for p in load.paths if p.exists()]
    if not checked:
        return skipped("Not checked: the key file does not exist.")
    if loose:
        return warned(
            f"Group or others can access {', '.join(loose)}; it holds the app's secrets.",
            fix_permissions(checked),
        )
    return passed(f"Only its owner can access {', '.join(checked)}.")


# --------------------------------------------------------------------------- clock


@attrs.frozen(kw_only=True)
class ClockContext:
    """What the clock check reads once every request was made."""

    #: Box's clock minus the local clock (None: no answer carried a ``Date`` header).
    skew: float | None
    #: True when the authenticator corrected its assertions for the skew.
    corrected: bool
    #: The ``token.enterprise`` outcome (was Box contacted at all?).
    token: Outcome


def check_clock(ctx: ClockContext) -> Outcome:
    """``clock.skew``: Box's ``Date`` header against the local clock."""
    skew = ctx.skew
    if skew is None:
        if ctx.token.status is CheckStatus.SKIPPED:
            return skipped(
                "Not checked: Box was not contacted because the key file could not be used.",
                ctx.token.skipped_because,
            )
        return skipped("Not checked: no answer from Box carried a Date header.")
    seconds = abs(skew)
    way = "behind" if skew > 0 else "ahead of"
    measured = f"This machine's clock is {seconds:.0f} s {way} Box's (by Box's Date header)"
    if (skew > 0 and seconds >= CLOCK_FAIL_BEHIND_SECONDS) or (
        skew < 0 and seconds >= CLOCK_FAIL_AHEAD_SECONDS
    ):
        consequence = (
            "assertions signed with it arrive already expired"
            if skew > 0
            else "assertions signed with it carry an exp more than 60 s after Box's time"
        )
        note = ""
        if ctx.corrected:
            note = " boxjwt corrected for it this time, but other tools will fail."
        return failed(f"{measured}: {consequence}, and Box refuses them.{note}", CLOCK)
    if seconds >= CLOCK_WARN_SECONDS:
        return warned(f"{measured}: close to breaking assertions (Box allows 60 s of exp).", CLOCK)
    return passed(f"{measured}, within {CLOCK_WARN_SECONDS:.0f} s.")
