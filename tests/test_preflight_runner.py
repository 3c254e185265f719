"""The preflight runner and the pure pieces around it: waves, skips, contexts, users, the clock.

The end-to-end behaviour is in test_preflight.py (against the emulator); these pin the rules the
runner derives from the check specifications.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
import pytest

from boxjwt.preflight import CheckId, CheckStatus
from boxjwt.preflight._client import Observer
from boxjwt.preflight._local import ClockContext, KeyLoad, check_clock
from boxjwt.preflight._outcome import Outcome, failed, passed, skipped
from boxjwt.preflight._runner import CheckSpec, run_checks, waves
from boxjwt.preflight._specs import PROBE_USER, RunFacts, box, specs
from boxjwt.preflight._users import BoxUser, ProbeUser


@attrs.frozen
class Facts:
    """Minimal facts: just the results."""

    results: Mapping[str, Outcome] = MappingProxyType({})

    def learn(self, key: str, outcome: Outcome) -> Facts:
        return Facts(MappingProxyType({**self.results, key: outcome}))


def spec(key: str, outcome: Outcome, **kwargs: Any) -> CheckSpec[Facts, None]:
    return CheckSpec(
        id=key,
        title=kwargs.pop("title", key),
        context=lambda facts: None,
        check=lambda context: outcome,
        **kwargs,
    )


def test_waves_follow_prerequisites_in_spec_order() -> None:
    ok = passed("ok")
    table = [
        spec("d", ok, after=("c",)),
        spec("a", ok),
        spec("c", ok, requires=("a",)),
        spec("b", ok, requires=("a",)),
        spec("e", ok, vetoed_by=("b",)),
    ]
    assert [[s.id for s in wave] for wave in waves(table)] == [["a"], ["c", "b"], ["d", "e"]]
    assert waves([]) == []


@pytest.mark.parametrize(
    "table",
    [
        [spec("a", passed("ok"), requires=("missing",))],
        [spec("a", passed("ok"), after=("b",)), spec("b", passed("ok"), requires=("a",))],
    ],
)
def test_unknown_or_circular_prerequisites_are_refused(table: list[CheckSpec[Facts, None]]) -> None:
    with pytest.raises(ValueError, match="unknown or circular"):
        waves(table)


def test_skips_name_the_failed_check_at_their_root() -> None:
    table = [
        spec(CheckId.KEYFILE_PARSE, failed("broken", "fix it")),
        spec(CheckId.KEYFILE_DECRYPT, passed("ok"), requires=(CheckId.KEYFILE_PARSE,)),
        spec(CheckId.KEYFILE_PASSPHRASE, passed("ok"), requires=(CheckId.KEYFILE_DECRYPT,)),
    ]
    results = run_checks(table, Facts(), concurrency=4).results
    decrypt, passphrase = results[CheckId.KEYFILE_DECRYPT], results[CheckId.KEYFILE_PASSPHRASE]
    assert decrypt.status is CheckStatus.SKIPPED
    assert decrypt.message == "Not checked: it needs keyfile.parse, which failed."
    assert decrypt.skipped_because == CheckId.KEYFILE_PARSE
    assert passphrase.message == (
        "Not checked: it needs keyfile.decrypt, which was skipped because keyfile.parse failed."
    )
    assert passphrase.skipped_because == CheckId.KEYFILE_PARSE


def test_a_veto_skips_only_on_failure_and_steps_pass_their_reason_on() -> None:
    skip_root = skipped("Not checked: upstream.", CheckId.SCOPE_MANAGE_USERS)
    table = [
        spec(CheckId.SCOPE_MANAGE_USERS, failed("refused", "fix")),
        spec(CheckId.ACCESS_ENTERPRISE, skip_root),
        spec(CheckId.SCOPE_READ, failed("refused", "fix")),
        spec("vetoed", passed("ran"), vetoed_by=(CheckId.SCOPE_READ,)),
        spec("tolerated", passed("ran"), vetoed_by=(CheckId.ACCESS_ENTERPRISE,)),
        spec("step", skipped("Not checked: no user to act as."), title=""),
        spec(CheckId.FEATURE_AS_USER, passed("ran"), requires=("step",)),
    ]
    results = run_checks(table, Facts(), concurrency=1).results
    assert results["vetoed"].status is CheckStatus.SKIPPED
    assert results["vetoed"].skipped_because == CheckId.SCOPE_READ
    assert results["tolerated"].status is CheckStatus.PASS
    as_user = results[CheckId.FEATURE_AS_USER]
    assert as_user == skipped("Not checked: no user to act as.")


def test_network_checks_of_one_wave_run_in_parallel() -> None:
    import threading

    barrier = threading.Barrier(3, timeout=10)

    def meet(context: None) -> Outcome:
        barrier.wait()  # only returns when all three run at once
        return passed("met")

    table = [
        CheckSpec(id=f"n{i}", title="t", context=lambda f: None, check=meet, network=True)
        for i in range(3)
    ]
    results = run_checks(table, Facts(), concurrency=3).results
    assert [r.message for r in results.values()] == ["met"] * 3


def test_the_table_is_in_report_order_and_every_check_is_in_it() -> None:
    table = specs()
    reported = [s.id for s in table if not s.step]
    assert sorted(reported) == sorted(CheckId)
    assert [s.id for s in table if s.step] == [PROBE_USER]
    by_id = {s.id: s for s in table}
    assert by_id[CheckId.SCOPE_MANAGE_GROUPS].optional
    assert by_id[CheckId.SCOPE_MANAGE_GROUPS].title == 'Scope "Manage groups" (optional)'
    assert not by_id[CheckId.SCOPE_READ].optional
    last = waves(table)[-1]
    assert [s.id for s in last] == [CheckId.CLOCK_SKEW]  # it reads every answer


def test_a_context_missing_its_facts_is_a_bug_not_a_skip() -> None:
    facts = RunFacts(load=KeyLoad(source="key.json"), box=None, observer=Observer(lambda: 0.0))
    with pytest.raises(RuntimeError, match="the Box client is missing"):
        box(facts)


def test_users_parse_what_box_sends() -> None:
    assert BoxUser.parse_all("oops") == ()
    assert BoxUser.parse_all([{"id": "1"}, {"login": "no id"}, 7]) == (BoxUser(id="1"),)
    given = ProbeUser(user=BoxUser(id="5"), known=False)
    assert given.caveat() is None  # nothing is known about it
    admin = ProbeUser(user=BoxUser(id="5", login="a@b", role="admin", status="active"))
    assert admin.caveat() == "the probe user a@b (5) is an admin"
    app_user = ProbeUser(user=BoxUser(id="6", role="user", status="active", platform_only=True))
    assert app_user.caveat() == "the probe user 6 is an app user"
    unknown_status = ProbeUser(user=BoxUser(id="7", role="user", platform_only=False))
    assert unknown_status.caveat() == "the probe user 7 is not active"


def test_clock_failure_without_a_correction_says_nothing_about_one() -> None:
    outcome = check_clock(ClockContext(skew=300.0, corrected=False, token=passed("ok")))
    assert outcome.status is CheckStatus.FAIL
    assert "corrected" not in outcome.message
    corrected = check_clock(ClockContext(skew=-300.0, corrected=True, token=passed("ok")))
    assert "boxjwt corrected for it" in corrected.message
