"""The one secret scanner of the tests: is any secret in what a user, a log or a reporter sees?

Two questions, one rule for what counts as a leak (:func:`secrets_in_texts`): any of the given
secrets verbatim, anything shaped like a JWT (an assertion or its header or payload), or a PEM
private-key block.

* Text that is shown (CLI output, a report, log records, a message, a repr):
  :func:`assert_no_secret_in_text`.
* An exception, as an error reporter would see it (:func:`secrets_reachable_from`,
  :func:`assert_no_secret_reachable_from`): Sentry, ``pytest -l`` and
  ``traceback.TracebackException(..., capture_locals=True)`` show the message, the exception
  chain and the local variables of every frame the traceback passes through.
  :func:`reachable_texts` collects all of that, and more: every attribute of every exception in
  the chain (suppressed contexts included), walked through containers and through the objects of
  boxjwt, requests and urllib3 (so ``exc.__context__.request.body`` is seen). The frames of the
  *caller* are not boxjwt's business: the leading frames of a traceback, before the first frame
  of the boxjwt package, are skipped (the test's own frames, and e.g.
  ``requests.Session.request`` holding the URL the caller passed).

The secrets to look for: :func:`keyfile_secrets` (an emulated key file's) and
:func:`emulator_secrets` (those and every token the emulator issued).
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Iterable, Iterator, Mapping
from types import FrameType, TracebackType

import attrs

import boxjwt
from boxjwt import Secret
from boxjwt.testing import BoxEmulator, EmulatedKeyFile

__all__ = [
    "JWT_LIKE",
    "PEM_KEY",
    "assert_no_secret_in_text",
    "assert_no_secret_reachable_from",
    "emulator_secrets",
    "keyfile_secrets",
    "reachable_texts",
    "secrets_in_texts",
    "secrets_reachable_from",
]

BOXJWT_DIR = os.path.dirname(os.path.abspath(boxjwt.__file__)) + os.sep
TESTING_DIR = os.path.join(BOXJWT_DIR, "testing") + os.sep
#: Objects of these modules are walked attribute by attribute; others are only repr'd.
WALKED_MODULES = ("boxjwt", "requests", "urllib3", "http.client", "redis")
MAX_DEPTH = 6

#: A JWT, or its header or payload alone: base64url of a JSON object (``{"`` is ``eyJ``).
JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}")
#: A PEM private key: its BEGIN line and the start of its base64 (naming the label is no leak).
PEM_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*"
    r"(?:[A-Za-z-]+: [^\n]*\s*)*"  # Proc-Type:, DEK-Info: of a traditional encrypted key
    r"[A-Za-z0-9+/=]{16}"
)


def _is_ours(frame: FrameType) -> bool:
    name = os.path.abspath(frame.f_code.co_filename)
    return name.startswith(BOXJWT_DIR) and not name.startswith(TESTING_DIR)


def library_frames(tb: TracebackType | None) -> Iterator[tuple[FrameType, int]]:
    """The traceback's frames from the first boxjwt frame on (the caller's frames skipped)."""
    entered = False
    for frame, lineno in traceback.walk_tb(tb):
        entered = entered or _is_ours(frame)
        if entered:
            yield frame, lineno


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything chained to it, suppressed contexts included."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [e for e in (current.__cause__, current.__context__) if e is not None]


def _formatted(exc: BaseException) -> str:
    """``TracebackException(capture_locals=True)`` of each exception of the chain."""
    parts = []
    for linked in _chain(exc):
        stack = traceback.StackSummary.extract(
            library_frames(linked.__traceback__), capture_locals=True
        )
        parts += stack.format()
        parts += traceback.format_exception_only(type(linked), linked)
    return "".join(parts)


class _Walker:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.seen: set[int] = set()

    def add(self, text: str) -> None:
        self.texts.append(text)

    def walk(self, obj: object, depth: int = 0) -> None:  # noqa: PLR0911, PLR0912 - one branch per kind of object
        if obj is None or isinstance(obj, bool | int | float):
            return
        if isinstance(obj, str):
            self.add(obj)
            return
        if isinstance(obj, bytes | bytearray | memoryview):
            self.add(bytes(obj).decode("latin-1"))
            return
        if id(obj) in self.seen or depth > MAX_DEPTH:
            return
        self.seen.add(id(obj))
        try:
            self.add(repr(obj))
        except Exception as exc:
            self.add(f"<repr failed: {type(exc).__name__}>")
        if isinstance(obj, Secret):
            return
        if isinstance(obj, BaseException):
            self.add(str(obj))
            self.walk(obj.args, depth + 1)
            self.walk(getattr(obj, "__notes__", None), depth + 1)
            self.walk(vars(obj), depth + 1)
            for linked in (obj.__cause__, obj.__context__):
                self.walk(linked, depth + 1)
            for frame, _ in library_frames(obj.__traceback__):
                self.walk(dict(frame.f_locals), depth + 1)
            return
        if isinstance(obj, Mapping):
            for key, value in list(obj.items()):
                self.walk(key, depth + 1)
                self.walk(value, depth + 1)
            return
        if isinstance(obj, list | tuple | set | frozenset):
            for item in list(obj):
                self.walk(item, depth + 1)
            return
        module = type(obj).__module__ or ""
        if not module.startswith(WALKED_MODULES) or module.startswith("boxjwt.testing"):
            return
        if attrs.has(type(obj)):
            for field in attrs.fields(type(obj)):
                self.walk(getattr(obj, field.name, None), depth + 1)
        for name in getattr(type(obj), "__slots__", ()):
            self.walk(getattr(obj, name, None), depth + 1)
        if hasattr(obj, "__dict__"):
            self.walk(vars(obj), depth + 1)


def reachable_texts(exc: BaseException) -> list[str]:
    """Every text an error reporter could show about ``exc`` (see the module docstring)."""
    walker = _Walker()
    walker.add(_formatted(exc))
    walker.walk(exc)
    return walker.texts


def _context(text: str, start: int, end: int) -> str:
    return repr(text[max(0, start - 120) : end + 40])


def secrets_in_texts(texts: str | Iterable[str], secrets: Iterable[str]) -> list[str]:
    """Descriptions of every leak in ``texts`` (empty: none): a secret of ``secrets`` (shown by
    its first 6 characters), anything :data:`JWT_LIKE` or a :data:`PEM_KEY`."""
    found = []
    wanted = [s for s in secrets if s]
    for text in [texts] if isinstance(texts, str) else texts:
        for secret in wanted:
            if secret in text:
                at = text.index(secret)
                found.append(f"{secret[:6]}... in {_context(text, at, at + len(secret))}")
        for what, pattern in (("a JWT", JWT_LIKE), ("a PEM private key", PEM_KEY)):
            match = pattern.search(text)
            if match:
                found.append(f"{what} in {_context(text, match.start(), match.end())}")
    return found


def assert_no_secret_in_text(texts: str | Iterable[str], secrets: Iterable[str]) -> None:
    """No text that is shown (output, log records, messages, reprs) leaks (see the module)."""
    found = secrets_in_texts(texts, secrets)
    assert not found, "leaked:\n" + "\n".join(found[:5])


def secrets_reachable_from(exc: BaseException, secrets: Iterable[str]) -> list[str]:
    """Descriptions of every leak an error reporter could show about ``exc`` (empty: none)."""
    return secrets_in_texts(reachable_texts(exc), secrets)


def assert_no_secret_reachable_from(exc: BaseException, secrets: Iterable[str]) -> None:
    """Nothing an error reporter could show about ``exc`` leaks (see the module)."""
    found = secrets_reachable_from(exc, secrets)
    assert not found, f"{type(exc).__name__} leaks:\n" + "\n".join(found[:5])


def keyfile_secrets(ekf: EmulatedKeyFile) -> list[str]:
    """An emulated key file's secrets: the client secrets (the file's and the app's current
    one), the passphrase and the base64 lines of the private key."""
    found = [ekf.config["boxAppSettings"]["clientSecret"], ekf.app.client_secret]
    if ekf.passphrase:
        found.append(ekf.passphrase)
    if ekf.pem:
        found += [line for line in ekf.pem.splitlines() if len(line) > 16 and "-----" not in line]
    return found


def emulator_secrets(emu: BoxEmulator, ekf: EmulatedKeyFile) -> list[str]:
    """:func:`keyfile_secrets` and every access token ``emu`` has issued so far."""
    found = keyfile_secrets(ekf)
    with emu.state.lock:
        found += list(emu.state.tokens)
    return found
