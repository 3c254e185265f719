"""preflight(): check a Box JWT app's setup, setting by setting, and say what to fix.

No Box API reveals an app's settings, so every check infers one from Box's behaviour
(box-facts §6). :func:`preflight` runs the checks in dependency order, skips the checks whose
prerequisites failed (naming the failed one), attributes each refusal to the right setting, and
returns a :class:`PreflightReport`. It never raises for a failed check.

The checks, in report order (:class:`CheckId`; ids are stable, new ones may be added):

=============================== =============================================== ===============
id                              what it checks (probe)                          needs
=============================== =============================================== ===============
``keyfile.parse``               the file reads and is a JWT app config          --
``keyfile.decrypt``             the private key loads (passphrase right)        parse
``keyfile.passphrase``          the key is passphrase-protected (warn if not)   decrypt
``keyfile.permissions``         only the owner can read the file (warn if not)  --
``keyfile.enterprise_id``       ``enterpriseID`` is a plausible enterprise ID   parse
``clock.skew``                  Box's ``Date`` header vs the local clock        any answer
``token.enterprise``            ``POST /oauth2/token`` (enterprise subject)     decrypt, eid
``identity.service_account``    ``GET /2.0/users/me``: service account, ent.    token
``scope.manage_users``          ``GET /2.0/users``: "Manage users"              token
``access.enterprise``           managed users in that list: App + Enterprise    manage_users
``scope.read``                  ``GET /2.0/folders/0``: "Read all files..."     token
``scope.write``                 ``OPTIONS /2.0/files/content`` (creates nothing) token
``feature.as_user``             ``GET /2.0/users/me`` with ``As-User``          access
``feature.user_tokens``         a user token, then ``GET /2.0/users/me``        access
``scope.manage_groups``         ``GET /2.0/groups`` (optional: warns)           token
``scope.enterprise_properties`` ``GET /2.0/events?stream_type=admin_logs``      token
                                (optional: warns)
=============================== =============================================== ===============

A full run makes 10 requests (12 when the probe user must be looked up, or when a clock skew
costs each token exchange a retry): read-only (``GET``/``OPTIONS`` besides ``POST
/oauth2/token``), the independent probes in parallel.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import pathlib
import re
import secrets
import stat
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, Final

import attrs
import requests

from boxjwt._assertion import DEFAULT_ASSERTION_LIFETIME, MAX_ASSERTION_LIFETIME
from boxjwt._authenticator import JWTAuthenticator, _validate_timeout, _validate_url
from boxjwt._errors import api_error_from_response, retry_after_of
from boxjwt._keyfile import KeyFile
from boxjwt._private_key import collect_warnings
from boxjwt._retry import RetryPolicy
from boxjwt._secret import Secret
from boxjwt._store import MemoryTokenStore
from boxjwt._token import AccessToken
from boxjwt._token_endpoint import get_header, opt_str, server_time, transport_error
from boxjwt.exceptions import (
    AccessDeniedError,
    APIError,
    AppNotAuthorizedError,
    AssertionExpiredError,
    AssertionExpTooFarError,
    BoxJWTError,
    ConfigurationError,
    EnterpriseIDCoercedWarning,
    EnterpriseIDError,
    GrantTypeUnauthorizedError,
    InsufficientScopeError,
    InvalidClientCredentialsError,
    InvalidGrantTypeError,
    InvalidPEMError,
    InvalidSubjectError,
    IssuerMismatchError,
    KeyFileError,
    KeyFileFieldError,
    KeyFileNotFoundError,
    KeyFileNotReadableError,
    NoPublicKeyError,
    NotAJWTAppError,
    NotFoundError,
    PassphraseRequiredError,
    PrivateKeyError,
    PrivateKeyMissingError,
    PublicKeyNotFoundError,
    SignatureMismatchError,
    TokenExchangeError,
    TokenRateLimitedError,
    TokenServerError,
    TransportError,
    UnsupportedKeyTypeError,
    UserTokenNotAllowedError,
    WeakKeyError,
    WrongPassphraseError,
)

__all__ = [
    "CLOCK_FAIL_AHEAD_SECONDS",
    "CLOCK_FAIL_BEHIND_SECONDS",
    "CLOCK_WARN_SECONDS",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "REAUTHORIZE_HINT",
    "SCHEMA_VERSION",
    "CheckEvidence",
    "CheckId",
    "CheckResult",
    "CheckStatus",
    "PreflightReport",
    "UserRef",
    "preflight",
    "render_text",
    "report_schema",
]

_log = logging.getLogger("boxjwt.preflight")

#: Version of the JSON document :meth:`PreflightReport.to_dict` returns (and of its schema).
SCHEMA_VERSION: Final = 1
#: ``(connect, read)`` seconds for each request: preflight must be quick.
DEFAULT_TIMEOUT: Final = (5.0, 20.0)
#: Transient failures (429, 5xx, connection errors) are retried once, briefly: preflight must
#: be quick.
DEFAULT_RETRY: Final = RetryPolicy(
    max_attempts=2, max_total_time=10.0, max_retry_after=5.0, backoff_base=0.5, backoff_max=2.0
)
#: Probes run at most this many at a time.
DEFAULT_CONCURRENCY: Final = 6
#: A clock this far from Box's (either way) is reported as a warning.
CLOCK_WARN_SECONDS: Final = 5.0
#: A local clock this far behind Box's makes a ``now + 30 s`` assertion arrive expired.
CLOCK_FAIL_BEHIND_SECONDS: Final = float(DEFAULT_ASSERTION_LIFETIME)
#: A local clock this far ahead of Box's makes a ``now + 30 s`` ``exp`` exceed Box's 60 s limit.
CLOCK_FAIL_AHEAD_SECONDS: Final = float(MAX_ASSERTION_LIFETIME - DEFAULT_ASSERTION_LIFETIME)

_USERS_LIMIT: Final = 1000
_USER_FIELDS: Final = "id,login,role,status,is_platform_access_only"
_SERVICE_ACCOUNT_LOGIN: Final = re.compile(r"^AutomationUser_\d+_\w+@boxdevedition\.com$", re.I)

# --------------------------------------------------------------------------- console paths

_DEV: Final = "Developer Console > your app > Configuration"
_PLATFORM_APPS: Final = (
    "Admin Console > Integrations > Platform Apps Manager > Server Authentication Apps"
)
#: Appended to every failed setting check: Box applies setting changes only on re-authorization.
REAUTHORIZE_HINT: Final = (
    "If it is already set that way, the app has not been re-authorized since the change: "
    "scopes, the access level and advanced features take effect only after a Box admin "
    f're-authorizes the app ({_PLATFORM_APPS} > the app\'s "..." menu > Reauthorize App).'
)
_NEW_KEYPAIR: Final = (
    f"{_DEV} > Add and Manage Public Keys > Generate a Public/Private Keypair downloads a new "
    "config with a working key (2-Step Verification must be on for the admin's account)."
)


def _setting_fix(action: str) -> str:
    return f"{action}, then Save Changes. {REAUTHORIZE_HINT}"


_FIX_MANAGE_USERS: Final = _setting_fix(
    f'{_DEV} > Application Scopes > Administrative Actions: check "Manage users"'
)
_FIX_ACCESS: Final = _setting_fix(f'{_DEV} > App Access Level: choose "App + Enterprise Access"')
_FIX_READ: Final = _setting_fix(
    f'{_DEV} > Application Scopes > Content Actions: check "Read all files and folders stored '
    'in Box"'
)
_FIX_WRITE: Final = _setting_fix(
    f'{_DEV} > Application Scopes > Content Actions: check "Write all files and folders stored '
    'in Box"'
)
_FIX_AS_USER: Final = _setting_fix(
    f'{_DEV} > Advanced Features: enable "Make API calls using the as-user header"'
)
_FIX_USER_TOKENS: Final = _setting_fix(
    f'{_DEV} > Advanced Features: enable "Generate user access tokens"'
)
_FIX_GROUPS: Final = _setting_fix(
    f'{_DEV} > Application Scopes > Administrative Actions: check "Manage groups"'
)
_FIX_ENTERPRISE_PROPERTIES: Final = _setting_fix(
    f'{_DEV} > Application Scopes > Administrative Actions: check "Manage enterprise properties"'
)
_FIX_CLOCK: Final = (
    "Synchronise this machine's clock with NTP (Linux: `timedatectl set-ntp true`; Windows: "
    "Settings > Time & language > Sync now; macOS: System Settings > General > Date & Time). "
    "boxjwt corrects for the skew using Box's Date header, but other tools and SDKs do not, and "
    "Box refuses assertions whose exp is not within 60 s after its own time."
)
_FIX_NETWORK: Final = (
    "Box could not be reached or could not answer: check the network, proxies "
    "(HTTPS_PROXY) and the base URL (https://api.box.com), then run preflight again."
)

# --------------------------------------------------------------------------- model


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


@attrs.frozen(kw_only=True)
class _Spec:
    title: str
    requires: tuple[CheckId, ...] = ()


_SPECS: Final[dict[CheckId, _Spec]] = {
    CheckId.KEYFILE_PARSE: _Spec(title="Key file is a readable JWT app config"),
    CheckId.KEYFILE_DECRYPT: _Spec(title="Private key loads", requires=(CheckId.KEYFILE_PARSE,)),
    CheckId.KEYFILE_PASSPHRASE: _Spec(
        title="Private key is passphrase-protected", requires=(CheckId.KEYFILE_DECRYPT,)
    ),
    CheckId.KEYFILE_PERMISSIONS: _Spec(title="Key file is private to its owner"),
    CheckId.KEYFILE_ENTERPRISE_ID: _Spec(
        title="enterpriseID is plausible", requires=(CheckId.KEYFILE_PARSE,)
    ),
    CheckId.CLOCK_SKEW: _Spec(title="Local clock agrees with Box's"),
    CheckId.TOKEN_ENTERPRISE: _Spec(
        title="Enterprise token (app authorized, credentials, key)",
        requires=(CheckId.KEYFILE_DECRYPT, CheckId.KEYFILE_ENTERPRISE_ID),
    ),
    CheckId.IDENTITY_SERVICE_ACCOUNT: _Spec(
        title="Service account of this enterprise", requires=(CheckId.TOKEN_ENTERPRISE,)
    ),
    CheckId.SCOPE_MANAGE_USERS: _Spec(
        title='Scope "Manage users"', requires=(CheckId.TOKEN_ENTERPRISE,)
    ),
    CheckId.ACCESS_ENTERPRISE: _Spec(
        title='App Access Level "App + Enterprise Access"',
        requires=(CheckId.SCOPE_MANAGE_USERS,),
    ),
    CheckId.SCOPE_READ: _Spec(
        title='Scope "Read all files and folders"', requires=(CheckId.TOKEN_ENTERPRISE,)
    ),
    CheckId.SCOPE_WRITE: _Spec(
        title='Scope "Write all files and folders"', requires=(CheckId.TOKEN_ENTERPRISE,)
    ),
    CheckId.FEATURE_AS_USER: _Spec(
        title='Advanced feature "Make API calls using the as-user header"',
        requires=(CheckId.ACCESS_ENTERPRISE,),
    ),
    CheckId.FEATURE_USER_TOKENS: _Spec(
        title='Advanced feature "Generate user access tokens"',
        requires=(CheckId.ACCESS_ENTERPRISE,),
    ),
    CheckId.SCOPE_MANAGE_GROUPS: _Spec(
        title='Scope "Manage groups" (optional)', requires=(CheckId.TOKEN_ENTERPRISE,)
    ),
    CheckId.SCOPE_ENTERPRISE_PROPERTIES: _Spec(
        title='Scope "Manage enterprise properties" (optional)',
        requires=(CheckId.TOKEN_ENTERPRISE,),
    ),
}


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
    """The JSON schema (draft 2020-12) of :meth:`PreflightReport.to_dict`, shipped with boxjwt."""
    text = resources.files("boxjwt").joinpath("preflight-report.schema.json").read_text("utf-8")
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
        return render_text(self)


# --------------------------------------------------------------------------- text rendering

_COLORS: Final = {
    CheckStatus.PASS: "\x1b[32m",
    CheckStatus.FAIL: "\x1b[1;31m",
    CheckStatus.WARN: "\x1b[33m",
    CheckStatus.SKIPPED: "\x1b[2m",
}
_RESET: Final = "\x1b[0m"


def _wrap(text: str, indent: str, width: int, first: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        width=max(width, len(indent) + 30),
        initial_indent=indent + first,
        subsequent_indent=indent + " " * len(first),
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_text(report: PreflightReport, *, color: bool = False, width: int = 100) -> str:
    """The report as an aligned table: status, check id, title; under every check that did
    not pass, what was found, the fix and Box's answers. ``color`` adds ANSI colours."""
    lines = [f"Box JWT preflight of {report.source or 'the key file'}"]
    target = [f"Box at {report.base_url}"]
    if report.client_id:
        target.append(f"client ID {report.client_id}")
    if report.enterprise_id:
        target.append(f"enterprise {report.enterprise_id}")
    lines.append("  " + ", ".join(target))
    if report.service_account is not None:
        lines.append(f"  service account {report.service_account}")
    if report.probe_user is not None:
        lines.append(f"  probe user {report.probe_user}")
    lines.append("")
    id_width = max(len(str(c.id)) for c in report.checks) if report.checks else 5
    status_width = max(len(s.value) for s in CheckStatus)
    lines.append(f"  {'STATUS':<{status_width}}  {'CHECK':<{id_width}}  TITLE")
    indent = " " * (2 + status_width + 2)
    for check in report.checks:
        label = check.status.value.upper() if check.failed else check.status.value
        cell = f"{label:<{status_width}}"
        if color:
            cell = f"{_COLORS[check.status]}{cell}{_RESET}"
        lines.append(f"  {cell}  {check.id!s:<{id_width}}  {check.title}")
        if check.passed:
            continue
        lines.extend(_wrap(check.message, indent, width))
        if check.remediation and check.status in (CheckStatus.FAIL, CheckStatus.WARN):
            lines.extend(_wrap(check.remediation, indent, width, first="Fix: "))
        for evidence in check.evidence:
            lines.extend(_wrap(str(evidence), indent, width, first="Box: "))
    counts = report.counts()
    lines.append("")
    verdict = "OK" if report.ok else "FAILED"
    lines.append(
        f"{verdict}: {counts['pass']} passed, {counts['fail']} failed, {counts['warn']} "
        f"warning(s), {counts['skipped']} skipped ({report.request_count} request(s) to Box)"
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- HTTP plumbing


@attrs.frozen
class _Answer:
    """One API answer (or the failure to get one)."""

    evidence: CheckEvidence
    response: requests.Response | None = None
    error: BoxJWTError | None = None

    @property
    def status(self) -> int | None:
        return None if self.response is None else self.response.status_code

    def json(self) -> dict[str, Any] | None:
        """The JSON object of a 200 answer, else None."""
        if self.response is None or self.response.status_code != 200:
            return None
        try:
            data = self.response.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def _api_evidence(
    request: str, response: requests.Response, error: BoxJWTError | None
) -> CheckEvidence:
    """What ``response`` showed, in Box's own words, from the error that describes it."""
    code: str | None = None
    description: str | None = None
    request_id = get_header(response.headers, "box-request-id")
    if isinstance(error, APIError):
        code, description = error.code, error.box_message
        request_id = error.request_id or request_id
    elif isinstance(error, TokenExchangeError):
        code, description = error.error, error.error_description
        request_id = error.request_id or request_id
    return CheckEvidence(
        request=request,
        status_code=response.status_code,
        error=code,
        error_description=description,
        request_id=request_id,
    )


def _token_evidence(subject: str, exc: BoxJWTError) -> CheckEvidence:
    request = f"POST /oauth2/token ({subject})"
    if isinstance(exc, TokenExchangeError):
        return CheckEvidence(
            request=request,
            status_code=exc.status_code,
            error=exc.error,
            error_description=exc.error_description,
            request_id=exc.request_id,
        )
    return CheckEvidence(request=request, error_description=str(exc))


class _Http:
    """Sessions (one per thread) that count requests and sample Box's ``Date`` header."""

    def __init__(
        self,
        clock: Callable[[], float],
        timeout: float | tuple[float, float],
        retry: RetryPolicy,
    ) -> None:
        self._clock = clock
        self._timeout = timeout
        self._retry = retry
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self.request_count = 0
        self.skews: list[float] = []

    def _hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        now = self._clock()
        box = server_time(response.headers)
        with self._lock:
            self.request_count += 1
            if box is not None:
                # Date has one-second resolution (truncated): Box's time is within [D, D + 1).
                self.skews.append(box + 0.5 - now)
        return response

    def new_session(self) -> requests.Session:
        session = requests.Session()
        session.hooks["response"].append(self._hook)
        with self._lock:
            self._sessions.append(session)
        return session

    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self.new_session()
            self._local.session = session
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def skew(self) -> float | None:
        with self._lock:
            samples = sorted(self.skews)
        if not samples:
            return None
        return samples[len(samples) // 2]

    def call(
        self,
        method: str,
        url: str,
        shown: str,
        *,
        token: AccessToken,
        as_user: str | None = None,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
    ) -> _Answer:
        headers = {"Authorization": token.authorization_header(), "Accept": "application/json"}
        if as_user is not None:
            headers["As-User"] = as_user
            shown = f"{shown} (As-User: {as_user})"

        def send() -> requests.Response:
            try:
                return self.session().request(
                    method,
                    url,
                    params=dict(params or {}),
                    json=json_body,
                    headers=headers,
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise transport_error(exc, method, url) from None

        try:
            response = self._retry.run(
                send,
                retry_result=lambda r: r.status_code == 429 or r.status_code >= 500,
                retry_after=retry_after_of,
            )
        except TransportError as exc:
            return _Answer(CheckEvidence(request=shown, error_description=exc.message), error=exc)
        error = api_error_from_response(response) if response.status_code >= 400 else None
        return _Answer(_api_evidence(shown, response, error), response, error)


# --------------------------------------------------------------------------- the run


@attrs.define
class _User:
    id: str
    login: str | None
    role: str | None
    status: str | None
    platform_only: bool | None

    @classmethod
    def parse(cls, entry: object) -> _User | None:
        if not isinstance(entry, Mapping) or not opt_str(entry.get("id")):
            return None
        platform = entry.get("is_platform_access_only")
        return cls(
            id=str(entry["id"]),
            login=opt_str(entry.get("login")),
            role=opt_str(entry.get("role")),
            status=opt_str(entry.get("status")),
            platform_only=platform if isinstance(platform, bool) else None,
        )

    @property
    def is_service_account(self) -> bool:
        return bool(self.login and _SERVICE_ACCOUNT_LOGIN.match(self.login))

    @property
    def managed(self) -> bool:
        return self.platform_only is False and not self.is_service_account

    @property
    def suitable(self) -> bool:
        """An active managed non-admin user: a safe As-User / user-token target."""
        return self.managed and self.status == "active" and self.role == "user"

    def ref(self) -> UserRef:
        return UserRef(id=self.id, login=self.login)


KeyFileArg = KeyFile | str | os.PathLike[str]


class _Run:
    def __init__(
        self,
        *,
        base_url: str,
        probe_user: str | None,
        timeout: float | tuple[float, float],
        concurrency: int,
        clock: Callable[[], float],
        retry: RetryPolicy,
    ) -> None:
        self.base_url = base_url
        self.probe_arg = probe_user
        self.timeout = timeout
        self.concurrency = concurrency
        self.clock = clock
        self.retry = retry
        self.http = _Http(clock, timeout, self.retry)
        self.results: dict[CheckId, CheckResult] = {}
        self.keyfile: KeyFile | None = None
        self.source: str | None = None
        self.config_paths: list[pathlib.Path] = []
        self.eid_coerced = False
        self.auth: JWTAuthenticator | None = None
        self.token: AccessToken | None = None
        self.me: _User | None = None
        self.me_enterprise: str | None = None
        self.users: list[_User] | None = None
        self.probe: _User | None = None
        self.probe_note: str | None = None

    # ------------------------------------------------------------------ bookkeeping

    def put(
        self,
        cid: CheckId,
        status: CheckStatus,
        message: str,
        *,
        remediation: str | None = None,
        evidence: Iterable[CheckEvidence] = (),
        skipped_because: CheckId | None = None,
    ) -> CheckResult:
        result = CheckResult(
            id=cid,
            title=_SPECS[cid].title,
            status=status,
            message=message,
            remediation=remediation,
            skipped_because=skipped_because,
            evidence=tuple(evidence),
        )
        self.results[cid] = result
        return result

    def blocked(self, cid: CheckId) -> bool:
        """Record ``cid`` as skipped (and return True) when a prerequisite did not pass."""
        for dep in _SPECS[cid].requires:
            prior = self.results[dep]
            if prior.status in (CheckStatus.FAIL, CheckStatus.SKIPPED):
                root = prior.skipped_because or dep
                how = "failed" if prior.failed else f"was skipped because {root} failed"
                self.put(
                    cid,
                    CheckStatus.SKIPPED,
                    f"Not checked: it needs {dep}, which {how}.",
                    skipped_because=root,
                )
                return True
        return False

    def parallel(self, jobs: Sequence[tuple[CheckId, Callable[[], None]]]) -> None:
        runnable = [(cid, fn) for cid, fn in jobs if not self.blocked(cid)]
        if not runnable:
            return
        if self.concurrency <= 1 or len(runnable) == 1:
            for _, fn in runnable:
                fn()
            return
        with ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(runnable)), thread_name_prefix="boxjwt-preflight"
        ) as pool:
            futures = [pool.submit(fn) for _, fn in runnable]
            for future in futures:
                future.result()  # re-raises programming errors

    def api(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        as_user: str | None = None,
        token: AccessToken | None = None,
        json_body: object = None,
    ) -> _Answer:
        assert self.auth is not None  # noqa: S101 - only called after the token check passed
        use = token if token is not None else self.token
        assert use is not None  # noqa: S101
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        shown = f"{method} /2.0{path}" + (f"?{query}" if query else "")
        return self.http.call(
            method,
            f"{self.auth.api_url}{path}",
            shown,
            token=use,
            as_user=as_user,
            params=params,
            json_body=json_body,
        )

    # ------------------------------------------------------------------ local checks

    def load(
        self,
        keyfile: KeyFileArg,
        passphrase: str | bytes | Secret | None,
        private_key_path: str | os.PathLike[str] | None,
    ) -> None:
        if isinstance(keyfile, KeyFile):
            self.keyfile = keyfile
            self.source = keyfile.source
            if keyfile.path is not None:
                self.config_paths.append(keyfile.path)
            self.put(
                CheckId.KEYFILE_PARSE,
                CheckStatus.PASS,
                f"Loaded from {keyfile.source}: client ID {keyfile.client_id}, publicKeyID "
                f"{keyfile.public_key_id}.",
            )
            self._after_load()
            return
        path = pathlib.Path(keyfile)
        self.source = os.fspath(keyfile)
        self.config_paths.append(path)
        if private_key_path is not None:
            self.config_paths.append(pathlib.Path(private_key_path))
        try:
            with collect_warnings() as caught:
                self.keyfile = KeyFile.from_file(
                    path, passphrase=passphrase, private_key_path=private_key_path
                )
        except (EnterpriseIDError, KeyFileFieldError) as exc:
            if isinstance(exc, KeyFileFieldError) and not (
                exc.problems and all(p == "enterpriseID" for p, _ in exc.problems)
            ):
                self._parse_failed(exc)
                return
            self._parse_ok(path)
            self.put(
                CheckId.KEYFILE_ENTERPRISE_ID,
                CheckStatus.FAIL,
                _keyfile_message(exc),
                remediation=_FIX_ENTERPRISE_ID,
            )
            self._decrypt_despite_enterprise_id(path, passphrase, private_key_path)
            return
        except PrivateKeyError as exc:
            self._parse_ok(path)
            self._decrypt_failed(exc)
            self.put(
                CheckId.KEYFILE_ENTERPRISE_ID,
                CheckStatus.PASS,
                "enterpriseID is a string of digits (the key failed to load, so it was not used).",
            )
            return
        except KeyFileError as exc:
            self._parse_failed(exc)
            return
        self.eid_coerced = any(isinstance(w, EnterpriseIDCoercedWarning) for w in caught)
        kf = self.keyfile
        self.put(
            CheckId.KEYFILE_PARSE,
            CheckStatus.PASS,
            f"{self.source} is a JWT app config: client ID {kf.client_id}, publicKeyID "
            f"{kf.public_key_id}.",
        )
        self._after_load()

    def _parse_ok(self, path: pathlib.Path) -> None:
        self.put(
            CheckId.KEYFILE_PARSE,
            CheckStatus.PASS,
            f"{os.fspath(path)} is a JWT app config with every required field.",
        )

    def _parse_failed(self, exc: KeyFileError) -> None:
        self.put(
            CheckId.KEYFILE_PARSE,
            CheckStatus.FAIL,
            _keyfile_message(exc),
            remediation=_keyfile_fix(exc),
        )
        for cid in (
            CheckId.KEYFILE_DECRYPT,
            CheckId.KEYFILE_PASSPHRASE,
            CheckId.KEYFILE_ENTERPRISE_ID,
        ):
            self.blocked(cid)

    def _decrypt_failed(self, exc: PrivateKeyError) -> None:
        self.put(
            CheckId.KEYFILE_DECRYPT,
            CheckStatus.FAIL,
            _keyfile_message(exc),
            remediation=_keyfile_fix(exc),
        )
        self.blocked(CheckId.KEYFILE_PASSPHRASE)

    def _decrypt_despite_enterprise_id(
        self,
        path: pathlib.Path,
        passphrase: str | bytes | Secret | None,
        private_key_path: str | os.PathLike[str] | None,
    ) -> None:
        """The enterprise ID is bad; still say whether the key loads (with a stand-in ID)."""
        try:
            data = json.loads(path.read_text("utf-8-sig"), strict=False)
            data["enterpriseID"] = "1"
            with collect_warnings():  # already reported as checks
                loaded = KeyFile.from_dict(
                    data, passphrase=passphrase, private_key_path=private_key_path
                )
        except PrivateKeyError as exc:
            self._decrypt_failed(exc)
            return
        except (KeyFileError, OSError, ValueError):  # pragma: no cover - the file changed meanwhile
            self.put(
                CheckId.KEYFILE_DECRYPT,
                CheckStatus.SKIPPED,
                "Not checked: the key file changed while it was being read.",
            )
            self.blocked(CheckId.KEYFILE_PASSPHRASE)
            return
        self._key_ok(loaded)

    def _after_load(self) -> None:
        kf = self.keyfile
        assert kf is not None  # noqa: S101
        self._key_ok(kf)
        if self.eid_coerced:
            self.put(
                CheckId.KEYFILE_ENTERPRISE_ID,
                CheckStatus.WARN,
                f"enterpriseID is the JSON number {kf.enterprise_id}; Box needs a string, so "
                "boxjwt used the string, but other tools send it as a bad 'sub' claim.",
                remediation=f'Quote it in the key file: "enterpriseID": "{kf.enterprise_id}".',
            )
        else:
            self.put(
                CheckId.KEYFILE_ENTERPRISE_ID,
                CheckStatus.PASS,
                f"enterpriseID {kf.enterprise_id} is a string of digits.",
            )

    def _key_ok(self, kf: KeyFile) -> None:
        self.put(
            CheckId.KEYFILE_DECRYPT,
            CheckStatus.PASS,
            f"The RSA-{kf.private_key().key_size} private key loads"
            + (" with its passphrase." if kf.key_encrypted else "."),
        )
        if kf.key_encrypted:
            self.put(
                CheckId.KEYFILE_PASSPHRASE,
                CheckStatus.PASS,
                "The private key is stored encrypted (passphrase-protected).",
            )
        else:
            self.put(
                CheckId.KEYFILE_PASSPHRASE,
                CheckStatus.WARN,
                "The private key is stored unencrypted: anyone who can read it can act as the "
                "app in the whole enterprise.",
                remediation=(
                    "Encrypt it (`openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out "
                    "encrypted.pem`) and supply the passphrase separately (BOXJWT_PASSPHRASE), "
                    f"or use a config from {_NEW_KEYPAIR}"
                ),
            )

    def check_permissions(self) -> None:
        cid = CheckId.KEYFILE_PERMISSIONS
        if not self.config_paths:
            self.put(
                cid,
                CheckStatus.SKIPPED,
                f"Not checked: the config did not come from a file ({self.source}).",
            )
            return
        if os.name != "posix":  # pragma: no cover - POSIX permission bits only
            self.put(cid, CheckStatus.SKIPPED, "Not checked: file modes are POSIX-only.")
            return
        loose: list[str] = []
        for path in self.config_paths:
            try:
                mode = path.stat().st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode) and mode & 0o077:
                loose.append(f"{os.fspath(path)} (mode {stat.S_IMODE(mode):04o})")
        checked = [p for p in self.config_paths if p.exists()]
        if not checked:
            self.put(cid, CheckStatus.SKIPPED, "Not checked: the key file does not exist.")
        elif loose:
            self.put(
                cid,
                CheckStatus.WARN,
                f"Group or others can access {', '.join(loose)}; it holds the app's secrets.",
                remediation="Restrict it to its owner: "
                + " ".join(f"`chmod 600 {os.fspath(p)}`" for p in checked),
            )
        else:
            names = ", ".join(os.fspath(p) for p in checked)
            self.put(cid, CheckStatus.PASS, f"Only its owner can access {names}.")

    # ------------------------------------------------------------------ token

    def check_token(self) -> None:
        cid = CheckId.TOKEN_ENTERPRISE
        if self.blocked(cid):
            return
        kf = self.keyfile
        assert kf is not None  # noqa: S101
        self.auth = JWTAuthenticator(
            kf,
            base_url=self.base_url,
            timeout=self.timeout,
            retry=self.retry,
            token_store=MemoryTokenStore(),
            clock=self.clock,
            session=self.http.new_session(),
        )
        try:
            self.token = self.auth.enterprise_token()
        except (TokenExchangeError, TransportError) as exc:
            message, fix = _token_failure(exc, kf, self.base_url)
            self.put(
                cid,
                CheckStatus.FAIL,
                message,
                remediation=fix,
                evidence=[_token_evidence(f"box_sub_type=enterprise, sub={kf.enterprise_id}", exc)],
            )
            return
        corrected = self.auth.clock_offset != 0
        self.put(
            cid,
            CheckStatus.PASS,
            f"Box issued the service account's token for enterprise {kf.enterprise_id}: the app "
            "is authorized, and the client secret and key pair are right"
            + (
                " (after boxjwt corrected the assertion for this machine's clock, see clock.skew)."
                if corrected
                else "."
            ),
            evidence=[
                CheckEvidence(
                    request=f"POST /oauth2/token (box_sub_type=enterprise, sub={kf.enterprise_id})",
                    status_code=200,
                )
            ],
        )

    # ------------------------------------------------------------------ enterprise probes

    def check_identity(self) -> None:
        cid = CheckId.IDENTITY_SERVICE_ACCOUNT
        answer = self.api("GET", "/users/me", params={"fields": "id,name,login,enterprise"})
        data = answer.json()
        user = _User.parse(data)
        if data is None or user is None:
            self.put(
                cid,
                CheckStatus.FAIL,
                "Box did not return the token's user.",
                remediation=_FIX_NETWORK,
                evidence=[answer.evidence],
            )
            return
        self.me = user
        enterprise = data.get("enterprise")
        self.me_enterprise = (
            opt_str(enterprise.get("id")) if isinstance(enterprise, Mapping) else None
        )
        kf = self.keyfile
        assert kf is not None  # noqa: S101
        shown = f"{user.login} ({user.id})"
        if self.me_enterprise != kf.enterprise_id:
            self.put(
                cid,
                CheckStatus.FAIL,
                f"The token acts as {shown} of enterprise {self.me_enterprise or '(none)'}, but "
                f"the key file says enterprise {kf.enterprise_id}: the config belongs to another "
                "enterprise.",
                remediation=(
                    "Use the key file of the app authorized in your enterprise, or correct "
                    "enterpriseID (Admin Console > Account & Billing > Account Information "
                    "shows your Enterprise ID)."
                ),
                evidence=[answer.evidence],
            )
        elif not user.is_service_account:
            self.put(
                cid,
                CheckStatus.WARN,
                f"The enterprise token acts as {shown}, not as a service account "
                "(AutomationUser_...@boxdevedition.com).",
                remediation=(
                    "Expected for a Server Authentication (JWT) app's enterprise token only "
                    "with a service account; check that this is the right app's config."
                ),
                evidence=[answer.evidence],
            )
        else:
            self.put(
                cid,
                CheckStatus.PASS,
                f"The token acts as the service account {shown} of enterprise {kf.enterprise_id}.",
                evidence=[answer.evidence],
            )

    def check_users(self) -> None:
        answer = self.api(
            "GET", "/users", params={"limit": str(_USERS_LIMIT), "fields": _USER_FIELDS}
        )
        data = answer.json()
        entries = data.get("entries") if data is not None else None
        if isinstance(entries, list):
            self.users = [u for u in (_User.parse(e) for e in entries) if u is not None]
            self.put(
                CheckId.SCOPE_MANAGE_USERS,
                CheckStatus.PASS,
                f"The service account can list the enterprise's users ({len(self.users)} "
                "returned).",
                evidence=[answer.evidence],
            )
            return
        if isinstance(answer.error, InsufficientScopeError):
            self.put(
                CheckId.SCOPE_MANAGE_USERS,
                CheckStatus.FAIL,
                'Box refused to list users (403 insufficient_scope): the app lacks the "Manage '
                'users" scope.',
                remediation=_FIX_MANAGE_USERS,
                evidence=[answer.evidence],
            )
            return
        self.put(
            CheckId.SCOPE_MANAGE_USERS,
            CheckStatus.FAIL,
            "Box did not list the users" + _unexpected(answer),
            remediation=_fallback_fix(answer, _FIX_MANAGE_USERS),
            evidence=[answer.evidence],
        )

    def check_access(self) -> None:
        cid = CheckId.ACCESS_ENTERPRISE
        users = self.users or []
        evidence = self.results[CheckId.SCOPE_MANAGE_USERS].evidence
        managed = [u for u in users if u.managed]
        if managed:
            self.put(
                cid,
                CheckStatus.PASS,
                f"The app sees {len(managed)} managed user(s) of the enterprise: it has App + "
                "Enterprise Access.",
                evidence=evidence,
            )
            return
        app_users = sum(1 for u in users if u.platform_only)
        self.put(
            cid,
            CheckStatus.FAIL,
            f"The user list holds no managed user ({app_users} app user(s) only), yet every "
            "enterprise has at least its primary admin: the app runs with App Access Only, so it "
            "can neither see nor act as the enterprise's users.",
            remediation=_FIX_ACCESS,
            evidence=evidence,
        )

    def check_scope(
        self,
        cid: CheckId,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        ok_statuses: Iterable[int] = (200,),
        what: str,
        fix: str,
        optional: bool = False,
    ) -> None:
        answer = self.api(method, path, params=params, json_body=json_body)
        if answer.status in set(ok_statuses):
            self.put(cid, CheckStatus.PASS, f"Box allowed {what}.", evidence=[answer.evidence])
            return
        bad = CheckStatus.WARN if optional else CheckStatus.FAIL
        scope = _SPECS[cid].title.removesuffix(" (optional)")
        if isinstance(answer.error, InsufficientScopeError):
            message = (
                f"Box refused {what} (403 insufficient_scope): the app lacks the "
                f"{scope.removeprefix('Scope ')} scope."
            )
            if optional:
                message += " Only needed if you use it."
            self.put(cid, bad, message, remediation=fix, evidence=[answer.evidence])
            return
        self.put(
            cid,
            CheckStatus.FAIL,
            f"Box did not allow {what}" + _unexpected(answer),
            remediation=_fallback_fix(answer, fix),
            evidence=[answer.evidence],
        )

    # ------------------------------------------------------------------ probe user

    def choose_probe_user(self) -> None:
        """Pick the As-User / user-token target (after the user list was fetched)."""
        if self.results[CheckId.ACCESS_ENTERPRISE].status is not CheckStatus.PASS:
            return
        users = self.users or []
        me_id = self.me.id if self.me is not None else None
        if self.probe_arg is None:
            candidates = [u for u in users if u.suitable and u.id != me_id]
            if candidates:
                self.probe = candidates[0]
            else:
                self.probe_note = (
                    f"no active managed non-admin user among the {len(users)} user(s) listed "
                    "to test with; name one with probe_user= (--probe-user ID|LOGIN)"
                )
            return
        wanted = self.probe_arg
        by_id = wanted.isdigit()
        for user in users:
            if (by_id and user.id == wanted) or (
                not by_id and (user.login or "").lower() == wanted.lower()
            ):
                self.probe = user
                break
        else:
            if by_id:
                answer = self.api("GET", f"/users/{wanted}", params={"fields": _USER_FIELDS})
                found = _User.parse(answer.json())
            else:
                answer = self.api(
                    "GET", "/users", params={"filter_term": wanted, "fields": _USER_FIELDS}
                )
                data = answer.json()
                entries = data.get("entries") if data is not None else None
                matches = [
                    u
                    for u in (
                        _User.parse(e) for e in (entries if isinstance(entries, list) else [])
                    )
                    if u is not None and (u.login or "").lower() == wanted.lower()
                ]
                found = matches[0] if matches else None
            if found is None:
                self.probe_note = f"the probe user {wanted!r} was not found in the enterprise"
                return
            self.probe = found
        if self.probe.id == me_id or self.probe.is_service_account:
            self.probe_note = (
                f"the probe user {self.probe.ref()} is the service account, which Box never lets "
                "act as itself; name a managed user"
            )
            self.probe = None

    def _probe_skip(self, cid: CheckId) -> bool:
        if self.blocked(cid):
            return True
        if self.probe is None:
            self.put(cid, CheckStatus.SKIPPED, f"Not checked: {self.probe_note}.")
            return True
        return False

    def _probe_caveat(self) -> str | None:
        """Why the chosen probe user may be refused for reasons other than the setting."""
        probe = self.probe
        assert probe is not None  # noqa: S101
        if probe.role in ("admin", "coadmin"):
            return f"the probe user {probe.ref()} is an {probe.role}"
        if probe.platform_only:
            return f"the probe user {probe.ref()} is an app user"
        if probe.status != "active":
            return f"the probe user {probe.ref()} is {probe.status or 'not active'}"
        return None

    def check_as_user(self) -> None:
        cid = CheckId.FEATURE_AS_USER
        probe = self.probe
        assert probe is not None  # noqa: S101
        answer = self.api("GET", "/users/me", params={"fields": "id,login"}, as_user=probe.id)
        data = answer.json()
        if data is not None:
            acted = opt_str(data.get("id"))
            if acted == probe.id:
                self.put(
                    cid,
                    CheckStatus.PASS,
                    f"The service account can act as {probe.ref()} with As-User.",
                    evidence=[answer.evidence],
                )
            else:
                self.put(
                    cid,
                    CheckStatus.FAIL,
                    f"Box ignored the As-User header: the call acted as user {acted}, not "
                    f"{probe.ref()}.",
                    remediation=_FIX_AS_USER,
                    evidence=[answer.evidence],
                )
            return
        if isinstance(answer.error, InsufficientScopeError):
            self.put(
                cid,
                CheckStatus.FAIL,
                "Box refused the As-User header (403 insufficient_scope, empty body): the "
                'advanced feature "Make API calls using the as-user header" is off.',
                remediation=_FIX_AS_USER,
                evidence=[answer.evidence],
            )
            return
        if isinstance(answer.error, AccessDeniedError):
            caveat = self._probe_caveat()
            if caveat is not None:
                self.put(
                    cid,
                    CheckStatus.WARN,
                    f"Inconclusive: Box denied acting as this user (403 access_denied), because "
                    f"{caveat}: Box does not let the service account act as admins, app users "
                    "of other apps or inactive users. The As-User switch itself looks enabled.",
                    remediation="Run preflight again with an active managed non-admin user "
                    "(probe_user= / --probe-user ID|LOGIN).",
                    evidence=[answer.evidence],
                )
                return
            self.put(
                cid,
                CheckStatus.FAIL,
                f"As-User is enabled (Box checked the target), but Box denied acting as "
                f"{probe.ref()} (403 access_denied_insufficient_permissions): that points at the "
                "App Access Level or the target user, not at the As-User switch.",
                remediation=_setting_fix(
                    f'{_DEV} > App Access Level: make sure it is "App + Enterprise Access"'
                )
                + " Also check that the user is a managed, non-admin member of this enterprise.",
                evidence=[answer.evidence],
            )
            return
        self.put(
            cid,
            CheckStatus.FAIL,
            f"Box did not let the service account act as {probe.ref()}" + _unexpected(answer),
            remediation=_fallback_fix(answer, _FIX_AS_USER),
            evidence=[answer.evidence],
        )

    def check_user_token(self) -> None:
        cid = CheckId.FEATURE_USER_TOKENS
        probe = self.probe
        assert probe is not None  # noqa: S101
        assert self.auth is not None  # noqa: S101
        subject = f"box_sub_type=user, sub={probe.id}"
        try:
            token = self.auth.user_token(probe.id)
        except (TokenExchangeError, TransportError) as exc:
            evidence = [_token_evidence(subject, exc)]
            if isinstance(exc, UserTokenNotAllowedError):
                caveat = self._probe_caveat()
                if caveat is not None and caveat.endswith("app user"):
                    self.put(
                        cid,
                        CheckStatus.WARN,
                        f"Inconclusive: Box refused a user token for {probe.ref()}, but {caveat}.",
                        remediation="Run preflight again with an active managed non-admin user "
                        "(probe_user= / --probe-user ID|LOGIN).",
                        evidence=evidence,
                    )
                    return
                self.put(
                    cid,
                    CheckStatus.FAIL,
                    f'Box refused a user token for {probe.ref()} ("Cannot obtain user token '
                    'based on the enterprise configuration for your app"). The app has App + '
                    "Enterprise Access (access.enterprise passed), so the advanced feature "
                    '"Generate user access tokens" is off.',
                    remediation=_FIX_USER_TOKENS,
                    evidence=evidence,
                )
                return
            if isinstance(exc, InvalidSubjectError):
                self.put(
                    cid,
                    CheckStatus.FAIL,
                    f"Box refused a user token for {probe.ref()} (invalid 'sub'): Box does not "
                    "know this user in the app's enterprise.",
                    remediation="Name a managed user of this enterprise as the probe user "
                    "(probe_user= / --probe-user ID|LOGIN).",
                    evidence=evidence,
                )
                return
            message, fix = _token_failure(exc, self.keyfile, self.base_url)
            self.put(cid, CheckStatus.FAIL, message, remediation=fix, evidence=evidence)
            return
        exchange = CheckEvidence(request=f"POST /oauth2/token ({subject})", status_code=200)
        answer = self.api("GET", "/users/me", params={"fields": "id,login"}, token=token)
        data = answer.json()
        if data is not None and opt_str(data.get("id")) == probe.id:
            self.put(
                cid,
                CheckStatus.PASS,
                f"Box issued a user token for {probe.ref()}, and it works.",
                evidence=[exchange, answer.evidence],
            )
            return
        self.put(
            cid,
            CheckStatus.FAIL,
            f"Box issued a user token for {probe.ref()}, but it did not work" + _unexpected(answer),
            remediation=_fallback_fix(answer, _FIX_USER_TOKENS),
            evidence=[exchange, answer.evidence],
        )

    # ------------------------------------------------------------------ clock

    def check_clock(self) -> None:
        cid = CheckId.CLOCK_SKEW
        skew = self.http.skew()
        if skew is None:
            token = self.results[CheckId.TOKEN_ENTERPRISE]
            if token.status is CheckStatus.SKIPPED:
                self.put(
                    cid,
                    CheckStatus.SKIPPED,
                    "Not checked: Box was not contacted because the key file could not be used.",
                    skipped_because=token.skipped_because,
                )
            else:
                self.put(
                    cid,
                    CheckStatus.SKIPPED,
                    "Not checked: no answer from Box carried a Date header.",
                )
            return
        seconds = abs(skew)
        way = "behind" if skew > 0 else "ahead of"
        measured = f"This machine's clock is {seconds:.0f} s {way} Box's (by Box's Date header)"
        corrected = self.auth is not None and self.auth.clock_offset != 0
        if (skew > 0 and seconds >= CLOCK_FAIL_BEHIND_SECONDS) or (
            skew < 0 and seconds >= CLOCK_FAIL_AHEAD_SECONDS
        ):
            consequence = (
                "assertions signed with it arrive already expired"
                if skew > 0
                else "assertions signed with it carry an exp more than 60 s after Box's time"
            )
            note = (
                " boxjwt corrected for it this time, but other tools will fail."
                if corrected
                else ""
            )
            self.put(
                cid,
                CheckStatus.FAIL,
                f"{measured}: {consequence}, and Box refuses them.{note}",
                remediation=_FIX_CLOCK,
            )
        elif seconds >= CLOCK_WARN_SECONDS:
            self.put(
                cid,
                CheckStatus.WARN,
                f"{measured}: close to breaking assertions (Box allows 60 s of exp).",
                remediation=_FIX_CLOCK,
            )
        else:
            self.put(cid, CheckStatus.PASS, f"{measured}, within {CLOCK_WARN_SECONDS:.0f} s.")

    # ------------------------------------------------------------------ orchestration

    def run(self) -> None:
        self.check_permissions()
        self.check_token()
        token_ok = self.results[CheckId.TOKEN_ENTERPRISE].passed

        def users_then_access() -> None:
            self.check_users()
            if not self.blocked(CheckId.ACCESS_ENTERPRISE):
                self.check_access()

        write_name = f"boxjwt-preflight-{secrets.token_hex(8)}.txt"
        self.parallel(
            [
                (CheckId.IDENTITY_SERVICE_ACCOUNT, self.check_identity),
                (CheckId.SCOPE_MANAGE_USERS, users_then_access),
                (
                    CheckId.SCOPE_READ,
                    lambda: self.check_scope(
                        CheckId.SCOPE_READ,
                        "GET",
                        "/folders/0",
                        params={"fields": "id"},
                        what="reading the root folder (GET /2.0/folders/0)",
                        fix=_FIX_READ,
                    ),
                ),
                (
                    CheckId.SCOPE_WRITE,
                    lambda: self.check_scope(
                        CheckId.SCOPE_WRITE,
                        "OPTIONS",
                        "/files/content",
                        json_body={"name": write_name, "parent": {"id": "0"}, "size": 1},
                        ok_statuses=(200, 409),
                        what="an upload pre-check (OPTIONS /2.0/files/content, creates nothing)",
                        fix=_FIX_WRITE,
                    ),
                ),
                (
                    CheckId.SCOPE_MANAGE_GROUPS,
                    lambda: self.check_scope(
                        CheckId.SCOPE_MANAGE_GROUPS,
                        "GET",
                        "/groups",
                        params={"limit": "1"},
                        what="listing groups (GET /2.0/groups)",
                        fix=_FIX_GROUPS,
                        optional=True,
                    ),
                ),
                (
                    CheckId.SCOPE_ENTERPRISE_PROPERTIES,
                    lambda: self.check_scope(
                        CheckId.SCOPE_ENTERPRISE_PROPERTIES,
                        "GET",
                        "/events",
                        params={"stream_type": "admin_logs", "limit": "1"},
                        what="reading the admin events (GET /2.0/events?stream_type=admin_logs)",
                        fix=_FIX_ENTERPRISE_PROPERTIES,
                        optional=True,
                    ),
                ),
            ]
        )
        if CheckId.ACCESS_ENTERPRISE not in self.results:
            self.blocked(CheckId.ACCESS_ENTERPRISE)
        if token_ok:
            self.choose_probe_user()
        jobs = []
        for cid, fn in (
            (CheckId.FEATURE_AS_USER, self.check_as_user),
            (CheckId.FEATURE_USER_TOKENS, self.check_user_token),
        ):
            if not self._probe_skip(cid):
                jobs.append((cid, fn))
        self.parallel(jobs)
        self.check_clock()

    def report(self) -> PreflightReport:
        kf = self.keyfile
        me = self.me
        return PreflightReport(
            checks=tuple(self.results[cid] for cid in CheckId),
            base_url=self.base_url,
            source=self.source,
            client_id=None if kf is None else kf.client_id,
            enterprise_id=None if kf is None else kf.enterprise_id,
            public_key_id=None if kf is None else kf.public_key_id,
            service_account=None if me is None else me.ref(),
            probe_user=None if self.probe is None else self.probe.ref(),
            clock_skew=self.http.skew(),
            request_count=self.http.request_count,
        )

    def close(self) -> None:
        if self.auth is not None:
            self.auth.close()
        self.http.close()


