"""Who may call the ``/2.0`` API as whom: the checks every authenticated call goes through.

Checked in this order, the first failure answering:

1. ``Authorization: Bearer <token>`` present → else 401, empty body,
   ``WWW-Authenticate: Bearer realm="Service", error="invalid_request", error_description="The
   access token was not found."`` *(unconfirmed)*
2. the token was issued, has not expired (emulator clock), was not revoked, and its app is
   still authorized → else 401, empty body, ``WWW-Authenticate: Bearer realm="Service",
   error="invalid_token", error_description="The access token provided is invalid."``
3. ``As-User`` (when sent, non-empty):

   a. the "as-user" feature was on when the token was minted → else 403, empty body,
      ``WWW-Authenticate: … error="insufficient_scope" …``
   b. the token owner may impersonate (a service account, the admin or a co-admin), and the
      target is a user of the enterprise, not a service account, not the token owner, not an
      admin or co-admin (a service account may target admins only with
      ``BoxEmulator.allow_as_user_admins``; the primary admin may target co-admins), not
      another app's app user, and under App Access Only one of the app's own app users →
      else the JSON 403 ``access_denied_insufficient_permissions``
   c. the target is not outside the enterprise → else ``BoxAnswers.as_user_external``
      (default: the same JSON 403) *(unconfirmed)*
   d. the target is not inactive → else ``BoxAnswers.as_user_inactive`` (default: the same
      JSON 403) *(unconfirmed)*

4. the token has the endpoint's scope (the app's scopes when the token was minted, narrowed by
   a downscope) → else 403 empty body + ``insufficient_scope`` header.
5. quality-of-service throttles (``BoxEmulator.throttle``), then the acting user's rate-limit
   budget for the call's class (``BoxEmulator(rate_limits=...)``) → else Box's 429.

A token keeps the console settings of the moment it was minted (``IssuedToken.settings``):
re-authorizing the app changes what the *next* tokens may do, as on Box.
"""

from __future__ import annotations

from dataclasses import dataclass

from boxjwt.testing._answers import ApiAnswer
from boxjwt.testing._http import (
    NO_TOKEN,
    Request,
    Response,
    api_error,
    insufficient_scope,
    invalid_token,
    rate_limited,
)
from boxjwt.testing._principals import EmulatedApp, EmulatedUser, IssuedToken
from boxjwt.testing._ratelimit import RateClass
from boxjwt.testing._scopes import api_scopes
from boxjwt.testing._state import EnterpriseState

__all__ = ["Actor", "DeniedError", "answer", "authenticate", "rate_class"]

_IMPERSONATORS = ("service_account", "admin", "coadmin")


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


def answer(request: Request, reply: ApiAnswer, value: object = "") -> DeniedError:
    """A :class:`DeniedError` carrying a configured JSON answer (``{value}`` filled in)."""
    message = reply.message.replace("{value}", str(value))
    return DeniedError(
        api_error(reply.status, request.request_id, code=reply.code, message=message)
    )


def rate_class(request: Request) -> RateClass:
    """Which of Box's budgets a call counts against."""
    if request.endpoint == "/api/2.0/files/content" and request.method == "POST":
        return "upload"
    if request.endpoint == "/2.0/search":
        return "search"
    return "general"


def _as_user_allowed(
    state: EnterpriseState, token: IssuedToken, target: EmulatedUser | None
) -> bool:
    owner, app = token.owner, token.app
    if owner.kind not in _IMPERSONATORS or target is None:
        return False
    if target.is_service_account or target is owner:
        return False
    if target.is_admin:
        if owner.kind == "service_account":
            if not state.allow_as_user_admins:
                return False
        elif not (owner.kind == "admin" and target.kind == "coadmin"):
            return False
    if target.kind == "app_user" and target.app is not app:
        return False
    return token.settings.access_level == "app_enterprise" or target.kind == "app_user"


def _as_user(state: EnterpriseState, request: Request, token: IssuedToken) -> EmulatedUser:
    """Check 3: the ``As-User`` target, or the token owner when there is none."""
    target_id = (request.header("As-User") or "").strip()
    if not target_id:
        return token.owner
    request.notes["as_user"] = target_id
    if not token.settings.as_user:
        raise DeniedError(insufficient_scope())
    target = state.find_user(target_id)
    if not _as_user_allowed(state, token, target):
        raise DeniedError(api_error(403, request.request_id))
    assert target is not None  # noqa: S101 - _as_user_allowed refuses None
    if target.is_external:
        raise answer(request, state.answers.as_user_external)
    if not target.is_active:
        raise answer(request, state.answers.as_user_inactive)
    request.notes["acting_user_id"] = target.id
    return target


def _rate_check(state: EnterpriseState, request: Request, user: EmulatedUser) -> None:
    """Check 5: throttles first, then the budgets."""
    refusal = next((r for t in list(state.throttles) if (r := t.take(user.id))), None)
    limiter = state.rate_limiter
    if refusal is None and limiter is not None:
        refusal = limiter.admit(user.id, rate_class(request))
    if refusal is not None:
        state.count_refusal(user.id)
        request.notes["rate_limit"] = refusal.reason
        raise DeniedError(rate_limited(request.request_id, refusal.retry_after))


def authenticate(state: EnterpriseState, request: Request, scope: str | None) -> Actor:
    """Run checks 1-5 of the module docstring; return the actor or raise :class:`DeniedError`."""
    header = request.header("Authorization")
    if not header:
        raise DeniedError(invalid_token(NO_TOKEN))
    scheme, _, value = header.partition(" ")
    token = state.live_token(value.strip()) if scheme.lower() == "bearer" else None
    if token is None or not token.app.authorized:
        raise DeniedError(invalid_token())
    request.notes.update(
        client_id=token.app.client_id,
        subject_type=token.subject_type,
        subject_id=token.owner.id,
        acting_user_id=token.owner.id,
    )
    acting = _as_user(state, request, token)
    granted = api_scopes(token.settings.scopes, token.restricted_scopes)
    if scope is not None and scope not in granted:
        raise DeniedError(insufficient_scope())
    _rate_check(state, request, acting)
    return Actor(token, acting)
