"""The report of :func:`boxjwt.check_users`: one :class:`UserCheck` per user, and the run.

:meth:`UserCheckReport.to_dict` is the document described by the JSON schema shipped next to
this module (``check-users-report.schema.json``, :func:`report_schema`). Nothing here holds a
secret: a user's ID, login, status and role, Box's answers (status, error code, message,
request ID) and the words of the fix.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from importlib import resources
from typing import Any, Final, Literal

import attrs

from boxjwt.preflight._model import CheckEvidence

__all__ = [
    "ALL_USERS",
    "SCHEMA_VERSION",
    "AllUsers",
    "Reason",
    "UserCheck",
    "UserCheckReport",
    "UserKind",
    "Verdict",
    "VerdictStatus",
    "report_schema",
]

#: Version of the JSON document :meth:`UserCheckReport.to_dict` returns (and of its schema).
SCHEMA_VERSION: Final = 1


class AllUsers(enum.Enum):
    """The type of :data:`ALL_USERS` (one member)."""

    ALL_USERS = "all"

    def __repr__(self) -> str:
        return "boxjwt.ALL_USERS"


#: ``check_users(auth, ALL_USERS)``: every managed user and app user of the enterprise, listed
#: from Box (``GET /2.0/users``, marker paging).
ALL_USERS: Final = AllUsers.ALL_USERS

AllUsersMarker = Literal[AllUsers.ALL_USERS]


class UserKind(enum.StrEnum):
    """What a user is to the enterprise."""

    MANAGED = "managed"
    APP_USER = "app_user"
    EXTERNAL = "external"
    SERVICE_ACCOUNT = "service_account"


class VerdictStatus(enum.StrEnum):
    """``ready``: Box lets the app act as the user; ``refused``: it does not (``reason`` says
    why); ``unknown``: Box gave no conclusive answer (an error, or the run was interrupted)."""

    READY = "ready"
    REFUSED = "refused"
    UNKNOWN = "unknown"


class Reason(enum.StrEnum):
    """Why a verdict is what it is (stable codes; new ones may be added)."""

    OK = "ok"
    NOT_FOUND = "not_found"
    INACTIVE = "inactive"
    ADMIN = "admin"
    COADMIN = "coadmin"
    EXTERNAL = "external"
    SERVICE_ACCOUNT = "service_account"
    OTHER_APP_USER = "other_app_user"
    AS_USER_DISABLED = "as_user_disabled"
    AS_USER_IGNORED = "as_user_ignored"
    ACCESS_DENIED = "access_denied"
    USER_TOKENS_DISABLED = "user_tokens_disabled"
    BOX_ERROR = "box_error"
    NOT_CHECKED = "not_checked"


@attrs.frozen(kw_only=True)
class Verdict:
    """Whether Box lets the app act as a user one way (As-User, or a user token), and why.

    ``message`` says what Box did and why, ``fix`` what to do (None when ready),
    ``evidence`` Box's answer when it refused or failed (None when ready or not asked).
    """

    status: VerdictStatus
    reason: Reason
    message: str
    fix: str | None = None
    evidence: CheckEvidence | None = None

    @property
    def ready(self) -> bool:
        """True for ``ready``."""
        return self.status is VerdictStatus.READY

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see ``check-users-report.schema.json``)."""
        return {
            "status": str(self.status),
            "reason": str(self.reason),
            "message": self.message,
            "fix": self.fix,
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
        }


@attrs.frozen(kw_only=True)
class UserCheck:
    """One user of the plan: what was asked, who Box says it is, and the verdicts.

    ``asked`` is the ID or login as given (the first time); ``also_asked`` the other entries of
    the input naming the same user (duplicates: checked once). ``found`` is False when Box knows
    no such user (then ``id``/``login``/... are None, and ``asked`` says whom), None when that
    is not known. ``user_token`` is None unless user tokens were checked.
    """

    asked: str
    #: True: Box described the user; False: Box knows no such user; None: not known (Box did
    #: not answer the look-up, or the run stopped first).
    found: bool | None
    as_user: Verdict
    user_token: Verdict | None = None
    also_asked: tuple[str, ...] = ()
    id: str | None = None
    login: str | None = None
    status: str | None = None
    role: str | None = None
    kind: UserKind | None = None

    @property
    def ready(self) -> bool:
        """True when every verdict checked is ``ready``."""
        return self.as_user.ready and (self.user_token is None or self.user_token.ready)

    @property
    def reason(self) -> Reason:
        """The first reason that is not ``ok`` (As-User first), else ``ok``."""
        for verdict in (self.as_user, self.user_token):
            if verdict is not None and not verdict.ready:
                return verdict.reason
        return Reason.OK

    def __str__(self) -> str:
        if not self.found:
            return repr(self.asked)
        return f"{self.login} ({self.id})" if self.login else str(self.id)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see ``check-users-report.schema.json``)."""
        return {
            "asked": self.asked,
            "also_asked": list(self.also_asked),
            "found": self.found,
            "id": self.id,
            "login": self.login,
            "status": self.status,
            "role": self.role,
            "kind": None if self.kind is None else str(self.kind),
            "ready": self.ready,
            "as_user": self.as_user.to_dict(),
            "user_token": None if self.user_token is None else self.user_token.to_dict(),
        }


def report_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of :meth:`boxjwt.UserCheckReport.to_dict` (shipped)."""
    shipped = resources.files("boxjwt.checkusers").joinpath("check-users-report.schema.json")
    schema: dict[str, Any] = json.loads(shipped.read_text("utf-8"))
    return schema


