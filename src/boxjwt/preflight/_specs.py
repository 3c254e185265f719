"""The checks as data: what each needs, in report order, and the facts they are run on.

:func:`specs` is the table the runner derives everything from (order, waves, skips); a row's
``context`` narrows the run's :class:`RunFacts` to the frozen object its ``check`` takes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, TypeVar

import attrs

from boxjwt.preflight import _box, _local, _probe
from boxjwt.preflight._box import BoxContext
from boxjwt.preflight._client import Observer
from boxjwt.preflight._local import ClockContext, KeyFacts, KeyLoad
from boxjwt.preflight._model import CheckId, CheckStatus
from boxjwt.preflight._outcome import Outcome
from boxjwt.preflight._probe import ProbeContext, SelectionContext
from boxjwt.preflight._runner import CheckSpec
from boxjwt.preflight._users import BoxUser, ProbeUser, UserListing

__all__ = ["PROBE_USER", "RunFacts", "Spec", "specs"]

#: The internal step choosing the probe user (not a check: it has no report row).
PROBE_USER: Final = "probe_user"

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class RunFacts:
    """Everything known so far in one run; each check's outcome returns a new one."""

    load: KeyLoad
    #: The Box client and key file (None when the key file did not load).
    box: BoxContext | None
    observer: Observer
    #: The probe user the caller named (an ID or a login), if any.
    wanted_probe: str | None = None
    service_account: BoxUser | None = None
    listing: UserListing | None = None
    probe: ProbeUser | None = None
    results: Mapping[str, Outcome] = MappingProxyType({})

    def learn(self, key: str, outcome: Outcome) -> RunFacts:
        """These facts with ``outcome`` recorded for ``key`` and what it learned."""
        learned = {
            name: value
            for name, value in attrs.asdict(outcome.learned, recurse=False).items()
            if value is not None
        }
        results = MappingProxyType({**self.results, key: outcome})
        return attrs.evolve(self, results=results, **learned)


Spec = CheckSpec[RunFacts, Any]


def _need(value: T | None, what: str) -> T:
    """``value``, which the spec's prerequisites guarantee."""
    if value is None:
        raise RuntimeError(f"preflight: {what} is missing although its prerequisites passed")
    return value


# --------------------------------------------------------------------------- contexts


def key_load(facts: RunFacts) -> KeyLoad:
    return facts.load


def key_facts(facts: RunFacts) -> KeyFacts:
    key = facts.load.key
    return _need(key if isinstance(key, KeyFacts) else None, "the loaded key")


def box(facts: RunFacts) -> BoxContext:
    return _need(facts.box, "the Box client")


def listing(facts: RunFacts) -> UserListing:
    return _need(facts.listing, "the user list")


def selection(facts: RunFacts) -> SelectionContext:
    return SelectionContext(
        box=box(facts),
        wanted=facts.wanted_probe,
        service_account=facts.service_account,
        listing=facts.listing,
    )


def probe(facts: RunFacts) -> ProbeContext:
    access = facts.results[CheckId.ACCESS_ENTERPRISE]
    return ProbeContext(
        box=box(facts),
        probe=_need(facts.probe, "the probe user"),
        access_verified=access.status is CheckStatus.PASS,
    )


def clock(facts: RunFacts) -> ClockContext:
    return ClockContext(
        skew=facts.observer.skew(),
        corrected=facts.box is not None and facts.box.client.clock_corrected,
        token=facts.results[CheckId.TOKEN_ENTERPRISE],
    )


# --------------------------------------------------------------------------- the table


def _scope(cid: CheckId, probe: _box.ScopeProbe) -> Spec:
    return CheckSpec(
        id=cid,
        title=f"Scope {probe.scope}" + (" (optional)" if probe.optional else ""),
        requires=(CheckId.TOKEN_ENTERPRISE,),
        optional=probe.optional,
        network=True,
        context=box,
        check=functools.partial(_box.check_scope, probe),
    )


