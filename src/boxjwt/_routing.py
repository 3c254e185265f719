"""Where a request goes: Box's origins, and how a path or URL resolves against them.

Pure string work, free of any transport, shared by every session (the ``requests`` one and an
asyncio twin): origins (scheme, host, port) compared the way credentials must be scoped, and
the routing rules of ``/2.0/...``, ``/api/2.0/...`` and absolute Box URLs.
"""

from __future__ import annotations

import functools
from typing import Final
from urllib.parse import urlsplit

from boxjwt.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_UPLOAD_URL",
    "Origin",
    "box_heads",
    "origin",
    "resolve_box_url",
]

#: Box's API host (``/2.0`` and ``/oauth2``).
DEFAULT_BASE_URL: Final = "https://api.box.com"
#: Box's upload API root.
DEFAULT_UPLOAD_URL: Final = "https://upload.box.com/api/2.0"

Origin = tuple[str, str, int]
"""(scheme, host, port) of a URL, lower-case, default port filled in."""

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_UPLOAD_PREFIX: Final = "/api/2.0"


def origin(url: str) -> Origin | None:
    """(scheme, host, port) of an absolute http(s) URL, ports defaulted; else None.

    Runs on every request, so only the ``scheme://netloc`` head is parsed, and heads are
    memoised: a migration talks to a handful of hosts.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = len(rest)
    for stop in "/?#":
        index = rest.find(stop, 0, end)
        if index != -1:
            end = index
    return _origin_of_head(f"{scheme}://{rest[:end]}")


@functools.lru_cache(maxsize=64)
def _origin_of_head(head: str) -> Origin | None:
    try:
        parts = urlsplit(head)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return (scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme])


@functools.lru_cache(maxsize=16)
def box_heads(base_url: str, upload_url: str) -> tuple[str, ...]:
    """``scheme://netloc/`` of ``base_url`` and ``upload_url``: a URL starting with one of them
    is on that Box origin (the netloc ends at the first ``/``), without parsing it."""
    return tuple(f"{p.scheme}://{p.netloc}/" for p in map(urlsplit, (base_url, upload_url)))


_API_ORIGIN: Final = origin(DEFAULT_BASE_URL)
_UPLOAD_ORIGIN: Final = origin(DEFAULT_UPLOAD_URL)


def _after_origin(url: str) -> str:
    """Everything after ``scheme://netloc``: path, query and fragment."""
    parts = urlsplit(url)
    rest = parts.path
    if parts.query:
        rest += f"?{parts.query}"
    if parts.fragment:
        rest += f"#{parts.fragment}"
    return rest


def _under_upload_prefix(path: str) -> bool:
    """True for ``/api/2.0`` and everything under it (a path, without its query string)."""
    return path == _UPLOAD_PREFIX or path.startswith(f"{_UPLOAD_PREFIX}/")


def _resolve_path(url: str, path: str, base_url: str, upload_url: str) -> tuple[str, bool]:
    if _under_upload_prefix(path):
        return upload_url + url[len(_UPLOAD_PREFIX) :], True
    return base_url + url, True


def resolve_box_url(
    url: str, base_url: str, upload_url: str, origins: frozenset[Origin]
) -> tuple[str, bool]:
    """(the absolute URL a request for ``url`` goes to, whether it is a Box URL): the routing
    rules of every session, whatever its transport.

    ``/api/2.0/...`` -> ``upload_url``; any other ``/...`` path -> ``base_url``; absolute
    ``https://api.box.com`` / ``https://upload.box.com`` URLs -> the configured hosts; any
    other absolute URL unchanged (a Box URL when its origin is in ``origins``).
    """
    plain = "\n" not in url and "\t" not in url and "\r" not in url  # urlsplit drops those
    if url[:1] == "/" and url[1:2] != "/" and plain:
        # A path, the common case: what urlsplit would make of it, without parsing.
        return _resolve_path(url, url.partition("?")[0].partition("#")[0], base_url, upload_url)
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        if not url.startswith("/"):
            raise ConfigurationError(
                f"a relative URL must be a path such as /2.0/users/me, not {url!r}"
            )
        return _resolve_path(url, parts.path, base_url, upload_url)
    where = origin(url)
    if where is not None and where == _API_ORIGIN:
        return base_url + _after_origin(url), True
    if where is not None and where == _UPLOAD_ORIGIN:
        rest = _after_origin(url)
        if _under_upload_prefix(urlsplit(rest).path):
            return upload_url + rest[len(_UPLOAD_PREFIX) :], True
        parts = urlsplit(upload_url)
        return f"{parts.scheme}://{parts.netloc}{rest}", True
    return url, where in origins
