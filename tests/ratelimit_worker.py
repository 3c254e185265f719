"""One process of a fleet sharing a RedisRateLimiter: ``python ratelimit_worker.py CONFIG``.

``CONFIG`` is JSON: ``base_url``, ``keyfile`` (path), ``user``, ``redis_port``, ``scale`` (the
emulator's time scale), ``box_seconds`` (how long to run, on the scaled clock), ``threads``
and ``share`` (the local fallback's share of the budget). Once ready (token in hand) the
process prints ``ready`` and waits for a line on stdin: the wall time at which to start, the
same for every process. It then works for ``user`` from ``threads`` threads and prints one
JSON line: its statuses, errors, warnings and limiter snapshot.

The shared clock is this machine's wall clock, scaled: every process of the test runs here.
"""

from __future__ import annotations

import collections
import json
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
import requests
from redis.backoff import NoBackoff
from redis.retry import Retry

import boxjwt
from boxjwt.stores import RedisRateLimiter


def main(config: dict[str, Any]) -> dict[str, Any]:
    scale = float(config["scale"])

    def clock() -> float:
        return time.time() * scale

    def sleep(seconds: float) -> None:
        time.sleep(max(seconds, 0.0) / scale)

    client = redis.Redis(
        host="127.0.0.1",
        port=int(config["redis_port"]),
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    policy = boxjwt.RatePolicy()
    fallback = boxjwt.RateLimiter(policy.share(config["share"]), clock=clock, sleep=sleep)
    limiter = RedisRateLimiter(
        client, policy, clock=clock, sleep=sleep, local_fallback=fallback, retry_interval=5.0
    )
    auth = boxjwt.JWTAuthenticator(
        boxjwt.KeyFile.from_file(config["keyfile"]), base_url=config["base_url"]
    )
    retry = boxjwt.RetryPolicy(sleep=sleep, clock=clock, max_total_time=600.0)
    root = boxjwt.AsUserSession(auth, retry=retry, rate_limiter=limiter, raise_for_status=True)
    threads = int(config["threads"])
    root.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=threads))
    session = root.for_user(config["user"])
    auth.enterprise_token()  # the token, before the clock starts
    statuses: collections.Counter[int] = collections.Counter()
    errors: list[str] = []
    lock = threading.Lock()
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    time.sleep(max(0.0, start_at - time.time()))
    stop = clock() + float(config["box_seconds"])

    def work(_: int) -> None:
        while clock() < stop:
            try:
                status = session.get("/2.0/users/me").status_code
            except boxjwt.BoxJWTError as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                statuses[status] += 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ThreadPoolExecutor(threads) as pool:
            for future in [pool.submit(work, n) for n in range(threads)]:
                future.result()
    root.close()
    auth.close()
    return {
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": errors[:5],
        "error_count": len(errors),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "snapshot": limiter.snapshot().to_dict(),
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
