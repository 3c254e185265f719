"""The raw floor: ``cryptography`` + ``pyjwt`` + ``requests`` by hand, with no library logic.

Each scenario does the least work the task needs, in the best order, as a program written for
exactly this task would: one token exchange per subject (made up front when every call shares
one token, else on the subject's first call) kept in a plain dict or a fixed ``Authorization``
header; one shared ``requests.Session``. There is no lock,
no expiry bookkeeping, no retry and no error mapping, so it is the lower bound a library is
measured against. The boxjwt worker imports the single operations below to run them
interleaved with its own (paired measurements).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import _common
import jwt
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCE = "https://api.box.com/oauth2/token"
TIMEOUT = (10.0, 60.0)


class Floor:
    """The key file's contents, loaded by hand, and the few operations built on them."""

    def __init__(self, key_path: str, base_url: str) -> None:
        with open(key_path, encoding="utf-8") as handle:
            config = json.load(handle)
        settings = config["boxAppSettings"]
        auth = settings["appAuth"]
        self.client_id: str = settings["clientID"]
        self.client_secret: str = settings["clientSecret"]
        self.kid: str = auth["publicKeyID"]
        self.enterprise_id: str = config["enterpriseID"]
        passphrase = auth.get("passphrase") or None
        key = serialization.load_pem_private_key(
            auth["privateKey"].encode("ascii"),
            password=passphrase.encode() if passphrase else None,
        )
        assert isinstance(key, rsa.RSAPrivateKey)
        self.key = key
        self.base_url = base_url
        self.token_url = f"{base_url}/oauth2/token"

    def assertion(self, subject_type: str, subject_id: str) -> str:
        """A signed assertion, through pyjwt."""
        claims = {
            "iss": self.client_id,
            "sub": subject_id,
            "box_sub_type": subject_type,
            "aud": AUDIENCE,
            "jti": secrets.token_urlsafe(32),
            "exp": int(time.time()) + 30,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def token(
        self, subject_type: str, subject_id: str, session: requests.Session | None = None
    ) -> tuple[str, float]:
        """One token exchange: ``(access_token, expires_at)``."""
        data = {
            "grant_type": GRANT_TYPE,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "assertion": self.assertion(subject_type, subject_id),
        }
        poster = session.post if session is not None else requests.post
        response = poster(self.token_url, data=data, allow_redirects=False, timeout=TIMEOUT)
        _common.check(response.status_code)
        body = response.json()
        return body["access_token"], time.time() + float(body["expires_in"])

    def enterprise_token(self, session: requests.Session | None = None) -> str:
        """The service account's token, fetched now."""
        return self.token("enterprise", self.enterprise_id, session)[0]


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign_assertion(key: rsa.RSAPrivateKey, kid: str, claims: dict[str, Any]) -> str:
    """The strict floor of minting: JSON + base64url encoding and one RSA-2048 signature."""
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = header + b"." + payload
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64(signature)).decode("ascii")


def floor_claims(floor: Floor) -> dict[str, Any]:
    """Fresh assertion claims (new ``jti``, ``exp`` = now + 30 s)."""
    return {
        "iss": floor.client_id,
        "sub": floor.enterprise_id,
        "box_sub_type": "enterprise",
        "aud": AUDIENCE,
        "jti": secrets.token_urlsafe(32),
        "exp": int(time.time()) + 30,
    }


def cold_start_once(key_path: str, base_url: str) -> str:
    """Read key.json, decrypt the key, sign, exchange on a new connection."""
    return Floor(key_path, base_url).enterprise_token()


def first_token_once(floor: Floor) -> str:
    """A process's first token, the key already loaded: sign, exchange on a new connection."""
    with requests.Session() as session:
        return floor.enterprise_token(session)


