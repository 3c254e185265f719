"""The current official SDK, ``boxsdk`` 10.x (``box_sdk_gen``): ``BoxJWTAuth`` + ``BoxClient``.

Pointed at the emulator with ``NetworkSession(base_urls=BaseUrls(...))``, one network session
(one connection pool) shared by every client, as its documentation shows. Per-user tokens use
``auth.with_user_subject(user_id)``, the documented way. API calls go through
``client.make_request(FetchOptions(...))``: authorised and retried, with no object model on top.

The SDK decrypts the private key on every token request (its ``DefaultPrivateKeyDecryptor``).
Only the memory scenario, which exchanges 10,000 tokens, passes a decryptor that decrypts once
(a public ``JWTConfig`` option); what it caches per user is the same either way.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import _common
from box_sdk_gen import BoxClient, BoxJWTAuth, JWTConfig
from box_sdk_gen.internal.utils import (
    DefaultPrivateKeyDecryptor,
    JwtAlgorithm,
    JwtKey,
    JwtSignOptions,
    create_jwt_assertion,
    get_epoch_time_in_seconds,
    get_uuid,
)
from box_sdk_gen.networking.base_urls import BaseUrls
from box_sdk_gen.networking.fetch_options import FetchOptions
from box_sdk_gen.networking.network import NetworkSession

AUDIENCE = "https://api.box.com/oauth2/token"


def _network(ctx: _common.Context) -> NetworkSession:
    base = ctx.base_url
    return NetworkSession(
        base_urls=BaseUrls(base_url=base, upload_url=f"{base}/api", oauth_2_url=f"{base}/oauth2")
    )


def _auth(ctx: _common.Context) -> BoxJWTAuth:
    return BoxJWTAuth(config=JWTConfig.from_config_file(ctx.key_path))


def _call(client: BoxClient, url: str) -> None:
    _common.check(client.make_request(FetchOptions(url=url, method="GET")).status)


class _DecryptOnce(DefaultPrivateKeyDecryptor):  # type: ignore[misc]
    """A PrivateKeyDecryptor that decrypts on first use and returns the same key afterwards."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: Any = None

    def decrypt_private_key(self, encryptedPrivateKey: str, passphrase: str) -> Any:  # noqa: N803
        with self._lock:
            if self._key is None:
                self._key = super().decrypt_private_key(encryptedPrivateKey, passphrase)
            return self._key


def cold_start(ctx: _common.Context) -> dict[str, Any]:
    """``JWTConfig.from_config_file`` + ``BoxJWTAuth`` + ``retrieve_token`` on a new network
    session (a new connection)."""
    samples = _common.timed_loop(
        lambda: _auth(ctx).retrieve_token(network_session=_network(ctx)),
        iterations=ctx.get("iterations", 10),
        max_seconds=ctx.get("max_seconds", 10.0),
    )
    ctx.checkpoint("run")
    return {"time": _common.summary(samples), "iterations": len(samples)}


def assertion(ctx: _common.Context) -> dict[str, Any]:
    """The assertion exactly as ``BoxJWTAuth.refresh_token`` builds it, key decryption included
    (the SDK decrypts the key for every assertion)."""
    config = JWTConfig.from_config_file(ctx.key_path)
    ctx.checkpoint("setup")

    def mint() -> str:
        claims = {"exp": get_epoch_time_in_seconds() + 30, "box_sub_type": "enterprise"}
        options = JwtSignOptions(
            algorithm=JwtAlgorithm.RS256,
            audience=AUDIENCE,
            subject=config.enterprise_id,
            issuer=config.client_id,
            jwtid=get_uuid(),
            keyid=config.jwt_key_id,
            private_key_decryptor=config.private_key_decryptor,
        )
        key = JwtKey(key=config.private_key, passphrase=config.private_key_passphrase)
        return str(create_jwt_assertion(claims, key, options))

    samples = _common.timed_loop(
        mint, iterations=ctx.get("iterations", 300), max_seconds=ctx.get("max_seconds", 5.0)
    )
    ctx.checkpoint("run")
    return {"time": _common.summary(samples), "iterations": len(samples)}


