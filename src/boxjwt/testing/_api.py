"""The content endpoints of ``/2.0`` (and the upload host's ``/api/2.0``), with Box semantics.

Every call first goes through :func:`boxjwt.testing._access.authenticate` (token, As-User,
scope, rate limits). Scopes: ``/folders``, ``/files/{id}`` and ``/search`` read;
``OPTIONS /files/content`` and uploads write; ``/events?stream_type=admin_logs``
manage_enterprise_properties (other streams: read), ``/groups`` manage_groups. Admin events
also need an admin-like acting user (service account, admin, co-admin), else the JSON 403.
Users act within their own root folder ``0`` (plus files shared with everyone); a
``cannot_delete_edit_upload`` user cannot upload (``BoxAnswers.upload_restricted``,
*(unconfirmed)*). The users endpoints live in ``_api_users``.
"""

from __future__ import annotations

import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from boxjwt.testing._access import Actor, DeniedError, answer, authenticate
from boxjwt.testing._content import EmulatedFile
from boxjwt.testing._http import Request, Response, api_error, json_response
from boxjwt.testing._state import EnterpriseState

__all__ = [
    "download",
    "events",
    "fields_param",
    "file_content",
    "file_info",
    "folder",
    "groups",
    "int_param",
    "require_admin_like",
    "search",
    "upload",
    "upload_precheck",
]


# --------------------------------------------------------------------------- helpers


def fields_param(request: Request) -> list[str] | None:
    """The ``fields`` query parameter as a list (``None``: not given)."""
    raw = request.param("fields")
    if raw is None:
        return None
    names = [f.strip() for f in raw.split(",") if f.strip()]
    return names or None


def int_param(request: Request, name: str, default: int, maximum: int) -> int:
    """A non-negative integer query parameter, capped at ``maximum`` (else Box's 400)."""
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


def require_admin_like(request: Request, actor: Actor) -> None:
    """Admin-only endpoints: the acting user is a service account, the admin or a co-admin."""
    if actor.user.kind not in ("service_account", "admin", "coadmin"):
        raise DeniedError(api_error(403, request.request_id))


def _visible_files(state: EnterpriseState, actor: Actor) -> list[EmulatedFile]:
    return [f for f in state.all_files() if f.owner_id in (None, actor.user.id)]


def _find_file(
    state: EnterpriseState, request: Request, actor: Actor, file_id: str
) -> EmulatedFile:
    for item in _visible_files(state, actor):
        if item.id == file_id:
            return item
    raise DeniedError(api_error(404, request.request_id))


def _check_new_item(
    state: EnterpriseState, request: Request, actor: Actor, attributes: object
) -> str:
    """Name/parent validation shared by the upload pre-check and the upload."""
    if actor.user.status == "cannot_delete_edit_upload":
        raise answer(request, state.answers.upload_restricted)
    if not isinstance(attributes, dict):
        raise DeniedError(api_error(400, request.request_id))
    name = attributes.get("name")
    parent = attributes.get("parent")
    parent_id = parent.get("id") if isinstance(parent, dict) else None
    if not isinstance(name, str) or not name.strip() or not isinstance(parent_id, str):
        raise DeniedError(api_error(400, request.request_id))
    if parent_id != "0":
        raise DeniedError(api_error(404, request.request_id))
    for item in _visible_files(state, actor):
        if item.parent_id == parent_id and item.name.lower() == name.lower():
            info = item.to_json(["name", "sha1", "file_version", "sequence_id"])
            raise DeniedError(api_error(409, request.request_id, context_info={"conflicts": info}))
    return name


# --------------------------------------------------------------------------- endpoints