# --------------------------------------------------------------------------- attribution


_FIX_ENTERPRISE_ID: Final = (
    'Set enterpriseID to your enterprise ID as a string, e.g. "enterpriseID": "1234567" (Admin '
    "Console > Account & Billing > Account Information shows it; Box writes it in the config it "
    "downloads)."
)


_FIX_SPLIT: Final = re.compile(r"\s+Fix: ")


def _keyfile_message(exc: KeyFileError) -> str:
    """The exception's message without its "Fix: ..." part (the remediation says it)."""
    return _FIX_SPLIT.split(exc.message, maxsplit=1)[0]


def _keyfile_fix(exc: KeyFileError) -> str:
    if isinstance(exc, KeyFileNotFoundError):
        return (
            "Check the path of the key file (Box names it "
            "<enterpriseID>_<publicKeyID>_config.json)."
        )
    if isinstance(exc, KeyFileNotReadableError):
        return (
            "Make the file readable by this user (and only by it: `chmod 600`), saved as UTF-8 "
            "JSON exactly as Box downloaded it."
        )
    if isinstance(exc, NotAJWTAppError):
        return (
            'This is not a JWT app. Use a Custom App with "Server Authentication (with JWT)": '
            f"{_NEW_KEYPAIR}"
        )
    if isinstance(exc, PassphraseRequiredError | WrongPassphraseError):
        return (
            "Supply the passphrase the key was encrypted with: boxAppSettings.appAuth.passphrase "
            "in the key file, the BOXJWT_PASSPHRASE environment variable, passphrase= (CLI: "
            f"--passphrase-env VAR). Lost it? {_NEW_KEYPAIR}"
        )
    if isinstance(exc, PrivateKeyMissingError):
        return (
            "The config holds no private key (a key pair added by hand): give the PEM file "
            f"(private_key_path=, CLI: --private-key PATH), or {_NEW_KEYPAIR}"
        )
    if isinstance(exc, InvalidPEMError):
        return (
            "The PEM was damaged on its way here (literal \\n sequences, CRLF, truncated, or "
            f"not PEM): use the key file exactly as downloaded. {_NEW_KEYPAIR}"
        )
    if isinstance(exc, UnsupportedKeyTypeError | WeakKeyError):
        return f"Box needs an RSA key of at least 2048 bits: {_NEW_KEYPAIR}"
    return f"Use the config exactly as Box downloads it: {_NEW_KEYPAIR}"


