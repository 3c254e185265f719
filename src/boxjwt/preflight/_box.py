"""The checks that ask Box: the enterprise token, the service account, the user list, scopes.

No Box API reveals an app's settings, so each check infers one from Box's answer to a read-only
probe (box-facts §6) and attributes a refusal to the setting that causes it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from boxjwt._http import opt_str
from boxjwt._keyfile import KeyFile
from boxjwt._remedies import (
    FIX_ACCESS_LEVEL,
    FIX_ENTERPRISE_PROPERTIES,
    FIX_MANAGE_GROUPS,
    FIX_MANAGE_USERS,
    FIX_READ,
    FIX_WRITE,
    NETWORK,
)
from boxjwt.exceptions import (
    InsufficientScopeError,
    NotFoundError,
    TokenExchangeError,
    TransportError,
)
from boxjwt.preflight._client import Answer, BoxClient, token_evidence
from boxjwt.preflight._model import CheckEvidence
from boxjwt.preflight._outcome import Learned, Outcome, failed, passed, warned
from boxjwt.preflight._texts import (
    FIX_IDENTITY_NOT_SERVICE_ACCOUNT,
    FIX_IDENTITY_OTHER_ENTERPRISE,
    fallback_fix,
    token_failure,
)
from boxjwt.preflight._users import BoxUser, UserListing

__all__ = [
    "ENTERPRISE_PROPERTIES",
    "MANAGE_GROUPS",
    "READ",
    "USER_FIELDS",
    "WRITE",
    "BoxContext",
    "ScopeProbe",
    "check_access",
    "check_identity",
    "check_manage_users",
    "check_scope",
    "check_token",
]

_USERS_LIMIT: Final = 1000
#: The user fields every user lookup asks for.
USER_FIELDS: Final = "id,login,role,status,is_platform_access_only"


@attrs.frozen(kw_only=True)
class BoxContext:
    """What a check that asks Box needs: the client, the key file and the base URL."""

    client: BoxClient
    keyfile: KeyFile
    base_url: str


def fallback(answer: Answer, fix: str) -> str:
    """The remedy for an answer that is not the setting's own refusal."""
    return fallback_fix(answer.status, not_found=isinstance(answer.error, NotFoundError), fix=fix)


# --------------------------------------------------------------------------- token


def check_token(ctx: BoxContext) -> Outcome:
    """``token.enterprise``: Box issues the service account's token."""
    kf = ctx.keyfile
    subject = f"box_sub_type=enterprise, sub={kf.enterprise_id}"
    try:
        ctx.client.enterprise_token()
    except (TokenExchangeError, TransportError) as exc:
        message, fix = token_failure(exc, kf, ctx.base_url)
        return failed(message, fix, evidence=[token_evidence(subject, exc)])
    note = (
        " (after boxjwt corrected the assertion for this machine's clock, see clock.skew)."
        if ctx.client.clock_corrected
        else "."
    )
    return passed(
        f"Box issued the service account's token for enterprise {kf.enterprise_id}: the app "
        f"is authorized, and the client secret and key pair are right{note}",
        evidence=[CheckEvidence(request=f"POST /oauth2/token ({subject})", status_code=200)],
    )


# --------------------------------------------------------------------------- identity and users


def check_identity(ctx: BoxContext) -> Outcome:
    """``identity.service_account``: the token acts as the service account of this enterprise."""
    answer = ctx.client.call("GET", "/users/me", params={"fields": "id,name,login,enterprise"})
    data = answer.data
    user = BoxUser.parse(data)
    if data is None or user is None:
        evidence = [answer.evidence]
        return failed("Box did not return the token's user.", NETWORK, evidence=evidence)
    enterprise = data.get("enterprise")
    theirs = opt_str(enterprise.get("id")) if isinstance(enterprise, Mapping) else None
    ours = ctx.keyfile.enterprise_id
    shown = f"{user.login} ({user.id})"
    learned = Learned(service_account=user)
    if theirs != ours:
        return failed(
            f"The token acts as {shown} of enterprise {theirs or '(none)'}, but the key file "
            f"says enterprise {ours}: the config belongs to another enterprise.",
            FIX_IDENTITY_OTHER_ENTERPRISE,
            evidence=[answer.evidence],
            learned=learned,
        )
    if not user.is_service_account:
        return warned(
            f"The enterprise token acts as {shown}, not as a service account "
            "(AutomationUser_...@boxdevedition.com).",
            FIX_IDENTITY_NOT_SERVICE_ACCOUNT,
            evidence=[answer.evidence],
            learned=learned,
        )
    return passed(
        f"The token acts as the service account {shown} of enterprise {ours}.",
        evidence=[answer.evidence],
        learned=learned,
    )


