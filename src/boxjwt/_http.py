"""What Box's answers look like on the wire: headers, JSON objects, HTTP dates, Retry-After;
and how long and how much of them we wait for and read.

Pure functions over plain values (a headers mapping, a body's text), free of ``requests``, so
that every transport (the ``requests`` one today, an asyncio one later) reads answers the same
way. This is the one place HTTP dates are parsed, and the one place where the timeouts, total
deadlines and size caps of each purpose are named (the ``requests`` transport enforces them in
:mod:`boxjwt._bounded`).
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

__all__ = [
    "API_TIMEOUT",
    "ERROR_READ_BYTES",
    "PREFLIGHT_DEADLINE",
    "PREFLIGHT_LIMITS",
    "PREFLIGHT_MAX_BYTES",
    "PREFLIGHT_TIMEOUT",
    "TOKEN_DEADLINE",
    "TOKEN_LIMITS",
    "TOKEN_MAX_BYTES",
    "TOKEN_TIMEOUT",
    "ReadLimits",
    "get_header",
    "json_object",
    "opt_str",
    "parse_http_date",
    "parse_retry_after",
    "safe_url",
    "server_time",
]

# --------------------------------------------------------------------------- limits, per purpose

#: ``(connect, read)`` seconds of each ``/oauth2/*`` request (token exchange, revocation).
TOKEN_TIMEOUT: Final = (10.0, 30.0)
#: ``(connect, read)`` seconds of each API call an :class:`~boxjwt.AsUserSession` makes
#: without a timeout of its own (generous: it also serves uploads and downloads).
API_TIMEOUT: Final = (10.0, 60.0)
#: ``(connect, read)`` seconds of each preflight probe.
PREFLIGHT_TIMEOUT: Final = (5.0, 20.0)

#: Seconds within which a whole ``/oauth2/*`` answer (status line to last byte) must arrive:
#: a read timeout bounds only each wait for the next bytes, so a trickling server defeats it.
TOKEN_DEADLINE: Final = 60.0
#: The most of a token endpoint answer that is read (Box's are well under 2 KiB).
TOKEN_MAX_BYTES: Final = 64 * 1024
#: Seconds within which a whole answer to a preflight probe must arrive.
PREFLIGHT_DEADLINE: Final = 30.0
#: The most of a preflight probe's answer that is read (a page of users: a few hundred KiB).
PREFLIGHT_MAX_BYTES: Final = 1024 * 1024
#: The most of an error answer's body that is read when it has not been read yet (an error
#: keeps at most ``boxjwt.exceptions.MAX_ERROR_BODY`` characters of it).
ERROR_READ_BYTES: Final = 64 * 1024


@attrs.frozen
class ReadLimits:
    """Limits on reading one answer: at most ``max_bytes`` of its body, all of it (status line
    to last byte) within ``deadline`` seconds."""

    max_bytes: int
    deadline: float


TOKEN_LIMITS: Final = ReadLimits(TOKEN_MAX_BYTES, TOKEN_DEADLINE)
PREFLIGHT_LIMITS: Final = ReadLimits(PREFLIGHT_MAX_BYTES, PREFLIGHT_DEADLINE)


# --------------------------------------------------------------------------- reading answers


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value, case-insensitively, from any mapping."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def json_object(text: str) -> dict[str, Any] | None:
    """``text`` parsed as a JSON object, or None (not JSON, or JSON of another type)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def opt_str(value: object) -> str | None:
    """``str(value)``, or None for None and the empty string."""
    if value is None or value == "":
        return None
    return str(value)


@functools.lru_cache(maxsize=64)
def parse_http_date(value: str | None) -> float | None:
    """An HTTP date (RFC 9110: IMF-fixdate, RFC 850 or asctime) as Unix seconds.

    None when absent, unreadable, or without a time zone (a date whose zone is unknown cannot
    be compared with anything).
    """
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    seconds = when.timestamp()
    return seconds if math.isfinite(seconds) else None


def safe_url(url: str | None) -> str | None:
    """``url`` fit for a message or a log: no userinfo, query string or fragment.

    (A query may carry a shared-link password; userinfo, a password.)
    """
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    if not parts.scheme:
        return parts.path
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}{parts.path}"


def server_time(headers: Mapping[str, str]) -> float | None:
    """Box's clock from the ``Date`` header (Unix seconds), or None if absent or unreadable."""
    return parse_http_date(get_header(headers, "date"))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``now`` (Unix seconds, ideally the server's ``Date``) is needed for the date form; without
    it the local clock is used. Anything unreadable, negative or not finite gives None.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        when = parse_http_date(text)
        if when is None:
            return None
        seconds = max(when - (time.time() if now is None else now), 0.0)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds
