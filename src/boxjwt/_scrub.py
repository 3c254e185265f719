"""Keep secrets out of the tracebacks of boxjwt's exceptions.

Error reporters (Sentry, ``pytest -l``, ``traceback.TracebackException(capture_locals=True)``)
show the local variables of every frame a traceback passes through, and follow the exception
chain. Inside boxjwt those frames hold the key.json text, the passphrase, the client secret, the
assertion, the token form; a chained ``requests`` exception holds the request whose body is
``client_secret=...&assertion=...``. So every public entry point hands its boxjwt errors to
:func:`scrub` on their way out (the :func:`scrubbed` decorator, or an inline
``except BoxJWTError`` on hot paths):

- the local variables of every frame the exception (and each exception chained to it) went
  through below the entry point are cleared (``frame.clear()``): file names, functions and line
  numbers stay, so the traceback still says where it happened;
- a context the raiser suppressed (``raise ... from None`` or ``from`` another cause) is
  dropped, not merely hidden.

Exceptions that are not boxjwt's (a bug, ``KeyboardInterrupt``) keep everything, for debugging.
Messages and attributes are the raisers' job: they never put a secret there.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from boxjwt.exceptions import BoxJWTError

__all__ = ["scrub", "scrubbed"]

P = ParamSpec("P")
R = TypeVar("R")


def scrub(exc: BaseException, outer: BaseException | None = None) -> None:
    """Clear the frame locals of ``exc``'s traceback and chain; drop suppressed contexts.

    ``outer`` is the exception that was being handled when the entry point was called (the
    caller's own, e.g. ``sys.exception()``): the chain is not followed into it.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if current is outer or id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)  # skips frames still running
        if current.__suppress_context__:
            current.__context__ = None
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]


def scrubbed(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a public entry point: its boxjwt errors leave scrubbed (see :func:`scrub`)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        outer = sys.exception()
        try:
            return func(*args, **kwargs)
        except BoxJWTError as exc:
            del args, kwargs  # the caller's arguments (key text, passphrase) leave this frame
            scrub(exc, outer)
            raise

    return wrapper
