"""Who the plan names: the input made distinct, and Box's description of each user.

Resolution costs at most one request per user, fewer when many are asked for:

- :data:`~boxjwt.ALL_USERS`: the enterprise's listing, ``GET /2.0/users?user_type=managed``
  with marker paging (Box refuses offsets above 10,000), 1,000 users a page, page by page.
- A list: a user ID is looked up with ``GET /2.0/users/{id}``, a login with
  ``GET /2.0/users?filter_term=<login>`` (the only way Box lists an external user: an exact
  login). When more than :data:`LOOKUP_MAX` users are asked for, the listing's first page sizes
  the enterprise first (and resolves the users it holds), and if listing it takes at most half
  as many pages as there are users to look up, the listing resolves them (the users it does not
  list, external or unknown, are then looked up one by one).

An app with App Access Only sees its own app users only: every other user would look unknown.
So when a user is not found (or before a listing), one page of the listing shows whether the app
sees any managed user; if it does not, the run stops with that error and its fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import attrs

from boxjwt._http import opt_str
from boxjwt._remedies import FIX_ACCESS_LEVEL
from boxjwt._validate import describe
from boxjwt.checkusers._client import UsersClient
from boxjwt.checkusers._verdicts import Resolved
from boxjwt.exceptions import (
    AccessDeniedError,
    BoxJWTError,
    ConfigurationError,
    InsufficientScopeError,
    NotFoundError,
    TokenExchangeError,
    TransportError,
)
from boxjwt.preflight._client import Answer
from boxjwt.preflight._users import BoxUser

__all__ = [
    "LOOKUP_MAX",
    "MAX_LOGIN_LENGTH",
    "PAGE_SIZE",
    "Entry",
    "LookupFailedError",
    "app_access_only",
    "distinct",
    "enterprise_size",
    "listing",
    "lookup",
    "managed",
]

#: Users per page of the enterprise listing (Box's maximum).
PAGE_SIZE: Final = 1000
#: Up to this many users are looked up one by one without sizing the enterprise first.
LOOKUP_MAX: Final = 20
#: The longest login accepted (an email address is at most 254 characters).
MAX_LOGIN_LENGTH: Final = 320
#: The user fields asked for (a look-up also asks for ``enterprise``: externals have none).
FIELDS: Final = "id,login,role,status,is_platform_access_only"
LOOKUP_FIELDS: Final = FIELDS + ",enterprise"


@attrs.define
class Entry:
    """One distinct user of the input: how it was asked for, and (once known) who Box says."""

    asked: str
    #: The canonical form: the ID, or the login in lower case.
    key: str
    also_asked: list[str] = attrs.field(factory=list)

    @property
    def is_id(self) -> bool:
        """True when asked for by user ID."""
        return self.key.isdigit()


def _canonical(item: object) -> tuple[str, str]:
    """(as asked, canonical key) of one item of ``users=``."""
    if isinstance(item, int) and not isinstance(item, bool) and item > 0:
        return str(item), str(item)
    if isinstance(item, str):
        text = item.strip()
        if text.isascii() and text.isdigit() and len(text) <= 20:
            return text, text
        if (
            "@" in text
            and len(text) <= MAX_LOGIN_LENGTH
            and text.isprintable()
            and not any(c.isspace() for c in text)
        ):
            return text, text.lower()
    raise ConfigurationError(
        f"users= holds Box user IDs (digits) and logins (email addresses), not {describe(item)}"
    )


def distinct(users: Iterable[object]) -> list[Entry]:
    """The distinct users of ``users``, in input order; repeats go to ``also_asked``."""
    if isinstance(users, str | bytes):
        raise ConfigurationError(
            "users= is a list of user IDs and logins (or boxjwt.ALL_USERS), not one string: "
            f"write [{users!r}]"
        )
    entries: dict[str, Entry] = {}
    for item in users:
        asked, key = _canonical(item)
        found = entries.get(key)
        if found is None:
            entries[key] = Entry(asked=asked, key=key)
        else:
            found.also_asked.append(asked)
    if not entries:
        raise ConfigurationError("users= is empty: name at least one user (or boxjwt.ALL_USERS)")
    return list(entries.values())


class LookupFailedError(Exception):
    """Box did not answer a look-up conclusively (carries the answer)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.evidence.request)
        self.answer = answer