def first_call_once(floor: Floor) -> int:
    """A process's first API call, the key already loaded: a new session, the token, then
    ``GET /2.0/users/me`` on the same session (one connection)."""
    with requests.Session() as session:
        token = floor.enterprise_token(session)
        response = session.get(
            f"{floor.base_url}/2.0/users/me",
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        return response.status_code


def fixed_header_session(token: str) -> requests.Session:
    """A ``requests.Session`` that sends one fixed bearer token."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


# ---------------------------------------------------------------------------- scenarios


def cold_start(ctx: _common.Context) -> dict[str, Any]:
    """Key file load + first enterprise token, from nothing, ``iterations`` times."""
    samples = _common.timed_loop(
        lambda: cold_start_once(ctx.key_path, ctx.base_url),
        iterations=ctx.get("iterations", 10),
        max_seconds=ctx.get("max_seconds", 10.0),
    )
    ctx.checkpoint("run")
    return {"time": _common.summary(samples), "iterations": len(samples)}


def assertion(ctx: _common.Context) -> dict[str, Any]:
    """One RSA-2048 signature plus encoding (and, for reference, pyjwt's ``encode``)."""
    floor = Floor(ctx.key_path, ctx.base_url)
    ctx.checkpoint("setup")
    iterations = ctx.get("iterations", 300)
    samples = _common.timed_loop(
        lambda: sign_assertion(floor.key, floor.kid, floor_claims(floor)),
        iterations=iterations,
        max_seconds=ctx.get("max_seconds", 5.0),
    )
    pyjwt_samples = _common.timed_loop(
        lambda: floor.assertion("enterprise", floor.enterprise_id),
        iterations=iterations,
        max_seconds=ctx.get("max_seconds", 5.0),
    )
    ctx.checkpoint("run")
    return {
        "time": _common.summary(samples),
        "pyjwt_time": _common.summary(pyjwt_samples),
        "iterations": len(samples),
    }


def cached_call(ctx: _common.Context) -> dict[str, Any]:
    """``GET /2.0/users/me`` through a ``requests.Session`` with a fixed Authorization header."""
    floor = Floor(ctx.key_path, ctx.base_url)
    session = fixed_header_session(floor.enterprise_token())
    url = f"{ctx.base_url}/2.0/users/me"

    def call() -> None:
        _common.check(session.get(url, timeout=TIMEOUT).status_code)

    for _ in range(5):
        call()
    ctx.checkpoint("setup")
    samples = _common.timed_loop(
        call, iterations=ctx.get("iterations", 300), max_seconds=ctx.get("max_seconds", 10.0)
    )
    ctx.checkpoint("run")
    return {"time": _common.summary(samples), "iterations": len(samples)}


def threads(ctx: _common.Context) -> dict[str, Any]:
    """32 threads, cold: the token first (once), then every thread's call; again after the
    token expired."""
    count = ctx.get("threads", 32)
    floor = Floor(ctx.key_path, ctx.base_url)
    session = requests.Session()
    url = f"{ctx.base_url}/2.0/users/me"
    ctx.checkpoint("setup")
    out: dict[str, Any] = {}
    for phase in ("cold", "expired"):
        if phase == "expired":
            time.sleep(ctx.get("expires_in", 5) + 1.0)
        t0 = time.perf_counter()
        header = {"Authorization": f"Bearer {floor.enterprise_token(session)}"}
        fetched = time.perf_counter() - t0

        def call(_: int, header: dict[str, str] = header) -> None:
            _common.check(session.get(url, headers=header, timeout=TIMEOUT).status_code)

        result = _common.run_concurrently(count, call)
        result["wall"] += fetched
        out[phase] = result
        ctx.checkpoint(phase)
    return out


def users_user_token(ctx: _common.Context) -> dict[str, Any]:
    """N users, 8 threads, each user's own token: exchanged on pass 1 and kept in a dict;
    pass 2 reuses it."""
    users = ctx.users(ctx.get("users_count"))
    floor = Floor(ctx.key_path, ctx.base_url)
    session = requests.Session()
    url = f"{ctx.base_url}/2.0/users/me"
    tokens: dict[str, str] = {}

    def call(user_id: str) -> None:
        token = tokens.get(user_id)
        if token is None:
            token = tokens[user_id] = floor.token("user", user_id, session)[0]
        response = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
        _common.check(response.status_code)

    ctx.checkpoint("setup")
    out: dict[str, Any] = {}
    for phase in ("pass1", "pass2"):
        out[phase] = _common.run_pool(ctx.get("threads", 8), users, call)
        ctx.checkpoint(phase)
    return out


def users_as_user(ctx: _common.Context) -> dict[str, Any]:
    """N users, 8 threads, As-User: one enterprise token (fetched first), one shared session."""
    users = ctx.users(ctx.get("users_count"))
    floor = Floor(ctx.key_path, ctx.base_url)
    session = requests.Session()
    url = f"{ctx.base_url}/2.0/users/me"
    ctx.checkpoint("setup")
    t0 = time.perf_counter()
    auth = f"Bearer {floor.enterprise_token(session)}"
    fetched = time.perf_counter() - t0

    def call(user_id: str) -> None:
        headers = {"Authorization": auth, "As-User": user_id}
        _common.check(session.get(url, headers=headers, timeout=TIMEOUT).status_code)

    result = _common.run_pool(ctx.get("threads", 8), users, call)
    result["wall"] += fetched
    ctx.checkpoint("pass1")
    return {"pass1": result}


def memory(ctx: _common.Context) -> dict[str, Any]:
    """Memory kept by N cached user tokens: a dict of ``user_id -> (token, expires_at)``."""
    users = ctx.users(ctx.get("users_count"))
    floor = Floor(ctx.key_path, ctx.base_url)
    session = requests.Session()
    floor.enterprise_token(session)  # the connection exists before tracing starts
    ctx.checkpoint("setup")
    tokens: dict[str, tuple[str, float]] = {}
    failures: list[dict[str, Any]] = []

    def populate() -> dict[str, tuple[str, float]]:
        def fetch(user_id: str) -> None:
            tokens[user_id] = floor.token("user", user_id, session)

        failures.append(_common.run_pool(ctx.get("threads", 8), users, fetch))
        return tokens

    result = _common.traced_memory(populate)
    result.update(errors=failures[0]["errors"], error_sample=failures[0]["error_sample"])
    result["cached"] = len(tokens)
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
    _common.main("floor", SCENARIOS, ("cryptography", "pyjwt", "requests"))
