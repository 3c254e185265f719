"""The one place where URLs, Box IDs, timeouts and other numbers from callers are checked.

Everything a caller hands the library is checked here, up front, so that nothing further down
(``urllib3``, ``int -> str``, the JWT, the logs) meets a value it chokes on or misreads. Every
refusal is a :class:`~boxjwt.exceptions.ConfigurationError` that says what is wrong and what is
accepted, and never repeats a credential (userinfo in a URL) or an unbounded amount of input.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from typing import Final
from urllib.parse import SplitResult, urlsplit

from boxjwt.exceptions import ConfigurationError

__all__ = [
    "MAX_ID_DIGITS",
    "MAX_TIMEOUT",
    "MAX_URL_LENGTH",
    "describe",
    "is_loopback_host",
    "validate_number",
    "validate_timeout",
    "validate_url",
    "validate_user_id",
]

#: The longest Box ID accepted, in decimal digits. Box IDs are 64-bit numbers today (at most
#: 20 digits); 32 leaves room to grow while keeping a hostile or mistyped value out of the
#: JWT, the cache keys and the logs.
MAX_ID_DIGITS: Final = 32

#: The longest base URL accepted, in characters.
MAX_URL_LENGTH: Final = 2048

#: The longest timeout accepted, in seconds (one day: a very slow upload, not "forever").
MAX_TIMEOUT: Final = 86_400.0

_ID_LIMIT: Final = 10**MAX_ID_DIGITS
_EXAMPLE_URL: Final = "https://api.box.com"
#: A registered name (RFC 3986 reg-name, restricted to what DNS and /etc/hosts use).
_HOSTNAME: Final = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?")
_USERINFO: Final = re.compile(r"//[^/?#]*@")
_QUERY: Final = re.compile(r"[?#]")
_SHOWN: Final = 80


def describe(value: object) -> str:  # noqa: PLR0911 - one return per kind of value
    """``value`` for a message: a short repr, never the whole of a huge input.

    Integers too long for ``int -> str`` (Python refuses beyond 4300 digits) and long strings
    are summarised instead of printed.
    """
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if -_ID_LIMIT < value < _ID_LIMIT:
            return repr(value)
        return f"an integer of more than {MAX_ID_DIGITS} digits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if len(value) <= _SHOWN:
            return repr(value)
        return f"{value[:_SHOWN]!r}... ({len(value)} characters)"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------- IDs


def validate_user_id(user_id: object) -> str:
    """A Box user ID as a string of at most :data:`MAX_ID_DIGITS` ASCII digits.

    Accepts such a string or a positive ``int``; anything else is a
    :class:`~boxjwt.exceptions.ConfigurationError`.
    """
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        if 0 < user_id < _ID_LIMIT:
            return str(user_id)
    elif (
        isinstance(user_id, str)
        and 0 < len(user_id) <= MAX_ID_DIGITS
        and user_id.isascii()
        and user_id.isdigit()
    ):
        return user_id
    raise ConfigurationError(
        f"a Box user ID is a non-empty string of at most {MAX_ID_DIGITS} digits (e.g. '12345') "
        f"or a positive int, not {describe(user_id)}"
    )


# --------------------------------------------------------------------------- numbers


def validate_number(
    name: str, value: object, *, minimum: float = 0.0, maximum: float = math.inf
) -> float:
    """A finite real number in ``[minimum, maximum]`` (``bool`` refused), as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number, not {describe(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        number = math.inf
    if not math.isfinite(number) or not minimum <= number <= maximum:
        upper = "" if math.isinf(maximum) else f" and <= {maximum:g}"
        raise ConfigurationError(
            f"{name} must be a finite number >= {minimum:g}{upper}, not {describe(value)}"
        )
    return number


def validate_timeout(timeout: object, name: str = "timeout") -> float | tuple[float, float]:
    """A ``requests`` timeout: seconds, or a ``(connect, read)`` pair; each in (0, 1 day]."""
    if isinstance(timeout, tuple) and len(timeout) == 2:
        connect, read = timeout
        return (
            validate_number(f"{name}[0]", connect, minimum=0.001, maximum=MAX_TIMEOUT),
            validate_number(f"{name}[1]", read, minimum=0.001, maximum=MAX_TIMEOUT),
        )
    if isinstance(timeout, tuple | list):
        raise ConfigurationError(
            f"{name} must be seconds or a (connect, read) pair of seconds, "
            f"not a {type(timeout).__name__} of {len(timeout)}"
        )
    return validate_number(name, timeout, minimum=0.001, maximum=MAX_TIMEOUT)


# --------------------------------------------------------------------------- URLs


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1`` (brackets optional)."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(url: str) -> str:
    """``url`` for a message: userinfo masked, length bounded."""
    return describe(_USERINFO.sub("//***@", url[: MAX_URL_LENGTH + 1]))


def _split(name: str, url: str) -> SplitResult:
    bad = next((c for c in url if c == "\\" or c.isspace() or not c.isprintable()), None)
    if bad is not None:
        what = "a backslash" if bad == "\\" else f"the character {bad!r}"
        raise ConfigurationError(
            f"{name} contains {what}: {_shown(url)}. Give a plain URL such as {_EXAMPLE_URL} "
            "(percent-encode anything else)."
        )
    if not url.isascii():
        raise ConfigurationError(
            f"{name} must be ASCII (write an international host name in its xn-- form): "
            f"{_shown(url)}"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise ConfigurationError(
            f"{name} is not a valid URL ({exc}): {_shown(url)}. Give one such as {_EXAMPLE_URL}."
        ) from None
    return parts


def _check_host(name: str, url: str, parts: SplitResult) -> str:
    netloc = parts.netloc
    if "@" in netloc:
        raise ConfigurationError(
            f"{name} must not contain a user name or password (user:password@host): "
            f"{_shown(url)}. Box authenticates with the app's key, and the URL would be "
            "repeated in logs and messages; for a proxy that needs credentials, set "
            "HTTPS_PROXY instead."
        )
    host = parts.hostname or ""
    if netloc.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            host = ""
    elif not _HOSTNAME.fullmatch(host):
        host = ""
    if not host:
        raise ConfigurationError(f"{name} has no valid host name: {_shown(url)}")
    if netloc.endswith(":") or parts.port == 0:
        raise ConfigurationError(f"{name} has an empty or zero port (1-65535): {_shown(url)}")
    return host


def validate_url(name: str, url: object) -> str:
    """A base URL: ``https://host[:port][/path]``, or ``http://`` to a loopback host only.

    Refused: anything but a string; other schemes; ``http://`` to a host that is not
    ``localhost``, ``127.0.0.0/8`` or ``::1`` (credentials would cross the network in clear);
    userinfo (``user:password@``); a query string or fragment; a backslash, whitespace, control
    or non-ASCII characters; an invalid host or a port outside 1-65535. Returns the URL with
    surrounding whitespace and trailing slashes removed.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(f"{name} must be a non-empty URL string, such as {_EXAMPLE_URL}")
    return _valid_url(name, url)


@functools.lru_cache(maxsize=64)
def _valid_url(name: str, url: str) -> str:
    """:func:`validate_url` for a string (pure: memoised, a process uses a handful of URLs)."""
    url = url.strip().rstrip("/")
    if len(url) > MAX_URL_LENGTH:
        raise ConfigurationError(f"{name} is {len(url)} characters long (at most {MAX_URL_LENGTH})")
    parts = _split(name, url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{name} must be an http(s) URL such as {_EXAMPLE_URL}, not {_shown(url)}"
        )
    if "?" in url or "#" in url:
        raise ConfigurationError(
            f"{name} must not have a query string or fragment: {_shown(_QUERY.split(url)[0])}"
        )
    host = _check_host(name, url, parts)
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ConfigurationError(
            f"{name} {_shown(url)} is plain http:// to a host that is not this machine: the "
            "client secret, the signed assertion and every token would cross the network "
            "unencrypted. Use https:// (http:// is allowed only for localhost, 127.0.0.0/8 "
            "and ::1, e.g. a local BoxEmulator)."
        )
    return url
