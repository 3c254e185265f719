"""Raw-HTTP helpers for the emulator tests: hand-built JWT assertions (pyjwt) and form posts.

Deliberately independent of boxjwt's own assertion code: these tests pin the emulator to
box-facts.md, not to our client.
"""

from __future__ import annotations

import secrets
from email.utils import formatdate
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from boxjwt.testing import BoxEmulator, EmulatedKeyFile

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUD = "https://api.box.com/oauth2/token"
OMIT = object()


def box_date(emu: BoxEmulator) -> str:
    """The Date header the emulator must send right now (its clock + offset)."""
    return formatdate(emu.now(), usegmt=True)


def make_jwt(
    ekf: EmulatedKeyFile,
    emu: BoxEmulator,
    *,
    key: rsa.RSAPrivateKey | None = None,
    alg: str = "RS256",
    kid: Any = "default",
    **claims: Any,
) -> str:
    """An assertion for ``ekf``'s app; ``claims`` override (``OMIT`` removes a claim)."""
    payload: dict[str, Any] = {
        "iss": ekf.client_id,
        "sub": emu.enterprise_id,
        "box_sub_type": "enterprise",
        "aud": AUD,
        "jti": secrets.token_hex(16),
        "exp": int(emu.now()) + 30,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not OMIT}
    headers = {} if kid is OMIT else {"kid": ekf.kid if kid == "default" else kid}
    signer = key if key is not None else ekf.private_key
    assert signer is not None
    return jwt.encode(payload, signer, algorithm=alg, headers=headers)


def token_form(ekf: EmulatedKeyFile, assertion: Any, **fields: Any) -> dict[str, Any]:
    """The form of a JWT-bearer token request; ``fields`` override (``OMIT`` removes)."""
    form: dict[str, Any] = {
        "grant_type": JWT_GRANT,
        "client_id": ekf.client_id,
        "client_secret": ekf.app.client_secret,
        "assertion": assertion,
    }
    form.update(fields)
    return {k: v for k, v in form.items() if v is not OMIT}


def post_token(emu: BoxEmulator, form: dict[str, Any]) -> requests.Response:
    """POST the form to the emulator's token URL (never following redirects)."""
    return requests.post(emu.token_url, data=form, timeout=10, allow_redirects=False)


def enterprise_token(emu: BoxEmulator, ekf: EmulatedKeyFile) -> str:
    """Obtain an enterprise token through the real token endpoint."""
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu)))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def user_token_response(emu: BoxEmulator, ekf: EmulatedKeyFile, user_id: str) -> requests.Response:
    """Ask for a user token through the real token endpoint."""
    assertion = make_jwt(ekf, emu, sub=user_id, box_sub_type="user")
    return post_token(emu, token_form(ekf, assertion))


def api_get(emu: BoxEmulator, path: str, token: str | None, **kwargs: Any) -> requests.Response:
    """GET an API path with a bearer token (and ``headers=``/``params=``)."""
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    kwargs.setdefault("allow_redirects", False)
    return requests.get(emu.base_url + path, headers=headers, timeout=10, **kwargs)
