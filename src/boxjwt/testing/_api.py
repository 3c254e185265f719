"""The ``/2.0`` (and upload ``/api/2.0``) endpoints the emulator serves, with Box semantics.

Every authenticated call is checked in this order, the first failure answering:

1. ``Authorization: Bearer <token>`` present → else 401, empty body,
   ``WWW-Authenticate: Bearer realm="Service", error="invalid_request", error_description="The
   access token was not found."`` *(unconfirmed)*
2. the token was issued, has not expired (emulator clock), was not revoked, and its app is
   still authorized → else 401, empty body, ``WWW-Authenticate: Bearer realm="Service",
   error="invalid_token", error_description="The access token provided is invalid."``
3. ``As-User`` (when sent, non-empty):

   a. the app's "as-user" feature is on (as of the last re-authorization) → else 403, empty
      body, ``WWW-Authenticate: … error="insufficient_scope" …``
   b. the token owner may impersonate (a service account, the admin or a co-admin), and the
      target is a user of the enterprise, not a service account, not the token owner, not an
      admin or co-admin (a service account may target admins only with
      ``BoxEmulator.allow_as_user_admins``; the primary admin may target co-admins), not
      another app's app user, and under App Access Only one of the app's own app users →
      else the JSON 403 ``access_denied_insufficient_permissions``

4. the app has the endpoint's scope (as of the last re-authorization; a downscoped token also
   needs a matching downscope) → else 403 empty body + ``insufficient_scope`` header.

Scopes: ``/users`` manage_users, ``/folders`` and ``/files/{id}`` read,
``OPTIONS /files/content`` and uploads write, ``/events?stream_type=admin_logs``
manage_enterprise_properties (other streams: read), ``/groups`` manage_groups; ``/users/me``
none. ``GET /users``, ``GET /users/{id}`` and admin events also need an admin-like acting
user (service account, admin, co-admin), else the JSON 403.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any, Final

from boxjwt.testing._http import (
    NO_TOKEN,
    Request,
    Response,
    api_error,
    insufficient_scope,
    invalid_token,
    json_response,
)
from boxjwt.testing._state import EmulatedApp, EmulatedFile, EmulatedUser, IssuedToken

if TYPE_CHECKING:
    from boxjwt.testing._emulator import BoxEmulator

__all__ = ["Actor", "DeniedError", "authenticate"]

_READ_DOWNSCOPES: Final = frozenset(
    {
        "root_readonly",
        "root_readwrite",
        "item_read",
        "item_preview",
        "item_download",
        "base_explorer",
        "base_picker",
        "base_preview",
        "base_sidebar",
    }
)
_WRITE_DOWNSCOPES: Final = frozenset({"root_readwrite", "item_upload", "base_upload"})


class DeniedError(Exception):
    """Raised by the checks; carries the answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class Actor:
    """Who an API call acts as."""

    token: IssuedToken
    user: EmulatedUser

    @property
    def app(self) -> EmulatedApp:
        """The token's app."""
        return self.token.app


def _effective_scopes(token: IssuedToken) -> frozenset[str]:
    scopes = token.app.settings.scopes
    if token.restricted_scopes is None:
        return scopes
    allowed = set()
    if token.restricted_scopes & _READ_DOWNSCOPES:
        allowed.add("read")
    if token.restricted_scopes & _WRITE_DOWNSCOPES:
        allowed.add("write")
    return scopes & allowed


def _as_user_allowed(
    emu: BoxEmulator, owner: EmulatedUser, target: EmulatedUser, app: EmulatedApp
) -> bool:
    if target.is_service_account or target is owner:
        return False
    if target.is_admin:
        if owner.kind == "service_account":
            if not emu.allow_as_user_admins:
                return False
        elif not (owner.kind == "admin" and target.kind == "coadmin"):
            return False
    if target.kind == "app_user" and target.app is not app:
        return False
    return app.settings.access_level == "app_enterprise" or target.kind == "app_user"