def cached_call(ctx: _common.Context) -> dict[str, Any]:
    """``client.make_request`` with the token already in the auth's token storage."""
    client = BoxClient(auth=_auth(ctx), network_session=_network(ctx))
    url = f"{ctx.base_url}/2.0/users/me"
    for _ in range(5):
        _call(client, url)
    ctx.checkpoint("setup")
    samples = _common.timed_loop(
        lambda: _call(client, url),
        iterations=ctx.get("iterations", 300),
        max_seconds=ctx.get("max_seconds", 10.0),
    )
    ctx.checkpoint("run")
    return {"time": _common.summary(samples), "iterations": len(samples)}


def threads(ctx: _common.Context) -> dict[str, Any]:
    """One BoxClient shared by 32 threads, cold; again after the token expired."""
    client = BoxClient(auth=_auth(ctx), network_session=_network(ctx))
    url = f"{ctx.base_url}/2.0/users/me"
    ctx.checkpoint("setup")
    out: dict[str, Any] = {}
    for phase in ("cold", "expired"):
        if phase == "expired":
            time.sleep(ctx.get("expires_in", 5) + 1.0)
        out[phase] = _common.run_concurrently(ctx.get("threads", 32), lambda _: _call(client, url))
        ctx.checkpoint(phase)
    return out


def users_user_token(ctx: _common.Context) -> dict[str, Any]:
    """N users from 8 threads: ``BoxClient(auth.with_user_subject(id))`` per user, kept in a
    dict, all on one network session."""
    users = ctx.users(ctx.get("users_count"))
    auth = _auth(ctx)
    network = _network(ctx)
    url = f"{ctx.base_url}/2.0/users/me"
    clients: dict[str, BoxClient] = {}

    def call(user_id: str) -> None:
        client = clients.get(user_id)
        if client is None:
            client = clients[user_id] = BoxClient(
                auth=auth.with_user_subject(user_id), network_session=network
            )
        _call(client, url)

    ctx.checkpoint("setup")
    out: dict[str, Any] = {}
    for phase in ("pass1", "pass2"):
        out[phase] = _common.run_pool(ctx.get("threads", 8), users, call)
        ctx.checkpoint(phase)
    return out


def users_as_user(ctx: _common.Context) -> dict[str, Any]:
    """N users from 8 threads: ``client.with_as_user_header(id)`` per task."""
    users = ctx.users(ctx.get("users_count"))
    client = BoxClient(auth=_auth(ctx), network_session=_network(ctx))
    url = f"{ctx.base_url}/2.0/users/me"

    def call(user_id: str) -> None:
        _call(client.with_as_user_header(user_id), url)

    ctx.checkpoint("setup")
    result = _common.run_pool(ctx.get("threads", 8), users, call)
    ctx.checkpoint("pass1")
    return {"pass1": result}


def memory(ctx: _common.Context) -> dict[str, Any]:
    """Memory kept by N cached user tokens: one BoxJWTAuth(user_id=...) per user, each holding
    its token in an InMemoryTokenStorage."""
    users = ctx.users(ctx.get("users_count"))
    base = JWTConfig.from_config_file(ctx.key_path)
    decryptor = _DecryptOnce()
    network = _network(ctx)
    warm = JWTConfig.from_config_file(ctx.key_path, private_key_decryptor=decryptor)
    BoxJWTAuth(config=warm).retrieve_token(network_session=network)  # key + connection, untraced
    ctx.checkpoint("setup")
    auths: dict[str, BoxJWTAuth] = {}
    failures: list[dict[str, Any]] = []

    def populate() -> dict[str, BoxJWTAuth]:
        def fetch(user_id: str) -> None:
            config = JWTConfig(
                client_id=base.client_id,
                client_secret=base.client_secret,
                jwt_key_id=base.jwt_key_id,
                private_key=base.private_key,
                private_key_passphrase=base.private_key_passphrase,
                user_id=user_id,
                private_key_decryptor=decryptor,
            )
            auth = BoxJWTAuth(config=config)
            auth.retrieve_token(network_session=network)
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
    _common.main("boxsdk10", SCENARIOS, ("boxsdk", "cryptography", "pyjwt", "requests"))
