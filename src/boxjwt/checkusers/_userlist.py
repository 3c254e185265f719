"""The plan's users from a file or standard input (``boxjwt check-users --users FILE``).

The file holds one user ID or login per line (blank lines and ``#`` comments ignored), or is a
CSV (comma, semicolon or tab separated) whose header names a ``login`` or ``id`` column (a row
with both uses the ID). ``-`` reads standard input. Only a regular file is read (a FIFO or a
device is refused without blocking), at most :data:`MAX_USER_LIST_BYTES`. Every problem raises
:class:`~boxjwt.exceptions.ConfigurationError` naming the file, the line and the fix.
"""

from __future__ import annotations

import csv
import os
import pathlib
from typing import BinaryIO, Final

from boxjwt._files import _open_regular
from boxjwt.checkusers._resolve import _canonical
from boxjwt.exceptions import ConfigurationError, KeyFileError

__all__ = ["MAX_USER_LIST_BYTES", "parse_user_list", "read_user_list"]

#: The largest user list read: about a million logins.
MAX_USER_LIST_BYTES: Final = 32 * 1024 * 1024
_COLUMNS: Final = ("id", "login")
_SEPARATORS: Final = (",", ";", "\t")
_SHOWN_ERRORS: Final = 5


def _too_large(shown: str, limit: int) -> ConfigurationError:
    return ConfigurationError(
        f"{shown} is larger than {limit} bytes: a user list holds one ID or login per line "
        "(check that it names the right file, or split the plan)"
    )


def _read_stream(stream: BinaryIO, shown: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(1024 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise _too_large(shown, limit)
    return b"".join(chunks)


def read_user_list(
    source: str | os.PathLike[str],
    *,
    stdin: BinaryIO | None = None,
    limit: int = MAX_USER_LIST_BYTES,
) -> list[str]:
    """The IDs and logins of a user list (``"-"``: ``stdin``), in file order."""
    if os.fspath(source) == "-":
        if stdin is None:
            raise ConfigurationError("--users -: standard input is not available")
        return parse_user_list(_read_stream(stdin, "standard input", limit), "standard input")
    path = pathlib.Path(source)
    shown = f"user list {os.fspath(path)!r}"
    try:
        fd, st = _open_regular(path, shown[0].upper() + shown[1:], os.fspath(path))
    except KeyFileError as exc:
        raise ConfigurationError(f"{exc.message} Fix: {exc.remedy}") from None
    try:
        if st.st_size > limit:
            raise _too_large(shown, limit)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = _read_stream(stream, shown, limit)
    except OSError as exc:
        raise ConfigurationError(f"{shown} cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    return parse_user_list(data, shown)


def _text(data: bytes, shown: str) -> str:
    if b"\x00" in data:
        raise ConfigurationError(
            f"{shown} is binary, not text: give a text file with one user ID or login per line, "
            "or a CSV with a login or id column"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{shown} is not UTF-8 text (invalid byte at offset {exc.start}): save it as UTF-8"
        ) from None


def _is_header(line: str) -> bool:
    cells = [
        c.strip().strip('"').lower() for c in line.replace(";", ",").replace("\t", ",").split(",")
    ]
    return len(cells) > 1 or cells[0] in _COLUMNS


def _csv_values(lines: list[tuple[int, str]], shown: str) -> list[tuple[int, str]]:
    header_number, header_line = lines[0]
    separator = next((s for s in _SEPARATORS if s in header_line), ",")
    rows = csv.reader([text for _, text in lines], delimiter=separator)
    header = [cell.strip().lower() for cell in next(rows)]
    columns = {name: header.index(name) for name in _COLUMNS if name in header}
    if not columns:
        raise ConfigurationError(
            f"{shown}: the CSV header (line {header_number}) has no 'login' or 'id' column "
            f"(it has: {', '.join(repr(h) for h in header)}); name the column of user IDs 'id' "
            "or the column of logins 'login'"
        )
    values: list[tuple[int, str]] = []
    for (number, _), row in zip(lines[1:], rows, strict=False):
        cells = [row[i].strip() if i < len(row) else "" for i in columns.values()]
        value = next((c for c in cells if c), "")
        if value:
            values.append((number, value))
    return values


def parse_user_list(data: bytes, shown: str) -> list[str]:
    """The IDs and logins of a user list's bytes (``shown`` names it in messages)."""
    text = _text(data, shown)
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise ConfigurationError(
            f"{shown} is empty: give one user ID or login per line, or a CSV with a login or id "
            "column"
        )
    if _is_header(lines[0][1]):
        values = _csv_values(lines, shown)
    else:
        values = [(number, line.strip()) for number, line in lines]
    bad: list[str] = []
    for number, value in values:
        try:
            _canonical(value)
        except ConfigurationError:
            bad.append(f"line {number}: {value[:80]!r}")
    if bad:
        more = f" (and {len(bad) - _SHOWN_ERRORS} more)" if len(bad) > _SHOWN_ERRORS else ""
        raise ConfigurationError(
            f"{shown}: not a user ID (digits) or login (an email address): "
            f"{'; '.join(bad[:_SHOWN_ERRORS])}{more}"
        )
    if not values:
        raise ConfigurationError(f"{shown} names no user: every row of its CSV is empty")
    return [value for _, value in values]
