"""preflight(): every misconfiguration the emulator can produce, attributed to the right check.

Every test gets its own emulator: starting one costs less than a module-wide emulator whose
every new app draws a new RSA key from the process-wide key pool (a fresh emulator reuses the
pool's first keys).
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jsonschema
import pytest
import requests

import boxjwt
from boxjwt.exceptions import ConfigurationError
from boxjwt.preflight import (
    REAUTHORIZE_HINT,
    SCHEMA_VERSION,
    CheckEvidence,
    CheckId,
    CheckResult,
    CheckStatus,
    PreflightReport,
    UserRef,
    preflight,
    render_text,
    report_schema,
)
from boxjwt.testing import BoxAnswers, BoxEmulator, FakeClock
from boxjwt.testing.scenarios import SCENARIOS, Scenario
from secret_scan import assert_no_secret_in_text, emulator_secrets

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SETTING_CHECKS = {
    CheckId.SCOPE_MANAGE_USERS,
    CheckId.ACCESS_ENTERPRISE,
    CheckId.SCOPE_READ,
    CheckId.SCOPE_WRITE,
    CheckId.FEATURE_AS_USER,
    CheckId.FEATURE_USER_TOKENS,
    CheckId.SCOPE_MANAGE_GROUPS,
    CheckId.SCOPE_ENTERPRISE_PROPERTIES,
}


@pytest.fixture
def emu() -> Iterator[BoxEmulator]:
    with BoxEmulator() as emulator:
        # token errors with a request ID, to check it is kept (Box's token endpoint sends none)
        emulator.answers = BoxAnswers(oauth_error_request_id=True)
        yield emulator


@pytest.fixture
def sleeper() -> FakeClock:
    """Its ``sleep`` records the waits instead of sleeping."""
    return FakeClock()


def check(
    emu: BoxEmulator,
    path: Any,
    sleeper: FakeClock | None = None,
    **kwargs: Any,
) -> PreflightReport:
    retry = boxjwt.RetryPolicy(max_attempts=2, sleep=(sleeper or FakeClock()).sleep)
    return preflight(path, base_url=emu.base_url, retry=retry, **kwargs)


def not_passing(report: PreflightReport) -> dict[str, CheckStatus]:
    return {c.id: c.status for c in report.checks if not c.passed}


def assert_read_only(emu: BoxEmulator, limit: int = 15) -> None:
    log = emu.request_log
    writes = [
        (r.method, r.path)
        for r in log
        if r.method in WRITE_METHODS and not (r.method == "POST" and r.path == "/oauth2/token")
    ]
    assert writes == []
    assert {r.method for r in log} <= {"GET", "OPTIONS", "POST"}
    assert len(log) <= limit


def validate(report: PreflightReport) -> dict[str, Any]:
    doc = json.loads(report.to_json())
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(doc)
    return doc


# --------------------------------------------------------------------------- a healthy app


def test_fully_configured_app_passes_every_check(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    report = check(emu, ekf.path)

    assert report.ok
    assert [c.id for c in report.checks] == list(CheckId)
    assert not_passing(report) == {}
    assert report.failures == ()
    assert report.warnings == ()
    assert report.counts() == {"pass": 16, "fail": 0, "warn": 0, "skipped": 0}
    assert report.service_account == UserRef(
        id=emu.service_account.id if emu.apps[0] is ekf.app else ekf.app.service_account.id,
        login=ekf.app.service_account.login,
    )
    assert report.probe_user is not None
    probe = emu.user(report.probe_user.id)
    assert probe.kind == "managed"
    assert probe.status == "active"
    assert report.client_id == ekf.client_id
    assert report.enterprise_id == emu.enterprise_id
    assert report.public_key_id == ekf.kid
    assert report.clock_skew is not None
    assert abs(report.clock_skew) < 2
    # read-only, few requests, and the report counts them right
    assert_read_only(emu)
    assert report.request_count == len(emu.request_log) == 10
    assert emu.token_requests(subject_type="enterprise") == 1
    assert emu.token_requests(subject_type="user") == 1
    assert emu.count("OPTIONS", "/2.0/files/content") == 1
    assert emu.files == []  # the upload pre-check created nothing
    assert emu.count("GET", "/2.0/users/me", as_user=probe.id) == 1
    # JSON validates against the shipped schema
    doc = validate(report)
    assert doc["schema_version"] == SCHEMA_VERSION == 1
    assert doc["ok"] is True
    assert doc["summary"]["pass"] == 16
    assert doc["target"]["probe_user"]["id"] == probe.id
    assert_no_secret_in_text(str(report) + report.to_json(), emulator_secrets(emu, ekf))
    # evidence carries Box's request ids
    identity = report[CheckId.IDENTITY_SERVICE_ACCOUNT]
    assert identity.evidence[0].status_code == 200
    logged = emu.records("GET", "/2.0/users/me")[0]
    assert logged.request_id in {e.request_id for c in report.checks for e in c.evidence}


def test_probes_run_in_parallel_but_report_order_is_fixed(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    parallel = check(emu, ekf.path, concurrency=8)
    sequential = check(emu, ekf.path, concurrency=1)
    assert [c.id for c in parallel.checks] == [c.id for c in sequential.checks] == list(CheckId)
    assert [c.status for c in parallel.checks] == [c.status for c in sequential.checks]
    assert parallel.ok
    assert sequential.ok


def test_a_loaded_keyfile_works_too(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    report = check(emu, ekf.load())
    assert report.ok
    assert not_passing(report) == {}
    assert report[CheckId.KEYFILE_PERMISSIONS].passed  # KeyFile.path is checked

    from_json = emu.make_keyfile()
    report = check(emu, from_json.load())
    assert report.ok
    permissions = report[CheckId.KEYFILE_PERMISSIONS]
    assert permissions.status is CheckStatus.SKIPPED
    assert "<json>" in permissions.message
    assert report.source == "<json>"


# --------------------------------------------------------------------------- every scenario

#: For each scenario: the check whose remediation is asserted, and what it must name.
REMEDIES: dict[str, tuple[CheckId, list[str]]] = {
    "not-authorized": (
        CheckId.TOKEN_ENTERPRISE,
        ["Admin Console > Integrations > Platform Apps Manager", "Add App", "Enable App"],
    ),
    "wrong-secret": (CheckId.TOKEN_ENTERPRISE, ["OAuth 2.0 Credentials", "client secret"]),
    "key-removed": (
        CheckId.TOKEN_ENTERPRISE,
        ["Add and Manage Public Keys", "Generate a Public/Private Keypair", "Add a Public Key"],
    ),
    "no-public-key": (CheckId.TOKEN_ENTERPRISE, ["Generate a Public/Private Keypair"]),
    "wrong-key": (CheckId.TOKEN_ENTERPRISE, ["config downloaded together", "Add a Public Key"]),
    "wrong-enterprise": (
        CheckId.TOKEN_ENTERPRISE,
        ["enterpriseID", "Admin Console > Account & Billing"],
    ),
    "not-jwt-app": (CheckId.TOKEN_ENTERPRISE, ['"Server Authentication (with JWT)"']),
    "ccg-config": (CheckId.KEYFILE_PARSE, ['"Server Authentication (with JWT)"']),
    "wrong-passphrase": (CheckId.KEYFILE_DECRYPT, ["passphrase", "--passphrase-env"]),
    "app-access-only": (
        CheckId.ACCESS_ENTERPRISE,
        ["Configuration > App Access Level", '"App + Enterprise Access"', "Reauthorize App"],
    ),
    "as-user-off": (
        CheckId.FEATURE_AS_USER,
        ["Advanced Features", '"Make API calls using the as-user header"', "Reauthorize App"],
    ),
    "user-tokens-off": (
        CheckId.FEATURE_USER_TOKENS,
        ["Advanced Features", '"Generate user access tokens"', "Reauthorize App"],
    ),
    "no-manage-users": (
        CheckId.SCOPE_MANAGE_USERS,
        ["Application Scopes > Administrative Actions", '"Manage users"', "Reauthorize App"],
    ),
    "no-read": (
        CheckId.SCOPE_READ,
        ["Content Actions", '"Read all files and folders stored in Box"', "Reauthorize App"],
    ),
    "no-write": (
        CheckId.SCOPE_WRITE,
        ["Content Actions", '"Write all files and folders stored in Box"', "Reauthorize App"],
    ),
    "no-manage-groups": (
        CheckId.SCOPE_MANAGE_GROUPS,
        ["Administrative Actions", '"Manage groups"', "Reauthorize App"],
    ),
    "no-enterprise-properties": (
        CheckId.SCOPE_ENTERPRISE_PROPERTIES,
        ["Administrative Actions", '"Manage enterprise properties"', "Reauthorize App"],
    ),
    "pending-reauthorization": (
        CheckId.FEATURE_AS_USER,
        ["not been re-authorized", "Reauthorize App"],
    ),
    "clock-behind": (CheckId.CLOCK_SKEW, ["NTP"]),
    "clock-ahead": (CheckId.CLOCK_SKEW, ["NTP"]),
    "unencrypted-key": (CheckId.KEYFILE_PASSPHRASE, ["openssl pkcs8", "BOXJWT_PASSPHRASE"]),
    "loose-permissions": (CheckId.KEYFILE_PERMISSIONS, ["chmod 600"]),
}


def test_every_scenario_has_a_remedy_test() -> None:
    assert set(REMEDIES) == set(SCENARIOS) - {"configured"}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_fails_exactly_the_right_check(
    emu: BoxEmulator, tmp_path: pathlib.Path, name: str
) -> None:
    scenario: Scenario = SCENARIOS[name]
    built = scenario.build(emu, tmp_path)
    report = check(emu, built.path, probe_user=built.probe_user)

    # exactly the expected checks do not pass; everything else passes
    assert not_passing(report) == scenario.expected
    assert report.ok is not any(s is CheckStatus.FAIL for s in scenario.expected.values())
    assert_read_only(emu)
    assert report.request_count == len(emu.request_log)
    validate(report)

    for result in report.checks:
        if result.status in (CheckStatus.FAIL, CheckStatus.WARN):
            assert result.remediation, result.id
            if result.id in SETTING_CHECKS:
                assert REAUTHORIZE_HINT in result.remediation
        elif result.status is CheckStatus.SKIPPED:
            assert result.message.startswith("Not checked")
            assert result.remediation is None
            if result.skipped_because is not None:
                root = report[result.skipped_because]
                assert root.status is CheckStatus.FAIL
        else:
            assert result.remediation is None
    if name in REMEDIES:
        cid, fragments = REMEDIES[name]
        remediation = report[cid].remediation or ""
        for fragment in fragments:
            assert fragment in remediation, (cid, fragment)


@pytest.mark.parametrize(
    "name", ["configured", "not-authorized", "wrong-secret", "as-user-off", "clock-behind"]
)
def test_no_secret_in_any_output(emu: BoxEmulator, tmp_path: pathlib.Path, name: str) -> None:
    SCENARIOS[name].build(emu, tmp_path)
    ekf_path = tmp_path / "key.json"
    report = check(emu, ekf_path)
    app = emu.apps[-1]
    config = json.loads(ekf_path.read_text())
    secrets = [config["boxAppSettings"]["clientSecret"], app.client_secret]
    secrets.append(config["boxAppSettings"]["appAuth"]["passphrase"])
    pem = config["boxAppSettings"]["appAuth"]["privateKey"]
    secrets += [line for line in pem.splitlines() if len(line) > 16 and "-----" not in line]
    with emu.state.lock:
        secrets += list(emu.state.tokens)
    outputs = [
        str(report),
        render_text(report, color=True),
        report.to_json(),
        repr(report),
        *(repr(c) for c in report.checks),
    ]
    for text in outputs:
        assert_no_secret_in_text(text, secrets)


# --------------------------------------------------------------------------- token causes


def test_token_failure_evidence_is_box_answer(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    ekf.app.disable()
    report = check(emu, ekf.path)
    token = report[CheckId.TOKEN_ENTERPRISE]
    (evidence,) = token.evidence
    (logged,) = emu.records("POST", "/oauth2/token")
    assert evidence == CheckEvidence(
        request=f"POST /oauth2/token (box_sub_type=enterprise, sub={emu.enterprise_id})",
        status_code=400,
        error="unauthorized_client",
        error_description="This app is not authorized by the enterprise admin",
        request_id=logged.request_id,
    )
    assert "not authorized" in token.message
    assert ekf.client_id in token.remediation
    assert f"request id {logged.request_id}" in str(evidence)
    assert report[CheckId.CLOCK_SKEW].passed  # Date of the error answer
    assert report[CheckId.SCOPE_READ].skipped_because == CheckId.TOKEN_ENTERPRISE
    assert report.request_count == 1


def test_enterprise_token_unreachable(tmp_path: pathlib.Path, sleeper: FakeClock) -> None:
    with BoxEmulator() as dead:
        ekf = dead.make_keyfile(tmp_path / "key.json")
        base_url = dead.base_url
    report = preflight(
        ekf.path, base_url=base_url, retry=boxjwt.RetryPolicy(max_attempts=2, sleep=sleeper.sleep)
    )
    token = report[CheckId.TOKEN_ENTERPRISE]
    assert token.failed
    assert "network" in (token.remediation or "")
    assert token.evidence[0].status_code is None
    assert len(sleeper.sleeps) == 1  # one quick retry, no real sleep
    clock = report[CheckId.CLOCK_SKEW]
    assert clock.status is CheckStatus.SKIPPED
    assert "Date" in clock.message
    assert report.clock_skew is None
    assert report.request_count == 0


@pytest.mark.parametrize(
    ("status", "body", "cause", "fix"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "Please check the 'iss' claim."},
            "issuer",
            "OAuth 2.0 Credentials",
        ),
        (
            400,
            {
                "error": "invalid_request",
                "error_description": "Invalid grant_type parameter or parameter missing",
            },
            "did not reach",
            "base URL",
        ),
        (
            400,
            {
                "error": "invalid_grant",
                "error_description": "Current date/time MUST be before the expiration date/time "
                "listed in the 'exp' claim",
            },
            "clock",
            "NTP",
        ),
        (503, None, "could not answer", "network"),
        (400, {"error": "invalid_grant", "error_description": "Something new"}, "refused", "Box"),
    ],
)
def test_other_token_causes(
    emu: BoxEmulator,
    tmp_path: pathlib.Path,
    sleeper: FakeClock,
    *,
    status: int,
    body: dict[str, str] | None,
    cause: str,
    fix: str,
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push("/oauth2/token", status, body=body, count=3)
    report = check(emu, ekf.path, sleeper)
    token = report[CheckId.TOKEN_ENTERPRISE]
    assert token.failed
    assert cause in token.message
    assert fix in (token.remediation or "")
    assert not_passing(report) == {
        CheckId.TOKEN_ENTERPRISE: CheckStatus.FAIL,
        **{
            cid: CheckStatus.SKIPPED
            for cid in CheckId
            if list(CheckId).index(cid) > list(CheckId).index(CheckId.TOKEN_ENTERPRISE)
        },
    }


# --------------------------------------------------------------------------- clock


@pytest.mark.parametrize(("offset", "way"), [(300.0, "behind"), (-300.0, "ahead of")])
def test_clock_skew_is_measured_not_hidden(
    emu: BoxEmulator, tmp_path: pathlib.Path, offset: float, way: str
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.clock_offset = offset
    report = check(emu, ekf.path)
    clock = report[CheckId.CLOCK_SKEW]
    assert clock.failed
    assert f"300 s {way} Box's" in clock.message
    assert "boxjwt corrected for it" in clock.message
    assert report.clock_skew is not None
    assert abs(report.clock_skew - offset) < 2
    token = report[CheckId.TOKEN_ENTERPRISE]
    assert token.passed
    assert "corrected" in token.message
    # the rejected first assertion costs one extra request; the user token uses Box's time
    assert emu.token_requests(subject_type="enterprise") == 2
    assert emu.token_requests(subject_type="user") == 1
    assert report.request_count == 11


@pytest.mark.parametrize(("offset", "status"), [(10.0, "warn"), (-10.0, "warn"), (3.0, "pass")])
def test_small_clock_skew(
    emu: BoxEmulator, tmp_path: pathlib.Path, offset: float, status: str
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.clock_offset = offset
    report = check(emu, ekf.path)
    assert report[CheckId.CLOCK_SKEW].status == status
    assert report.ok
    assert report[CheckId.TOKEN_ENTERPRISE].passed
    assert emu.token_requests() == 2  # no correction needed within the assertion's lifetime


def test_injected_clock_is_compared_with_box(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    report = check(emu, ekf.path, clock=lambda: emu.clock() - 120.0)
    assert report[CheckId.CLOCK_SKEW].failed
    assert report.clock_skew is not None
    assert abs(report.clock_skew - 120.0) < 2


# --------------------------------------------------------------------------- key file


def test_missing_key_file(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    report = check(emu, tmp_path / "nope.json")
    parse = report[CheckId.KEYFILE_PARSE]
    assert parse.failed
    assert "nope.json" in parse.message
    assert "Check the path" in (parse.remediation or "")
    assert report[CheckId.KEYFILE_PERMISSIONS].status is CheckStatus.SKIPPED
    assert report[CheckId.KEYFILE_DECRYPT].skipped_because == CheckId.KEYFILE_PARSE
    assert report[CheckId.CLOCK_SKEW].skipped_because == CheckId.KEYFILE_PARSE
    assert report[CheckId.FEATURE_AS_USER].skipped_because == CheckId.KEYFILE_PARSE
    assert report.request_count == 0
    assert emu.request_log == []
    assert report.client_id is None
    validate(report)


@pytest.mark.parametrize(
    ("content", "fix"),
    [
        ("{not json", "exactly as downloaded"),
        ('{"boxAppSettings": {}}', "Download the config again"),
    ],
)
def test_unparseable_key_file(
    emu: BoxEmulator, tmp_path: pathlib.Path, content: str, fix: str
) -> None:
    path = tmp_path / "key.json"
    path.write_text(content)
    path.chmod(0o600)
    report = check(emu, path)
    parse = report[CheckId.KEYFILE_PARSE]
    assert parse.failed
    assert fix in (parse.remediation or "")
    assert "Fix:" not in parse.message  # the remediation carries it
    assert report[CheckId.KEYFILE_PERMISSIONS].passed


def test_unreadable_key_file(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    report = check(emu, tmp_path)  # a directory
    parse = report[CheckId.KEYFILE_PARSE]
    assert parse.failed
    assert "directory" in parse.message
    assert "path of the file itself" in (parse.remediation or "")


@pytest.mark.parametrize("enterprise_id", ["0", "abc", True, None])
def test_bad_enterprise_id_still_checks_the_key(
    emu: BoxEmulator, tmp_path: pathlib.Path, enterprise_id: object
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json", config_overrides={"enterpriseID": enterprise_id})
    report = check(emu, ekf.path)
    assert not_passing(report) == {
        CheckId.KEYFILE_ENTERPRISE_ID: CheckStatus.FAIL,
        CheckId.CLOCK_SKEW: CheckStatus.SKIPPED,
        CheckId.TOKEN_ENTERPRISE: CheckStatus.SKIPPED,
        **{
            cid: CheckStatus.SKIPPED
            for cid in CheckId
            if list(CheckId).index(cid) > list(CheckId).index(CheckId.TOKEN_ENTERPRISE)
        },
    }
    assert report[CheckId.KEYFILE_DECRYPT].passed  # evaluated with a stand-in ID
    assert "Account & Billing" in (report[CheckId.KEYFILE_ENTERPRISE_ID].remediation or "")
    assert report[CheckId.TOKEN_ENTERPRISE].skipped_because == CheckId.KEYFILE_ENTERPRISE_ID


def test_bad_enterprise_id_and_bad_passphrase(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json", config_overrides={"enterpriseID": "0"})
    report = check(emu, ekf.path, passphrase="wrong")
    assert report[CheckId.KEYFILE_ENTERPRISE_ID].failed
    assert report[CheckId.KEYFILE_DECRYPT].failed
    assert report[CheckId.KEYFILE_PASSPHRASE].skipped_because == CheckId.KEYFILE_DECRYPT


def test_integer_enterprise_id_warns(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json", int_enterprise_id=True)
    report = check(emu, ekf.path)
    assert not_passing(report) == {CheckId.KEYFILE_ENTERPRISE_ID: CheckStatus.WARN}
    assert f'"enterpriseID": "{emu.enterprise_id}"' in (
        report[CheckId.KEYFILE_ENTERPRISE_ID].remediation or ""
    )


def test_concurrent_preflights_keep_their_warnings_apart(
    emu: BoxEmulator, tmp_path: pathlib.Path, recwarn: pytest.WarningsRecorder
) -> None:
    # A vendor portal may run "Test" for several tenants at once, on threads: each report gets
    # exactly its own key-file findings, and none of them leaks out as a Python warning.
    coerced = emu.make_keyfile(tmp_path / "int.json", int_enterprise_id=True)
    plain = emu.make_keyfile(tmp_path / "plain.json")
    unencrypted = emu.make_keyfile(tmp_path / "open.json", unencrypted=True)
    jobs = [coerced.path, plain.path, unencrypted.path] * 3
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        reports = list(pool.map(lambda path: check(emu, path), jobs))
    expected = {
        coerced.path: {CheckId.KEYFILE_ENTERPRISE_ID: CheckStatus.WARN},
        plain.path: {},
        unencrypted.path: {CheckId.KEYFILE_PASSPHRASE: CheckStatus.WARN},
    }
    assert [not_passing(r) for r in reports] == [expected[path] for path in jobs]
    assert [str(w.message) for w in recwarn] == []


def test_missing_passphrase_and_override(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(
        tmp_path / "key.json",
        config_overrides={"boxAppSettings": {"appAuth": {"passphrase": ""}}},
    )
    report = check(emu, ekf.path)
    decrypt = report[CheckId.KEYFILE_DECRYPT]
    assert decrypt.failed
    assert "no passphrase" in decrypt.message
    assert report[CheckId.KEYFILE_ENTERPRISE_ID].passed
    assert ekf.passphrase is not None
    assert ekf.passphrase not in str(report) + report.to_json()

    fixed = check(emu, ekf.path, passphrase=boxjwt.Secret(ekf.passphrase))
    assert fixed.ok
    assert not_passing(fixed) == {}


def test_separate_pem_file(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json", separate_pem=True)
    missing = check(emu, ekf.path)
    decrypt = missing[CheckId.KEYFILE_DECRYPT]
    assert decrypt.failed
    assert "--private-key" in (decrypt.remediation or "")

    assert ekf.pem_path is not None
    report = check(emu, ekf.path, private_key_path=ekf.pem_path, passphrase=ekf.passphrase)
    assert report.ok
    assert not_passing(report) == {}
    assert str(ekf.pem_path) in report[CheckId.KEYFILE_PERMISSIONS].message

    ekf.pem_path.chmod(0o640)
    loose = check(emu, ekf.path, private_key_path=ekf.pem_path, passphrase=ekf.passphrase)
    assert not_passing(loose) == {CheckId.KEYFILE_PERMISSIONS: CheckStatus.WARN}
    assert "0640" in loose[CheckId.KEYFILE_PERMISSIONS].message


@pytest.mark.parametrize("mangle", ["escaped-newlines", "crlf", "whitespace"])
def test_mangled_pem_is_repaired(emu: BoxEmulator, tmp_path: pathlib.Path, mangle: Any) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json", mangle=mangle)
    report = check(emu, ekf.path)
    assert report.ok
    assert not_passing(report) == {}


def test_corrupt_pem(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    assert ekf.pem is not None
    lines = ekf.pem.splitlines()
    damaged = "\n".join([*lines[:3], *lines[-1:]]) + "\n"  # truncated
    config = json.loads(ekf.json)
    config["boxAppSettings"]["appAuth"]["privateKey"] = damaged
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    report = check(emu, path)
    decrypt = report[CheckId.KEYFILE_DECRYPT]
    assert decrypt.failed
    assert "the copy is damaged" in (decrypt.remediation or "")


def test_weak_and_foreign_keys(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    ekf = emu.make_keyfile(
        tmp_path / "key.json",
        config_overrides={"boxAppSettings": {"appAuth": {"privateKey": pem, "passphrase": ""}}},
    )
    report = check(emu, ekf.path)
    assert report[CheckId.KEYFILE_DECRYPT].failed
    assert "RSA key of at least 2048 bits" in (report[CheckId.KEYFILE_DECRYPT].remediation or "")


# --------------------------------------------------------------------------- probe user


def test_probe_user_by_id_and_login(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    user = emu.managed_users[2]
    by_id = check(emu, ekf.path, probe_user=int(user.id))
    by_login = check(emu, ekf.path, probe_user=user.login.upper())
    for report in (by_id, by_login):
        assert report.ok
        assert not_passing(report) == {}
        assert report.probe_user == UserRef(id=user.id, login=user.login)
    assert emu.count("GET", "/2.0/users/me", as_user=user.id) == 2


def test_probe_user_admin_is_inconclusive(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    report = check(emu, ekf.path, probe_user=emu.admin.login)
    as_user = report[CheckId.FEATURE_AS_USER]
    assert as_user.status is CheckStatus.WARN
    assert "Inconclusive" in as_user.message
    assert "admin" in as_user.message
    assert as_user.evidence[0].error == "access_denied_insufficient_permissions"
    assert report[CheckId.FEATURE_USER_TOKENS].passed
    assert report.ok


def test_probe_user_app_user_token_refusal_is_inconclusive(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    other = emu.create_app()
    stranger = other.app_users[0]
    ekf = emu.make_keyfile(tmp_path / "key.json")
    ekf.app.configure(user_tokens=False)
    ekf.app.reauthorize()
    own = ekf.app.app_users[0]
    report = check(emu, ekf.path, probe_user=own.login)
    assert report[CheckId.FEATURE_AS_USER].passed  # its own app user
    tokens = report[CheckId.FEATURE_USER_TOKENS]
    assert tokens.status is CheckStatus.WARN
    assert "app user" in tokens.message
    # another app's app user is not in the list, and the lookup does not find it either
    missing = check(emu, ekf.path, probe_user=stranger.login)
    assert missing[CheckId.FEATURE_AS_USER].status is CheckStatus.SKIPPED
    assert "not found" in missing[CheckId.FEATURE_AS_USER].message
    assert emu.count("GET", "/2.0/users") >= 3


def test_probe_user_inactive_or_admin_as_user_denied(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    inactive = next(u for u in emu.managed_users if u.status == "inactive")
    emu.faults.push("/2.0/users/me", delay=0.001)  # identity: answered normally
    emu.faults.push("/2.0/users/me", 403)  # As-User: Box's JSON access_denied
    report = check(emu, ekf.path, probe_user=inactive.id, concurrency=1)
    as_user = report[CheckId.FEATURE_AS_USER]
    assert as_user.status is CheckStatus.WARN
    assert "inactive" in as_user.message


def test_as_user_json_denial_points_at_access_level(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push("/2.0/users/me", delay=0.001)
    emu.faults.push("/2.0/users/me", 403)
    report = check(emu, ekf.path, concurrency=1)
    as_user = report[CheckId.FEATURE_AS_USER]
    assert as_user.failed
    assert "not at the As-User switch" in as_user.message
    assert "App + Enterprise Access" in (as_user.remediation or "")
    assert REAUTHORIZE_HINT in (as_user.remediation or "")
    assert not_passing(report) == {CheckId.FEATURE_AS_USER: CheckStatus.FAIL}


def test_as_user_ignored_or_odd_answers(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push("/2.0/users/me", delay=0.001)
    emu.faults.push("/2.0/users/me", 200, body={"type": "user", "id": "1"})  # As-User ignored
    emu.faults.push("/2.0/users/me", 404)  # the user token's /users/me
    report = check(emu, ekf.path, concurrency=1)
    assert "ignored the As-User header" in report[CheckId.FEATURE_AS_USER].message
    tokens = report[CheckId.FEATURE_USER_TOKENS]
    assert tokens.failed
    assert "did not work" in tokens.message
    assert [e.status_code for e in tokens.evidence] == [200, 404]

    emu.faults.push("/2.0/users/me", delay=0.001)
    emu.faults.push("/2.0/users/me", 400)
    odd = check(emu, ekf.path, concurrency=1)
    as_user = odd[CheckId.FEATURE_AS_USER]
    assert as_user.failed
    assert "HTTP 400" in as_user.message


def test_probe_user_lookup_beyond_the_first_page(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    late = emu.add_user("Late Joiner")
    page = {
        "total_count": 1,
        "entries": [
            {
                "type": "user",
                "id": emu.admin.id,
                "login": emu.admin.login,
                "role": "admin",
                "status": "active",
                "is_platform_access_only": False,
            }
        ],
    }
    emu.faults.push("/2.0/users", 200, body=page)  # the first page lacks the probe user
    report = check(emu, ekf.path, probe_user=late.login)
    assert report.ok
    assert report.probe_user == UserRef(id=late.id, login=late.login)
    assert emu.count("GET", "/2.0/users") == 2  # the list, then filter_term
    assert report.request_count == 11

    emu.faults.push("/2.0/users", 200, body=page)
    emu.reset_log()
    by_id = check(emu, ekf.path, probe_user=late.id)  # the emulator's real GET /users/{id}
    assert by_id.ok
    assert by_id.probe_user == UserRef(id=late.id, login=late.login)
    assert emu.count("GET", f"/2.0/users/{late.id}") == 1

    emu.faults.push("/2.0/users", 200, body=page)
    unknown = check(emu, ekf.path, probe_user="99999999999")
    assert unknown[CheckId.FEATURE_USER_TOKENS].status is CheckStatus.SKIPPED
    assert "not found" in unknown[CheckId.FEATURE_USER_TOKENS].message
    assert unknown.ok


def test_probe_user_is_the_service_account(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    account = ekf.app.service_account
    entry = {
        "type": "user",
        "id": account.id,
        "login": account.login,
        "role": "user",
        "status": "active",
        "is_platform_access_only": False,
    }
    emu.faults.push("/2.0/users", 200, body={"total_count": 1, "entries": [entry]})
    alone = check(emu, ekf.path)
    # the service account is not a managed user: App Access Only is inferred
    assert alone[CheckId.ACCESS_ENTERPRISE].failed

    admin = {
        "type": "user",
        "id": emu.admin.id,
        "login": emu.admin.login,
        "role": "admin",
        "status": "active",
        "is_platform_access_only": False,
    }
    emu.faults.push("/2.0/users", 200, body={"total_count": 2, "entries": [admin, entry]})
    report = check(emu, ekf.path, probe_user=account.id)
    assert report[CheckId.ACCESS_ENTERPRISE].passed
    as_user = report[CheckId.FEATURE_AS_USER]
    assert as_user.status is CheckStatus.SKIPPED
    assert "service account" in as_user.message


def test_no_suitable_probe_user(tmp_path: pathlib.Path) -> None:
    with BoxEmulator(co_admins=0, managed_users=0) as lone:
        ekf = lone.make_keyfile(tmp_path / "key.json")
        report = check(lone, ekf.path)
    assert report.ok
    assert report[CheckId.ACCESS_ENTERPRISE].passed  # the primary admin is managed
    for cid in (CheckId.FEATURE_AS_USER, CheckId.FEATURE_USER_TOKENS):
        skipped = report[cid]
        assert skipped.status is CheckStatus.SKIPPED
        assert "--probe-user" in skipped.message
        assert skipped.skipped_because is None


def test_user_token_for_unknown_probe_user(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    ghost = {
        "type": "user",
        "id": "12345678901",
        "login": "ghost@example.com",
        "role": "user",
        "status": "active",
        "is_platform_access_only": False,
    }
    listing = {"total_count": 1, "entries": [ghost]}
    emu.faults.push("/2.0/users", 200, body=listing)
    report = check(emu, ekf.path)
    tokens = report[CheckId.FEATURE_USER_TOKENS]
    assert tokens.failed
    assert "does not know this user" in tokens.message
    assert report[CheckId.FEATURE_AS_USER].status is CheckStatus.FAIL  # JSON 403 for a stranger


def test_user_token_other_failure(
    emu: BoxEmulator, tmp_path: pathlib.Path, sleeper: FakeClock
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push("/oauth2/token", delay=0.001)  # the enterprise token: normal
    emu.faults.push("/oauth2/token", 500, count=2)  # the user token: Box fails
    report = check(emu, ekf.path, sleeper)
    tokens = report[CheckId.FEATURE_USER_TOKENS]
    assert tokens.failed
    assert "network" in (tokens.remediation or "")
    assert len(sleeper.sleeps) == 1


# ------------------------------------------------------------------ probe user, no user list
# issue 13 item 18: with a probe user given, a refused user list ("Manage users" off) no longer
# hides the As-User and user-token problems: the admin gets every problem in one run.


def _without_manage_users(emu: BoxEmulator, tmp_path: pathlib.Path, **settings: Any) -> Any:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    ekf.app.configure(scopes=ekf.app.settings.scopes - {"manage_users"}, **settings)
    ekf.app.reauthorize()
    return ekf


def test_probe_user_given_is_probed_when_listing_users_is_refused(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    ekf = _without_manage_users(emu, tmp_path)
    user = emu.managed_users[1]
    report = check(emu, ekf.path, probe_user=user.id)
    assert not_passing(report) == {
        CheckId.SCOPE_MANAGE_USERS: CheckStatus.FAIL,
        CheckId.ACCESS_ENTERPRISE: CheckStatus.SKIPPED,
    }
    assert report.probe_user is not None
    assert report.probe_user.id == user.id
    assert emu.count("GET", "/2.0/users/me", as_user=user.id) == 1
    assert emu.token_requests(subject_type="user") == 1
    assert emu.count("GET", f"/2.0/users/{user.id}") == 0  # refused anyway: not asked
    assert report.request_count == len(emu.request_log) == 10
    validate(report)


def test_every_problem_in_one_run_without_the_user_list(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    ekf = _without_manage_users(emu, tmp_path, as_user=False, user_tokens=False)
    report = check(emu, ekf.path, probe_user=emu.managed_users[0].id)
    assert not_passing(report) == {
        CheckId.SCOPE_MANAGE_USERS: CheckStatus.FAIL,
        CheckId.ACCESS_ENTERPRISE: CheckStatus.SKIPPED,
        CheckId.FEATURE_AS_USER: CheckStatus.FAIL,
        CheckId.FEATURE_USER_TOKENS: CheckStatus.FAIL,
    }
    assert "insufficient_scope" in report[CheckId.FEATURE_AS_USER].message
    tokens = report[CheckId.FEATURE_USER_TOKENS]
    # the access level is unknown, so the refusal names both settings that cause it
    remediation = tokens.remediation or ""
    assert '"Generate user access tokens"' in remediation
    assert '"App + Enterprise Access"' in remediation
    assert REAUTHORIZE_HINT in remediation


def test_probe_user_login_cannot_be_resolved_without_the_user_list(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    ekf = _without_manage_users(emu, tmp_path)
    report = check(emu, ekf.path, probe_user=emu.managed_users[0].login)
    for cid in (CheckId.FEATURE_AS_USER, CheckId.FEATURE_USER_TOKENS):
        skipped = report[cid]
        assert skipped.status is CheckStatus.SKIPPED
        assert "user ID" in skipped.message
        assert skipped.skipped_because == CheckId.SCOPE_MANAGE_USERS
    assert emu.count("GET", "/2.0/users") == 1  # no filter_term lookup: it would be refused too


def test_probe_admin_without_the_user_list_warns(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = _without_manage_users(emu, tmp_path)
    report = check(emu, ekf.path, probe_user=emu.co_admins[0].id)
    as_user = report[CheckId.FEATURE_AS_USER]
    assert as_user.status is CheckStatus.WARN
    assert "whatever the app's settings" in as_user.message
    assert "co-admin" in as_user.message
    assert '"App + Enterprise Access"' in (as_user.remediation or "")
    assert report[CheckId.FEATURE_USER_TOKENS].passed


@pytest.mark.parametrize("who", ["admin", "co-admin", "inactive"])
def test_unsuitable_probe_user_warns_that_box_refuses_whatever_the_settings(
    emu: BoxEmulator, tmp_path: pathlib.Path, who: str
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    if who == "admin":
        probe = emu.admin
    elif who == "co-admin":
        probe = emu.co_admins[0]
    else:
        probe = next(u for u in emu.managed_users if u.status == "inactive")
        emu.faults.push("/2.0/users/me", delay=0.001)  # identity: answered normally
        emu.faults.push("/2.0/users/me", 403)  # As-User: Box's JSON access_denied
    report = check(emu, ekf.path, probe_user=probe.id, concurrency=1)
    as_user = report[CheckId.FEATURE_AS_USER]
    assert as_user.status is CheckStatus.WARN
    assert "whatever the app's settings" in as_user.message
    assert report.ok


# --------------------------------------------------------------------------- odd API answers


def test_identity_from_another_enterprise(emu: BoxEmulator, tmp_path: pathlib.Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    account = ekf.app.service_account
    emu.faults.push(
        "/2.0/users/me",
        200,
        body={
            "type": "user",
            "id": account.id,
            "login": account.login,
            "enterprise": {"type": "enterprise", "id": "4242"},
        },
    )
    report = check(emu, ekf.path, concurrency=1)
    identity = report[CheckId.IDENTITY_SERVICE_ACCOUNT]
    assert identity.failed
    assert "enterprise 4242" in identity.message
    assert "another enterprise" in identity.message
    assert not_passing(report) == {CheckId.IDENTITY_SERVICE_ACCOUNT: CheckStatus.FAIL}


def test_identity_not_a_service_account_or_unreadable(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push(
        "/2.0/users/me",
        200,
        body={
            "type": "user",
            "id": "5",
            "login": "someone@example.com",
            "enterprise": {"id": emu.enterprise_id},
        },
    )
    report = check(emu, ekf.path, concurrency=1)
    assert report[CheckId.IDENTITY_SERVICE_ACCOUNT].status is CheckStatus.WARN

    emu.faults.push("/2.0/users/me", 200, body="not json")
    broken = check(emu, ekf.path, concurrency=1)
    assert broken[CheckId.IDENTITY_SERVICE_ACCOUNT].failed


def test_transient_errors_are_retried_once(
    emu: BoxEmulator, tmp_path: pathlib.Path, sleeper: FakeClock
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push("/2.0/folders/0", 503)
    emu.faults.push("/2.0/groups", 429, retry_after=0)
    report = check(emu, ekf.path, sleeper)
    assert report.ok
    assert not_passing(report) == {}
    assert report.request_count == 12
    assert len(sleeper.sleeps) == 1  # the 503's backoff; Retry-After: 0 needs no wait


def test_persistent_errors_fail_with_network_advice(
    emu: BoxEmulator, tmp_path: pathlib.Path, sleeper: FakeClock
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push("/2.0/folders/0", 503, count=2)
    emu.faults.push("/2.0/files/content", 404)
    emu.faults.push("/2.0/users", 403)  # JSON access_denied, not the scope header
    emu.faults.push("/2.0/groups", drop=True, count=2)
    emu.faults.push("/2.0/users/me", drop=True, count=2)
    report = check(emu, ekf.path, sleeper)
    assert report[CheckId.IDENTITY_SERVICE_ACCOUNT].failed
    read = report[CheckId.SCOPE_READ]
    assert read.failed
    assert "network" in (read.remediation or "")
    write = report[CheckId.SCOPE_WRITE]
    assert write.failed
    assert "404" in (write.remediation or "")
    users = report[CheckId.SCOPE_MANAGE_USERS]
    assert users.failed
    assert "access_denied" in users.message
    assert report[CheckId.ACCESS_ENTERPRISE].skipped_because == CheckId.SCOPE_MANAGE_USERS
    groups = report[CheckId.SCOPE_MANAGE_GROUPS]
    assert groups.failed
    assert "no answer" in groups.message
    assert groups.evidence[0].status_code is None


def test_upload_precheck_conflict_proves_write_access(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push("/2.0/files/content", 409)
    report = check(emu, ekf.path)
    assert report[CheckId.SCOPE_WRITE].passed
    assert report[CheckId.SCOPE_WRITE].evidence[0].status_code == 409


def test_a_401_is_recovered_by_the_session_and_counted(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    # Probes go through AsUserSession/BoxAuth: a token Box no longer accepts is replaced once
    # and the request resent, and the report still counts every answer.
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push("/2.0/folders/0", 401)
    report = check(emu, ekf.path)
    assert report.ok
    assert not_passing(report) == {}
    assert emu.count("GET", "/2.0/folders/0") == 2
    assert emu.token_requests(subject_type="enterprise") == 2  # the token was replaced
    assert report.request_count == len(emu.request_log) == 12


def test_a_redirect_is_neither_followed_nor_a_pass(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push("/2.0/folders/0", 302, headers={"Location": "https://elsewhere.invalid/"})
    report = check(emu, ekf.path)
    read = report[CheckId.SCOPE_READ]
    assert read.failed
    assert "unexpected answer (HTTP 302)" in read.message
    assert read.evidence[0].status_code == 302
    assert report.request_count == len(emu.request_log) == 10


def test_only_app_users_listed_means_app_access_only(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    emu.faults.push("/2.0/users", 200, body={"total_count": 0, "entries": "oops"})
    report = check(emu, ekf.path)
    assert report[CheckId.SCOPE_MANAGE_USERS].failed  # unreadable list


# --------------------------------------------------------------------------- the model


def test_report_model_and_rendering() -> None:
    ok = CheckResult(id=CheckId.SCOPE_READ, title="t", status=CheckStatus.PASS, message="fine")
    bad = CheckResult(
        id=CheckId.SCOPE_WRITE,
        title="w",
        status=CheckStatus.FAIL,
        message="refused",
        remediation="do this",
        evidence=(CheckEvidence(request="OPTIONS /2.0/files/content"),),
    )
    report = PreflightReport(checks=(ok, bad), base_url="https://api.box.com")
    assert not report.ok
    assert report.failures == (bad,)
    assert report["scope.read"] is ok
    with pytest.raises(KeyError):
        report["nope"]
    text = render_text(report, color=True, width=60)
    assert "\x1b[1;31mFAIL" in text
    assert "\x1b[32mpass" in text
    assert "Fix: do this" in text
    assert "OPTIONS /2.0/files/content -> no answer" in text
    assert "FAILED: 1 passed, 1 failed" in text
    plain = str(report)
    assert "\x1b[" not in plain
    assert "the key file" in plain
    assert str(UserRef(id="7")) == "7"
    assert str(UserRef(id="7", login="a@b")) == "a@b (7)"
    doc = report.to_dict()
    assert doc["target"]["service_account"] is None
    assert doc["clock_skew_seconds"] is None
    empty = PreflightReport(checks=(), base_url="https://api.box.com")
    assert empty.ok
    assert "0 passed" in str(empty)


def test_date_samples_need_a_date_header() -> None:
    from boxjwt.preflight._client import Observer

    observer = Observer(lambda: 1000.0)
    undated = requests.Response()
    observer(undated)
    assert observer.request_count == 1
    assert observer.skew() is None
    dated = requests.Response()
    dated.headers["Date"] = "Thu, 01 Jan 1970 00:16:40 GMT"  # 1000 s
    observer(dated)
    assert observer.skew() == 0.5  # the Date's second, plus half a second of resolution


def test_public_names() -> None:
    assert boxjwt.preflight is preflight
    assert boxjwt.PreflightReport is PreflightReport
    assert boxjwt.CheckResult is CheckResult
    assert boxjwt.CheckStatus is CheckStatus
    assert boxjwt.CheckId is CheckId
    assert boxjwt.CheckEvidence is CheckEvidence
    assert CheckId.SCOPE_READ == "scope.read"
    assert [str(c) for c in CheckId][:3] == [
        "keyfile.parse",
        "keyfile.decrypt",
        "keyfile.passphrase",
    ]
    ids = re.findall(
        r"[a-z_]+\.[a-z_]+", report_schema()["$defs"]["check"]["properties"]["id"]["description"]
    )
    assert ids == [str(c) for c in CheckId]  # the schema documents every id, in order


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keyfile_or_path": 42}, "KeyFile or the path"),
        ({"base_url": "ftp://box"}, "http(s) URL"),
        ({"probe_user": ""}, "user ID or login"),
        ({"probe_user": True}, "user ID or login"),
        ({"concurrency": 0}, "concurrency"),
        ({"timeout": -1}, "timeout"),
        ({"retry": "fast"}, "RetryPolicy"),
    ],
)
def test_invalid_arguments_raise(
    tmp_path: pathlib.Path, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"keyfile_or_path": tmp_path / "key.json", **kwargs}
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        preflight(**args)


def test_passphrase_with_a_loaded_keyfile_is_an_error(
    emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    kf = emu.make_keyfile(tmp_path / "key.json").load()
    with pytest.raises(ConfigurationError, match="loaded KeyFile"):
        preflight(kf, passphrase="x")
