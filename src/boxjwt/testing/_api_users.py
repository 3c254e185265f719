"""``GET /2.0/users/me``, ``GET /2.0/users`` and ``GET /2.0/users/{id}``, paged as Box pages.

``GET /2.0/users`` (scope manage_users, an admin-like acting user) lists the users the app can
see: its own app users, plus under App + Enterprise Access the admin, co-admins and managed
users (any status). ``user_type`` is ``all`` (default), ``managed`` or ``external``; users
outside the enterprise (external collaborators) are listed only when ``filter_term`` is their
exact login, as Box documents. ``filter_term`` otherwise matches the start of a login or name.

Paging, as Box does it:

- offset paging (default): ``limit`` (default 100, at most 1000) and ``offset``; an
  ``offset`` above 10000 is refused with a 400 (``BoxAnswers.offset_too_large``, wording
  *(unconfirmed)*); the answer has ``total_count``, ``limit``, ``offset``, ``entries``.
- marker paging (``usemarker=true``, then ``marker=<next_marker>``): the answer has
  ``entries``, ``limit`` and ``next_marker`` (``null`` on the last page) and no total; markers
  are opaque, base64url JSON like Box's. A listing walked by markers returns every user exactly
  once, even while users are being added. An unreadable marker is a 400 *(unconfirmed)*.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from typing import Final

from boxjwt.testing._access import Actor, DeniedError, answer, authenticate
from boxjwt.testing._api import fields_param, int_param, require_admin_like
from boxjwt.testing._http import Request, Response, api_error, json_response
from boxjwt.testing._principals import EmulatedUser
from boxjwt.testing._state import EnterpriseState

__all__ = ["MAX_OFFSET", "user", "users", "users_me"]

MAX_OFFSET: Final = 10_000
"""Box refuses ``offset`` above this on ``GET /2.0/users``."""

_USER_TYPES: Final = ("all", "managed", "external")
_ENTERPRISE_KINDS: Final = ("admin", "coadmin", "managed")


def users_me(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``GET /2.0/users/me``: the acting user."""
    actor = authenticate(state, request, None)
    return json_response(200, actor.user.to_json(state.enterprise_json, fields_param(request)))


def _bad_param(request: Request, name: str, raw: str) -> DeniedError:
    message = f"Invalid value '{raw}' for query parameter '{name}'"
    return DeniedError(api_error(400, request.request_id, message=message))


def _visible(
    state: EnterpriseState, actor: Actor, user_type: str = "all", term: str = ""
) -> list[EmulatedUser]:
    """The users an app sees: its own app users, plus the enterprise's under App + Enterprise;
    external users only by exact login (``term``)."""
    app = actor.app
    enterprise = actor.token.settings.access_level == "app_enterprise"

    def listed(u: EmulatedUser) -> bool:
        if u.kind == "external":
            return user_type != "managed" and enterprise and bool(term) and u.login.lower() == term
        mine = (u.kind == "app_user" and u.app is app) or (
            enterprise and u.kind in _ENTERPRISE_KINDS
        )
        matches = not term or u.login.lower().startswith(term) or u.name.lower().startswith(term)
        return user_type != "external" and mine and matches

    return [u for u in state.all_users() if listed(u)]


def _encode_marker(user_id: str) -> str:
    raw = json.dumps({"type": "id", "dir": "next", "tail": user_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _marker_position(state: EnterpriseState, request: Request, marker: str) -> int:
    """The creation sequence number after which the page starts."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
        tail = state.find_user(str(decoded["tail"]))
    except (ValueError, binascii.Error, KeyError, TypeError):
        tail = None
    if tail is None:
        raise _bad_param(request, "marker", marker)
    return tail.seq


def _marker_page(
    state: EnterpriseState, request: Request, visible: list[EmulatedUser], limit: int
) -> Response:
    marker = request.param("marker")
    after = _marker_position(state, request, marker) if marker else 0
    start = bisect.bisect_right(visible, after, key=lambda u: u.seq)
    page = visible[start : start + limit]
    more = start + limit < len(visible) and page
    fields = fields_param(request)
    return json_response(
        200,
        {
            "entries": [u.to_json(state.enterprise_json, fields) for u in page],
            "limit": limit,
            "next_marker": _encode_marker(page[-1].id) if more else None,
        },
    )


def users(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``GET /2.0/users``: the users the app can see, offset- or marker-paged."""
    actor = authenticate(state, request, "manage_users")
    require_admin_like(request, actor)
    user_type = request.param("user_type") or "all"
    if user_type not in _USER_TYPES:
        raise _bad_param(request, "user_type", user_type)
    limit = int_param(request, "limit", 100, 1000)
    term = (request.param("filter_term") or "").lower()
    visible = _visible(state, actor, user_type, term)
    if (request.param("usemarker") or "").lower() == "true" or request.param("marker"):
        return _marker_page(state, request, visible, limit)
    offset = int_param(request, "offset", 0, 10**9)
    if offset > MAX_OFFSET:
        raise answer(request, state.answers.offset_too_large, offset)
    fields = fields_param(request)
    return json_response(
        200,
        {
            "total_count": len(visible),
            "limit": limit,
            "offset": offset,
            "entries": [
                u.to_json(state.enterprise_json, fields) for u in visible[offset : offset + limit]
            ],
        },
    )


def user(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    """``GET /2.0/users/{id}``: one user the app can see (else Box's JSON 404)."""
    actor = authenticate(state, request, "manage_users")
    require_admin_like(request, actor)
    found = state.find_user(params[0])
    visible = found is not None and (
        found in _visible(state, actor)
        or (found.is_external and actor.token.settings.access_level == "app_enterprise")
    )
    if found is None or not visible:
        raise DeniedError(api_error(404, request.request_id))
    return json_response(200, found.to_json(state.enterprise_json, fields_param(request)))