def check_manage_users(ctx: BoxContext) -> Outcome:
    """``scope.manage_users``: the service account can list the enterprise's users."""
    answer = ctx.client.call(
        "GET", "/users", params={"limit": str(_USERS_LIMIT), "fields": USER_FIELDS}
    )
    entries = answer.data.get("entries") if answer.data is not None else None
    evidence = [answer.evidence]
    if isinstance(entries, list):
        listing = UserListing(users=BoxUser.parse_all(entries), evidence=tuple(evidence))
        return passed(
            f"The service account can list the enterprise's users ({len(listing.users)} returned).",
            evidence=evidence,
            learned=Learned(listing=listing),
        )
    if isinstance(answer.error, InsufficientScopeError):
        return failed(
            'Box refused to list users (403 insufficient_scope): the app lacks the "Manage '
            'users" scope.',
            FIX_MANAGE_USERS,
            evidence=evidence,
        )
    return failed(
        "Box did not list the users" + answer.unexpected(),
        fallback(answer, FIX_MANAGE_USERS),
        evidence=evidence,
    )


def check_access(listing: UserListing) -> Outcome:
    """``access.enterprise``: managed users in the list mean App + Enterprise Access."""
    managed = [u for u in listing.users if u.managed]
    if managed:
        return passed(
            f"The app sees {len(managed)} managed user(s) of the enterprise: it has App + "
            "Enterprise Access.",
            evidence=listing.evidence,
        )
    app_users = sum(1 for u in listing.users if u.platform_only)
    return failed(
        f"The user list holds no managed user ({app_users} app user(s) only), yet every "
        "enterprise has at least its primary admin: the app runs with App Access Only, so it "
        "can neither see nor act as the enterprise's users.",
        FIX_ACCESS_LEVEL,
        evidence=listing.evidence,
    )


# --------------------------------------------------------------------------- scopes


@attrs.frozen(kw_only=True)
class ScopeProbe:
    """A read-only request that only an app with ``scope`` may make."""

    scope: str
    method: str
    path: str
    what: str
    fix: str
    params: Mapping[str, str] = attrs.field(factory=dict)
    body: Callable[[], Any] | None = None
    ok_statuses: frozenset[int] = frozenset({200})
    optional: bool = False


def _upload_precheck() -> dict[str, Any]:
    return {
        "name": f"boxjwt-preflight-{secrets.token_hex(8)}.txt",
        "parent": {"id": "0"},
        "size": 1,
    }


READ: Final = ScopeProbe(
    scope='"Read all files and folders"',
    method="GET",
    path="/folders/0",
    params={"fields": "id"},
    what="reading the root folder (GET /2.0/folders/0)",
    fix=FIX_READ,
)
WRITE: Final = ScopeProbe(
    scope='"Write all files and folders"',
    method="OPTIONS",
    path="/files/content",
    body=_upload_precheck,
    ok_statuses=frozenset({200, 409}),
    what="an upload pre-check (OPTIONS /2.0/files/content, creates nothing)",
    fix=FIX_WRITE,
)
MANAGE_GROUPS: Final = ScopeProbe(
    scope='"Manage groups"',
    method="GET",
    path="/groups",
    params={"limit": "1"},
    what="listing groups (GET /2.0/groups)",
    fix=FIX_MANAGE_GROUPS,
    optional=True,
)
ENTERPRISE_PROPERTIES: Final = ScopeProbe(
    scope='"Manage enterprise properties"',
    method="GET",
    path="/events",
    params={"stream_type": "admin_logs", "limit": "1"},
    what="reading the admin events (GET /2.0/events?stream_type=admin_logs)",
    fix=FIX_ENTERPRISE_PROPERTIES,
    optional=True,
)


def check_scope(probe: ScopeProbe, ctx: BoxContext) -> Outcome:
    """``scope.*``: Box allows ``probe`` (an optional scope only warns when refused)."""
    answer = ctx.client.call(
        probe.method,
        probe.path,
        params=probe.params,
        json_body=None if probe.body is None else probe.body(),
    )
    evidence = [answer.evidence]
    if answer.status in probe.ok_statuses:
        return passed(f"Box allowed {probe.what}.", evidence=evidence)
    if isinstance(answer.error, InsufficientScopeError):
        message = (
            f"Box refused {probe.what} (403 insufficient_scope): the app lacks the "
            f"{probe.scope} scope."
        )
        if probe.optional:
            return warned(message + " Only needed if you use it.", probe.fix, evidence=evidence)
        return failed(message, probe.fix, evidence=evidence)
    return failed(
        f"Box did not allow {probe.what}" + answer.unexpected(),
        fallback(answer, probe.fix),
        evidence=evidence,
    )