def specs(*, probe_user_given: bool = False) -> tuple[Spec, ...]:
    """Every check (and the probe-user step): the key file, the token, Box, the clock last.

    Without a probe user, one is chosen from the user list, so the As-User and user-token checks
    need ``access.enterprise``. With one given, they run unless ``access.enterprise`` *failed*
    (App Access Only): a user list Box refused no longer hides their problems.
    """
    local = _local_specs()
    token_spec = CheckSpec(
        id=CheckId.TOKEN_ENTERPRISE,
        title="Enterprise token (app authorized, credentials, key)",
        requires=(CheckId.KEYFILE_DECRYPT, CheckId.KEYFILE_ENTERPRISE_ID),
        network=True,
        context=box,
        check=_box.check_token,
    )
    network = _box_specs(probe_user_given)
    clock_spec = CheckSpec(
        id=CheckId.CLOCK_SKEW,
        title="Local clock agrees with Box's",
        after=tuple(s.id for s in (*local, token_spec, *network)),  # it reads every answer
        context=clock,
        check=_local.check_clock,
    )
    return (*local, clock_spec, token_spec, *network)


def _probe_step(probe_user_given: bool) -> Spec:
    requires: tuple[str, ...] = (CheckId.ACCESS_ENTERPRISE,)
    vetoed_by: tuple[str, ...] = ()
    if probe_user_given:
        requires, vetoed_by = (CheckId.TOKEN_ENTERPRISE,), (CheckId.ACCESS_ENTERPRISE,)
    return CheckSpec(
        id=PROBE_USER,
        title="",
        requires=requires,
        vetoed_by=vetoed_by,
        after=(CheckId.IDENTITY_SERVICE_ACCOUNT, CheckId.ACCESS_ENTERPRISE),
        context=selection,
        check=_probe.choose_probe_user,
    )


def _box_specs(probe_user_given: bool) -> list[Spec]:
    token = (CheckId.TOKEN_ENTERPRISE,)
    return [
        CheckSpec(
            id=CheckId.IDENTITY_SERVICE_ACCOUNT,
            title="Service account of this enterprise",
            requires=token,
            network=True,
            context=box,
            check=_box.check_identity,
        ),
        CheckSpec(
            id=CheckId.SCOPE_MANAGE_USERS,
            title='Scope "Manage users"',
            requires=token,
            network=True,
            context=box,
            check=_box.check_manage_users,
        ),
        CheckSpec(
            id=CheckId.ACCESS_ENTERPRISE,
            title='App Access Level "App + Enterprise Access"',
            requires=(CheckId.SCOPE_MANAGE_USERS,),
            context=listing,
            check=_box.check_access,
        ),
        _scope(CheckId.SCOPE_READ, _box.READ),
        _scope(CheckId.SCOPE_WRITE, _box.WRITE),
        _probe_step(probe_user_given),
        CheckSpec(
            id=CheckId.FEATURE_AS_USER,
            title='Advanced feature "Make API calls using the as-user header"',
            requires=(PROBE_USER,),
            network=True,
            context=probe,
            check=_probe.check_as_user,
        ),
        CheckSpec(
            id=CheckId.FEATURE_USER_TOKENS,
            title='Advanced feature "Generate user access tokens"',
            requires=(PROBE_USER,),
            network=True,
            context=probe,
            check=_probe.check_user_token,
        ),
        _scope(CheckId.SCOPE_MANAGE_GROUPS, _box.MANAGE_GROUPS),
        _scope(CheckId.SCOPE_ENTERPRISE_PROPERTIES, _box.ENTERPRISE_PROPERTIES),
    ]


def _local_specs() -> list[Spec]:
    parse = (CheckId.KEYFILE_PARSE,)
    return [
        CheckSpec(
            id=CheckId.KEYFILE_PARSE,
            title="Key file is a readable JWT app config",
            context=key_load,
            check=_local.check_parse,
        ),
        CheckSpec(
            id=CheckId.KEYFILE_DECRYPT,
            title="Private key loads",
            requires=parse,
            context=key_load,
            check=_local.check_decrypt,
        ),
        CheckSpec(
            id=CheckId.KEYFILE_PASSPHRASE,
            title="Private key is passphrase-protected",
            requires=(CheckId.KEYFILE_DECRYPT,),
            context=key_facts,
            check=_local.check_passphrase,
        ),
        CheckSpec(
            id=CheckId.KEYFILE_PERMISSIONS,
            title="Key file is private to its owner",
            context=key_load,
            check=_local.check_permissions,
        ),
        CheckSpec(
            id=CheckId.KEYFILE_ENTERPRISE_ID,
            title="enterpriseID is plausible",
            requires=parse,
            context=key_load,
            check=_local.check_enterprise_id,
        ),
    ]
