"""boxjwt (the current tree): KeyFile + JWTAuthenticator + AsUserSession, as documented.

Run with the Python that has boxjwt installed (the harness's own). For the three
microbenchmarks it also runs the floor's operation interleaved with its own in this process
(``paired_floor``), so the ratio to the floor is measured under the same load.
"""

from __future__ import annotations

import time
from typing import Any

import _common
import floor as raw
import targets

import boxjwt
from boxjwt._assertion import AssertionBuilder

TIMEOUT = (10.0, 60.0)
ME = "/2.0/users/me"


def _authenticator(ctx: _common.Context) -> boxjwt.JWTAuthenticator:
    return boxjwt.JWTAuthenticator(boxjwt.KeyFile.from_file(ctx.key_path), base_url=ctx.base_url)


def _unreachable_budgets() -> boxjwt.RateLimiter:
    """A limiter that does all its bookkeeping but never waits: these scenarios measure the
    library's overhead, at call rates far above Box's per-user budgets (the rate-limit
    benchmark measures pacing itself)."""
    out_of_reach = boxjwt.RateLimit(1e9, 1.0, burst=1_000_000)
    return boxjwt.RateLimiter(
        boxjwt.RatePolicy(general=out_of_reach, upload=out_of_reach, search=out_of_reach)
    )


def cold_start(ctx: _common.Context) -> dict[str, Any]:
    """KeyFile.from_file + a new JWTAuthenticator's first enterprise token."""

    def once() -> None:
        with _authenticator(ctx) as auth:
            auth.enterprise_token()

    ours, floor = _common.paired_loop(
        once,
        lambda: raw.cold_start_once(ctx.key_path, ctx.base_url),
        iterations=ctx.get("iterations", 10),
        max_seconds=ctx.get("max_seconds", 10.0),
    )
    ctx.checkpoint("run")
    return {
        "time": _common.summary(ours),
        "paired_floor": _common.summary(floor),
        "iterations": len(ours),
        "token_requests_per_iteration_expected": 2,  # ours + the paired floor's
    }


def assertion(ctx: _common.Context) -> dict[str, Any]:
    """One assertion, built and signed the way JWTAuthenticator does for each exchange."""
    keyfile = boxjwt.KeyFile.from_file(ctx.key_path)
    builder = AssertionBuilder(
        client_id=keyfile.client_id,
        public_key_id=keyfile.public_key_id,
        private_key=keyfile.private_key,
    )
    floor = raw.Floor(ctx.key_path, ctx.base_url)
    ctx.checkpoint("setup")
    ours, paired = _common.paired_loop(
        lambda: builder.build("enterprise", keyfile.enterprise_id, time.time()),
        lambda: raw.sign_assertion(floor.key, floor.kid, raw.floor_claims(floor)),
        iterations=ctx.get("iterations", 300),
        max_seconds=ctx.get("max_seconds", 5.0),
    )
    ctx.checkpoint("run")
    return {
        "time": _common.summary(ours),
        "paired_floor": _common.summary(paired),
        "iterations": len(ours),
    }


def cached_call(ctx: _common.Context) -> dict[str, Any]:
    """``AsUserSession.get`` with a cached token, paired with a fixed-header requests.Session."""
    auth = _authenticator(ctx)
    session = boxjwt.AsUserSession(auth, rate_limiter=_unreachable_budgets())
    fixed = raw.fixed_header_session(auth.enterprise_token().value.reveal())
    url = f"{ctx.base_url}{ME}"

    def ours() -> None:
        _common.check(session.get(ME).status_code)

    def floor() -> None:
        _common.check(fixed.get(url, timeout=TIMEOUT).status_code)

    for _ in range(5):
        ours()
        floor()
    ctx.checkpoint("setup")
    a, b = _common.paired_loop(
        ours,
        floor,
        iterations=ctx.get("iterations", 300),
        max_seconds=ctx.get("max_seconds", 10.0),
        block=max(1, min(25, ctx.get("iterations", 300) // 4)),
    )
    ctx.checkpoint("run")
    return {"time": _common.summary(a), "paired_floor": _common.summary(b), "iterations": len(a)}


def threads(ctx: _common.Context) -> dict[str, Any]:
    """One AsUserSession shared by 32 threads, from a cold authenticator; again after expiry."""
    count = ctx.get("threads", 32)
    session = boxjwt.AsUserSession(_authenticator(ctx), rate_limiter=_unreachable_budgets())

    def call(_: int) -> None:
        _common.check(session.get(ME).status_code)

    ctx.checkpoint("setup")
    out: dict[str, Any] = {}
    for phase in ("cold", "expired"):
        if phase == "expired":
            time.sleep(ctx.get("expires_in", 5) + 1.0)
        out[phase] = _common.run_concurrently(count, call)
        ctx.checkpoint(phase)
    return out


def users_user_token(ctx: _common.Context) -> dict[str, Any]:
    """N users from 8 threads, ``mode="user_token"``: ``root.for_user(id).get(...)`` per task
    (no per-user object is kept: the tokens live in the authenticator's cache)."""
    users = ctx.users(ctx.get("users_count"))
    root = boxjwt.AsUserSession(
        _authenticator(ctx), mode="user_token", rate_limiter=_unreachable_budgets()
    )

    def call(user_id: str) -> None:
        _common.check(root.for_user(user_id).get(ME).status_code)

    ctx.checkpoint("setup")
    out: dict[str, Any] = {}
    for phase in ("pass1", "pass2"):
        out[phase] = _common.run_pool(ctx.get("threads", 8), users, call)
        ctx.checkpoint(phase)
    return out


def users_as_user(ctx: _common.Context) -> dict[str, Any]:
    """N users from 8 threads through As-User: sibling sessions sharing one pool."""
    users = ctx.users(ctx.get("users_count"))
    root = boxjwt.AsUserSession(_authenticator(ctx), rate_limiter=_unreachable_budgets())

    def call(user_id: str) -> None:
        _common.check(root.for_user(user_id).get(ME).status_code)

    ctx.checkpoint("setup")
    result = _common.run_pool(ctx.get("threads", 8), users, call)
    ctx.checkpoint("pass1")
    return {"pass1": result}


def memory(ctx: _common.Context) -> dict[str, Any]:
    """Memory kept by N cached user tokens in the authenticator's default store."""
    users = ctx.users(ctx.get("users_count"))
    auth = _authenticator(ctx)
    auth.enterprise_token()  # the session and its connection exist before tracing starts
    ctx.checkpoint("setup")
    failures: list[dict[str, Any]] = []

    def populate() -> None:
        failures.append(_common.run_pool(ctx.get("threads", 8), users, auth.user_token))

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
    **targets.SCENARIOS,
}

if __name__ == "__main__":
    _common.main("boxjwt", SCENARIOS, ("boxjwt", "cryptography", "pyjwt", "requests"))
