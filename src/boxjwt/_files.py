"""Reading a key file or PEM file from disk: regular files only, a bounded amount, no hang.

Only a regular file is read: a named pipe (FIFO), a socket or a device is refused at once
(checked with ``stat`` before opening, and again with ``fstat`` on the descriptor, opened
without blocking), since reading one may block forever or never end. At most
:data:`MAX_KEYFILE_BYTES` + 1 bytes are read. Every OS failure becomes a
:class:`~boxjwt.exceptions.KeyFileError` naming the file and the fix.
"""

from __future__ import annotations

import os
import pathlib
import stat
from typing import Final

from boxjwt import _remedies as remedies
from boxjwt._private_key import warn
from boxjwt.exceptions import (
    KeyFileError,
    KeyFileNotFoundError,
    KeyFileNotReadableError,
    KeyFilePermissionWarning,
    KeyFileTooLargeError,
)

__all__ = ["MAX_KEYFILE_BYTES", "read_bytes", "read_config_file"]

#: Box configs are a few kilobytes; anything over this is not one.
MAX_KEYFILE_BYTES: Final = 1024 * 1024

_FILE_KINDS: Final = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
#: Open flags: never block on a FIFO or device, never become its controlling terminal.
_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is (for messages); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


def _refuse_kind(named: str, shown: str, kind: str, *, changed: bool = False) -> KeyFileError:
    fix = remedies.GIVE_THE_FILE if kind == "a directory" else remedies.GIVE_A_REGULAR_FILE
    when = " (it changed while being opened)" if changed else ""
    return KeyFileNotReadableError(
        f"{named} is {kind}{when}; only a regular file is read.", source=shown, remedy=fix
    )


def _open_regular(path: pathlib.Path, named: str, shown: str) -> tuple[int, os.stat_result]:
    """An open descriptor on ``path`` and its ``fstat``; anything but a regular file refused.

    ``stat`` first, so a device is never even opened; then ``open`` without blocking (a FIFO
    with no writer would block forever) and ``fstat`` the descriptor, so a file swapped for a
    FIFO in between is refused too.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        fix = remedies.CHECK_CONFIG_PATH if named.startswith("Config file") else remedies.CHECK_PATH
        raise KeyFileNotFoundError(f"{named} does not exist.", source=shown, remedy=fix) from None
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise KeyFileNotReadableError(
            f"{named} cannot be examined ({reason}).",
            source=shown,
            remedy=remedies.CHECK_DIRECTORIES,
        ) from None
    kind = _not_regular(st.st_mode)
    if kind is not None:
        raise _refuse_kind(named, shown, kind)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _unreadable(named, shown, exc) from None
    st = os.fstat(fd)
    kind = _not_regular(st.st_mode)
    if kind is not None:
        os.close(fd)
        raise _refuse_kind(named, shown, kind, changed=True)
    return fd, st


def _unreadable(named: str, shown: str, exc: OSError) -> KeyFileError:
    return KeyFileNotReadableError(
        f"{named} cannot be read ({exc.strerror or type(exc).__name__}).",
        source=shown,
        remedy=remedies.readable_only_by_owner(shown),
    )


def read_bytes(path: pathlib.Path, *, what: str, via: str | None = None) -> bytes:
    """Read a small regular file, mapping every OS failure to ours; warn if others can read it.

    Anything but a regular file (a FIFO, a socket, a device, a directory) is refused at once
    with :class:`KeyFileNotReadableError`, without blocking; at most
    :data:`MAX_KEYFILE_BYTES` + 1 bytes are read.
    """
    shown = os.fspath(path)
    named = f"{what} {shown!r}" + (f" (from {via})" if via else "")
    too_large = f"; a Box config or key is a few kilobytes (limit {MAX_KEYFILE_BYTES} bytes)."
    fd, st = _open_regular(path, named, shown)
    try:
        if st.st_size > MAX_KEYFILE_BYTES:
            raise KeyFileTooLargeError(
                f"{named} is {st.st_size} bytes{too_large}",
                source=shown,
                remedy=remedies.RIGHT_FILE,
            )
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_KEYFILE_BYTES:
            chunk = os.read(fd, MAX_KEYFILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _unreadable(named, shown, exc) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_KEYFILE_BYTES:
        raise KeyFileTooLargeError(
            f"{named} is over {MAX_KEYFILE_BYTES} bytes{too_large}",
            source=shown,
            remedy=remedies.RIGHT_FILE,
        )
    if os.name == "posix" and st.st_mode & 0o044:
        warn(
            f"{named} is readable by group or others (mode {stat.S_IMODE(st.st_mode):04o}) "
            f"and holds secrets. Fix: `chmod 600 {shown}`.",
            KeyFilePermissionWarning,
        )
    return data


def read_config_file(path: pathlib.Path, *, via: str | None = None) -> str:
    data = read_bytes(path, what="Config file", via=via)
    shown = os.fspath(path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise KeyFileNotReadableError(
            f"Config file {shown!r} is UTF-16 text (as PowerShell's `>` writes it), not UTF-8.",
            source=shown,
            remedy=remedies.SAVE_AS_UTF8,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KeyFileNotReadableError(
            f"Config file {shown!r} is not UTF-8 text (invalid byte at offset {exc.start}).",
            source=shown,
            remedy=remedies.JSON_AS_UTF8,
        ) from None