def folder(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``GET /2.0/folders/{id}``: only the root folder ``0`` exists."""
    actor = authenticate(state, request, "read")
    if params[0] != "0":
        raise DeniedError(api_error(404, request.request_id))
    items = [
        f.to_json(["name", "sha1", "file_version", "sequence_id"])
        for f in _visible_files(state, actor)
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
        "size": sum(len(f.content) for f in _visible_files(state, actor)),
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
    fields = fields_param(request)
    if fields is not None:
        full = {"type": "folder", "id": "0", "etag": None} | {
            k: full[k] for k in fields if k in full
        }
    return json_response(200, full)


def upload_precheck(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``OPTIONS /2.0/files/content``: would this upload succeed? Creates nothing."""
    actor = authenticate(state, request, "write")
    try:
        attributes = json.loads(request.body or b"null")
    except ValueError:
        attributes = None
    _check_new_item(state, request, actor, attributes)
    return json_response(
        200, {"upload_url": f"{state.base_url}/api/2.0/files/content", "upload_token": None}
    )


def _multipart(request: Request) -> EmailMessage:
    content_type = request.header("Content-Type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        raise DeniedError(api_error(400, request.request_id))
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + request.body
    message = BytesParser(policy=policy.HTTP).parsebytes(raw)
    assert isinstance(message, EmailMessage)  # noqa: S101 - policy.HTTP always builds these
    return message


def upload(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``POST /api/2.0/files/content`` (upload host): multipart ``attributes`` + ``file``."""
    actor = authenticate(state, request, "write")
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
    file_name = _check_new_item(state, request, actor, attributes)
    if content is None:
        raise DeniedError(api_error(400, request.request_id))
    item = state.add_file(file_name, content, actor.user.id)
    return json_response(201, {"total_count": 1, "entries": [item.to_json()]})


def file_info(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``GET /2.0/files/{id}``."""
    actor = authenticate(state, request, "read")
    return json_response(
        200, _find_file(state, request, actor, params[0]).to_json(fields_param(request))
    )


def file_content(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``GET /2.0/files/{id}/content``: 302 to the download URL (another host on Box)."""
    actor = authenticate(state, request, "read")
    item = _find_file(state, request, actor, params[0])
    return Response(302, b"", [("Location", state.download_url(item.id))])


def download(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``GET /_emulator/download/{id}``: the file bytes, no authentication (a signed URL)."""
    for item in state.all_files():
        if item.id == params[0]:
            return Response(200, item.content, [("Content-Type", "application/octet-stream")])
    raise DeniedError(api_error(404, request.request_id))


def events(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``GET /2.0/events``: ``stream_type=admin_logs`` needs manage_enterprise_properties."""
    stream_type = request.param("stream_type") or "all"
    admin = stream_type.startswith("admin_logs")
    actor = authenticate(state, request, "manage_enterprise_properties" if admin else "read")
    if admin:
        require_admin_like(request, actor)
    int_param(request, "limit", 100, 500)
    position = request.param("stream_position") or "0"
    return json_response(200, {"chunk_size": 0, "next_stream_position": position, "entries": []})


def groups(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``GET /2.0/groups``: needs manage_groups."""
    authenticate(state, request, "manage_groups")
    limit = int_param(request, "limit", 100, 1000)
    offset = int_param(request, "offset", 0, 10**9)
    with state.lock:
        all_groups = list(state.groups)
    return json_response(
        200,
        {
            "total_count": len(all_groups),
            "limit": limit,
            "offset": offset,
            "entries": [g.to_json() for g in all_groups[offset : offset + limit]],
        },
    )


def search(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``GET /2.0/search?query=...``: the acting user's files whose name contains the query
    (its own rate-limit budgets: 6/s and 60/min per user, 12/s per enterprise)."""
    actor = authenticate(state, request, "read")
    query = (request.param("query") or "").strip().lower()
    if not query:
        raise DeniedError(
            api_error(400, request.request_id, message="Missing required query parameter 'query'")
        )
    limit = int_param(request, "limit", 30, 200)
    offset = int_param(request, "offset", 0, 10**9)
    found = [f for f in _visible_files(state, actor) if query in f.name.lower()]
    fields = fields_param(request)
    return json_response(
        200,
        {
            "type": "search_results_items",
            "total_count": len(found),
            "limit": limit,
            "offset": offset,
            "entries": [f.to_json(fields) for f in found[offset : offset + limit]],
        },
    )