def _token_failure(
    exc: TokenExchangeError | TransportError, kf: KeyFile | None, base_url: str
) -> tuple[str, str]:
    """(message, remediation) for a refused or failed token request."""
    client_id = kf.client_id if kf is not None else "?"
    kid = kf.public_key_id if kf is not None else "?"
    eid = kf.enterprise_id if kf is not None else "?"
    said = ""
    if isinstance(exc, TokenExchangeError):
        words = ": ".join(w for w in (exc.error, exc.error_description) if w)
        said = f" (Box: {words})" if words else ""
    if isinstance(exc, AppNotAuthorizedError):
        return (
            f"The app (client ID {client_id}) is not authorized in enterprise {eid}, or a Box "
            f"admin disabled it{said}.",
            f"A Box admin must authorize it: {_PLATFORM_APPS} > Add App, paste the client ID "
            f'{client_id}, Authorize; if it is listed as disabled, the app\'s "..." menu > '
            "Enable App.",
        )
    if isinstance(exc, InvalidClientCredentialsError):
        return (
            f"Box rejected the client ID / client secret{said}: the secret was reset, or the "
            "file belongs to another app.",
            f"{_DEV} > OAuth 2.0 Credentials: copy the current client secret into the key file "
            f"(or download a new config: {_NEW_KEYPAIR})",
        )
    if isinstance(exc, PublicKeyNotFoundError):
        return (
            f"Box has no public key with publicKeyID {kid} for this app{said}: the key pair was "
            "removed, or the file belongs to another app.",
            f"{_NEW_KEYPAIR} Or re-add this key's public key: {_DEV} > Add and Manage Public "
            "Keys > Add a Public Key (then use the publicKeyID Box shows).",
        )
    if isinstance(exc, SignatureMismatchError):
        return (
            f"The private key does not match the public key registered as {kid}{said}.",
            "Use the config downloaded together with this key, or register this key's public "
            f"key ({_DEV} > Add and Manage Public Keys > Add a Public Key) and use the "
            f"publicKeyID Box shows. {_NEW_KEYPAIR}",
        )
    if isinstance(exc, NoPublicKeyError):
        return (f"The app has no public key at all{said}.", _NEW_KEYPAIR)
    if isinstance(exc, IssuerMismatchError):
        return (
            f"Box does not accept client ID {client_id} as the assertion's issuer{said}.",
            f"{_DEV} > OAuth 2.0 Credentials shows the Client ID: download the config again. "
            f"{_NEW_KEYPAIR}",
        )
    if isinstance(exc, InvalidSubjectError):
        return (
            f"Box does not accept enterpriseID {eid} for this app{said}: the key file names "
            "another enterprise than the one the app belongs to.",
            _FIX_ENTERPRISE_ID,
        )
    if isinstance(exc, AssertionExpiredError | AssertionExpTooFarError):
        return (
            f"Box refused the assertion's exp even after boxjwt corrected for the clock{said}.",
            _FIX_CLOCK,
        )
    if isinstance(exc, GrantTypeUnauthorizedError):
        return (
            f"App {client_id} is not a Server Authentication (JWT) app{said}.",
            'Create a Custom App with "Server Authentication (with JWT)" in the Developer '
            "Console (an OAuth 2.0 or Client Credentials app cannot use JWT), then "
            f"{_NEW_KEYPAIR}",
        )
    if isinstance(exc, InvalidGrantTypeError):
        return (
            f"The token request did not reach Box's token endpoint as sent{said}.",
            f"Check the base URL ({base_url}; Box is https://api.box.com) and any proxy "
            "rewriting or redirecting requests.",
        )
    if isinstance(exc, TokenRateLimitedError | TokenServerError | TransportError):
        what = exc.message if isinstance(exc, TransportError) else f"Box could not answer{said}"
        return (f"The token request failed: {what}.".replace("..", "."), _FIX_NETWORK)
    return (
        f"Box refused the token request{said}.",
        "See Box's answer below; give its request id to Box Support if it stays unclear.",
    )


