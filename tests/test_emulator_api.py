"""The emulator's API subset (box-facts.md §5, §6), driven with raw HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from boxjwt.testing import BoxEmulator, EmulatedKeyFile, FakeClock
from emulator_support import api_get, box_date, enterprise_token, user_token_response
from recording_server import Answer, RecordingServer

INVALID_TOKEN = (
    'Bearer realm="Service", error="invalid_token", '
    'error_description="The access token provided is invalid."'
)
INSUFFICIENT_SCOPE = (
    'Bearer realm="Service", error="insufficient_scope", '
    'error_description="The request requires higher privileges than provided by the access token."'
)
NO_TOKEN = (
    'Bearer realm="Service", error="invalid_request", '
    'error_description="The access token was not found."'
)


@pytest.fixture
def token(emu: BoxEmulator, ekf: EmulatedKeyFile) -> str:
    return enterprise_token(emu, ekf)


def assert_header_only(response: requests.Response, status: int, header: str) -> None:
    assert response.status_code == status
    assert response.content == b""
    assert response.headers["WWW-Authenticate"] == header
    assert response.headers["www-authenticate"] == header  # any case


def assert_json_error(
    response: requests.Response, status: int, code: str, message: str, emu: BoxEmulator
) -> dict[str, Any]:
    assert response.status_code == status
    body = response.json()
    assert body["type"] == "error"
    assert body["status"] == status
    assert body["code"] == code
    assert body["message"] == message
    assert body["help_url"]
    assert body["request_id"] == response.headers["box-request-id"]
    assert response.headers["Date"] == box_date(emu)
    return dict(body)


def assert_denied(response: requests.Response, emu: BoxEmulator) -> None:
    assert_json_error(
        response,
        403,
        "access_denied_insufficient_permissions",
        "Access denied - insufficient permission",
        emu,
    )


# --------------------------------------------------------------------------- 401s


def test_missing_authorization(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    assert_header_only(api_get(emu, "/2.0/users/me", None), 401, NO_TOKEN)


@pytest.mark.parametrize("header", ["Bearer nope", "Basic abc", "Bearer", "token"])
def test_unknown_or_malformed_token(emu: BoxEmulator, ekf: EmulatedKeyFile, header: str) -> None:
    response = api_get(emu, "/2.0/users/me", None, headers={"Authorization": header})
    assert_header_only(response, 401, INVALID_TOKEN)


def test_expired_token(emu: BoxEmulator, token: str, clock: FakeClock) -> None:
    assert api_get(emu, "/2.0/users/me", token).status_code == 200
    clock.advance(emu.token_expires_in)
    assert_header_only(api_get(emu, "/2.0/users/me", token), 401, INVALID_TOKEN)


def test_token_expiry_follows_clock_offset(emu: BoxEmulator, token: str) -> None:
    emu.clock_offset = emu.token_expires_in + 1
    assert_header_only(api_get(emu, "/2.0/users/me", token), 401, INVALID_TOKEN)


def test_revoked_token_and_storm(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str) -> None:
    other = enterprise_token(emu, ekf)
    assert emu.revoke_all_tokens() == 2
    for value in (token, other):
        assert_header_only(api_get(emu, "/2.0/users/me", value), 401, INVALID_TOKEN)
    assert emu.count("GET", "/2.0/users/me", status=401) == 2
    assert emu.live_tokens == 0


def test_revoke_one_token(emu: BoxEmulator, token: str) -> None:
    assert emu.revoke_token(token) is True
    assert emu.revoke_token(token) is False
    assert api_get(emu, "/2.0/users/me", token).status_code == 401


def test_disabled_app_tokens_stop_working(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str
) -> None:
    ekf.app.disable()
    assert_header_only(api_get(emu, "/2.0/users/me", token), 401, INVALID_TOKEN)
    ekf.app.enable()
    assert api_get(emu, "/2.0/users/me", token).status_code == 200


# --------------------------------------------------------------------------- users/me


def test_users_me_is_the_service_account(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str
) -> None:
    response = api_get(emu, "/2.0/users/me", token)
    assert response.status_code == 200
    assert response.headers["Date"] == box_date(emu)
    body = response.json()
    sa = ekf.app.service_account
    assert body["id"] == sa.id
    assert body["type"] == "user"
    assert body["login"].startswith(f"AutomationUser_{ekf.app.number}_")
    assert body["login"].endswith("@boxdevedition.com")
    assert len(body["login"].split("_")[2].split("@")[0]) == 10
    assert body["status"] == "active"
    assert "enterprise" not in body


def test_users_me_fields(emu: BoxEmulator, token: str) -> None:
    response = api_get(
        emu, "/2.0/users/me", token, params={"fields": "id,name,login,enterprise,role,bogus"}
    )
    body = response.json()
    assert set(body) == {"type", "id", "name", "login", "enterprise", "role"}
    assert body["enterprise"] == {
        "type": "enterprise",
        "id": emu.enterprise_id,
        "name": f"Emulated Enterprise {emu.enterprise_id}",
    }
    assert api_get(emu, "/2.0/users/me", token, params={"fields": " , "}).json()["name"]


def test_users_me_with_a_user_token(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    user = emu.managed_users[0]
    user_token = user_token_response(emu, ekf, user.id).json()["access_token"]
    body = api_get(emu, "/2.0/users/me", user_token).json()
    assert body["id"] == user.id
    assert emu.records(path="/2.0/users/me")[0].subject_type == "user"


# --------------------------------------------------------------------------- As-User


def test_as_user_managed_user(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str) -> None:
    user = emu.managed_users[0]
    response = api_get(emu, "/2.0/users/me", token, headers={"As-User": user.id})
    assert response.status_code == 200
    assert response.json()["id"] == user.id
    (record,) = emu.records(path="/2.0/users/me")
    assert record.as_user == user.id
    assert record.acting_user_id == user.id
    assert record.subject_id == ekf.app.service_account.id


def test_as_user_own_app_user(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str) -> None:
    app_user = ekf.app.app_users[0]
    response = api_get(emu, "/2.0/users/me", token, headers={"As-User": app_user.id})
    assert response.json()["id"] == app_user.id


def test_blank_as_user_header_is_ignored(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str
) -> None:
    response = api_get(emu, "/2.0/users/me", token, headers={"As-User": ""})
    assert response.json()["id"] == ekf.app.service_account.id


def test_as_user_feature_off(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(as_user=False)
    token = enterprise_token(emu, ekf)
    response = api_get(emu, "/2.0/users/me", token, headers={"As-User": emu.managed_users[0].id})
    assert_header_only(response, 403, INSUFFICIENT_SCOPE)


@pytest.mark.parametrize(
    "target",
    ["service_account", "another_service_account", "admin", "coadmin", "unknown", "other_app_user"],
)
def test_as_user_refused_targets(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str, target: str
) -> None:
    other = emu.make_keyfile()
    ids = {
        "service_account": ekf.app.service_account.id,
        "another_service_account": other.app.service_account.id,
        "admin": emu.admin.id,
        "coadmin": emu.co_admins[0].id,
        "unknown": "123",
        "other_app_user": other.app.app_users[0].id,
    }
    response = api_get(emu, "/2.0/users/me", token, headers={"As-User": ids[target]})
    assert_denied(response, emu)


def test_as_user_admins_can_be_allowed(emu: BoxEmulator, token: str) -> None:
    emu.allow_as_user_admins = True
    response = api_get(emu, "/2.0/users/me", token, headers={"As-User": emu.admin.id})
    assert response.json()["id"] == emu.admin.id


def test_as_user_managed_user_under_app_only(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(access_level="app_only")
    token = enterprise_token(emu, ekf)
    assert_denied(
        api_get(emu, "/2.0/users/me", token, headers={"As-User": emu.managed_users[0].id}), emu
    )
    ok = api_get(emu, "/2.0/users/me", token, headers={"As-User": ekf.app.app_users[0].id})
    assert ok.status_code == 200


def test_as_user_with_user_tokens(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    managed, other = emu.managed_users[0], emu.managed_users[1]

    def as_user(owner_id: str, target_id: str) -> requests.Response:
        owner_token = user_token_response(emu, ekf, owner_id).json()["access_token"]
        return api_get(emu, "/2.0/users/me", owner_token, headers={"As-User": target_id})

    assert_denied(as_user(managed.id, other.id), emu)  # a plain user cannot impersonate
    assert as_user(emu.admin.id, other.id).json()["id"] == other.id
    assert as_user(emu.admin.id, emu.co_admins[0].id).json()["id"] == emu.co_admins[0].id
    assert_denied(as_user(emu.admin.id, emu.admin.id), emu)  # self
    assert as_user(emu.co_admins[0].id, other.id).json()["id"] == other.id
    assert_denied(as_user(emu.co_admins[0].id, emu.co_admins[1].id), emu)


def test_as_user_does_not_apply_to_oauth(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    from emulator_support import make_jwt, token_form

    response = requests.post(
        emu.token_url,
        data=token_form(ekf, make_jwt(ekf, emu)),
        headers={"As-User": emu.managed_users[0].id},
        timeout=10,
    )
    assert response.status_code == 200


# --------------------------------------------------------------------------- pending settings


def test_as_user_enabled_only_after_reauthorize(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(as_user=False)
    token = enterprise_token(emu, ekf)
    headers = {"As-User": emu.managed_users[0].id}
    pending = ekf.app.configure(as_user=True)
    assert pending.as_user is True
    assert ekf.app.settings.as_user is False
    assert api_get(emu, "/2.0/users/me", token, headers=headers).status_code == 403
    ekf.app.reauthorize()
    # the token minted before keeps the old grants; the next token gets the new ones
    assert api_get(emu, "/2.0/users/me", token, headers=headers).status_code == 403
    fresh = enterprise_token(emu, ekf)
    assert api_get(emu, "/2.0/users/me", fresh, headers=headers).status_code == 200


def test_scope_removal_pending_until_reauthorize(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str
) -> None:
    ekf.app.configure(scopes={"read"})
    assert api_get(emu, "/2.0/users", token).status_code == 200
    ekf.app.reauthorize()
    assert api_get(emu, "/2.0/users", token).status_code == 200  # the old token keeps its grants
    fresh = enterprise_token(emu, ekf)
    assert_header_only(api_get(emu, "/2.0/users", fresh), 403, INSUFFICIENT_SCOPE)
    assert api_get(emu, "/2.0/folders/0", fresh).status_code == 200


def test_access_level_pending_until_reauthorize(
    emu: BoxEmulator, ekf: EmulatedKeyFile, token: str
) -> None:
    user = emu.managed_users[0]
    ekf.app.configure(access_level="app_only")
    assert user_token_response(emu, ekf, user.id).status_code == 200
    entries = api_get(emu, "/2.0/users", token).json()["entries"]
    assert any(e["id"] not in {u.id for u in ekf.app.app_users} for e in entries)
    ekf.app.reauthorize()
    assert user_token_response(emu, ekf, user.id).status_code == 400
    old = api_get(emu, "/2.0/users", token).json()["entries"]
    assert any(e["id"] not in {u.id for u in ekf.app.app_users} for e in old)
    entries = api_get(emu, "/2.0/users", enterprise_token(emu, ekf)).json()["entries"]
    assert {e["id"] for e in entries} == {u.id for u in ekf.app.app_users}


def test_user_tokens_pending_until_reauthorize(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    user = emu.managed_users[0]
    ekf.app.configure(user_tokens=False)
    assert user_token_response(emu, ekf, user.id).status_code == 200
    ekf.app.reauthorize()
    assert user_token_response(emu, ekf, user.id).json()["error"] == "invalid_request"


def test_reauthorize_also_enables(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    ekf.app.disable()
    assert ekf.app.authorized is False
    ekf.app.reauthorize()
    assert ekf.app.authorized is True


# --------------------------------------------------------------------------- GET /users


def test_users_app_enterprise(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str) -> None:
    other = emu.make_keyfile()
    response = api_get(
        emu,
        "/2.0/users",
        token,
        params={"fields": "id,login,role,status,is_platform_access_only", "limit": 1000},
    )
    assert response.status_code == 200
    body = response.json()
    entries = {e["id"]: e for e in body["entries"]}
    assert body["total_count"] == len(entries) == 1 + 2 + 5 + 2
    assert body["limit"] == 1000
    assert body["offset"] == 0
    assert entries[emu.admin.id]["role"] == "admin"
    assert entries[emu.admin.id]["is_platform_access_only"] is False
    assert {entries[u.id]["role"] for u in emu.co_admins} == {"coadmin"}
    assert entries[emu.managed_users[-1].id]["status"] == "inactive"
    assert all(entries[u.id]["is_platform_access_only"] for u in ekf.app.app_users)
    assert not any(u.id in entries for u in other.app.app_users)
    assert not any(u.id in entries for u in emu.service_accounts)
    assert set(next(iter(entries.values()))) == {
        "type",
        "id",
        "login",
        "role",
        "status",
        "is_platform_access_only",
    }


def test_users_app_only_lists_only_app_users(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(access_level="app_only")
    token = enterprise_token(emu, ekf)
    body = api_get(emu, "/2.0/users", token, params={"fields": "is_platform_access_only"}).json()
    assert body["total_count"] == 2
    assert all(e["is_platform_access_only"] for e in body["entries"])


def test_users_paging_and_filter(emu: BoxEmulator, token: str) -> None:
    page = api_get(emu, "/2.0/users", token, params={"limit": 3, "offset": 2}).json()
    assert page["limit"] == 3
    assert page["offset"] == 2
    assert len(page["entries"]) == 3
    assert page["total_count"] == 10
    assert api_get(emu, "/2.0/users", token, params={"limit": 5000}).json()["limit"] == 1000
    found = api_get(emu, "/2.0/users", token, params={"filter_term": "admin@"}).json()
    assert [e["id"] for e in found["entries"]] == [emu.admin.id]
    by_name = api_get(emu, "/2.0/users", token, params={"filter_term": "co-admin"}).json()
    assert by_name["total_count"] == 2


@pytest.mark.parametrize("params", [{"limit": "many"}, {"offset": "-1"}])
def test_users_bad_paging(emu: BoxEmulator, token: str, params: dict[str, str]) -> None:
    response = api_get(emu, "/2.0/users", token, params=params)
    name, value = next(iter(params.items()))
    assert_json_error(
        response, 400, "bad_request", f"Invalid value '{value}' for query parameter '{name}'", emu
    )


def test_users_needs_manage_users(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(scopes={"read", "write"})
    token = enterprise_token(emu, ekf)
    assert_header_only(api_get(emu, "/2.0/users", token), 403, INSUFFICIENT_SCOPE)


def test_users_as_a_plain_user(emu: BoxEmulator, token: str) -> None:
    response = api_get(emu, "/2.0/users", token, headers={"As-User": emu.managed_users[0].id})
    assert_denied(response, emu)


def test_one_user_by_id(emu: BoxEmulator, token: str) -> None:
    target = emu.managed_users[1]
    body = api_get(emu, f"/2.0/users/{target.id}", token, params={"fields": "id,login"}).json()
    assert body == {"type": "user", "id": target.id, "login": target.login}
    missing = api_get(emu, "/2.0/users/1", token)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_one_user_follows_the_access_level(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(access_level="app_only")
    token = enterprise_token(emu, ekf)
    managed = api_get(emu, f"/2.0/users/{emu.managed_users[0].id}", token)
    assert managed.status_code == 404  # invisible under App Access Only
    own = ekf.app.app_users[0]
    assert api_get(emu, f"/2.0/users/{own.id}", token).json()["id"] == own.id


def test_one_user_needs_manage_users(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(scopes={"read"})
    token = enterprise_token(emu, ekf)
    response = api_get(emu, f"/2.0/users/{emu.admin.id}", token)
    assert_header_only(response, 403, INSUFFICIENT_SCOPE)


# --------------------------------------------------------------------------- folders and files


def test_root_folder(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str) -> None:
    shared = emu.add_file("shared.txt", b"hello")
    emu.add_file("theirs.txt", b"x", owner=emu.managed_users[0])
    body = api_get(emu, "/2.0/folders/0", token).json()
    assert body["type"] == "folder"
    assert body["id"] == "0"
    assert body["owned_by"]["id"] == ekf.app.service_account.id
    assert [e["id"] for e in body["item_collection"]["entries"]] == [shared.id]
    assert body["item_collection"]["total_count"] == 1
    assert api_get(emu, "/2.0/folders/0", token, params={"fields": "id"}).json() == {
        "type": "folder",
        "id": "0",
        "etag": None,
    }
    as_user = api_get(
        emu, "/2.0/folders/0", token, headers={"As-User": emu.managed_users[0].id}
    ).json()
    assert as_user["item_collection"]["total_count"] == 2


def test_folder_not_found(emu: BoxEmulator, token: str) -> None:
    assert_json_error(api_get(emu, "/2.0/folders/42", token), 404, "not_found", "Not Found", emu)


def test_folder_needs_read(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(scopes={"write"})
    token = enterprise_token(emu, ekf)
    assert_header_only(api_get(emu, "/2.0/folders/0", token), 403, INSUFFICIENT_SCOPE)


def _options(
    emu: BoxEmulator, token: str, body: Any, raw: bytes | None = None
) -> requests.Response:
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.options(
        f"{emu.api_url}/files/content",
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )


def test_upload_precheck(emu: BoxEmulator, token: str) -> None:
    before = len(emu.files)
    response = _options(emu, token, {"name": "new.txt", "parent": {"id": "0"}, "size": 1})
    assert response.status_code == 200
    assert response.json() == {
        "upload_url": f"{emu.base_url}/api/2.0/files/content",
        "upload_token": None,
    }
    assert len(emu.files) == before


def test_upload_precheck_conflict(emu: BoxEmulator, token: str) -> None:
    existing = emu.add_file("Report.txt", b"abc")
    response = _options(emu, token, {"name": "report.TXT", "parent": {"id": "0"}, "size": 1})
    body = assert_json_error(
        response, 409, "item_name_in_use", "Item with the same name already exists", emu
    )
    assert body["context_info"]["conflicts"]["id"] == existing.id
    assert body["context_info"]["conflicts"]["type"] == "file"


@pytest.mark.parametrize(
    ("body", "raw", "status"),
    [
        ({"parent": {"id": "0"}}, None, 400),
        ({"name": "x", "parent": "0"}, None, 400),
        ({"name": " ", "parent": {"id": "0"}}, None, 400),
        ([1], None, 400),
        (None, b"{not json", 400),
        ({"name": "x", "parent": {"id": "77"}}, None, 404),
    ],
)
def test_upload_precheck_bad_requests(
    emu: BoxEmulator, token: str, body: Any, raw: bytes | None, status: int
) -> None:
    assert _options(emu, token, body, raw).status_code == status


def test_upload_precheck_needs_write(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(scopes={"read"})
    token = enterprise_token(emu, ekf)
    response = _options(emu, token, {"name": "x", "parent": {"id": "0"}})
    assert_header_only(response, 403, INSUFFICIENT_SCOPE)


def _upload(emu: BoxEmulator, token: str, name: str, content: bytes | None) -> requests.Response:
    files: dict[str, Any] = {
        "attributes": (None, json.dumps({"name": name, "parent": {"id": "0"}}))
    }
    if content is not None:
        files["file"] = (name, content, "application/octet-stream")
    return requests.post(
        f"{emu.upload_url}/2.0/files/content",
        files=files,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_upload_then_conflict(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str) -> None:
    response = _upload(emu, token, "up.bin", b"\x00\x01data")
    assert response.status_code == 201
    entry = response.json()["entries"][0]
    assert entry["name"] == "up.bin"
    assert entry["size"] == 6
    (item,) = emu.files
    assert item.owner_id == ekf.app.service_account.id
    assert item.content == b"\x00\x01data"
    assert _upload(emu, token, "up.bin", b"again").status_code == 409
    assert emu.count("POST", "/api/2.0/files/content") == 2


def test_upload_bad_requests(emu: BoxEmulator, token: str) -> None:
    assert _upload(emu, token, "nofile.bin", None).status_code == 400
    not_multipart = requests.post(
        f"{emu.upload_url}/2.0/files/content",
        data=b"x",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert not_multipart.status_code == 400
    bad_attributes = requests.post(
        f"{emu.upload_url}/2.0/files/content",
        files={"attributes": (None, "{nope"), "file": ("a", b"a")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert bad_attributes.status_code == 400


def test_file_info_and_download_redirect(emu: BoxEmulator, token: str) -> None:
    item = emu.add_file("a.txt", b"content!")
    info = api_get(emu, f"/2.0/files/{item.id}", token, params={"fields": "name,size"})
    assert info.json() == {"type": "file", "id": item.id, "etag": "0", "name": "a.txt", "size": 8}
    assert api_get(emu, f"/2.0/files/{item.id}", token).json()["sha1"]
    response = api_get(emu, f"/2.0/files/{item.id}/content", token)
    assert response.status_code == 302
    assert response.content == b""
    location = response.headers["Location"]
    assert location == f"{emu.base_url}/_emulator/download/{item.id}"
    download = requests.get(location, timeout=10)  # no Authorization: a signed URL
    assert download.content == b"content!"
    followed = api_get(emu, f"/2.0/files/{item.id}/content", token, allow_redirects=True)
    assert followed.content == b"content!"


def test_missing_files(emu: BoxEmulator, token: str) -> None:
    theirs = emu.add_file("theirs", b"x", owner=emu.admin.id)
    assert api_get(emu, f"/2.0/files/{theirs.id}", token).status_code == 404
    assert api_get(emu, "/2.0/files/1/content", token).status_code == 404
    assert requests.get(f"{emu.base_url}/_emulator/download/1", timeout=10).status_code == 404


def test_download_redirect_to_another_local_server(emu: BoxEmulator, token: str) -> None:
    with RecordingServer() as other:
        other.script(Answer(200, {}, b"from the other host"))
        emu.download_url_template = f"http://localhost:{other.url.rsplit(':', 1)[1]}/dl/{{file_id}}"
        item = emu.add_file("b.txt", b"b")
        assert emu.download_url(item.id).endswith(f"/dl/{item.id}")
        response = api_get(emu, f"/2.0/files/{item.id}/content", token, allow_redirects=True)
        assert response.content == b"from the other host"
        # requests drops Authorization when a redirect changes host
        assert "authorization" not in other.received[-1].headers


def test_download_url_when_stopped() -> None:
    emu = BoxEmulator()
    assert emu.download_url("7") == "/_emulator/download/7"


# --------------------------------------------------------------------------- events, groups


def test_admin_events(emu: BoxEmulator, token: str) -> None:
    response = api_get(emu, "/2.0/events", token, params={"stream_type": "admin_logs", "limit": 1})
    assert response.status_code == 200
    assert response.json() == {"chunk_size": 0, "next_stream_position": "0", "entries": []}
    user_stream = api_get(emu, "/2.0/events", token, params={"stream_position": "now"})
    assert user_stream.json()["next_stream_position"] == "now"


def test_admin_events_need_the_scope_and_an_admin(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(scopes={"read", "manage_users"})
    token = enterprise_token(emu, ekf)
    params = {"stream_type": "admin_logs"}
    assert_header_only(api_get(emu, "/2.0/events", token, params=params), 403, INSUFFICIENT_SCOPE)
    full = emu.make_keyfile()
    full_token = enterprise_token(emu, full)
    as_user = api_get(
        emu, "/2.0/events", full_token, params=params, headers={"As-User": emu.managed_users[0].id}
    )
    assert_denied(as_user, emu)
    bad_limit = api_get(emu, "/2.0/events", full_token, params={**params, "limit": "x"})
    assert bad_limit.status_code == 400


def test_groups(emu: BoxEmulator, token: str) -> None:
    emu.add_group("Extra")
    body = api_get(emu, "/2.0/groups", token, params={"limit": 1}).json()
    assert body["total_count"] == 3
    assert body["limit"] == 1
    assert body["entries"] == [
        {"type": "group", "id": emu.groups[0].id, "name": "Group 1", "group_type": "managed_group"}
    ]


def test_groups_need_manage_groups(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(scopes={"read"})
    token = enterprise_token(emu, ekf)
    assert_header_only(api_get(emu, "/2.0/groups", token), 403, INSUFFICIENT_SCOPE)


# --------------------------------------------------------------------------- downscoped tokens


def test_downscoped_token_scopes(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str) -> None:
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "scope": "item_preview",
    }
    preview = requests.post(emu.token_url, data=form, timeout=10).json()["access_token"]
    assert api_get(emu, "/2.0/folders/0", preview).status_code == 200
    assert api_get(emu, "/2.0/users", preview).status_code == 403
    assert _options(emu, preview, {"name": "x", "parent": {"id": "0"}}).status_code == 403
    form["scope"] = "base_upload"
    upload = requests.post(emu.token_url, data=form, timeout=10).json()["access_token"]
    assert _options(emu, upload, {"name": "x", "parent": {"id": "0"}}).status_code == 200
    assert api_get(emu, "/2.0/folders/0", upload).status_code == 403


# --------------------------------------------------------------------------- routing


def test_unknown_path_and_method(emu: BoxEmulator, token: str) -> None:
    assert_json_error(api_get(emu, "/2.0/nothing", token), 404, "not_found", "Not Found", emu)
    response = requests.delete(f"{emu.api_url}/users/me", timeout=10)
    assert_json_error(response, 405, "method_not_allowed", "Method Not Allowed", emu)
    assert response.headers["Allow"] == "GET"


def test_handler_crash_answers_500(
    emu: BoxEmulator, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from boxjwt.testing import _dispatch

    def boom(*args: object) -> None:
        raise RuntimeError("bug")

    route = next(r for r in _dispatch.ROUTES if r.pattern == "/2.0/groups")
    monkeypatch.setitem(route.methods, "GET", boom)  # type: ignore[arg-type]
    response = api_get(emu, "/2.0/groups", token)
    assert_json_error(response, 500, "internal_server_error", "Internal Server Error", emu)


def test_lookups_skip_other_files_and_parts(emu: BoxEmulator, token: str) -> None:
    first = emu.add_file("one.txt", b"1")
    second = emu.add_file("two.txt", b"2")
    assert api_get(emu, f"/2.0/files/{second.id}", token).json()["id"] == second.id
    assert _options(emu, token, {"name": "three.txt", "parent": {"id": "0"}}).status_code == 200
    response = requests.post(
        f"{emu.upload_url}/2.0/files/content",
        files={
            "attributes": (None, json.dumps({"name": "three.txt", "parent": {"id": "0"}})),
            "comment": (None, "ignored"),
            "file": ("three.txt", b"3"),
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201
    assert [f.name for f in emu.files] == [first.name, second.name, "three.txt"]
