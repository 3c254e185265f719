"""``POST /oauth2/token`` and ``POST /oauth2/revoke``, checked the way Box does.

Every refusal is HTTP 400 with ``{"error": ..., "error_description": ...}`` (``/`` escaped as
``\\/``, as Box does), ``Cache-Control: no-store`` and the emulator's ``Date`` header, and,
like Box's, no ``box-request-id`` (``BoxAnswers.oauth_error_request_id`` adds one). Descriptions
are box-facts.md §3 verbatim; the ones marked *(unconfirmed)* below are not in box-facts and
follow Box's "Please check the '…' claim." style.

JWT bearer grant (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``), checked in
this order, the first failure answering:

 1. method is POST and ``grant_type`` is a known grant
    → ``invalid_request`` "Invalid grant_type parameter or parameter missing"
    (also what a redirected, now-GET request gets)
 2. ``client_id`` names a registered app → ``invalid_client`` "The client credentials are invalid"
 3. ``client_secret`` matches (constant time) → ``invalid_client`` (same)
 4. the app is a JWT app (not OAuth 2.0 / CCG)
    → ``invalid_request`` "The grant type is unauthorized for this client_id"
 5. ``assertion`` present, three base64url parts, JSON header and claims
    → ``invalid_request`` "Invalid assertion parameter or parameter missing" *(unconfirmed)*
 6. header ``alg`` is RS256, RS384 or RS512 → ``invalid_grant`` "Algorithm not allowed"
    (box-windows-sdk-v2#880)
 7. ``iss`` equals the client ID → ``invalid_grant`` "Please check the 'iss' claim."
 8. the app has a public key → ``invalid_grant``
    "This app is not configured properly. No public key(s) added" *(error code unconfirmed)*
 9. ``kid`` names one of the app's keys (may be omitted when the app has exactly one)
    → ``invalid_grant`` "'kid' invalid, unable to lookup correct key"
10. the signature verifies with that key → ``invalid_grant`` "Signature verification error. The
    public key identified by "kid" must correspond to the private key used for signing."
11. ``aud`` is ``https://api.box.com/oauth2/token`` (see ``BoxEmulator.accepted_audiences``)
    → ``invalid_grant`` "Please check the 'aud' claim." *(unconfirmed)*
12. ``exp`` is a JSON integer
    → ``invalid_grant`` "Please check the 'exp' claim. Should be an integer"
13. ``exp`` is after the emulator's now (clock + offset) → ``invalid_grant`` "Current date/time MUST
    be before the expiration date/time listed in the 'exp' claim"
14. ``exp`` is at most now + 60 s → ``invalid_grant`` "Please check the 'exp' claim. The 'exp'
    value exceeds the maximum value of 60 seconds beyond the issue time."
15. ``jti`` is a string of 16 to 128 characters → ``invalid_grant`` "Please check the 'jti' claim."
    *(unconfirmed wording)*
16. ``jti`` was not seen before (remembered until its ``exp``; recorded here, so a later
    refusal still consumes it) → ``invalid_grant``
    "Please check the 'jti' claim. A unique 'jti' value is required."
17. ``box_sub_type`` is ``"enterprise"`` or ``"user"`` → ``invalid_grant``
    "Please check the 'box_sub_type' claim." *(unconfirmed)*
18. ``sub`` is a string: the enterprise ID, or the ID of a user of the enterprise (not an
    external user) → ``invalid_grant`` "Please check the 'sub' claim. The 'sub' specified is
    invalid."
19. the app is authorized (enabled) in the enterprise
    → ``unauthorized_client`` "This app is not authorized by the enterprise admin"
20. user subjects only: "Generate user access tokens" is on (as of the last re-authorization),
    the user is not a service account, and under App Access Only it is one of the app's own
    app users → ``invalid_request``
    "Cannot obtain user token based on the enterprise configuration for your app"
21. user subjects only: the user is not inactive → ``BoxAnswers.user_token_inactive``
    (default ``invalid_grant`` with the 'sub' message of step 18) *(unconfirmed)*

Success: ``{"access_token": <32 chars>, "expires_in": <seconds>, "restricted_to": [],
"token_type": "bearer"}``; ``expires_in`` is drawn per token from
``BoxEmulator.token_lifetime`` (Box's observed 3646-4175 s by default; reproducible through
the emulator's ``seed``). An enterprise token acts as the app's service account; a user token
as the user. The token keeps the app's settings of this moment (scopes, As-User, access
level) until it expires: re-authorizing the app later changes only the tokens minted after.

Client credentials grant (``client_credentials``, CCG apps only): steps 2-4 (4 requiring a CCG
app), then ``box_subject_type``/``box_subject_id`` as steps 17-20.

Token exchange (downscoping, ``urn:ietf:params:oauth:grant-type:token-exchange``):
``subject_token`` must be a live token (``invalid_grant`` "The subject_token provided is
invalid"), ``subject_token_type`` the access-token type and ``scope`` non-empty
(``invalid_request`` *(unconfirmed)*); every requested scope must be one the subject token
carries (any of its app's scopes, see ``boxjwt.testing._scopes``; for a downscoped token, its
downscoped ones), else ``BoxAnswers.scope_not_held`` (default ``invalid_scope``
'Unsupported "scope": <scopes>' *(error code unconfirmed)*): never silently narrowed.
The answer adds ``issued_token_type`` and, with ``resource``, one ``restricted_to`` entry per
scope; the new token keeps its subject token's app settings.

``POST /oauth2/revoke``: ``client_id`` + ``client_secret`` as steps 2-3, then ``token`` is
forgotten (unknown tokens too): 200, empty body.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from boxjwt.testing._answers import OAuthAnswer
from boxjwt.testing._http import BOX_AUDIENCE, Request, Response, json_response, oauth_error
from boxjwt.testing._principals import EmulatedApp, EmulatedUser, IssuedToken
from boxjwt.testing._scopes import token_scopes
from boxjwt.testing._state import EnterpriseState

__all__ = ["BOX_AUDIENCE", "describe_token_request", "handle_revoke", "handle_token"]

GRANT_JWT: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_CCG: Final = "client_credentials"
TOKEN_TYPE_ACCESS: Final = "urn:ietf:params:oauth:token-type:access_token"

_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}

E_GRANT_TYPE = "Invalid grant_type parameter or parameter missing"
E_CLIENT = "The client credentials are invalid"
E_GRANT_UNAUTHORIZED = "The grant type is unauthorized for this client_id"
E_ASSERTION = "Invalid assertion parameter or parameter missing"
E_ALG = "Algorithm not allowed"
E_ISS = "Please check the 'iss' claim."
E_NO_KEY = "This app is not configured properly. No public key(s) added"
E_KID = "'kid' invalid, unable to lookup correct key"
E_SIGNATURE = (
    'Signature verification error. The public key identified by "kid" must correspond to the '
    "private key used for signing."
)
E_AUD = "Please check the 'aud' claim."
E_EXP_TYPE = "Please check the 'exp' claim. Should be an integer"
E_EXP_PASSED = "Current date/time MUST be before the expiration date/time listed in the 'exp' claim"
E_EXP_TOO_FAR = (
    "Please check the 'exp' claim. The 'exp' value exceeds the maximum value of 60 seconds "
    "beyond the issue time."
)
E_JTI = "Please check the 'jti' claim."
E_JTI_REUSED = "Please check the 'jti' claim. A unique 'jti' value is required."
E_SUB_TYPE = "Please check the 'box_sub_type' claim."
E_SUB = "Please check the 'sub' claim. The 'sub' specified is invalid."
E_UNAUTHORIZED = "This app is not authorized by the enterprise admin"
E_USER_TOKEN = "Cannot obtain user token based on the enterprise configuration for your app"
E_SUBJECT_TOKEN = "The subject_token provided is invalid"
E_SUBJECT_TOKEN_TYPE = "Invalid subject_token_type parameter or parameter missing"
E_SCOPE_MISSING = "Invalid scope parameter or parameter missing"
E_CCG_SUBJECT = "Please check the 'box_subject_type' and 'box_subject_id' parameters."

MAX_EXP_AHEAD: Final = 60


class _RefusalError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.response = oauth_error(error, description, status)

    @classmethod
    def configured(cls, reply: OAuthAnswer, value: object = "") -> _RefusalError:
        """A refusal worded as ``reply`` says (``{value}`` filled in)."""
        return cls(reply.error, reply.description.replace("{value}", str(value)), reply.status)


def _b64url_json(part: str) -> dict[str, Any]:
    padded = part + "=" * (-len(part) % 4)
    try:
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise _RefusalError("invalid_request", E_ASSERTION) from exc
    if not isinstance(value, dict):
        raise _RefusalError("invalid_request", E_ASSERTION)
    return value


def _decode(assertion: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    parts = assertion.split(".")
    if len(parts) != 3:
        raise _RefusalError("invalid_request", E_ASSERTION)
    header = _b64url_json(parts[0])
    claims = _b64url_json(parts[1])
    try:
        signature = base64.urlsafe_b64decode((parts[2] + "=" * (-len(parts[2]) % 4)).encode())
    except (ValueError, binascii.Error) as exc:
        raise _RefusalError("invalid_request", E_ASSERTION) from exc
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def peek_claims(assertion: str) -> dict[str, Any]:
    """The assertion's claims without any verification (for the request log); ``{}`` if
    they do not decode."""
    try:
        return _decode(assertion)[1]
    except _RefusalError:
        return {}


def _client(state: EnterpriseState, form: dict[str, str]) -> EmulatedApp:
    app = state.app_by_client_id(form.get("client_id", ""))
    if app is None or not app.check_secret(form.get("client_secret", "")):
        raise _RefusalError("invalid_client", E_CLIENT)
    return app


def _subject(
    state: EnterpriseState, app: EmulatedApp, sub_type: object, sub: object
) -> tuple[Literal["enterprise", "user"], EmulatedUser]:
    """Steps 17-20: who the token will act as."""
    if sub_type not in ("enterprise", "user"):
        raise _RefusalError("invalid_grant", E_SUB_TYPE)
    if not isinstance(sub, str):
        raise _RefusalError("invalid_grant", E_SUB)
    if sub_type == "enterprise":
        if sub != state.enterprise_id:
            raise _RefusalError("invalid_grant", E_SUB)
        if not app.authorized:
            raise _RefusalError("unauthorized_client", E_UNAUTHORIZED)
        return "enterprise", app.service_account
    user = state.find_user(sub)
    if user is None or user.is_external:
        raise _RefusalError("invalid_grant", E_SUB)
    if not app.authorized:
        raise _RefusalError("unauthorized_client", E_UNAUTHORIZED)
    settings = app.settings
    allowed = settings.user_tokens and not user.is_service_account
    if settings.access_level == "app_only":
        allowed = allowed and user.kind == "app_user" and user.app is app
    if not allowed:
        raise _RefusalError("invalid_request", E_USER_TOKEN)
    if not user.is_active:
        raise _RefusalError.configured(state.answers.user_token_inactive, sub)
    return "user", user


def _token_body(token: IssuedToken, **extra: Any) -> dict[str, Any]:
    return {
        "access_token": token.value,
        "expires_in": int(token.expires_at - token.issued_at),
        "restricted_to": [],
        "token_type": "bearer",
        **extra,
    }


def _jwt_grant(state: EnterpriseState, form: dict[str, str]) -> Response:  # noqa: PLR0912 - Box's checks, one refusal each, in Box's order
    app = _client(state, form)
    if app.auth != "jwt":
        raise _RefusalError("invalid_request", E_GRANT_UNAUTHORIZED)
    assertion = form.get("assertion", "")
    if not assertion:
        raise _RefusalError("invalid_request", E_ASSERTION)
    header, claims, signing_input, signature = _decode(assertion)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in _HASHES:
        raise _RefusalError("invalid_grant", E_ALG)
    if claims.get("iss") != app.client_id:
        raise _RefusalError("invalid_grant", E_ISS)
    keys = app.public_keys
    if not keys:
        raise _RefusalError("invalid_grant", E_NO_KEY)
    kid = header.get("kid")
    if kid is None and len(keys) == 1:
        kid = next(iter(keys))
    if not isinstance(kid, str) or kid not in keys:
        raise _RefusalError("invalid_grant", E_KID)
    try:
        keys[kid].verify(signature, signing_input, padding.PKCS1v15(), _HASHES[alg]())
    except InvalidSignature as exc:
        raise _RefusalError("invalid_grant", E_SIGNATURE) from exc
    if claims.get("aud") not in state.accepted_audiences:
        raise _RefusalError("invalid_grant", E_AUD)
    exp = claims.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise _RefusalError("invalid_grant", E_EXP_TYPE)
    now = state.now()
    if exp <= now:
        raise _RefusalError("invalid_grant", E_EXP_PASSED)
    if exp > now + MAX_EXP_AHEAD:
        raise _RefusalError("invalid_grant", E_EXP_TOO_FAR)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 16 <= len(jti) <= 128:
        raise _RefusalError("invalid_grant", E_JTI)
    if not state.use_jti(jti, float(exp)):
        raise _RefusalError("invalid_grant", E_JTI_REUSED)
    subject_type, owner = _subject(state, app, claims.get("box_sub_type"), claims.get("sub"))
    token = state.mint_token(app, owner, subject_type)
    return json_response(200, _token_body(token), [("Cache-Control", "no-store")])


def _ccg_grant(state: EnterpriseState, form: dict[str, str]) -> Response:
    app = _client(state, form)
    if app.auth != "ccg":
        raise _RefusalError("invalid_request", E_GRANT_UNAUTHORIZED)
    sub_type = form.get("box_subject_type")
    sub = form.get("box_subject_id")
    if sub_type not in ("enterprise", "user") or not sub:
        raise _RefusalError("invalid_grant", E_CCG_SUBJECT)
    subject_type, owner = _subject(state, app, sub_type, sub)
    token = state.mint_token(app, owner, subject_type)
    return json_response(200, _token_body(token), [("Cache-Control", "no-store")])


_RESOURCE = re.compile(r"/2\.0/(files|folders)/(\d+)/?$")


def _exchange_grant(state: EnterpriseState, form: dict[str, str]) -> Response:
    parent = state.live_token(form.get("subject_token", ""))
    if parent is None:
        raise _RefusalError("invalid_grant", E_SUBJECT_TOKEN)
    if form.get("subject_token_type") != TOKEN_TYPE_ACCESS:
        raise _RefusalError("invalid_request", E_SUBJECT_TOKEN_TYPE)
    scopes = form.get("scope", "").split()
    if not scopes:
        raise _RefusalError("invalid_request", E_SCOPE_MISSING)
    held = parent.restricted_scopes
    if held is None:
        held = token_scopes(parent.settings.scopes)
    lacking = [s for s in scopes if s not in held]
    if lacking:
        raise _RefusalError.configured(state.answers.scope_not_held, " ".join(lacking))
    restricted_to: list[dict[str, Any]] = []
    resource = form.get("resource")
    if resource:
        match = _RESOURCE.search(resource)
        if match is None:
            raise _RefusalError("invalid_request", "Invalid resource parameter")
        obj = {"type": match.group(1)[:-1], "id": match.group(2)}
        restricted_to = [{"scope": s, "object": obj} for s in scopes]
    token = state.mint_token(
        parent.app,
        parent.owner,
        parent.subject_type,
        restricted_scopes=frozenset(scopes),
        settings=parent.settings,
    )
    body = _token_body(token, issued_token_type=TOKEN_TYPE_ACCESS)
    body["restricted_to"] = restricted_to
    return json_response(200, body, [("Cache-Control", "no-store")])


def handle_token(state: EnterpriseState, request: Request) -> Response:
    """``/oauth2/token`` (any method: a GET is a followed redirect)."""
    form = request.form() if request.method == "POST" else {}
    grant = form.get("grant_type")
    try:
        if grant == GRANT_JWT:
            return _jwt_grant(state, form)
        if grant == GRANT_EXCHANGE:
            return _exchange_grant(state, form)
        if grant == GRANT_CCG:
            return _ccg_grant(state, form)
    except _RefusalError as refusal:
        return refusal.response
    return oauth_error("invalid_request", E_GRANT_TYPE)


def handle_revoke(state: EnterpriseState, request: Request) -> Response:
    """``POST /oauth2/revoke``."""
    form = request.form()
    try:
        app = _client(state, form)
    except _RefusalError as refusal:
        return refusal.response
    state.forget_token(form.get("token", ""), app)
    return Response(200)


def describe_token_request(request: Request) -> dict[str, str | None]:
    """Log notes for a token request: grant type, client ID, subject (unverified)."""
    form = request.form() if request.method == "POST" else {}
    notes: dict[str, str | None] = {
        "grant_type": form.get("grant_type"),
        "client_id": form.get("client_id"),
    }
    if form.get("assertion"):
        claims = peek_claims(form["assertion"])
        sub_type, sub = claims.get("box_sub_type"), claims.get("sub")
        notes["subject_type"] = sub_type if isinstance(sub_type, str) else None
        notes["subject_id"] = str(sub) if sub is not None else None
    elif form.get("box_subject_type"):
        notes["subject_type"] = form.get("box_subject_type")
        notes["subject_id"] = form.get("box_subject_id")
    return notes