def authenticate(emu: BoxEmulator, request: Request, scope: str | None) -> Actor:
    """Run checks 1-4 of the module docstring; return the actor or raise :class:`DeniedError`."""
    header = request.header("Authorization")
    if not header:
        raise DeniedError(invalid_token(NO_TOKEN))
    scheme, _, value = header.partition(" ")
    token = emu.live_token(value.strip()) if scheme.lower() == "bearer" else None
    if token is None or not token.app.authorized:
        raise DeniedError(invalid_token())
    request.notes.update(
        client_id=token.app.client_id,
        subject_type=token.subject_type,
        subject_id=token.owner.id,
        acting_user_id=token.owner.id,
    )
    acting = token.owner
    target_id = (request.header("As-User") or "").strip()
    if target_id:
        request.notes["as_user"] = target_id
        app = token.app
        if not app.settings.as_user:
            raise DeniedError(insufficient_scope())
        target = emu.find_user(target_id)
        owner_may = token.owner.kind in ("service_account", "admin", "coadmin")
        if not owner_may or target is None or not _as_user_allowed(emu, token.owner, target, app):
            raise DeniedError(api_error(403, request.request_id))
        acting = target
        request.notes["acting_user_id"] = target.id
    if scope is not None and scope not in _effective_scopes(token):
        raise DeniedError(insufficient_scope())
    return Actor(token, acting)


# --------------------------------------------------------------------------- helpers


