"""boxjwt.check_users against the emulator (issue 17): verdicts, budget, read-only, reports."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

import boxjwt
from boxjwt import _remedies as remedies
from boxjwt.checkusers import (
    ALL_USERS,
    CSV_COLUMNS,
    Reason,
    UserCheckReport,
    UserKind,
    VerdictStatus,
    check_users,
    report_schema,
)
from boxjwt.checkusers._resolve import LOOKUP_MAX
from boxjwt.exceptions import (
    AppNotAuthorizedError,
    ConfigurationError,
    InsufficientScopeError,
)
from boxjwt.preflight._texts import FIX_AS_USER_DENIED
from boxjwt.testing import (
    BoxEmulator,
    EmulatedKeyFile,
    FakeClock,
    RateLimits,
    user_cases,
)
from secret_scan import (
    assert_no_secret_in_text,
    assert_no_secret_reachable_from,
    emulator_secrets,
)

#: The fix check_users gives for each reason (one place: boxjwt._remedies).
FIXES = {
    Reason.OK: None,
    Reason.NOT_FOUND: remedies.USER_NOT_FOUND,
    Reason.INACTIVE: remedies.USER_INACTIVE,
    Reason.ADMIN: remedies.USER_ADMIN,
    Reason.COADMIN: remedies.USER_COADMIN,
    Reason.EXTERNAL: remedies.USER_EXTERNAL,
    Reason.SERVICE_ACCOUNT: remedies.USER_SERVICE_ACCOUNT,
    Reason.AS_USER_DISABLED: remedies.FIX_AS_USER,
    Reason.ACCESS_DENIED: FIX_AS_USER_DENIED,
    Reason.USER_TOKENS_DISABLED: remedies.USER_TOKEN_NOT_ALLOWED,
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def scaled(scale: float) -> tuple[Callable[[], float], Callable[[float], None]]:
    """A clock running ``scale`` times faster than real time, and the matching sleep."""

    def clock() -> float:
        return time.monotonic() * scale

    def sleep(seconds: float) -> None:
        time.sleep(max(seconds, 0.0) / scale)

    return clock, sleep


def authenticator(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock, **kwargs: Any
) -> boxjwt.JWTAuthenticator:
    """An authenticator on the emulator's (fake) clock."""
    return boxjwt.JWTAuthenticator(
        ekf.load(), base_url=emu.base_url, clock=clock, sleep=clock.sleep, **kwargs
    )


@pytest.fixture
def auth(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock
) -> Iterator[boxjwt.JWTAuthenticator]:
    with authenticator(emu, ekf, clock) as made:
        yield made


def api_writes(emu: BoxEmulator) -> list[str]:
    """Requests that could change something on Box (token requests are not writes)."""
    return [
        f"{r.method} {r.path}"
        for r in emu.request_log
        if r.method in WRITE_METHODS and not r.path.startswith("/oauth2/")
    ]


def validate(report: UserCheckReport) -> dict[str, object]:
    jsonschema = pytest.importorskip("jsonschema")
    document: dict[str, object] = json.loads(report.to_json())
    jsonschema.validate(document, report_schema())
    return document


# --------------------------------------------------------------------------- verdicts


