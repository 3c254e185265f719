"""Issue 18's measures: boxjwt against the raw floor, paired in one worker (boxjwt's).

Each scenario runs boxjwt's operation and the floor's interleaved in this process, so both see
the same machine load; the page reports their medians and the median of the per-round ratios.

- ``first_call``: a fresh authenticator + session and its first ``GET /2.0/users/me`` (the
  token included), the key already loaded; run with the emulator's connect latency, so that a
  second connection shows. Checkpoints ``ours_once`` / ``floor_once`` count the sockets of one.
- ``first_token``: a fresh authenticator's first enterprise token, the key already loaded.
- ``key_load``: ``KeyFile.from_file`` (read, validate, decrypt) against ``json`` +
  ``load_pem_private_key``: key decryption in its own row.
- ``cached_overhead`` / ``as_user_overhead``: a fixed-header ``requests.Session``, the floor
  (the token from a dict, ``headers=`` per call; As-User cycling over users) and boxjwt
  (``session.get``; ``root.for_user(user).get``), three-way interleaved: overheads in µs.
- ``users_pass2``: N users' own tokens from 8 threads, second pass (no token requests), the
  passes of boxjwt and the floor alternated.
"""

from __future__ import annotations

from typing import Any

import _common
import floor as raw

import boxjwt

ME = "/2.0/users/me"
TIMEOUT = (10.0, 60.0)


def _unreachable() -> boxjwt.RateLimiter:
    """Every bookkeeping step of pacing, with budgets no loop reaches (see boxjwt_env)."""
    far = boxjwt.RateLimit(1e9, 1.0, burst=1_000_000)
    return boxjwt.RateLimiter(boxjwt.RatePolicy(general=far, upload=far, search=far))


def _loaded(ctx: _common.Context) -> tuple[boxjwt.KeyFile, raw.Floor]:
    keyfile = boxjwt.KeyFile.from_file(ctx.key_path)
    keyfile.private_key()
    return keyfile, raw.Floor(ctx.key_path, ctx.base_url)


def _paired(ctx: _common.Context, ours: Any, floor: Any, iterations: int) -> dict[str, Any]:
    a, b = _common.paired_loop(
        ours,
        floor,
        iterations=ctx.get("iterations", iterations),
        max_seconds=ctx.get("max_seconds", 10.0),
    )
    ctx.checkpoint("run")
    return {"time": _common.summary(a), "paired_floor": _common.summary(b), "iterations": len(a)}


def first_call(ctx: _common.Context) -> dict[str, Any]:
    """A new process's first API call, its token included (key already loaded)."""
    keyfile, floor = _loaded(ctx)

    def ours() -> None:
        with (
            boxjwt.JWTAuthenticator(keyfile, base_url=ctx.base_url) as auth,
            boxjwt.AsUserSession(auth) as session,
        ):
            _common.check(session.get(ME).status_code)

    def theirs() -> None:
        _common.check(raw.first_call_once(floor))

    ctx.checkpoint("setup")
    ours()
    ctx.checkpoint("ours_once")
    theirs()
    ctx.checkpoint("floor_once")
    return _paired(ctx, ours, theirs, 10)


def first_token(ctx: _common.Context) -> dict[str, Any]:
    """A fresh authenticator's first enterprise token (key already loaded, new connection)."""
    keyfile, floor = _loaded(ctx)

    def ours() -> None:
        with boxjwt.JWTAuthenticator(keyfile, base_url=ctx.base_url) as auth:
            auth.enterprise_token()

    ctx.checkpoint("setup")
    return _paired(ctx, ours, lambda: raw.first_token_once(floor), 60)


def key_load(ctx: _common.Context) -> dict[str, Any]:
    """Reading and decrypting key.json: boxjwt's KeyFile against json + load_pem_private_key."""

    def ours() -> None:
        boxjwt.KeyFile.from_file(ctx.key_path).private_key()

    ctx.checkpoint("setup")
    return _paired(ctx, ours, lambda: raw.Floor(ctx.key_path, ctx.base_url), 10)


