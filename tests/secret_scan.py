"""Everything an error reporter could show about an exception, as text, to scan for secrets.

Sentry, ``pytest -l`` and ``traceback.TracebackException(..., capture_locals=True)`` show the
message, the exception chain and the local variables of every frame the traceback passes
through. :func:`reachable_texts` collects all of that, and more: every attribute of every
exception in the chain (suppressed contexts included), walked through containers and through the
objects of boxjwt, requests and urllib3 (so ``exc.__context__.request.body`` is seen).

The frames of the *caller* are not boxjwt's business: the leading frames of a traceback, before
the first frame of the boxjwt package, are skipped (the test's own frames, and e.g.
``requests.Session.request`` holding the URL the caller passed).
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

__all__ = ["JWT_LIKE", "leaked", "reachable_texts"]

BOXJWT_DIR = os.path.dirname(os.path.abspath(boxjwt.__file__)) + os.sep
TESTING_DIR = os.path.join(BOXJWT_DIR, "testing") + os.sep
#: Objects of these modules are walked attribute by attribute; others are only repr'd.
WALKED_MODULES = ("boxjwt", "requests", "urllib3", "http.client", "redis")
MAX_DEPTH = 6

#: A signed JWT (an assertion): header and payload are base64url JSON objects.
JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")


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


def leaked(exc: BaseException, secrets: Iterable[str]) -> list[str]:
    """``"<secret> in <text>"`` descriptions of every leak found (empty: none)."""
    found = []
    wanted = [s for s in secrets if s]
    for text in reachable_texts(exc):
        for secret in wanted:
            if secret in text:
                at = text.index(secret)
                found.append(f"{secret[:6]}... in {text[max(0, at - 120) : at + 40]!r}")
        match = JWT_LIKE.search(text)
        if match:
            found.append(f"an assertion in {text[max(0, match.start() - 120) : match.end()]!r}")
    return found