def test_a_plan_mixing_every_case_gets_exactly_the_right_verdict_and_fix(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    cases = user_cases.add(emu)
    auth.enterprise_token()
    emu.reset_log()
    report = check_users(auth, [case.asked for case in cases])

    distinct = [case for case in cases if not case.duplicate]
    assert len(report.users) == len(distinct)
    assert [u.asked for u in report.users] == [case.asked for case in distinct]
    for case in cases:
        check = report[case.asked]
        assert check.as_user.reason is case.reason, case.name
        assert check.as_user.fix == FIXES[case.reason], case.name
        assert check.ready is (case.reason is Reason.OK), case.name
        assert check.user_token is None
    assert report["former.employee@" + f"enterprise{emu.enterprise_id}.example.com"].found is False
    kinds = {case.name: report[case.asked].kind for case in distinct}
    assert kinds["external"] is UserKind.EXTERNAL
    assert kinds["app user"] is UserKind.APP_USER
    assert kinds["ready"] is UserKind.MANAGED
    assert kinds["unknown login"] is None
    assert report[emu.admin.login].role == "admin"
    assert not report.ok
    assert report.counts() == {
        "ok": 3,
        "not_found": 1,
        "inactive": 1,
        "admin": 1,
        "coadmin": 1,
        "external": 1,
    }
    # read-only, and at most two requests per distinct user (+ none for the token: cached)
    assert api_writes(emu) == []
    assert emu.count("POST") == 0
    assert len(emu.request_log) <= 2 * len(distinct)
    assert report.request_count == len(emu.request_log)
    validate(report)


def test_user_tokens_verdicts(emu: BoxEmulator, auth: boxjwt.JWTAuthenticator) -> None:
    cases = user_cases.add(emu)
    report = check_users(auth, [case.asked for case in cases], user_tokens=True)
    for case in cases:
        verdict = report[case.asked].user_token
        assert verdict is not None
        assert verdict.reason is case.token_reason, case.name
        assert verdict.fix == FIXES[case.token_reason], case.name
    inactive = report[next(c.asked for c in cases if c.name == "inactive")].user_token
    assert inactive is not None
    assert inactive.evidence is not None
    assert inactive.evidence.error == "invalid_grant"
    # one token request per user of the enterprise, none for the external or unknown ones
    in_enterprise = [u for u in report.users if u.kind in (UserKind.MANAGED, UserKind.APP_USER)]
    assert emu.token_requests(subject_type="user") == len(in_enterprise)
    assert report.token_request_count == len(in_enterprise)
    assert api_writes(emu) == []
    validate(report)


def test_user_tokens_refused_when_the_feature_is_off(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock
) -> None:
    ekf.app.configure(user_tokens=False)
    ekf.app.reauthorize()
    user = emu.managed_users[0]
    with authenticator(emu, ekf, clock) as auth:
        report = check_users(auth, [user.id], user_tokens=True)
    check = report[user.id]
    assert check.as_user.ready
    assert check.user_token is not None
    assert check.user_token.reason is Reason.USER_TOKENS_DISABLED
    assert check.user_token.fix == remedies.USER_TOKEN_NOT_ALLOWED
    assert not check.ready
    assert not report.ok
    assert check.reason is Reason.USER_TOKENS_DISABLED
    assert "user_tokens_disabled (user token): 1 user(s)" in str(report)


def test_as_user_off_refuses_every_user(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock
) -> None:
    user = emu.managed_users[0]
    ekf.app.configure(as_user=False)
    ekf.app.reauthorize()
    with authenticator(emu, ekf, clock) as auth:
        report = check_users(auth, [user.id, ekf.app.app_users[0].id])
    for check in report.users:
        assert check.as_user.reason is Reason.AS_USER_DISABLED
        assert check.as_user.fix == remedies.FIX_AS_USER
        assert check.as_user.evidence is not None
        assert check.as_user.evidence.status_code == 403


@pytest.mark.parametrize("plan", ["ids", "many", "all"])
def test_app_access_only_stops_the_run_with_its_fix(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock, plan: str
) -> None:
    ekf.app.configure(access_level="app_only")
    ekf.app.reauthorize()
    users: object = {
        "ids": [emu.managed_users[0].id, ekf.app.app_users[0].id],
        "many": [u.id for u in emu.add_users(LOOKUP_MAX + 1)],
        "all": ALL_USERS,
    }[plan]
    with (
        authenticator(emu, ekf, clock) as auth,
        pytest.raises(boxjwt.exceptions.AccessDeniedError, match="App Access Only") as caught,
    ):
        check_users(auth, users)  # type: ignore[arg-type]
    assert caught.value.remedy == remedies.FIX_ACCESS_LEVEL


def test_as_user_denied_to_an_active_managed_user(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    user = emu.managed_users[0]
    auth.enterprise_token()
    emu.faults.push("/2.0/users/me", 403)
    report = check_users(auth, [user.id])
    verdict = report[user.id].as_user
    assert verdict.reason is Reason.ACCESS_DENIED
    assert verdict.fix == FIX_AS_USER_DENIED
    assert verdict.evidence is not None
    assert verdict.evidence.error == "access_denied_insufficient_permissions"


def test_unknown_users_are_reported_with_what_was_asked(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    report = check_users(auth, ["Gone.Person@Example.com", "123456789012"])
    assert [(u.asked, u.found, u.id) for u in report.users] == [
        ("Gone.Person@Example.com", False, None),
        ("123456789012", False, None),
    ]
    text = str(report)
    assert "'Gone.Person@Example.com'" in text
    assert "'123456789012'" in text
    assert "login 'Gone.Person@Example.com'" in report.users[0].as_user.message
    assert emu.count("GET", "/2.0/users/me") == 0  # nobody to act as


def test_duplicates_are_reported_and_checked_once(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    one, two = emu.managed_users[:2]
    report = check_users(auth, [one.id, int(one.id), one.login.upper(), two.login, f" {two.id} "])
    assert [u.id for u in report.users] == [one.id, two.id]
    assert report.users[0].also_asked == (one.id, one.login.upper())
    assert report.users[1].also_asked == (two.id,)
    assert report.duplicates == 3
    assert emu.count("GET", "/2.0/users/me", as_user=one.id) == 1
    assert emu.count("GET", "/2.0/users/me", as_user=two.id) == 1
    assert report[one.login].id == one.id
    assert "3 duplicate(s) in the input" in str(report)
    with pytest.raises(KeyError):
        report["nobody@example.com"]


def test_the_service_account_is_reported_without_a_call(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    robot = emu.add_user("Robot", login="AutomationUser_1234_abcdefghij@boxdevedition.com")
    report = check_users(auth, [robot.login])
    check = report.users[0]
    assert check.kind is UserKind.SERVICE_ACCOUNT
    assert check.as_user.reason is Reason.SERVICE_ACCOUNT
    assert check.as_user.fix == remedies.USER_SERVICE_ACCOUNT
    assert emu.count("GET", "/2.0/users/me") == 0


# --------------------------------------------------------------------------- scale and budget


def test_a_long_list_is_resolved_from_the_listing(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    users = emu.add_users(60)
    external = emu.external_users[0]
    asked = [u.login for u in users[:30]] + [u.id for u in users[30:]]
    asked += [external.login, "nobody@example.com", "424242"]
    emu.reset_log()
    report = check_users(auth, asked)
    assert len(asked) > LOOKUP_MAX
    assert sum(u.ready for u in report.users) == 60
    assert report[external.login].as_user.reason is Reason.EXTERNAL
    assert report["nobody@example.com"].found is False
    assert report["424242"].found is False
    # one sizing request, one listing page, three look-ups, one As-User call per user
    assert emu.count("GET", "/2.0/users") == 1 + 1 + 2
    assert emu.count("GET", "/2.0/users/{id}") == 1
    assert emu.count("GET", "/2.0/users/me") == 60
    assert len(emu.request_log) <= 2 * len(asked)


#: The users of the --all acceptance test in the default run (10,000: benchmarks/check_users.py).
ALL_USERS_COUNT = 2_000


@pytest.mark.slow
def test_every_user_of_a_large_enterprise_with_rate_limits_on() -> None:
    clock, sleep = scaled(60)
    limits = RateLimits(time_scale=60)
    with BoxEmulator(rate_limits=limits, managed_users=0, co_admins=0, external_users=0) as emu:
        ekf = emu.make_keyfile()
        emu.add_users(ALL_USERS_COUNT - 1 - len(ekf.app.app_users))
        retry = boxjwt.RetryPolicy(clock=clock, sleep=sleep)
        with boxjwt.JWTAuthenticator(ekf.load(), base_url=emu.base_url, retry=retry) as auth:
            seen: list[tuple[int, int | None]] = []
            report = check_users(auth, ALL_USERS, progress=lambda d, t: seen.append((d, t)))
        log = emu.request_log
    assert len(report.users) == ALL_USERS_COUNT
    assert len({u.id for u in report.users}) == ALL_USERS_COUNT
    assert [u.reason for u in report.not_ready] == [Reason.ADMIN]
    pages = -(-ALL_USERS_COUNT // 1000)
    listing = [r for r in log if r.path == "/2.0/users"]
    assert len(listing) == pages
    assert all(r.query.get("usemarker") == "true" for r in listing)
    assert sum("marker" in r.query for r in listing) == pages - 1
    api = [r for r in log if not r.path.startswith("/oauth2/")]
    assert len(api) == ALL_USERS_COUNT + pages  # at most 2 per user: here about 1
    assert len(log) <= 2 * ALL_USERS_COUNT
    assert [r for r in log if r.status == 429] == []
    assert report.rate_limited == 0
    assert [r for r in log if r.method not in ("GET", "POST")] == []
    assert [r.path for r in log if r.method == "POST"] == ["/oauth2/token"]
    assert seen[-1] == (ALL_USERS_COUNT, None)
    assert report.all_users


def test_429s_are_waited_out_and_counted(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator, clock: FakeClock
) -> None:
    users = [u.login for u in emu.managed_users if u.status == "active"][:4]
    auth.enterprise_token()
    emu.faults.push("/2.0/users/me", 429, retry_after=2, count=3)
    report = check_users(auth, users, concurrency=1)
    assert emu.count(status=429) == 3  # Box's 429s, each waited out (on the fake clock)...
    assert report.rate_limited == 3  # ...and counted in the report
    assert report.ok
    assert "3 rate-limited and retried" in str(report)
    assert [s for s in clock.sleeps if s >= 2] == [2.0, 2.0, 2.0]


# --------------------------------------------------------------------------- failures


def test_box_failing_for_one_user_is_unknown_not_fatal(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    one, two = emu.managed_users[:2]
    auth.enterprise_token()
    emu.faults.push("/2.0/users/me", 500, count=10)
    report = check_users(
        auth, [one.id, two.id], concurrency=1, retry=boxjwt.RetryPolicy(max_attempts=1)
    )
    first = report.users[0].as_user
    assert first.status is VerdictStatus.UNKNOWN
    assert first.reason is Reason.BOX_ERROR
    assert first.fix == remedies.SERVER_ERROR
    assert first.evidence is not None
    assert first.evidence.status_code == 500


def test_a_look_up_box_does_not_answer_is_unknown(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    auth.enterprise_token()
    emu.faults.push("/2.0/users/{id}", 503, count=5)
    report = check_users(auth, [emu.managed_users[0].id], retry=boxjwt.RetryPolicy(max_attempts=1))
    check = report.users[0]
    assert check.found is None
    assert check.as_user.reason is Reason.BOX_ERROR
    assert "look-up" in check.as_user.message


def test_a_refusal_of_the_app_itself_raises(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock
) -> None:
    ekf.app.configure(scopes=["read", "write"])
    ekf.app.reauthorize()
    with authenticator(emu, ekf, clock) as auth:
        with pytest.raises(InsufficientScopeError):
            check_users(auth, [u.id for u in emu.managed_users])
        with pytest.raises(InsufficientScopeError):
            check_users(auth, ALL_USERS)
    ekf.app.disable()
    with authenticator(emu, ekf, clock) as auth, pytest.raises(AppNotAuthorizedError) as caught:
        check_users(auth, ALL_USERS)
    assert_no_secret_in_text(str(caught.value), emulator_secrets(emu, ekf))
    assert_no_secret_reachable_from(caught.value, emulator_secrets(emu, ekf))
    assert emu.count("GET") <= len(emu.managed_users) + 1


def test_stop_ends_the_run_with_a_partial_report(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    users = emu.add_users(30)
    stop = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done >= 3:
            stop.set()

    report = check_users(auth, [u.id for u in users], concurrency=1, progress=progress, stop=stop)
    assert not report.complete
    assert not report.ok
    assert len(report.users) == 30
    reasons = {u.reason for u in report.users}
    assert Reason.NOT_CHECKED in reasons
    assert all(u.as_user.status is VerdictStatus.UNKNOWN for u in report.not_ready)
    assert "INTERRUPTED" in str(report)
    validate(report)


def test_stop_while_listing(emu: BoxEmulator, auth: boxjwt.JWTAuthenticator) -> None:
    stop = threading.Event()
    stop.set()
    report = check_users(auth, ALL_USERS, stop=stop)
    assert not report.complete
    assert report.users == ()
    assert emu.count("GET", "/2.0/users") == 0


def test_keyboard_interrupt_propagates(emu: BoxEmulator, auth: boxjwt.JWTAuthenticator) -> None:
    def progress(done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_users(auth, [u.id for u in emu.managed_users], progress=progress)


@pytest.mark.parametrize(
    ("users", "kwargs", "words"),
    [
        ("jane@example.com", {}, "not one string"),
        ([], {}, "empty"),
        (["jane doe"], {}, "IDs (digits) and logins"),
        ([b"123"], {}, "IDs (digits) and logins"),
        ([True], {}, "IDs (digits) and logins"),
        (["x" * 400 + "@example.com"], {}, "IDs (digits) and logins"),
        (["1"], {"concurrency": 0}, "concurrency="),
        (["1"], {"concurrency": True}, "concurrency="),
        (["1"], {"retry": 3}, "retry="),
        (["1"], {"progress": 3}, "progress="),
        (["1"], {"stop": True}, "stop="),
        (["1"], {"user_tokens": "yes"}, "user_tokens="),
        (["1"], {"timeout": -1}, "timeout"),
    ],
)
def test_arguments_are_checked_before_any_request(
    emu: BoxEmulator,
    auth: boxjwt.JWTAuthenticator,
    users: object,
    kwargs: dict[str, object],
    words: str,
) -> None:
    with pytest.raises(ConfigurationError, match=words.replace("(", r"\(").replace(")", r"\)")):
        check_users(auth, users, **kwargs)  # type: ignore[arg-type]
    assert emu.request_log == []


def test_check_users_needs_an_authenticator() -> None:
    with pytest.raises(ConfigurationError, match="JWTAuthenticator"):
        check_users("key.json", ["1"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- outputs


def test_outputs_hold_no_secret_and_csv_has_a_row_per_user(
    emu: BoxEmulator, ekf: EmulatedKeyFile, auth: boxjwt.JWTAuthenticator
) -> None:
    cases = user_cases.add(emu)
    cases_asked = [case.asked for case in cases]
    report = check_users(auth, [*cases_asked, "=cmd|calc@evil.example"], user_tokens=True)
    rows = report.csv_rows()
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(report.users) + 1
    assert rows[-1][0] == "'=cmd|calc@evil.example"
    texts = [str(report), report.to_json(), repr(report), "\n".join(",".join(r) for r in rows)]
    assert_no_secret_in_text(texts, emulator_secrets(emu, ekf))
    document = validate(report)
    assert document["summary"] == {
        "users": len(report.users),
        "ready": 3,
        "not_ready": len(report.users) - 3,
        "duplicates": 1,
        "reasons": report.counts(),
    }


def test_all_users_is_a_guessable_marker() -> None:
    assert boxjwt.ALL_USERS is ALL_USERS
    assert repr(ALL_USERS) == "boxjwt.ALL_USERS"
    assert boxjwt.check_users is check_users


def test_the_session_pool_is_shared(emu: BoxEmulator, auth: boxjwt.JWTAuthenticator) -> None:
    users = emu.add_users(40)
    before = emu.connections_accepted
    check_users(auth, [u.id for u in users], concurrency=4)
    # look-ups and As-User calls reuse a handful of connections, not one per user
    assert emu.connections_accepted - before <= 12
    assert isinstance(requests.Session(), requests.Session)


# --------------------------------------------------------------------------- Box's odd answers


def test_as_user_ignored_by_box(emu: BoxEmulator, auth: boxjwt.JWTAuthenticator) -> None:
    user = emu.managed_users[0]
    auth.enterprise_token()
    emu.faults.push("/2.0/users/me", 200, body={"type": "user", "id": "999"})
    report = check_users(auth, [user.login.upper()])
    verdict = report.users[0].as_user
    assert verdict.reason is Reason.AS_USER_IGNORED
    assert verdict.fix == remedies.FIX_AS_USER
    text = " ".join(str(report).split())
    assert f"(asked as {user.login.upper()!r})" in text
    assert "Box: GET /2.0/users/me?fields=id (As-User:" in text


@pytest.mark.parametrize(
    ("fault", "fix"),
    [
        ({"status": 429, "retry_after": 0}, remedies.RATE_LIMITED),
        ({"drop": True}, remedies.NETWORK),
    ],
)
def test_no_answer_to_as_user_is_unknown_with_the_fix(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator, fault: dict[str, Any], fix: str
) -> None:
    auth.enterprise_token()
    emu.faults.push("/2.0/users/me", count=5, **fault)
    report = check_users(auth, [emu.managed_users[0].id], retry=boxjwt.RetryPolicy(max_attempts=1))
    verdict = report.users[0].as_user
    assert verdict.reason is Reason.BOX_ERROR
    assert verdict.fix == fix


def test_an_app_user_of_another_app(emu: BoxEmulator, auth: boxjwt.JWTAuthenticator) -> None:
    other = emu.create_app(app_users=1).app_users[0]
    auth.enterprise_token()
    described = {
        "type": "user",
        "id": other.id,
        "login": other.login,
        "role": "user",
        "status": "active",
        "is_platform_access_only": True,
        "enterprise": {"type": "enterprise", "id": emu.enterprise_id},
    }
    emu.faults.push("/2.0/users/{id}", 200, body=described)  # as Box may describe it
    report = check_users(auth, [other.id])
    check = report.users[0]
    assert check.kind is UserKind.APP_USER
    assert check.as_user.reason is Reason.OTHER_APP_USER
    assert check.as_user.fix == remedies.USER_OTHER_APP


def test_login_look_up_picks_the_exact_login(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    user = emu.managed_users[0]
    entries = [
        "not a user",
        {"type": "user", "id": "1", "login": "prefix-" + user.login},
        {
            "type": "user",
            "id": user.id,
            "login": user.login.upper(),
            "role": "user",
            "status": "active",
            "is_platform_access_only": False,
            "enterprise": {"type": "enterprise", "id": emu.enterprise_id},
        },
    ]
    auth.enterprise_token()
    emu.faults.push("/2.0/users", 200, body={"entries": entries, "total_count": 3})
    report = check_users(auth, [user.login])
    assert report.users[0].id == user.id
    assert report.users[0].ready


def test_a_listing_that_is_not_a_list_stops_the_run(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    auth.enterprise_token()
    emu.faults.push("/2.0/users", 200, body={"unexpected": True})
    with pytest.raises(boxjwt.exceptions.TransportError, match="not a user list"):
        check_users(auth, ALL_USERS)


def test_a_token_refused_mid_run_stops_it(emu: BoxEmulator, auth: boxjwt.JWTAuthenticator) -> None:
    auth.enterprise_token()
    emu.faults.push("/2.0/users/me", 401)
    emu.faults.push(
        "/oauth2/token",
        400,
        body={"error": "unauthorized_client", "error_description": "This app is not authorized"},
    )
    with pytest.raises(AppNotAuthorizedError):
        check_users(auth, [emu.managed_users[0].id], concurrency=1)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"error": "invalid_grant", "error_description": "Please check the 'sub' claim."},
            Reason.NOT_FOUND,
        ),
        (None, Reason.BOX_ERROR),
    ],
)
def test_odd_user_token_refusals(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator, body: dict[str, str] | None, reason: Reason
) -> None:
    auth.enterprise_token()
    emu.faults.push("/oauth2/token", 400 if body else 500, body=body, count=6)
    report = check_users(
        auth,
        [emu.managed_users[0].id],
        user_tokens=True,
        retry=boxjwt.RetryPolicy(max_attempts=1),
    )
    verdict = report.users[0].user_token
    assert verdict is not None
    assert verdict.reason is reason


def test_a_long_list_in_a_huge_enterprise_is_looked_up(
    emu: BoxEmulator, auth: boxjwt.JWTAuthenticator
) -> None:
    users = emu.add_users(LOOKUP_MAX + 1)
    first = users[0]
    page = [
        {
            "type": "user",
            "id": first.id,
            "login": first.login,
            "role": "user",
            "status": "active",
            "is_platform_access_only": False,
        }
    ]
    auth.enterprise_token()
    emu.reset_log()
    # the sizing page: a million users (listing them would cost 1,000 pages), the first listed
    emu.faults.push("/2.0/users", 200, body={"entries": page, "total_count": 1_000_000})
    report = check_users(auth, [u.id for u in users])
    assert report.ok
    assert emu.count("GET", "/2.0/users") == 1  # no listing
    assert emu.count("GET", "/2.0/users/{id}") == len(users) - 1  # not the one page 1 held
    assert emu.count("GET", "/2.0/users/me") == len(users)
    assert len(emu.request_log) <= 2 * len(users)