def _overheads(ctx: _common.Context, operations: dict[str, Any]) -> dict[str, Any]:
    for operation in operations.values():  # connections and tokens exist before timing
        for _ in range(5):
            operation()
    ctx.checkpoint("setup")
    iterations = ctx.get("iterations", 600)
    samples = _common.interleaved(
        operations,
        iterations=iterations,
        max_seconds=ctx.get("max_seconds", 10.0),
        block=max(1, min(25, iterations // 6)),
    )
    ctx.checkpoint("run")
    return {
        "time": _common.summary(samples["boxjwt"]),
        "paired_floor": _common.summary(samples["floor"]),
        "fixed": _common.summary(samples["fixed"]),
        "iterations": len(samples["boxjwt"]),
    }


def cached_overhead(ctx: _common.Context) -> dict[str, Any]:
    """Cached-token calls: fixed header, floor (dict + headers=), AsUserSession.get."""
    auth = boxjwt.JWTAuthenticator(boxjwt.KeyFile.from_file(ctx.key_path), base_url=ctx.base_url)
    session = boxjwt.AsUserSession(auth, rate_limiter=_unreachable())
    tokens = {"enterprise": auth.enterprise_token().value.reveal()}
    fixed = raw.fixed_header_session(tokens["enterprise"])
    plain = raw.requests.Session()
    url = f"{ctx.base_url}{ME}"

    def floor() -> None:
        headers = {"Authorization": f"Bearer {tokens['enterprise']}"}
        _common.check(plain.get(url, headers=headers, timeout=TIMEOUT).status_code)

    return _overheads(
        ctx,
        {
            "fixed": lambda: _common.check(fixed.get(url, timeout=TIMEOUT).status_code),
            "floor": floor,
            "boxjwt": lambda: _common.check(session.get(ME).status_code),
        },
    )


def as_user_overhead(ctx: _common.Context) -> dict[str, Any]:
    """As-User calls cycling over users: fixed header, floor (+ As-User), for_user(u).get."""
    users = ctx.users(ctx.get("users_count", 50))
    auth = boxjwt.JWTAuthenticator(boxjwt.KeyFile.from_file(ctx.key_path), base_url=ctx.base_url)
    root = boxjwt.AsUserSession(auth, rate_limiter=_unreachable())
    tokens = {"enterprise": auth.enterprise_token().value.reveal()}
    fixed = raw.fixed_header_session(tokens["enterprise"])
    plain = raw.requests.Session()
    url = f"{ctx.base_url}{ME}"
    turn = {"ours": 0, "floor": 0}

    def next_user(who: str) -> str:
        turn[who] = (turn[who] + 1) % len(users)
        return users[turn[who]]

    def floor() -> None:
        headers = {
            "Authorization": f"Bearer {tokens['enterprise']}",
            "As-User": next_user("floor"),
        }
        _common.check(plain.get(url, headers=headers, timeout=TIMEOUT).status_code)

    def ours() -> None:
        _common.check(root.for_user(next_user("ours")).get(ME).status_code)

    return _overheads(
        ctx,
        {
            "fixed": lambda: _common.check(fixed.get(url, timeout=TIMEOUT).status_code),
            "floor": floor,
            "boxjwt": ours,
        },
    )


def users_pass2(ctx: _common.Context) -> dict[str, Any]:
    """N users' own tokens from 8 threads: pass 1 (tokens) once each, then pass 2 (none)
    alternated between boxjwt and the floor."""
    users = ctx.users(ctx.get("users_count"))
    threads = ctx.get("threads", 8)
    floor = raw.Floor(ctx.key_path, ctx.base_url)
    auth = boxjwt.JWTAuthenticator(boxjwt.KeyFile.from_file(ctx.key_path), base_url=ctx.base_url)
    root = boxjwt.AsUserSession(auth, mode="user_token", rate_limiter=_unreachable())
    plain = raw.requests.Session()
    url = f"{ctx.base_url}{ME}"
    tokens: dict[str, str] = {}

    def ours(user_id: str) -> None:
        _common.check(root.for_user(user_id).get(ME).status_code)

    def theirs(user_id: str) -> None:
        token = tokens.get(user_id)
        if token is None:
            token = tokens[user_id] = floor.token("user", user_id, plain)[0]
        headers = {"Authorization": f"Bearer {token}"}
        _common.check(plain.get(url, headers=headers, timeout=TIMEOUT).status_code)

    ctx.checkpoint("setup")
    first = [_common.run_pool(threads, users, ours), _common.run_pool(threads, users, theirs)]
    ctx.checkpoint("pass1")
    walls: dict[str, list[float]] = {"ours": [], "floor": []}
    errors = sum(r["errors"] for r in first)
    for index in range(ctx.get("rounds", 5)):
        order = (("ours", ours), ("floor", theirs))
        for name, operation in order if index % 2 == 0 else order[::-1]:
            result = _common.run_pool(threads, users, operation)
            walls[name].append(result["wall"])
            errors += result["errors"]
    ctx.checkpoint("pass2")
    return {
        "time": _common.summary(walls["ours"]),
        "paired_floor": _common.summary(walls["floor"]),
        "pass1": {"wall": first[0]["wall"], "errors": errors, "error_sample": []},
        "iterations": len(walls["ours"]),
    }


SCENARIOS: dict[str, _common.Scenario] = {
    "first_call": first_call,
    "first_token": first_token,
    "key_load": key_load,
    "cached_overhead": cached_overhead,
    "as_user_overhead": as_user_overhead,
    "users_pass2": users_pass2,
}
