"""The probe user, and the two checks that act as them: As-User and user tokens.

:func:`choose_probe_user` is an internal step (no report row): it picks the user the As-User and
user-token checks act as, the one the caller named or the first suitable user Box lists.
"""

from __future__ import annotations

import attrs

from boxjwt._http import opt_str
from boxjwt._remedies import (
    FIX_AS_USER,
    FIX_USER_TOKENS,
)
from boxjwt.exceptions import (
    AccessDeniedError,
    InsufficientScopeError,
    InvalidSubjectError,
    TokenExchangeError,
    TransportError,
    UserTokenNotAllowedError,
)
from boxjwt.preflight._box import USER_FIELDS, BoxContext, fallback
from boxjwt.preflight._client import token_evidence
from boxjwt.preflight._model import CheckEvidence, CheckId
from boxjwt.preflight._outcome import Learned, Outcome, failed, passed, skipped, warned
from boxjwt.preflight._texts import (
    FIX_AS_USER_DENIED,
    FIX_PROBE_USER,
    FIX_UNKNOWN_PROBE_USER,
    FIX_USER_TOKENS_OR_ACCESS,
    token_failure,
)
from boxjwt.preflight._users import BoxUser, ProbeUser, UserListing

__all__ = [
    "ProbeContext",
    "SelectionContext",
    "check_as_user",
    "check_user_token",
    "choose_probe_user",
]


# --------------------------------------------------------------------------- choosing


@attrs.frozen(kw_only=True)
class SelectionContext:
    """What choosing the probe user needs."""

    box: BoxContext
    #: The user ID or login the caller named (None: choose one).
    wanted: str | None
    service_account: BoxUser | None
    #: The enterprise's users (None: Box did not list them).
    listing: UserListing | None


def _lookup(ctx: SelectionContext, wanted: str) -> BoxUser | None:
    """Ask Box for ``wanted`` (an ID or a login) beyond the first page of users."""
    client = ctx.box.client
    if wanted.isdigit():
        answer = client.call("GET", f"/users/{wanted}", params={"fields": USER_FIELDS})
        return BoxUser.parse(answer.data)
    answer = client.call("GET", "/users", params={"filter_term": wanted, "fields": USER_FIELDS})
    entries = answer.data.get("entries") if answer.data is not None else None
    matches = [u for u in BoxUser.parse_all(entries) if (u.login or "").lower() == wanted.lower()]
    return matches[0] if matches else None


def _find(ctx: SelectionContext, wanted: str) -> BoxUser | None:
    users = ctx.listing.users if ctx.listing is not None else ()
    by_id = wanted.isdigit()
    for user in users:
        if (by_id and user.id == wanted) or (
            not by_id and (user.login or "").lower() == wanted.lower()
        ):
            return user
    return _lookup(ctx, wanted)


def choose_probe_user(ctx: SelectionContext) -> Outcome:
    """The user to act as: the one named, else the first active managed non-admin user."""
    if ctx.wanted is None:
        users = ctx.listing.users if ctx.listing is not None else ()
        me = ctx.service_account.id if ctx.service_account is not None else None
        candidates = [u for u in users if u.suitable and u.id != me]
        if not candidates:
            return skipped(
                f"Not checked: no active managed non-admin user among the {len(users)} user(s) "
                "listed to test with; name one with probe_user= (--probe-user ID|LOGIN)."
            )
        return _chosen(ProbeUser(user=candidates[0]))
    if ctx.listing is None:
        return _given_without_list(ctx.wanted)
    found = _find(ctx, ctx.wanted)
    if found is None:
        return skipped(
            f"Not checked: the probe user {ctx.wanted!r} was not found in the enterprise."
        )
    account = ctx.service_account
    if (account is not None and found.id == account.id) or found.is_service_account:
        return skipped(
            f"Not checked: the probe user {found.ref()} is the service account, which Box never "
            "lets act as itself; name a managed user."
        )
    return _chosen(ProbeUser(user=found))


def _given_without_list(wanted: str) -> Outcome:
    """Box did not list the users (so a lookup would be refused too): use the ID as given."""
    if wanted.isdigit():
        return _chosen(ProbeUser(user=BoxUser(id=wanted), known=False))
    return skipped(
        f"Not checked: the probe user {wanted!r} is a login, and Box did not list the users "
        f"({CheckId.SCOPE_MANAGE_USERS} failed), so it cannot be resolved: name the probe user "
        "by its user ID (probe_user= / --probe-user ID).",
        CheckId.SCOPE_MANAGE_USERS,
    )


def _chosen(probe: ProbeUser) -> Outcome:
    return passed(f"The probe user is {probe.user.ref()}.", learned=Learned(probe=probe))


# --------------------------------------------------------------------------- acting as them


@attrs.frozen(kw_only=True)
class ProbeContext:
    """What the As-User and user-token checks need."""

    box: BoxContext
    probe: ProbeUser
    #: True when ``access.enterprise`` passed (False: Box did not list the users, so the access
    #: level is unknown).
    access_verified: bool = True


