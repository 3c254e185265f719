"""`boxjwt preflight --emulator --json`: the same checks and statuses per scenario as before.

``tests/data/preflight_baseline.json`` was captured from ``python -m boxjwt preflight --emulator
--scenario NAME --json`` for every name that ``--list-scenarios`` printed, on main before
preflight became a package (commit 48bf6bf). Each scenario must still report the same check ids,
in the same order, with the same statuses, the same number of requests and the same exit code.
A deliberate change is written down in :data:`CHANGED` with the reason, never by editing the data.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from boxjwt import _cli

BASELINE: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "data" / "preflight_baseline.json").read_text("utf-8")
)["scenarios"]

#: Deliberate differences from the baseline: scenario -> the fields that differ, as they are now.
CHANGED: dict[str, dict[str, Any]] = {
    # Issue 13 item 18: the scenario now names a probe user (as an admin whose user list Box
    # refuses must), and with one given the As-User and user-token probes run although
    # "Manage users" is off (before, they were skipped): one As-User call, one user-token
    # exchange and its /users/me, so three requests more.
    "no-manage-users": {
        "request_count": 10,
        "checks": {"feature.as_user": "pass", "feature.user_tokens": "pass"},
    },
}


def current(capsys: pytest.CaptureFixture[str], name: str) -> dict[str, Any]:
    code = _cli.main(["preflight", "--emulator", "--scenario", name, "--json"])
    out, _ = capsys.readouterr()
    doc = json.loads(out)
    return {
        "exit_code": code,
        "request_count": doc["request_count"],
        "checks": [[c["id"], c["status"]] for c in doc["checks"]],
    }


def expected(name: str) -> dict[str, Any]:
    base = BASELINE[name]
    result = {
        "exit_code": base["exit_code"],
        "request_count": base["request_count"],
        "checks": [[cid, status] for cid, status in base["checks"].items()],
    }
    changes = CHANGED.get(name, {})
    checks = dict(base["checks"], **changes.get("checks", {}))
    result.update({k: v for k, v in changes.items() if k != "checks"})
    result["checks"] = [[cid, status] for cid, status in checks.items()]
    return result


def test_the_scenarios_are_those_of_the_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["preflight", "--emulator", "--list-scenarios"]) == 0
    out, _ = capsys.readouterr()
    names = [line.split()[0] for line in out.splitlines()[1:] if line.startswith("  ")]
    assert names == list(BASELINE)
    assert set(CHANGED) <= set(BASELINE)


@pytest.mark.parametrize("name", list(BASELINE))
def test_scenario_reports_what_it_reported_before(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert current(capsys, name) == expected(name)