def _version() -> str:
    from boxjwt import __version__  # noqa: PLC0415 - boxjwt imports this module

    return __version__


@attrs.frozen(kw_only=True)
class UserCheckReport:
    """What :func:`boxjwt.check_users` found: one :class:`UserCheck` per distinct user.

    Users are in input order (for :data:`ALL_USERS`: Box's listing order). ``ok`` is true
    when the run completed and every user is ready. ``str(report)`` is a summary and the users
    who are not ready, with reason and fix; :meth:`to_dict` the JSON document
    (:func:`report_schema`); :meth:`csv_rows` one row per user.
    """

    users: tuple[UserCheck, ...]
    base_url: str
    enterprise_id: str
    all_users: bool = False
    user_tokens: bool = False
    #: False when the run was stopped before every user was checked (Ctrl-C, ``stop=``).
    complete: bool = True
    #: API requests answered (listing, look-ups, As-User calls; retries included).
    request_count: int = 0
    #: User-token requests (``POST /oauth2/token``), with ``user_tokens=True``.
    token_request_count: int = 0
    #: 429 answers Box gave (each was waited out and retried within the retry policy).
    rate_limited: int = 0

    @property
    def ok(self) -> bool:
        """True when the run completed and every user is ready."""
        return self.complete and all(u.ready for u in self.users)

    @property
    def not_ready(self) -> tuple[UserCheck, ...]:
        """The users who are not ready (refused, not found, unknown)."""
        return tuple(u for u in self.users if not u.ready)

    @property
    def duplicates(self) -> int:
        """Input entries that named a user already named (each user is checked once)."""
        return sum(len(u.also_asked) for u in self.users)

    def __getitem__(self, asked: str) -> UserCheck:
        """The check of the user asked for as ``asked`` (an ID or login; ``KeyError`` if
        none). Logins match case-insensitively."""
        wanted = asked.strip().lower()
        for user in self.users:
            names = (user.asked, *user.also_asked, user.id or "", user.login or "")
            if wanted in (n.lower() for n in names):
                return user
        raise KeyError(asked)

    def counts(self) -> dict[str, int]:
        """Users per reason (``ok`` counts the ready ones), in the order of
        :class:`~boxjwt.checkusers.Reason`."""
        found = Counter(u.reason for u in self.users)
        return {str(r): found[r] for r in Reason if found[r]}

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``schema_version`` :data:`SCHEMA_VERSION`)."""
        ready = sum(1 for u in self.users if u.ready)
        return {
            "schema_version": SCHEMA_VERSION,
            "boxjwt_version": _version(),
            "ok": self.ok,
            "complete": self.complete,
            "target": {
                "base_url": self.base_url,
                "enterprise_id": self.enterprise_id,
                "all_users": self.all_users,
                "user_tokens": self.user_tokens,
            },
            "summary": {
                "users": len(self.users),
                "ready": ready,
                "not_ready": len(self.users) - ready,
                "duplicates": self.duplicates,
                "reasons": self.counts(),
            },
            "request_count": self.request_count,
            "token_request_count": self.token_request_count,
            "rate_limited": self.rate_limited,
            "users": [u.to_dict() for u in self.users],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def csv_rows(self) -> list[list[str]]:
        """A header and one row per user (for spreadsheets)."""
        from boxjwt.checkusers._render import csv_rows  # noqa: PLC0415 - it imports this module

        return csv_rows(self)

    def __str__(self) -> str:
        from boxjwt.checkusers._render import render_text  # noqa: PLC0415 - it imports this module

        return render_text(self)