def _unexpected(answer: _Answer) -> str:
    if answer.response is None:
        return ": no answer from Box."
    if answer.error is not None:
        return f": HTTP {answer.status} {answer.evidence.error or ''}".rstrip() + "."
    return f": unexpected answer (HTTP {answer.status})."


def _fallback_fix(answer: _Answer, setting_fix: str) -> str:
    if answer.response is None or answer.status in (429,) or (answer.status or 0) >= 500:
        return _FIX_NETWORK
    if isinstance(answer.error, NotFoundError):
        return "Box answered 404: check the base URL. " + setting_fix
    return setting_fix


# --------------------------------------------------------------------------- entry point


def _check_args(
    *,
    keyfile: object,
    base_url: object,
    probe_user: object,
    passphrase: object,
    private_key_path: object,
    concurrency: object,
    timeout: object,
    retry: object,
) -> tuple[str, str | None]:
    if not isinstance(keyfile, KeyFile | str | os.PathLike):
        raise ConfigurationError(
            "preflight() takes a boxjwt.KeyFile or the path of the key file, not "
            f"{type(keyfile).__name__}"
        )
    if isinstance(keyfile, KeyFile) and (passphrase is not None or private_key_path is not None):
        raise ConfigurationError(
            "passphrase= and private_key_path= apply to a key file path, not to a loaded KeyFile"
        )
    url = _validate_url("base_url", base_url)
    _validate_timeout(timeout)
    probe: str | None
    if probe_user is None:
        probe = None
    elif isinstance(probe_user, int) and not isinstance(probe_user, bool) and probe_user > 0:
        probe = str(probe_user)
    elif isinstance(probe_user, str) and probe_user.strip():
        probe = probe_user.strip()
    else:
        raise ConfigurationError(f"probe_user= is a Box user ID or login, not {probe_user!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError("concurrency= must be an integer >= 1")
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError("retry= must be a boxjwt.RetryPolicy")
    return url, probe


def preflight(
    keyfile_or_path: KeyFileArg,
    *,
    base_url: str = "https://api.box.com",
    probe_user: str | int | None = None,
    passphrase: str | bytes | Secret | None = None,
    private_key_path: str | os.PathLike[str] | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    clock: Callable[[], float] | None = None,
    retry: RetryPolicy | None = None,
) -> PreflightReport:
    """Check a Box JWT app's setup, setting by setting; return a :class:`PreflightReport`.

    ``keyfile_or_path`` is a :class:`boxjwt.KeyFile` or the path of the key file (``passphrase``
    and ``private_key_path`` then override the config's, as for :meth:`KeyFile.from_file`).
    ``base_url`` reroutes every request (e.g. to :class:`boxjwt.testing.BoxEmulator`).
    ``probe_user`` (a user ID or login) is the user the As-User and user-token checks act as;
    by default the first active, managed, non-admin user Box lists.

    Read-only on Box (``GET``/``OPTIONS`` besides the token requests), about 10 requests, the
    independent ones ``concurrency`` at a time. Each request has ``timeout``; transient
    failures (429, 5xx, connection errors) are retried by ``retry`` (default
    :data:`DEFAULT_RETRY`: once, briefly). ``clock`` (Unix seconds, default ``time.time``) is
    the local clock compared with Box's. A fresh, private token cache is used.

    Never raises for a failed check; raises :class:`boxjwt.exceptions.ConfigurationError`
    for invalid arguments.
    """
    url, probe = _check_args(
        keyfile=keyfile_or_path,
        base_url=base_url,
        probe_user=probe_user,
        passphrase=passphrase,
        private_key_path=private_key_path,
        concurrency=concurrency,
        timeout=timeout,
        retry=retry,
    )
    run = _Run(
        base_url=url,
        probe_user=probe,
        timeout=timeout,
        concurrency=concurrency,
        clock=clock if clock is not None else time.time,
        retry=retry if retry is not None else DEFAULT_RETRY,
    )
    try:
        run.load(keyfile_or_path, passphrase, private_key_path)
        run.run()
        report = run.report()
    finally:
        run.close()
    _log.info(
        "preflight of %s: %s (%d requests)",
        report.source,
        "ok" if report.ok else f"{len(report.failures)} check(s) failed",
        report.request_count,
    )
    return report
