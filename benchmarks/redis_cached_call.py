"""What a cached-token call costs with a RedisTokenStore: microseconds and Redis commands.

    .venv/bin/python benchmarks/redis_cached_call.py [--calls 20000] [--api-calls 200]
        [--near-cache on|off]

Starts a ``redis-server`` on a free loopback port and a :class:`boxjwt.testing.BoxEmulator`,
builds a :class:`boxjwt.JWTAuthenticator` on a :class:`boxjwt.stores.RedisTokenStore` whose
Redis client counts every command it sends, fetches one user token (one exchange), then:

- times ``--calls`` calls of ``auth.user_token(user)`` (the token lookup every API call makes
  first; best of 5 rounds) and counts the Redis commands they sent;
- sends ``--api-calls`` ``GET /2.0/users/me`` through an :class:`boxjwt.AsUserSession` in
  user-token mode and counts the Redis commands and token requests they cost.

``--near-cache`` passes ``near_cache=True/False`` to the store (omitted: the store's default,
which is also how to run it against a boxjwt without the near cache). Prints one line per
figure. Needs ``redis-server`` on ``PATH`` (or ``$REDIS_SERVER``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import redis

import boxjwt
from boxjwt.stores import RedisTokenStore
from boxjwt.testing import BoxEmulator


class CountingRedis(redis.Redis):
    """A real client counting the commands it sends (``EVALSHA`` included)."""

    commands: Counter[str]

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.commands[str(args[0]).upper()] += 1
        return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    binary = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        sys.exit("redis-server is not installed (set $REDIS_SERVER or put it on PATH)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    server = subprocess.Popen([*argv, "no"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):  # up to 10 s for it to accept connections
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--api-calls", type=int, default=200)
    parser.add_argument("--near-cache", choices=["on", "off"], default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    options: dict[str, Any] = {}
    if args.near_cache is not None:
        options["near_cache"] = args.near_cache == "on"
    with redis_server() as port, BoxEmulator() as emu:
        client = CountingRedis(host="127.0.0.1", port=port, socket_timeout=1.0)
        client.commands = Counter()
        store = RedisTokenStore(client, **options)
        user = emu.add_user("Bench User").id
        auth = boxjwt.JWTAuthenticator(
            emu.make_keyfile().load(), base_url=emu.base_url, token_store=store
        )
        auth.user_token(user)  # the one exchange
        auth.user_token(user)  # the first read (fills a near cache)
        client.commands.clear()
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(args.calls):
                auth.user_token(user)
            best = min(best, time.perf_counter() - start)
        lookups = sum(client.commands.values())
        print(f"cached user_token(): {best / args.calls * 1e6:.2f} us per call (best of 5)")
        print(f"Redis commands per cached user_token(): {lookups / (5 * args.calls):.3f}")

        client.commands.clear()
        with boxjwt.AsUserSession(
            auth, user, mode="user_token", rate_limiter=boxjwt.RateLimiter.disabled()
        ) as box:
            for _ in range(args.api_calls):
                box.get("/2.0/users/me").raise_for_status()
        per_call = sum(client.commands.values()) / args.api_calls
        print(f"Redis commands per API call: {per_call:.3f} ({dict(client.commands)})")
        print(f"token requests at the emulator: {emu.token_requests()}")
        auth.close()
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
