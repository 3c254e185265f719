"""From an HTTP request to an answer: routing, scripted faults, latency, headers, the log.

:class:`Dispatcher` is what the HTTP server calls for every request. It matches the route,
applies a scripted fault if one is due, runs the endpoint handler against the
:class:`~boxjwt.testing._state.EnterpriseState`, adds Box's headers (``Date`` always;
``box-request-id`` except on ``/oauth2/*`` errors, unless
``BoxAnswers.oauth_error_request_id``), and records the exchange in the request log.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import parse_qs, urlsplit

from boxjwt.testing import _api, _api_users
from boxjwt.testing._access import DeniedError
from boxjwt.testing._faults import Fault, FaultPlan
from boxjwt.testing._http import API_ERROR_MESSAGES, Request, Response, api_error, oauth_error
from boxjwt.testing._log import RequestLog, RequestRecord, redact_headers
from boxjwt.testing._oauth import describe_token_request, handle_revoke, handle_token
from boxjwt.testing._state import EnterpriseState

__all__ = ["ROUTES", "Dispatcher", "Handler", "Route"]

Handler = Callable[[EnterpriseState, Request, list[str]], Response]
"""An endpoint: ``(state, request, path parameters) -> Response`` (or raise DeniedError)."""


@dataclass(frozen=True)
class Route:
    """A path pattern (``{id}``: digits) and its handler per method."""

    pattern: str
    regex: re.Pattern[str]
    methods: Mapping[str, Handler]


def _route(pattern: str, methods: Mapping[str, Handler]) -> Route:
    regex = re.compile("^" + re.escape(pattern).replace(r"\{id\}", r"(\d+)") + "$")
    return Route(pattern, regex, methods)


def _token(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    return handle_token(state, request)


def _revoke(state: EnterpriseState, request: Request, params: list[str]) -> Response:
    return handle_revoke(state, request)


ROUTES: tuple[Route, ...] = (
    _route("/oauth2/token", {"POST": _token, "GET": _token}),
    _route("/oauth2/revoke", {"POST": _revoke}),
    _route("/2.0/users/me", {"GET": _api_users.users_me}),
    _route("/2.0/users", {"GET": _api_users.users}),
    _route("/2.0/users/{id}", {"GET": _api_users.user}),
    _route("/2.0/folders/{id}", {"GET": _api.folder}),
    _route("/2.0/files/content", {"OPTIONS": _api.upload_precheck}),
    _route("/api/2.0/files/content", {"POST": _api.upload}),
    _route("/2.0/files/{id}", {"GET": _api.file_info}),
    _route("/2.0/files/{id}/content", {"GET": _api.file_content}),
    _route("/2.0/search", {"GET": _api.search}),
    _route("/2.0/events", {"GET": _api.events}),
    _route("/2.0/groups", {"GET": _api.groups}),
    _route("/_emulator/download/{id}", {"GET": _api.download}),
)


def match(path: str) -> tuple[Route | None, list[str]]:
    """The route serving ``path`` and its parameters (``None`` when no route matches)."""
    for route in ROUTES:
        found = route.regex.match(path)
        if found:
            return route, list(found.groups())
    return None, []


def fault_response(fault: Fault, request: Request) -> Response:
    """The answer a scripted status fault gives, in the endpoint's error shape."""
    status = fault.status
    assert status is not None  # noqa: S101 - only called for status faults
    body = fault.body
    if body is None:
        if status == 202 or 300 <= status < 400:
            response = Response(status)
        elif request.endpoint.startswith("/oauth2/"):
            code, message = API_ERROR_MESSAGES.get(status, ("error", "Error"))
            response = oauth_error(code, message, status)
        else:
            response = api_error(status, request.request_id)
    elif isinstance(body, Mapping):
        response = Response(
            status, json.dumps(body).encode(), [("Content-Type", "application/json")]
        )
    elif isinstance(body, str):
        response = Response(status, body.encode(), [("Content-Type", "text/plain; charset=utf-8")])
    else:
        response = Response(status, body)
    overridden = {name.lower() for name in fault.headers}
    response.headers = [h for h in response.headers if h[0].lower() not in overridden]
    response.headers.extend(fault.headers.items())
    return response


class Dispatcher:
    """Answers requests against ``state``, with ``faults`` and ``latency``, logging to ``log``."""

    def __init__(self, state: EnterpriseState, faults: FaultPlan, log: RequestLog) -> None:
        self.state = state
        self.faults = faults
        self.log = log
        self.latency = 0.0
        """Seconds every request waits before being answered (real time)."""

    def _sends_request_id(self, request: Request, response: Response) -> bool:
        oauth_error = request.path.startswith("/oauth2/") and response.status >= 400
        return not oauth_error or self.state.answers.oauth_error_request_id

    def _respond(self, route: Route | None, request: Request, params: list[str]) -> Response:
        if route is None:
            return api_error(404, request.request_id)
        handler = route.methods.get(request.method)
        if handler is None:
            allow = ", ".join(sorted(route.methods))
            return api_error(405, request.request_id, headers=[("Allow", allow)])
        try:
            return handler(self.state, request, params)
        except DeniedError as denied:
            return denied.response
        except Exception:  # noqa: BLE001 - an emulator bug must answer, not hang the client
            return api_error(500, request.request_id)

    def _answer(
        self, request: Request, route: Route | None, params: list[str]
    ) -> tuple[Response | None, Fault | None]:
        if self.latency > 0:
            time.sleep(self.latency)
        fault = self.faults.take(request.method, request.path, request.endpoint)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        if fault is not None and fault.drop:
            return None, fault
        if fault is not None and fault.status is not None:
            return fault_response(fault, request), fault
        return self._respond(route, request, params), fault

    def __call__(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Response | None:
        """Answer one request (``None``: drop the connection)."""
        arrived = self.state.now()
        seq = self.log.next_seq()
        split = urlsplit(target)
        route, params = match(split.path)
        request = Request(
            method=method,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            request_id=secrets.token_hex(8),
            endpoint=route.pattern if route else split.path,
        )
        if request.endpoint == "/oauth2/token":
            request.notes.update(describe_token_request(request))
        response, fault = self._answer(request, route, params)
        if response is not None:
            response.headers.append(("Date", formatdate(self.state.now(), usegmt=True)))
            if self._sends_request_id(request, response):
                response.headers.append(("box-request-id", request.request_id))
        self.log.append(_record(seq, arrived, request, response, fault))
        return response


def _record(
    seq: int, arrived: float, request: Request, response: Response | None, fault: Fault | None
) -> RequestRecord:
    notes = request.notes
    return RequestRecord(
        seq=seq,
        time=arrived,
        method=request.method,
        path=request.path,
        endpoint=request.endpoint,
        status=response.status if response is not None else None,
        query={k: v[0] for k, v in request.query.items()},
        request_headers=redact_headers(request.headers),
        response_headers=dict(response.headers) if response is not None else {},
        request_id=request.request_id,
        grant_type=notes.get("grant_type"),
        client_id=notes.get("client_id"),
        subject_type=notes.get("subject_type"),
        subject_id=notes.get("subject_id"),
        as_user=notes.get("as_user"),
        acting_user_id=notes.get("acting_user_id"),
        error=response.error if response is not None else None,
        fault=fault.kind if fault is not None else None,
        rate_limit=notes.get("rate_limit"),
    )