def check_as_user(ctx: ProbeContext) -> Outcome:
    """``feature.as_user``: ``GET /2.0/users/me`` with ``As-User: <probe user>``."""
    user = ctx.probe.user
    answer = ctx.box.client.call("GET", "/users/me", params={"fields": "id,login"}, as_user=user.id)
    evidence = [answer.evidence]
    if answer.data is not None:
        acted = opt_str(answer.data.get("id"))
        if acted == user.id:
            return passed(
                f"The service account can act as {user.ref()} with As-User.", evidence=evidence
            )
        return failed(
            f"Box ignored the As-User header: the call acted as user {acted}, not {user.ref()}.",
            FIX_AS_USER,
            evidence=evidence,
        )
    if isinstance(answer.error, InsufficientScopeError):
        return failed(
            "Box refused the As-User header (403 insufficient_scope, empty body): the advanced "
            'feature "Make API calls using the as-user header" is off.',
            FIX_AS_USER,
            evidence=evidence,
        )
    if isinstance(answer.error, AccessDeniedError):
        return _as_user_denied(ctx, evidence)
    return failed(
        f"Box did not let the service account act as {user.ref()}" + answer.unexpected(),
        fallback(answer, FIX_AS_USER),
        evidence=evidence,
    )


def _as_user_denied(ctx: ProbeContext, evidence: list[CheckEvidence]) -> Outcome:
    """Box checked the target and denied it: the As-User switch is on."""
    user = ctx.probe.user
    caveat = ctx.probe.caveat()
    if caveat is not None:
        return warned(
            f"Inconclusive: Box denied acting as this user (403 access_denied), because "
            f"{caveat}: Box refuses As-User to admins, co-admins, app users of other apps and "
            "inactive users whatever the app's settings. The As-User switch itself is on (Box "
            "checked the target).",
            FIX_PROBE_USER,
            evidence=evidence,
        )
    if not ctx.probe.known or not ctx.access_verified:
        return warned(
            f"Inconclusive: Box denied acting as {user.ref()} (403 access_denied), and Box did "
            "not list the users, so neither the App Access Level nor the user could be checked: "
            f"either the app has App Access Only, or {user.ref()} is an admin, co-admin or "
            "inactive user, whom Box refuses As-User whatever the app's settings. The As-User "
            "switch itself is on (Box checked the target).",
            FIX_AS_USER_DENIED,
            evidence=evidence,
        )
    return failed(
        f"As-User is enabled (Box checked the target), but Box denied acting as "
        f"{user.ref()} (403 access_denied_insufficient_permissions): that points at "
        "the App Access Level or the target user, not at the As-User switch.",
        FIX_AS_USER_DENIED,
        evidence=evidence,
    )


def check_user_token(ctx: ProbeContext) -> Outcome:
    """``feature.user_tokens``: a user token for the probe user, then ``GET /2.0/users/me``."""
    user = ctx.probe.user
    subject = f"box_sub_type=user, sub={user.id}"
    try:
        ctx.box.client.user_token(user.id)
    except (TokenExchangeError, TransportError) as exc:
        return _user_token_refused(ctx, exc, [token_evidence(subject, exc)])
    exchange = CheckEvidence(request=f"POST /oauth2/token ({subject})", status_code=200)
    answer = ctx.box.client.call(
        "GET", "/users/me", params={"fields": "id,login"}, user_token_of=user.id
    )
    evidence = [exchange, answer.evidence]
    if answer.data is not None and opt_str(answer.data.get("id")) == user.id:
        return passed(f"Box issued a user token for {user.ref()}, and it works.", evidence=evidence)
    return failed(
        f"Box issued a user token for {user.ref()}, but it did not work" + answer.unexpected(),
        fallback(answer, FIX_USER_TOKENS),
        evidence=evidence,
    )


def _user_token_refused(
    ctx: ProbeContext, exc: TokenExchangeError | TransportError, evidence: list[CheckEvidence]
) -> Outcome:
    user = ctx.probe.user
    if isinstance(exc, UserTokenNotAllowedError):
        caveat = ctx.probe.caveat()
        if caveat is not None and caveat.endswith("app user"):
            return warned(
                f"Inconclusive: Box refused a user token for {user.ref()}, but {caveat}.",
                FIX_PROBE_USER,
                evidence=evidence,
            )
        refused = (
            f'Box refused a user token for {user.ref()} ("Cannot obtain user token based on the '
            'enterprise configuration for your app").'
        )
        if not ctx.access_verified:
            return failed(
                f"{refused} Box did not list the users, so the App Access Level could not be "
                'checked: either the advanced feature "Generate user access tokens" is off, or '
                "the app has App Access Only.",
                FIX_USER_TOKENS_OR_ACCESS,
                evidence=evidence,
            )
        return failed(
            f"{refused} The app has App + Enterprise Access (access.enterprise passed), so the "
            'advanced feature "Generate user access tokens" is off.',
            FIX_USER_TOKENS,
            evidence=evidence,
        )
    if isinstance(exc, InvalidSubjectError):
        inactive = ctx.probe.known and ctx.probe.user.status == "inactive"
        if inactive:  # Box gives no user token for an inactive user, whatever the settings
            return warned(
                f"Inconclusive: Box refused a user token for {user.ref()} (invalid 'sub'), "
                "because the probe user is inactive.",
                FIX_PROBE_USER,
                evidence=evidence,
            )
        return failed(
            f"Box refused a user token for {user.ref()} (invalid 'sub'): Box does not know this "
            "user in the app's enterprise.",
            FIX_UNKNOWN_PROBE_USER,
            evidence=evidence,
        )
    message, fix = token_failure(exc, ctx.box.keyfile, ctx.box.base_url)
    return failed(message, fix, evidence=evidence)
