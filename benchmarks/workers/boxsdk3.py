"""The legacy official SDK, ``boxsdk`` 3.x: ``JWTAuth`` + ``Client``, in its own venv.

Pointed at the emulator through its documented class attributes (``boxsdk.config.API``).
Used the way its documentation shows, with two courtesies a careful user would add for many
users: the private key is decrypted once and the loaded ``RSAPrivateKey`` passed to every
per-user ``JWTAuth`` (``rsa_private_key_data=``), and all per-user objects share one network
layer (one connection pool) instead of two pools per user. API calls go through
``client.session.get`` (authorised, retried, no object model on top), like the other
environments' lowest documented call.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import _common

warnings.simplefilter("ignore", DeprecationWarning)  # "boxsdk is going to be deprecated"

from boxsdk import Client, JWTAuth  # noqa: E402
from boxsdk.config import API  # noqa: E402
from boxsdk.session.session import AuthorizedSession, Session  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402


def _point_at(params: dict[str, Any]) -> None:
    base_url = params["base_url"]
    API.BASE_API_URL = f"{base_url}/2.0"
    API.UPLOAD_URL = f"{base_url}/api/2.0"
    API.OAUTH2_API_URL = f"{base_url}/oauth2"


def _me() -> str:
    return f"{API.BASE_API_URL}/users/me"


def _call(client: Client) -> None:
    _common.check(client.session.get(_me()).status_code)


class _Shared:
    """The key (decrypted once) and one network layer, for many per-user JWTAuth objects."""

    def __init__(self, ctx: _common.Context) -> None:
        config, pem, passphrase = _common.load_key_material(ctx.key_path)
        settings = config["boxAppSettings"]
        self.client_id = settings["clientID"]
        self.client_secret = settings["clientSecret"]
        self.kid = settings["appAuth"]["publicKeyID"]
        self.enterprise_id = config["enterpriseID"]
        self.key = serialization.load_pem_private_key(pem, password=passphrase)
        self.session = Session()

    def auth(self, user_id: str | None) -> JWTAuth:
        return JWTAuth(
            client_id=self.client_id,
            client_secret=self.client_secret,
            enterprise_id=self.enterprise_id if user_id is None else None,
            jwt_key_id=self.kid,
            rsa_private_key_data=self.key,
            user=user_id,
            session=self.session,
        )

    def client(self, auth: JWTAuth) -> Client:
        return Client(
            auth, session=AuthorizedSession(auth, **self.session.get_constructor_kwargs())
        )


def cold_start(ctx: _common.Context) -> dict[str, Any]:
    """``JWTAuth.from_settings_file`` + ``authenticate_instance()``."""
    samples = _common.timed_loop(
        lambda: JWTAuth.from_settings_file(ctx.key_path).authenticate_instance(),
        iterations=ctx.get("iterations", 10),
        max_seconds=ctx.get("max_seconds", 10.0),
    )
    ctx.checkpoint("run")
    return {"time": _common.summary(samples), "iterations": len(samples)}


def assertion(ctx: _common.Context) -> dict[str, Any]:
    """``JWTAuth._fetch_access_token`` with the token request stubbed out: the claims, the
    random ``jti`` and ``jwt.encode``, exactly as each exchange builds them."""
    auth = JWTAuth.from_settings_file(ctx.key_path)

    def no_network(data: Any, access_token: Any, expect_refresh_token: bool = True) -> Any:
        return "stub", None

    auth.send_token_request = no_network
    enterprise_id = _common.load_key_material(ctx.key_path)[0]["enterpriseID"]
    ctx.checkpoint("setup")
    samples = _common.timed_loop(
        lambda: auth._fetch_access_token(enterprise_id, "enterprise"),
        iterations=ctx.get("iterations", 300),
        max_seconds=ctx.get("max_seconds", 5.0),
    )
    ctx.checkpoint("run")
    return {"time": _common.summary(samples), "iterations": len(samples)}


def cached_call(ctx: _common.Context) -> dict[str, Any]:
    """``client.session.get`` with the token already held by the JWTAuth."""
    client = Client(JWTAuth.from_settings_file(ctx.key_path))
    for _ in range(5):
        _call(client)
    ctx.checkpoint("setup")
    samples = _common.timed_loop(
        lambda: _call(client),
        iterations=ctx.get("iterations", 300),
        max_seconds=ctx.get("max_seconds", 10.0),
    )
    ctx.checkpoint("run")
    return {"time": _common.summary(samples), "iterations": len(samples)}


def threads(ctx: _common.Context) -> dict[str, Any]:
    """One Client shared by 32 threads, cold; again after the token expired."""
    client = Client(JWTAuth.from_settings_file(ctx.key_path))
    ctx.checkpoint("setup")
    out: dict[str, Any] = {}
    for phase in ("cold", "expired"):
        if phase == "expired":
            time.sleep(ctx.get("expires_in", 5) + 1.0)
        out[phase] = _common.run_concurrently(ctx.get("threads", 32), lambda _: _call(client))
        ctx.checkpoint(phase)
    return out


def users_user_token(ctx: _common.Context) -> dict[str, Any]:
    """N users from 8 threads: a JWTAuth(user=...) + Client per user, kept in a dict."""
    users = ctx.users(ctx.get("users_count"))
    shared = _Shared(ctx)
    clients: dict[str, Client] = {}

    def call(user_id: str) -> None:
        client = clients.get(user_id)
        if client is None:
            client = clients[user_id] = shared.client(shared.auth(user_id))
        _call(client)

    ctx.checkpoint("setup")
    out: dict[str, Any] = {}
    for phase in ("pass1", "pass2"):
        out[phase] = _common.run_pool(ctx.get("threads", 8), users, call)
        ctx.checkpoint(phase)
    return out


def users_as_user(ctx: _common.Context) -> dict[str, Any]:
    """N users from 8 threads: ``client.as_user(client.user(id))`` per task."""
    users = ctx.users(ctx.get("users_count"))
    client = Client(JWTAuth.from_settings_file(ctx.key_path))

    def call(user_id: str) -> None:
        _call(client.as_user(client.user(user_id)))

    ctx.checkpoint("setup")
    result = _common.run_pool(ctx.get("threads", 8), users, call)
    ctx.checkpoint("pass1")
    return {"pass1": result}


def memory(ctx: _common.Context) -> dict[str, Any]:
    """Memory kept by N cached user tokens: one JWTAuth(user=...) per user holding its token."""
    users = ctx.users(ctx.get("users_count"))
    shared = _Shared(ctx)
    shared.auth(None).authenticate_instance()  # the connection exists before tracing starts
    ctx.checkpoint("setup")
    auths: dict[str, JWTAuth] = {}
    failures: list[dict[str, Any]] = []

    def populate() -> dict[str, JWTAuth]:
        def fetch(user_id: str) -> None:
            auth = shared.auth(user_id)
            auth.authenticate_user()
            auths[user_id] = auth

        failures.append(_common.run_pool(ctx.get("threads", 8), users, fetch))
        return auths

    result = _common.traced_memory(populate)
    result.update(errors=failures[0]["errors"], error_sample=failures[0]["error_sample"])
    ctx.checkpoint("populate")
    return {"memory": result}


SCENARIOS: dict[str, _common.Scenario] = {
    "cold_start": cold_start,
    "assertion": assertion,
    "cached_call": cached_call,
    "threads": threads,
    "users_user_token": users_user_token,
    "users_as_user": users_as_user,
    "memory": memory,
}

if __name__ == "__main__":
    _common.main("boxsdk3", SCENARIOS, ("boxsdk", "cryptography", "pyjwt", "requests"), _point_at)
