"""The report: what each check found, as Python objects, a table and a JSON document.

:class:`PreflightReport` holds one :class:`CheckResult` per :class:`CheckId`, in report order;
:meth:`PreflightReport.to_dict` is the document described by the JSON schema shipped next to this
module (``preflight-report.schema.json``, :func:`report_schema`). Nothing here holds a secret.
"""

from __future__ import annotations

import enum
import json
from importlib import resources
from typing import Any, Final

import attrs

__all__ = [
    "KEYFILE_CHECKS",
    "SCHEMA_VERSION",
    "CheckEvidence",
    "CheckId",
    "CheckResult",
    "CheckStatus",
    "PreflightReport",
    "UserRef",
    "report_schema",
]

#: Version of the JSON document :meth:`PreflightReport.to_dict` returns (and of its schema).
SCHEMA_VERSION: Final = 1


class CheckStatus(enum.StrEnum):
    """The outcome of one check. ``warn`` does not make the report fail; ``skipped`` says why."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIPPED = "skipped"


class CheckId(enum.StrEnum):
    """The stable ids of the checks, in report order. Members are equal to their strings."""

    KEYFILE_PARSE = "keyfile.parse"
    KEYFILE_DECRYPT = "keyfile.decrypt"
    KEYFILE_PASSPHRASE = "keyfile.passphrase"
    KEYFILE_PERMISSIONS = "keyfile.permissions"
    KEYFILE_ENTERPRISE_ID = "keyfile.enterprise_id"
    CLOCK_SKEW = "clock.skew"
    TOKEN_ENTERPRISE = "token.enterprise"
    IDENTITY_SERVICE_ACCOUNT = "identity.service_account"
    SCOPE_MANAGE_USERS = "scope.manage_users"
    ACCESS_ENTERPRISE = "access.enterprise"
    SCOPE_READ = "scope.read"
    SCOPE_WRITE = "scope.write"
    FEATURE_AS_USER = "feature.as_user"
    FEATURE_USER_TOKENS = "feature.user_tokens"
    SCOPE_MANAGE_GROUPS = "scope.manage_groups"
    SCOPE_ENTERPRISE_PROPERTIES = "scope.enterprise_properties"


#: The checks whose failure means the key file itself cannot be used (the CLI exits 2).
KEYFILE_CHECKS: Final = frozenset(
    {CheckId.KEYFILE_PARSE, CheckId.KEYFILE_DECRYPT, CheckId.KEYFILE_ENTERPRISE_ID}
)


@attrs.frozen(kw_only=True)
class CheckEvidence:
    """What Box answered to one request of a check (never a secret).

    ``request`` is what was sent (``"GET /2.0/users/me?fields=id (As-User: 123)"``),
    ``status_code`` the HTTP status (None: no answer), ``error`` Box's error code
    (JSON ``code``, ``WWW-Authenticate`` ``error`` or OAuth ``error``), ``error_description``
    Box's words (JSON ``message`` or ``error_description``), ``request_id`` the id to give Box
    Support (``request_id`` or the ``box-request-id`` header).
    """

    request: str
    status_code: int | None = None
    error: str | None = None
    error_description: str | None = None
    request_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see ``preflight-report.schema.json``)."""
        return {
            "request": self.request,
            "status_code": self.status_code,
            "error": self.error,
            "error_description": self.error_description,
            "request_id": self.request_id,
        }

    def __str__(self) -> str:
        answer = "no answer" if self.status_code is None else f"HTTP {self.status_code}"
        if self.error:
            answer += f" {self.error}"
        if self.error_description:
            answer += f': "{self.error_description}"'
        if self.request_id:
            answer += f" (request id {self.request_id})"
        return f"{self.request} -> {answer}"