def _fields(request: Request) -> list[str] | None:
    raw = request.param("fields")
    if raw is None:
        return None
    names = [f.strip() for f in raw.split(",") if f.strip()]
    return names or None


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.param(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise DeniedError(
            api_error(
                400,
                request.request_id,
                message=f"Invalid value '{raw}' for query parameter '{name}'",
            )
        )
    return min(value, maximum)


def _require_admin_like(request: Request, actor: Actor) -> None:
    if actor.user.kind not in ("service_account", "admin", "coadmin"):
        raise DeniedError(api_error(403, request.request_id))


def _visible_files(emu: BoxEmulator, actor: Actor) -> list[EmulatedFile]:
    return [f for f in emu.files if f.owner_id in (None, actor.user.id)]


def _find_file(emu: BoxEmulator, request: Request, actor: Actor, file_id: str) -> EmulatedFile:
    for item in _visible_files(emu, actor):
        if item.id == file_id:
            return item
    raise DeniedError(api_error(404, request.request_id))


def _check_new_item(emu: BoxEmulator, request: Request, actor: Actor, attributes: object) -> str:
    """Name/parent validation shared by the upload pre-check and the upload."""
    if not isinstance(attributes, dict):
        raise DeniedError(api_error(400, request.request_id))
    name = attributes.get("name")
    parent = attributes.get("parent")
    parent_id = parent.get("id") if isinstance(parent, dict) else None
    if not isinstance(name, str) or not name.strip() or not isinstance(parent_id, str):
        raise DeniedError(api_error(400, request.request_id))
    if parent_id != "0":
        raise DeniedError(api_error(404, request.request_id))
    for item in _visible_files(emu, actor):
        if item.parent_id == parent_id and item.name.lower() == name.lower():
            info = item.to_json(["name", "sha1", "file_version", "sequence_id"])
            raise DeniedError(api_error(409, request.request_id, context_info={"conflicts": info}))
    return name


# --------------------------------------------------------------------------- endpoints

Handler = Callable[["BoxEmulator", Request, list[str]], Response]


def users_me(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``GET /2.0/users/me``: the acting user."""
    actor = authenticate(emu, request, None)
    return json_response(200, actor.user.to_json(emu.state.enterprise_json, _fields(request)))


def _visible_users(emu: BoxEmulator, actor: Actor) -> list[EmulatedUser]:
    """The users an app sees: its own app users, plus the managed ones under App + Enterprise."""
    app = actor.app
    app_only = app.settings.access_level == "app_only"
    return [
        u
        for u in emu.users
        if (u.kind == "app_user" and u.app is app)
        or (not app_only and u.kind in ("admin", "coadmin", "managed"))
    ]


def users(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``GET /2.0/users``: the users the app can see under its access level."""
    actor = authenticate(emu, request, "manage_users")
    _require_admin_like(request, actor)
    limit = _int_param(request, "limit", 100, 1000)
    offset = _int_param(request, "offset", 0, 10**9)
    visible = _visible_users(emu, actor)
    term = (request.param("filter_term") or "").lower()
    if term:
        visible = [
            u
            for u in visible
            if u.login.lower().startswith(term) or u.name.lower().startswith(term)
        ]
    fields = _fields(request)
    enterprise = emu.state.enterprise_json
    return json_response(
        200,
        {
            "total_count": len(visible),
            "limit": limit,
            "offset": offset,
            "entries": [u.to_json(enterprise, fields) for u in visible[offset : offset + limit]],
        },
    )


def user(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``GET /2.0/users/{id}``: one user the app can see (else Box's JSON 404)."""
    actor = authenticate(emu, request, "manage_users")
    _require_admin_like(request, actor)
    found = next((u for u in _visible_users(emu, actor) if u.id == params[0]), None)
    if found is None:
        raise DeniedError(api_error(404, request.request_id))
    return json_response(200, found.to_json(emu.state.enterprise_json, _fields(request)))


def folder(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``GET /2.0/folders/{id}``: only the root folder ``0`` exists."""
    actor = authenticate(emu, request, "read")
    if params[0] != "0":
        raise DeniedError(api_error(404, request.request_id))
    items = [
        f.to_json(["name", "sha1", "file_version", "sequence_id"])
        for f in _visible_files(emu, actor)
    ]
    full: dict[str, Any] = {
        "type": "folder",
        "id": "0",
        "sequence_id": None,
        "etag": None,
        "name": "All Files",
        "created_at": None,
        "modified_at": None,
        "description": "",
        "size": sum(len(f.content) for f in _visible_files(emu, actor)),
        "path_collection": {"total_count": 0, "entries": []},
        "created_by": {"type": "user", "id": "", "name": "", "login": ""},
        "modified_by": actor.user.mini(),
        "owned_by": actor.user.mini(),
        "parent": None,
        "item_status": "active",
        "item_collection": {
            "total_count": len(items),
            "entries": items,
            "offset": 0,
            "limit": 100,
            "order": [{"by": "type", "direction": "ASC"}, {"by": "name", "direction": "ASC"}],
        },
    }
    fields = _fields(request)
    if fields is not None:
        full = {"type": "folder", "id": "0", "etag": None} | {
            k: full[k] for k in fields if k in full
        }
    return json_response(200, full)


def upload_precheck(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``OPTIONS /2.0/files/content``: would this upload succeed? Creates nothing."""
    actor = authenticate(emu, request, "write")
    try:
        attributes = json.loads(request.body or b"null")
    except ValueError:
        attributes = None
    _check_new_item(emu, request, actor, attributes)
    return json_response(
        200, {"upload_url": f"{emu.upload_url}/2.0/files/content", "upload_token": None}
    )


def _multipart(request: Request) -> EmailMessage:
    content_type = request.header("Content-Type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        raise DeniedError(api_error(400, request.request_id))
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + request.body
    message = BytesParser(policy=policy.HTTP).parsebytes(raw)
    assert isinstance(message, EmailMessage)  # noqa: S101 - policy.HTTP always builds these
    return message


def upload(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``POST /api/2.0/files/content`` (upload host): multipart ``attributes`` + ``file``."""
    actor = authenticate(emu, request, "write")
    attributes: object = None
    content: bytes | None = None
    for part in _multipart(request).iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name == "attributes":
            try:
                attributes = json.loads(data)
            except ValueError:
                attributes = None
        elif name == "file":
            content = data
    file_name = _check_new_item(emu, request, actor, attributes)
    if content is None:
        raise DeniedError(api_error(400, request.request_id))
    item = emu.add_file(file_name, content, owner=actor.user)
    return json_response(201, {"total_count": 1, "entries": [item.to_json()]})


def file_info(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``GET /2.0/files/{id}``."""
    actor = authenticate(emu, request, "read")
    return json_response(200, _find_file(emu, request, actor, params[0]).to_json(_fields(request)))


def file_content(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``GET /2.0/files/{id}/content``: 302 to the download URL (another host on Box)."""
    actor = authenticate(emu, request, "read")
    item = _find_file(emu, request, actor, params[0])
    return Response(302, b"", [("Location", emu.download_url(item.id))])


def download(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``GET /_emulator/download/{id}``: the file bytes, no authentication (a signed URL)."""
    for item in emu.files:
        if item.id == params[0]:
            return Response(200, item.content, [("Content-Type", "application/octet-stream")])
    raise DeniedError(api_error(404, request.request_id))


def events(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``GET /2.0/events``: ``stream_type=admin_logs`` needs manage_enterprise_properties."""
    stream_type = request.param("stream_type") or "all"
    admin = stream_type.startswith("admin_logs")
    actor = authenticate(emu, request, "manage_enterprise_properties" if admin else "read")
    if admin:
        _require_admin_like(request, actor)
    _int_param(request, "limit", 100, 500)
    position = request.param("stream_position") or "0"
    return json_response(200, {"chunk_size": 0, "next_stream_position": position, "entries": []})


def groups(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    """``GET /2.0/groups``: needs manage_groups."""
    authenticate(emu, request, "manage_groups")
    limit = _int_param(request, "limit", 100, 1000)
    offset = _int_param(request, "offset", 0, 10**9)
    all_groups = emu.groups
    return json_response(
        200,
        {
            "total_count": len(all_groups),
            "limit": limit,
            "offset": offset,
            "entries": [g.to_json() for g in all_groups[offset : offset + limit]],
        },
    )