def _fatal(answer: Answer) -> None:
    """Raise the error of an answer that stops the whole run (the service account's token,
    the "Manage users" scope, or no usable answer to a listing)."""
    error = answer.error
    if error is not None:
        raise error
    raise TransportError(
        f"{answer.evidence.request}: Box's answer is not a user list (HTTP {answer.status})"
    )


def _page(client: UsersClient, params: Mapping[str, str]) -> Mapping[str, Any]:
    answer = client.call("/users", {**params, "fields": FIELDS, "user_type": "managed"})
    if answer.data is None or not isinstance(answer.data.get("entries"), list):
        _fatal(answer)
    assert answer.data is not None  # noqa: S101 - _fatal raised otherwise
    return answer.data


def app_access_only() -> AccessDeniedError:
    """The error of an app that sees no managed user: it cannot act as any."""
    return AccessDeniedError(
        "Box lists no managed user to this app, only its own app users: the app has App Access "
        "Only, so Box lets it act only as its app users, and no user of the enterprise can be "
        "found or acted as.",
        remedy=FIX_ACCESS_LEVEL,
    )


def managed(users: Iterable[BoxUser]) -> bool:
    """True when ``users`` holds a member of the enterprise (not an app user)."""
    return any(u.platform_only is False and not u.is_service_account for u in users)


def enterprise_size(client: UsersClient) -> tuple[int | None, list[BoxUser]]:
    """How many users the listing holds (``total_count`` of its first page, or None), and that
    page's users. Raises :func:`app_access_only` when the page holds no managed user (every
    enterprise has its primary admin)."""
    data = _page(client, {"limit": str(PAGE_SIZE), "offset": "0"})
    users = list(BoxUser.parse_all(data["entries"]))
    if not managed(users):
        raise app_access_only()
    total = data.get("total_count")
    return (total if isinstance(total, int) and not isinstance(total, bool) else None), users


def listing(client: UsersClient) -> Iterator[list[BoxUser]]:
    """The enterprise's managed users and app users, a page at a time (marker paging)."""
    params = {"usemarker": "true", "limit": str(PAGE_SIZE)}
    while True:
        data = _page(client, params)
        yield list(BoxUser.parse_all(data["entries"]))
        marker = opt_str(data.get("next_marker"))
        if not marker:
            return
        params = {"usemarker": "true", "limit": str(PAGE_SIZE), "marker": marker}


def _resolved(data: Mapping[str, Any], enterprise_id: str) -> Resolved | None:
    user = BoxUser.parse(data)
    if user is None:
        return None
    enterprise = data.get("enterprise")
    theirs = opt_str(enterprise.get("id")) if isinstance(enterprise, Mapping) else None
    return Resolved(user, external=theirs != enterprise_id)


def lookup(client: UsersClient, entry: Entry, enterprise_id: str) -> Resolved | None:
    """Box's description of one user (None: no such user). Raises :class:`LookupFailedError`
    when Box did not answer conclusively, the answer's error when it stops the run."""
    if entry.is_id:
        answer = client.call(f"/users/{entry.key}", {"fields": LOOKUP_FIELDS})
        if isinstance(answer.error, NotFoundError):
            return None
        if answer.data is not None:
            return _resolved(answer.data, enterprise_id)
    else:
        params = {"filter_term": entry.key, "user_type": "all", "limit": str(PAGE_SIZE)}
        answer = client.call("/users", {**params, "fields": LOOKUP_FIELDS})
        entries = answer.data.get("entries") if answer.data is not None else None
        if isinstance(entries, list):
            for item in entries:
                if isinstance(item, Mapping) and str(item.get("login", "")).lower() == entry.key:
                    return _resolved(item, enterprise_id)
            return None
    if _stops_the_run(answer.error):
        _fatal(answer)
    raise LookupFailedError(answer)


def _stops_the_run(error: BoxJWTError | None) -> bool:
    """A refusal every other look-up would get too (no token, no "Manage users")."""
    return isinstance(error, TokenExchangeError | InsufficientScopeError) or (
        isinstance(error, AccessDeniedError) and error.status_code == 403
    )