@attrs.frozen(kw_only=True)
class CheckResult:
    """The result of one check.

    ``id`` is a stable :class:`CheckId`; ``message`` says what was found (for ``skipped``: why
    the check did not run); ``remediation`` what to do, naming the console path (set for
    ``fail`` and ``warn``); ``skipped_because`` the id of the failed check that caused a skip;
    ``evidence`` Box's answers.
    """

    id: CheckId
    title: str
    status: CheckStatus
    message: str
    remediation: str | None = None
    skipped_because: CheckId | None = None
    evidence: tuple[CheckEvidence, ...] = ()

    @property
    def passed(self) -> bool:
        """True for ``pass``."""
        return self.status is CheckStatus.PASS

    @property
    def failed(self) -> bool:
        """True for ``fail``."""
        return self.status is CheckStatus.FAIL

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see ``preflight-report.schema.json``)."""
        return {
            "id": str(self.id),
            "title": self.title,
            "status": str(self.status),
            "message": self.message,
            "remediation": self.remediation,
            "skipped_because": None if self.skipped_because is None else str(self.skipped_because),
            "evidence": [e.to_dict() for e in self.evidence],
        }


@attrs.frozen(kw_only=True)
class UserRef:
    """A Box user named in a report: ``id`` and ``login``."""

    id: str
    login: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"id": ..., "login": ...}``."""
        return {"id": self.id, "login": self.login}

    def __str__(self) -> str:
        return f"{self.login} ({self.id})" if self.login else self.id


def report_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of :meth:`boxjwt.PreflightReport.to_dict` (shipped)."""
    shipped = resources.files("boxjwt.preflight").joinpath("preflight-report.schema.json")
    text = shipped.read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _version() -> str:
    from boxjwt import __version__  # noqa: PLC0415 - boxjwt imports this module

    return __version__


@attrs.frozen(kw_only=True)
class PreflightReport:
    """What :func:`preflight` found: one :class:`CheckResult` per check, in report order.

    ``ok`` is true when no check failed (warnings and skips allowed). ``str(report)`` is a
    readable table; :meth:`to_dict` the JSON document described by
    ``preflight-report.schema.json`` (:func:`report_schema`). Never contains a secret.
    """

    checks: tuple[CheckResult, ...]
    base_url: str
    source: str | None = None
    client_id: str | None = None
    enterprise_id: str | None = None
    public_key_id: str | None = None
    service_account: UserRef | None = None
    probe_user: UserRef | None = None
    #: Box's clock minus the local clock in seconds, or None when Box was not reached.
    clock_skew: float | None = None
    #: HTTP requests made (token requests included).
    request_count: int = 0

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not any(c.failed for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """The failed checks."""
        return tuple(c for c in self.checks if c.status is CheckStatus.FAIL)

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        """The checks that warn."""
        return tuple(c for c in self.checks if c.status is CheckStatus.WARN)

    def __getitem__(self, check_id: str) -> CheckResult:
        """The result of the check ``check_id`` (``KeyError`` if there is none)."""
        for check in self.checks:
            if check.id == check_id:
                return check
        raise KeyError(check_id)

    def counts(self) -> dict[str, int]:
        """How many checks have each status: ``{"pass": n, "fail": n, "warn": n, "skipped": n}``."""
        return {str(s): sum(1 for c in self.checks if c.status is s) for s in CheckStatus}

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``schema_version`` :data:`SCHEMA_VERSION`)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "boxjwt_version": _version(),
            "ok": self.ok,
            "summary": self.counts(),
            "target": {
                "base_url": self.base_url,
                "source": self.source,
                "client_id": self.client_id,
                "enterprise_id": self.enterprise_id,
                "public_key_id": self.public_key_id,
                "service_account": None
                if self.service_account is None
                else self.service_account.to_dict(),
                "probe_user": None if self.probe_user is None else self.probe_user.to_dict(),
            },
            "clock_skew_seconds": None if self.clock_skew is None else round(self.clock_skew, 3),
            "request_count": self.request_count,
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def __str__(self) -> str:
        from boxjwt.preflight._render import render_text  # noqa: PLC0415 - it imports this module

        return render_text(self)
