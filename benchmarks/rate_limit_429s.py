"""How many 429s boxjwt takes when many threads share one user's rate limit.

    .venv/bin/python benchmarks/rate_limit_429s.py [--threads 32] [--time-scale 6]
        [--minutes 1] [--latency-ms 0] [--budget 1000] [--unpaced]

A :class:`boxjwt.testing.BoxEmulator` enforces Box's documented general budget (1000 calls per
minute per user; ``--budget`` to change it) at ``--time-scale`` (Box seconds per real second:
at 6 a minute lasts 10 real seconds). ``--threads`` threads then call ``GET /2.0/users/me`` as
one managed user through one :class:`boxjwt.AsUserSession` (As-User, one shared pool) for
``--minutes`` scaled minutes. The session paces its calls with a :class:`boxjwt.RateLimiter`
on the emulator's clock (Box's budget, a little under: ``--budget`` scales it alike);
``--unpaced`` turns pacing off (boxjwt 0.1: every thread retries its own 429). The retry
policy honours every ``retry-after`` at the emulator's pace (``emu.sleep``) and has attempts
enough never to give up, so every call ends 200 and the number of 429s is what boxjwt costs
Box (and the migration). ``benchmarks/rate_limits.py`` compares this with the official SDKs.

The time scale must leave the budget well below what the machine can send (the emulator
answers some thousands of calls per second on one core): at 6 the budget is 100 calls per
real second. ``--latency-ms`` adds Box-side latency per call (in Box milliseconds).

Prints one line per figure; exit status 1 if any call did not end 200.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Sequence

import requests

import boxjwt
from boxjwt.testing import BoxEmulator, Budget, RateLimits


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--time-scale", type=float, default=6.0)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--budget", type=int, default=1000, help="general calls per minute")
    parser.add_argument("--unpaced", action="store_true", help="RateLimiter.disabled()")
    return parser.parse_args(argv)


def _worker(session: boxjwt.AsUserSession, deadline: float, results: list[int]) -> None:
    while time.monotonic() < deadline:
        results.append(session.get("/2.0/users/me").status_code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurement and print it."""
    args = _parse(argv)
    logging.getLogger("boxjwt").setLevel(logging.ERROR)  # one warning per 429 otherwise
    limits = RateLimits(general=(Budget(args.budget, 60),), time_scale=args.time_scale)
    with BoxEmulator(rate_limits=limits) as emu:
        emu.latency = args.latency_ms / 1000 / args.time_scale
        policy = boxjwt.RetryPolicy(max_attempts=1000, max_total_time=3600, sleep=emu.sleep)
        auth = boxjwt.JWTAuthenticator(emu.make_keyfile().load(), base_url=emu.base_url)
        if args.unpaced:
            limiter = boxjwt.RateLimiter.disabled()
        else:
            budget = boxjwt.RateLimit(args.budget * 0.95, 60.0, burst=max(1, args.budget // 50))
            limiter = boxjwt.RateLimiter(
                boxjwt.RatePolicy(general=budget),
                clock=lambda: time.monotonic() * args.time_scale,  # Box seconds
                sleep=emu.sleep,
            )
        root = boxjwt.AsUserSession(auth, retry=policy, rate_limiter=limiter)
        root.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=args.threads))
        user = emu.managed_users[0]
        session = root.for_user(user.id)
        session.get("/2.0/users/me")  # the token, outside the measurement
        emu.reset_log()
        emu.rate_limits = limits  # counts start afresh
        results: list[int] = []
        started = time.monotonic()
        deadline = started + args.minutes * 60 / args.time_scale
        threads = [
            threading.Thread(target=_worker, args=(session, deadline, results))
            for _ in range(args.threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        refused = emu.rate_limited(user.id)
        ok = sum(1 for status in results if status == 200)
        root.close()
        auth.close()
    scaled = elapsed * args.time_scale / 60
    print(f"pacing                 {'off' if args.unpaced else 'on'}")
    print(f"threads                {args.threads}")
    print(f"budget                 {args.budget} calls per minute per user")
    print(f"time scale             {args.time_scale:g} (wall {elapsed:.2f} s = {scaled:.2f} min)")
    print(f"calls ended 200        {ok} of {len(results)}")
    print(f"429s taken             {refused}")
    print(f"429s per call          {refused / max(len(results), 1):.2f}")
    return 0 if ok == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
