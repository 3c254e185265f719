"""boxjwt's per-call and first-token costs, paired with the raw floor, and where they go.

    python benchmarks/hotpath.py                 # overheads (µs) and cold-token ratio
    python benchmarks/hotpath.py --profile cached --sort tottime   # cProfile of one path

The emulator runs in a child process (its threads do not share this process's GIL), so
what is timed here is the client's own work plus a loopback round trip. Every measure is
interleaved with its floor in blocks (A B B A ...), so both see the same machine load;
overheads are differences of medians in microseconds. Timings are not asserted anywhere.

Paths:

- ``cached``: ``AsUserSession(auth).get("/2.0/users/me")`` with the token cached;
- ``as_user``: ``root.for_user(user).get(...)``, a new sibling per call, cycling over users;
- ``as_user_session``: one ``AsUserSession(auth, user)`` reused;
- ``user_token``: ``root.for_user(user)`` in ``mode="user_token"`` with every token cached;
- ``cold_token``: a fresh ``JWTAuthenticator`` (key already loaded) and its first
  enterprise token (a new connection).

Floors: a ``requests.Session`` with a fixed ``Authorization`` header (``fixed``), and the same
session given ``headers=`` per call from a dict of tokens (``floor``): what a program written
for exactly this would do.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import pathlib
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import requests

ME = "/2.0/users/me"
TIMEOUT = (10.0, 60.0)


def _serve(directory: str, ready: Any, stop: Any) -> None:  # pragma: no cover - child process
    from boxjwt.testing import BoxEmulator

    with BoxEmulator(managed_users=50) as emu:
        keyfile = emu.make_keyfile(pathlib.Path(directory) / "key.json")
        users = [u.id for u in emu.managed_users if u.status == "active"]
        ready.send({"base_url": emu.base_url, "key": str(keyfile.path), "users": users})
        stop.wait()


def _unreachable() -> Any:
    import boxjwt

    far = boxjwt.RateLimit(1e9, 1.0, burst=1_000_000)
    return boxjwt.RateLimiter(boxjwt.RatePolicy(general=far, upload=far, search=far))


def _blocks(ops: dict[str, Callable[[], object]], rounds: int, block: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in ops}
    names = list(ops)
    for name in names:  # warm-up
        for _ in range(block):
            ops[name]()
    perf = time.perf_counter
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            operation = ops[name]
            bucket = samples[name]
            for _ in range(block):
                t0 = perf()
                operation()
                bucket.append(perf() - t0)
    return {name: statistics.median(values) for name, values in samples.items()}


def _paths(env: dict[str, Any]) -> dict[str, dict[str, Callable[[], object]]]:
    import boxjwt

    base, users = env["base_url"], env["users"]
    keyfile = boxjwt.KeyFile.from_file(env["key"])
    auth = boxjwt.JWTAuthenticator(keyfile, base_url=base)
    limiter = _unreachable()
    root = boxjwt.AsUserSession(auth, rate_limiter=limiter)
    token_root = boxjwt.AsUserSession(auth, mode="user_token", rate_limiter=limiter)
    one_user = boxjwt.AsUserSession(auth, users[0], rate_limiter=limiter)
    enterprise = auth.enterprise_token().value.reveal()
    user_tokens = {u: auth.user_token(u).value.reveal() for u in users}
    fixed = requests.Session()
    fixed.headers["Authorization"] = f"Bearer {enterprise}"
    plain = requests.Session()
    url = f"{base}{ME}"
    tokens = {"enterprise": enterprise}
    cycle = {"i": 0}

    def next_user() -> str:
        cycle["i"] = (cycle["i"] + 1) % len(users)
        return str(users[cycle["i"]])

    def floor_cached() -> object:
        return plain.get(
            url, headers={"Authorization": f"Bearer {tokens['enterprise']}"}, timeout=TIMEOUT
        )

    def floor_as_user() -> object:
        headers = {"Authorization": f"Bearer {tokens['enterprise']}", "As-User": next_user()}
        return plain.get(url, headers=headers, timeout=TIMEOUT)

    def floor_user_token() -> object:
        headers = {"Authorization": f"Bearer {user_tokens[next_user()]}"}
        return plain.get(url, headers=headers, timeout=TIMEOUT)

    def fixed_call() -> object:
        return fixed.get(url, timeout=TIMEOUT)

    return {
        "cached": {
            "fixed": fixed_call,
            "floor": floor_cached,
            "boxjwt": lambda: root.get(ME),
        },
        "as_user": {
            "fixed": fixed_call,
            "floor": floor_as_user,
            "boxjwt": lambda: root.for_user(next_user()).get(ME),
        },
        "as_user_session": {
            "fixed": fixed_call,
            "floor": floor_as_user,
            "boxjwt": lambda: one_user.get(ME),
        },
        "user_token": {
            "fixed": fixed_call,
            "floor": floor_user_token,
            "boxjwt": lambda: token_root.for_user(next_user()).get(ME),
        },
    }


def _cold(env: dict[str, Any]) -> dict[str, Callable[[], object]]:
    import jwt

    import boxjwt

    base = env["base_url"]
    keyfile = boxjwt.KeyFile.from_file(env["key"])
    key = keyfile.private_key()
    data = json.loads(pathlib.Path(env["key"]).read_text())
    settings = data["boxAppSettings"]

    def floor() -> object:
        claims = {
            "iss": settings["clientID"],
            "sub": data["enterpriseID"],
            "box_sub_type": "enterprise",
            "aud": "https://api.box.com/oauth2/token",
            "jti": secrets.token_urlsafe(32),
            "exp": int(time.time()) + 30,
        }
        assertion = jwt.encode(
            claims, key, algorithm="RS256", headers={"kid": settings["appAuth"]["publicKeyID"]}
        )
        with requests.Session() as session:
            answer = session.post(
                f"{base}/oauth2/token",
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "client_id": settings["clientID"],
                    "client_secret": settings["clientSecret"],
                    "assertion": assertion,
                },
                allow_redirects=False,
                timeout=TIMEOUT,
            )
            return answer.json()["access_token"]

    def ours() -> object:
        with boxjwt.JWTAuthenticator(keyfile, base_url=base) as auth:
            return auth.enterprise_token()

    return {"floor": floor, "boxjwt": ours}


def measure(env: dict[str, Any], rounds: int, block: int) -> None:
    """Print each path's overheads over the fixed-header session and the floor."""
    for name, ops in _paths(env).items():
        medians = _blocks(ops, rounds, block)
        fixed = medians["fixed"]
        print(
            f"{name:<16} fixed {fixed * 1e6:7.1f} µs   floor "
            f"{(medians['floor'] - fixed) * 1e6:+6.1f} µs   boxjwt "
            f"{(medians['boxjwt'] - fixed) * 1e6:+6.1f} µs over fixed   (boxjwt - floor "
            f"{(medians['boxjwt'] - medians['floor']) * 1e6:+6.1f} µs)"
        )
    cold = _blocks(_cold(env), max(4, rounds // 10), 5)
    print(
        f"{'cold_token':<16} floor {cold['floor'] * 1e3:.2f} ms   boxjwt {cold['boxjwt'] * 1e3:.2f}"
        f" ms   ratio {cold['boxjwt'] / cold['floor']:.2f}x"
    )


def profile(env: dict[str, Any], args: argparse.Namespace) -> None:
    """cProfile ``args.calls`` calls of one path's boxjwt operation."""
    path = args.profile
    operation = _cold(env)["boxjwt"] if path == "cold_token" else _paths(env)[path]["boxjwt"]
    for _ in range(20):
        operation()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.calls):
        operation()
    profiler.disable()
    stats = pstats.Stats(profiler)
    restrictions = [args.filter, args.limit] if args.filter else [args.limit]
    stats.sort_stats(args.sort).print_stats(*restrictions)
    if args.callers:
        stats.print_callers(args.callers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--block", type=int, default=25)
    parser.add_argument(
        "--profile",
        choices=["cached", "as_user", "as_user_session", "user_token", "cold_token"],
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--callers", default="", help="print the callers of functions matching")
    parser.add_argument("--filter", default="", help="only functions matching this regex")
    args = parser.parse_args(argv)
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="boxjwt-hotpath-") as tmp:
        ready_recv, ready_send = context.Pipe(duplex=False)
        stop = context.Event()
        child = context.Process(target=_serve, args=(tmp, ready_send, stop), daemon=True)
        child.start()
        env = ready_recv.recv()
        try:
            if args.profile:
                profile(env, args)
            else:
                measure(env, args.rounds, args.block)
        finally:
            stop.set()
            child.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
