"""The rate-limit benchmark's worker: ``python rate_limits.py ENV CONFIG_JSON``.

One process of one environment calling ``GET /2.0/users/me`` as one or many users, from many
threads, against an emulator that enforces Box's budgets on a scaled clock. ``ENV``:

- ``boxjwt``: ``AsUserSession`` with its default pacing (a ``RateLimiter`` on the scaled clock);
  ``boxjwt-redis``: the same with a ``RedisRateLimiter`` (config ``redis_port``);
- ``boxjwt-off``: ``AsUserSession`` with ``RateLimiter.disabled()`` (boxjwt 0.1: every thread
  retries its own 429 after ``retry-after``);
- ``floor``: ``requests`` with a fixed token and the naive loop (honour ``retry-after``, up to
  5 retries, as Box's SDKs do);
- ``boxsdk10`` / ``boxsdk3``: the official SDKs as documented (their own 429 handling).

Time is scaled for every environment alike: ``time.sleep`` is replaced, before any SDK is
imported, by one that sleeps ``seconds / scale``, so a ``retry-after: 3`` costs 3 Box seconds
whoever honours it. Protocol: the worker prints ``ready`` once its token(s) are in hand, reads
one line (the wall time to start at, the same for every process), runs ``box_seconds`` of the
scaled clock, and prints one JSON line.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

ENV = sys.argv[1]
CONFIG: dict[str, Any] = json.loads(sys.argv[2])
SCALE = float(CONFIG["scale"])
_real_sleep = time.sleep


def _scaled_sleep(seconds: float) -> None:
    _real_sleep(max(seconds, 0.0) / SCALE)


time.sleep = _scaled_sleep  # before the SDKs are imported: every wait is in Box seconds


def box_clock() -> float:
    """The scaled clock (seconds of Box time)."""
    return time.monotonic() * SCALE


Caller = Callable[[str], int]


def _boxjwt(kind: str) -> tuple[Caller, Callable[[], dict[str, Any]]]:
    import requests

    import boxjwt

    limiter: boxjwt.RateLimiter
    if kind == "boxjwt-off":
        limiter = boxjwt.RateLimiter.disabled()
    elif kind == "boxjwt-redis":
        import redis

        from boxjwt.stores import RedisRateLimiter

        client = redis.Redis(host="127.0.0.1", port=int(CONFIG["redis_port"]))
        limiter = RedisRateLimiter(client, clock=box_clock, sleep=_scaled_sleep)
    else:
        limiter = boxjwt.RateLimiter(clock=box_clock, sleep=_scaled_sleep)
    auth = boxjwt.JWTAuthenticator(
        boxjwt.KeyFile.from_file(CONFIG["key_path"]), base_url=CONFIG["base_url"]
    )
    retry = boxjwt.RetryPolicy(sleep=_scaled_sleep, clock=box_clock)
    root = boxjwt.AsUserSession(auth, retry=retry, rate_limiter=limiter)
    root.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=int(CONFIG["threads"])))
    sessions = {user: root.for_user(user) for user in CONFIG["users"]}
    auth.enterprise_token()

    def call(user: str) -> int:
        return sessions[user].get("/2.0/users/me").status_code

    return call, lambda: limiter.snapshot().to_dict()


def _floor() -> tuple[Caller, Callable[[], dict[str, Any]]]:
    import floor as raw

    token = raw.Floor(CONFIG["key_path"], CONFIG["base_url"]).enterprise_token()
    session = raw.fixed_header_session(token)
    import requests

    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=int(CONFIG["threads"])))
    url = f"{CONFIG['base_url']}/2.0/users/me"

    def call(user: str) -> int:
        for attempt in range(6):
            response = session.get(url, headers={"As-User": user}, timeout=raw.TIMEOUT)
            if response.status_code != 429 or attempt == 5:
                return response.status_code
            retry_after = response.headers.get("retry-after")
            time.sleep(float(retry_after) if retry_after else 2.0**attempt)
        raise AssertionError("unreachable")

    return call, dict


def _boxsdk10() -> tuple[Caller, Callable[[], dict[str, Any]]]:
    from box_sdk_gen import BoxClient, BoxJWTAuth, JWTConfig
    from box_sdk_gen.networking.base_urls import BaseUrls
    from box_sdk_gen.networking.fetch_options import FetchOptions
    from box_sdk_gen.networking.network import NetworkSession

    base = CONFIG["base_url"]
    network = NetworkSession(
        base_urls=BaseUrls(base_url=base, upload_url=f"{base}/api", oauth_2_url=f"{base}/oauth2")
    )
    client = BoxClient(
        auth=BoxJWTAuth(config=JWTConfig.from_config_file(CONFIG["key_path"])),
        network_session=network,
    )
    clients = {user: client.with_as_user_header(user) for user in CONFIG["users"]}
    url = f"{base}/2.0/users/me"
    client.make_request(FetchOptions(url=url, method="GET"))  # the token

    def call(user: str) -> int:
        status: int = clients[user].make_request(FetchOptions(url=url, method="GET")).status
        return status

    return call, dict


def _boxsdk3() -> tuple[Caller, Callable[[], dict[str, Any]]]:
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    from boxsdk import Client, JWTAuth
    from boxsdk.config import API

    base = CONFIG["base_url"]
    API.BASE_API_URL = f"{base}/2.0"
    API.UPLOAD_URL = f"{base}/api/2.0"
    API.OAUTH2_API_URL = f"{base}/oauth2"
    client = Client(JWTAuth.from_settings_file(CONFIG["key_path"]))
    clients = {user: client.as_user(client.user(user)) for user in CONFIG["users"]}
    url = f"{API.BASE_API_URL}/users/me"
    client.session.get(url)  # the token

    def call(user: str) -> int:
        status: int = clients[user].session.get(url).status_code
        return status

    return call, dict


FACTORIES = {
    "boxjwt": lambda: _boxjwt("boxjwt"),
    "boxjwt-redis": lambda: _boxjwt("boxjwt-redis"),
    "boxjwt-off": lambda: _boxjwt("boxjwt-off"),
    "floor": _floor,
    "boxsdk10": _boxsdk10,
    "boxsdk3": _boxsdk3,
}


def main() -> dict[str, Any]:
    logging.basicConfig(level=logging.ERROR)  # one warning per retried 429 otherwise
    call, stats = FACTORIES[ENV]()
    users: list[str] = list(CONFIG["users"])
    threads = int(CONFIG["threads"])
    lock = threading.Lock()
    ok = failed = 0
    longest = 0.0
    errors: list[str] = []
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    _real_sleep(max(0.0, start_at - time.time()))
    stop = box_clock() + float(CONFIG["box_seconds"])

    def work(index: int) -> None:
        nonlocal ok, failed, longest
        turn = index
        while box_clock() < stop:
            user = users[turn % len(users)]
            turn += threads
            began = box_clock()
            try:
                status = call(user)
            except Exception as exc:  # an SDK that gave up raises
                status = 0
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
            took = box_clock() - began
            with lock:
                longest = max(longest, took)
                if status == 200:
                    ok += 1
                else:
                    failed += 1

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work, n) for n in range(threads)]:
            future.result()
    return {
        "env": ENV,
        "ok": ok,
        "failed": failed,
        "longest_wait": longest,
        "errors": errors[:3],
        "limiter": stats(),
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main()) + "\n")
    sys.stdout.flush()
