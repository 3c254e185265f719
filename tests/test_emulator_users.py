"""The emulator's users as a migration meets them (box-facts.md §5): user states, external
users, admins, re-authorization applying to new tokens only, token lifetimes, users paging.
Raw HTTP throughout."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import requests

from boxjwt.testing import (
    ApiAnswer,
    BoxAnswers,
    BoxEmulator,
    EmulatedKeyFile,
    EmulatedUser,
    OAuthAnswer,
)
from emulator_support import api_get, enterprise_token, user_token_response

E_SUB = "Please check the 'sub' claim. The 'sub' specified is invalid."


@pytest.fixture
def token(emu: BoxEmulator, ekf: EmulatedKeyFile) -> str:
    return enterprise_token(emu, ekf)


def as_user(emu: BoxEmulator, token: str, user: EmulatedUser) -> requests.Response:
    return api_get(emu, "/2.0/users/me", token, headers={"As-User": user.id})


def assert_access_denied(response: requests.Response) -> None:
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "access_denied_insufficient_permissions"
    assert body["message"] == "Access denied - insufficient permission"
    assert body["request_id"] == response.headers["box-request-id"]


# --------------------------------------------------------------------------- user states


def test_every_status_exists_and_is_listed(emu: BoxEmulator, token: str) -> None:
    added = [
        emu.add_user(f"{status} user", status=status)
        for status in ("cannot_delete_edit", "cannot_delete_edit_upload", "inactive")
    ]
    body = api_get(emu, "/2.0/users", token, params={"fields": "status", "limit": 1000}).json()
    listed = {e["id"]: e["status"] for e in body["entries"]}
    assert [listed[u.id] for u in added] == [
        "cannot_delete_edit",
        "cannot_delete_edit_upload",
        "inactive",
    ]
    assert listed[emu.managed_users[4].id] == "inactive"  # the default enterprise has one


def test_one_inactive_user_by_default_when_there_are_two() -> None:
    assert [u.status for u in BoxEmulator().managed_users] == ["active"] * 4 + ["inactive"]
    assert [u.status for u in BoxEmulator(managed_users=1).managed_users] == ["active"]
    lone = BoxEmulator(managed_users=1, inactive_users=1)
    assert [u.status for u in lone.managed_users] == ["inactive"]


def test_inactive_user_cannot_be_acted_as(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str
) -> None:
    inactive = next(u for u in emu.managed_users if u.status == "inactive")
    assert_access_denied(as_user(emu, token, inactive))
    refused = user_token_response(emu, ekf, inactive.id)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant", "error_description": E_SUB}
    assert "box-request-id" not in refused.headers  # token-endpoint errors carry none
    assert emu.count("GET", "/2.0/users/me", as_user=inactive.id, status=403) == 1


def test_restricted_statuses_can_be_acted_as_but_one_cannot_upload(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str
) -> None:
    editless = emu.add_user("No edit", status="cannot_delete_edit")
    uploadless = emu.add_user("No upload", status="cannot_delete_edit_upload")
    for user in (editless, uploadless):
        assert as_user(emu, token, user).json()["id"] == user.id
        assert user_token_response(emu, ekf, user.id).status_code == 200
    attributes = '{"name": "a.txt", "parent": {"id": "0"}}'

    def upload(user: EmulatedUser) -> requests.Response:
        return requests.post(
            f"{emu.upload_url}/2.0/files/content",
            files={"attributes": (None, attributes), "file": ("a.txt", b"a")},
            headers={"Authorization": f"Bearer {token}", "As-User": user.id},
            timeout=10,
        )

    assert upload(editless).status_code == 201
    assert_access_denied(upload(uploadless))


def test_user_deactivated_mid_run(emu: BoxEmulator, token: str) -> None:
    user = emu.managed_users[0]
    assert as_user(emu, token, user).status_code == 200
    user.status = "inactive"
    assert_access_denied(as_user(emu, token, user))
    user.status = "active"
    assert as_user(emu, token, user).status_code == 200


def test_external_user_cannot_be_impersonated(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str
) -> None:
    (external,) = emu.external_users
    assert external.is_external
    assert external.is_active
    assert_access_denied(as_user(emu, token, external))
    refused = user_token_response(emu, ekf, external.id)
    assert refused.json() == {"error": "invalid_grant", "error_description": E_SUB}
    shown = api_get(emu, f"/2.0/users/{external.id}", token, params={"fields": "enterprise"})
    assert shown.json() == {"type": "user", "id": external.id, "enterprise": None}


@pytest.mark.parametrize("target", ["admin", "coadmin"])
def test_admins_cannot_be_impersonated(emu: BoxEmulator, token: str, target: str) -> None:
    user = emu.admin if target == "admin" else emu.co_admins[1]
    assert_access_denied(as_user(emu, token, user))


def test_refusal_wording_is_configurable(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str
) -> None:
    emu.answers = BoxAnswers(
        as_user_inactive=ApiAnswer(400, "user_inactive", "User {value} is inactive"),
        as_user_external=ApiAnswer(404, "not_found", "Not Found"),
        user_token_inactive=OAuthAnswer("invalid_request", "User is not active"),
    )
    inactive = emu.add_user("Gone", status="inactive")
    response = as_user(emu, token, inactive)
    assert response.status_code == 400
    assert response.json()["code"] == "user_inactive"
    assert as_user(emu, token, emu.external_users[0]).status_code == 404
    assert user_token_response(emu, ekf, inactive.id).json() == {
        "error": "invalid_request",
        "error_description": "User is not active",
    }
    with pytest.raises(TypeError):
        emu.answers = {"as_user_inactive": None}  # type: ignore[assignment]


def test_user_validation(emu: BoxEmulator) -> None:
    with pytest.raises(ValueError, match="status must be one of"):
        emu.add_user("x", status="asleep")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status must be one of"):
        emu.add_users(1, status="asleep")  # type: ignore[arg-type]
    custom = emu.add_external_user("Partner")
    assert custom.login.endswith("@external.example.org")
    assert emu.external_users[-1] is custom


# --------------------------------------------------------------------------- re-authorization


def test_reauthorize_applies_to_new_tokens_only(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(as_user=False, scopes={"read"})
    old = enterprise_token(emu, ekf)
    user = emu.managed_users[0]
    ekf.app.configure(as_user=True, scopes={"read", "manage_users"})
    ekf.app.reauthorize()
    # enabled and re-authorized, but the migration still holds its old token:
    assert as_user(emu, old, user).status_code == 403
    assert api_get(emu, "/2.0/users", old).status_code == 403
    assert emu.live_token(old).settings.as_user is False  # type: ignore[union-attr]
    new = enterprise_token(emu, ekf)
    assert as_user(emu, new, user).json()["id"] == user.id
    assert api_get(emu, "/2.0/users", new).status_code == 200
    emu.revoke_token(old)  # replacing the old token is what fixes it
    assert api_get(emu, "/2.0/users/me", old).status_code == 401


def test_removed_grants_stay_on_old_tokens(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    old = enterprise_token(emu, ekf)
    user_token = user_token_response(emu, ekf, emu.managed_users[0].id).json()["access_token"]
    ekf.app.configure(as_user=False, user_tokens=False)
    ekf.app.reauthorize()
    assert as_user(emu, old, emu.managed_users[1]).status_code == 200
    assert api_get(emu, "/2.0/users/me", user_token).status_code == 200
    assert user_token_response(emu, ekf, emu.managed_users[0].id).status_code == 400


def test_disable_is_immediate_for_every_token(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    old = enterprise_token(emu, ekf)
    ekf.app.disable()
    assert api_get(emu, "/2.0/users/me", old).status_code == 401


# --------------------------------------------------------------------------- token lifetimes


def test_token_lifetimes_vary_within_boxs_range(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    lifetimes = {enterprise_token_lifetime(emu, ekf) for _ in range(20)}
    assert len(lifetimes) > 1
    assert all(3646 <= n <= 4175 for n in lifetimes)
    assert emu.token_lifetime == (3646, 4175)
    assert emu.token_expires_in == 4175  # the longest a token may live


def enterprise_token_lifetime(emu: BoxEmulator, ekf: EmulatedKeyFile) -> int:
    value = enterprise_token(emu, ekf)
    token = emu.live_token(value)
    assert token is not None
    return int(token.expires_at - token.issued_at)


def test_token_lifetimes_are_reproducible_with_a_seed() -> None:
    def lifetimes(seed: int) -> list[int]:
        emu = BoxEmulator(seed=seed)
        app = emu.create_app()
        tokens = [emu.live_token(emu.issue_token(app)) for _ in range(5)]
        return [int(t.expires_at - t.issued_at) for t in tokens if t is not None]

    assert lifetimes(7) == lifetimes(7)
    assert lifetimes(7) != lifetimes(8)


def test_token_lifetimes_are_settable(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    emu.token_expires_in = 5
    assert emu.token_lifetime == (5, 5)
    assert enterprise_token_lifetime(emu, ekf) == 5
    emu.token_lifetime = (60, 61)
    assert enterprise_token_lifetime(emu, ekf) in (60, 61)
    with BoxEmulator(token_expires_in=(10, 10)) as fixed:
        assert fixed.token_lifetime == (10, 10)


@pytest.mark.parametrize("bad", [0, -1, (5, 4), (1, "2"), True])
def test_token_lifetime_validation(emu: BoxEmulator, bad: object) -> None:
    with pytest.raises(ValueError, match="token lifetime"):
        emu.token_lifetime = bad  # type: ignore[assignment]


# --------------------------------------------------------------------------- users paging


def test_offset_above_10000_is_refused(emu: BoxEmulator, token: str) -> None:
    assert api_get(emu, "/2.0/users", token, params={"offset": "10000"}).status_code == 200
    response = api_get(emu, "/2.0/users", token, params={"offset": "10001"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_request"
    assert body["message"] == "Invalid value '10001' for query parameter 'offset'"
    emu.answers = replace(emu.answers, offset_too_large=ApiAnswer(400, "x", "offset {value}"))
    assert api_get(emu, "/2.0/users", token, params={"offset": "20000"}).json()["message"] == (
        "offset 20000"
    )


def walk_with_markers(emu: BoxEmulator, token: str, limit: int, **params: str) -> list[str]:
    seen: list[str] = []
    query: dict[str, str | int] = {"usemarker": "true", "limit": limit, "fields": "id", **params}
    while True:
        page = api_get(emu, "/2.0/users", token, params=query).json()
        assert set(page) == {"entries", "limit", "next_marker"}
        seen += [e["id"] for e in page["entries"]]
        if page["next_marker"] is None:
            return seen
        query["marker"] = page["next_marker"]


def test_25000_users_with_marker_paging_each_exactly_once() -> None:
    started = time.perf_counter()
    with BoxEmulator(managed_users=25_000, inactive_users=0) as emu:
        created = time.perf_counter() - started
        token = enterprise_token(emu, emu.make_keyfile())
        seen = walk_with_markers(emu, token, 1000)
        expected = [emu.admin.id] + [u.id for u in emu.co_admins + emu.managed_users]
        expected += [u.id for u in emu.app.app_users]
        assert len(seen) == len(set(seen)) == 25_000 + 1 + 2 + 2
        assert sorted(seen) == sorted(expected)
        assert emu.count("GET", "/2.0/users", status=200) == 26
        offset = api_get(emu, "/2.0/users", token, params={"offset": 10_001})
        assert offset.status_code == 400
    assert created < 30  # cheap to create (about a second on a quiet machine)


def test_marker_paging_survives_users_added_meanwhile(emu: BoxEmulator, token: str) -> None:
    first = api_get(emu, "/2.0/users", token, params={"usemarker": "true", "limit": 4}).json()
    late = emu.add_users(3)
    rest = walk_with_markers(emu, token, 4, marker=first["next_marker"])
    ids = [e["id"] for e in first["entries"]] + rest
    assert len(ids) == len(set(ids))
    assert [u.id for u in late] == ids[-3:]  # added last, listed last


@pytest.mark.parametrize("marker", ["!!!", "eyJ0YWlsIjoiMSJ9", "bm90IGpzb24"])
def test_bad_marker(emu: BoxEmulator, token: str, marker: str) -> None:
    response = api_get(emu, "/2.0/users", token, params={"marker": marker})
    assert response.status_code == 400
    assert response.json()["message"] == f"Invalid value '{marker}' for query parameter 'marker'"


def test_user_type_filter(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str) -> None:
    (external,) = emu.external_users

    def ids(**params: str) -> set[str]:
        body = api_get(emu, "/2.0/users", token, params={"limit": 1000, **params}).json()
        return {e["id"] for e in body["entries"]}

    managed = {emu.admin.id} | {u.id for u in emu.co_admins + emu.managed_users}
    managed |= {u.id for u in ekf.app.app_users}
    assert ids() == ids(user_type="all") == ids(user_type="managed") == managed
    assert ids(user_type="external") == set()  # external users: only by their exact login
    assert ids(user_type="external", filter_term=external.login.upper()) == {external.id}
    assert ids(filter_term=external.login) == {external.id}
    assert ids(user_type="managed", filter_term=external.login) == set()
    assert ids(filter_term=external.login[:5]) == set()
    bad = api_get(emu, "/2.0/users", token, params={"user_type": "robots"})
    assert bad.status_code == 400
    assert bad.json()["message"] == "Invalid value 'robots' for query parameter 'user_type'"


def test_app_only_sees_no_external_users(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(access_level="app_only")
    token = enterprise_token(emu, ekf)
    external = emu.external_users[0]
    body = api_get(emu, "/2.0/users", token, params={"filter_term": external.login}).json()
    assert body["entries"] == []
    assert api_get(emu, f"/2.0/users/{external.id}", token).status_code == 404
