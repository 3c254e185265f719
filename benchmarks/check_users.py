"""check_users over a large enterprise against the emulator, Box's rate limits on.

    python benchmarks/check_users.py [--users 10000] [--time-scale 60] [--concurrency 8]

Prints the wall time, the requests per user (API and token), the 429s, and the peak memory
Python allocated during the run (tracemalloc) and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import boxjwt
from boxjwt.testing import BoxEmulator, RateLimits

#: Allocations made (anywhere in the stack) by the emulator: not the client's memory.
_EMULATOR = ("*/boxjwt/testing/*", "*/http/server.py", "*/socketserver.py")


def _kept_by_the_client() -> int:
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, pattern, all_frames=True) for pattern in _EMULATOR]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-tracemalloc", action="store_true")
    args = parser.parse_args()
    limits = RateLimits(time_scale=args.time_scale)
    with BoxEmulator(rate_limits=limits, managed_users=0, co_admins=0, external_users=0) as emu:
        ekf = emu.make_keyfile()
        emu.add_users(args.users - 1 - len(emu.app.app_users))  # + the admin and app users
        auth = boxjwt.JWTAuthenticator(ekf.load(), base_url=emu.base_url)
        auth.enterprise_token()
        emu.reset_log()
        if not args.no_tracemalloc:
            tracemalloc.start(30)
        started = time.perf_counter()
        report = boxjwt.check_users(auth, boxjwt.ALL_USERS, concurrency=args.concurrency)
        wall = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
        kept = _kept_by_the_client() if tracemalloc.is_tracing() else 0
        tracemalloc.stop()
        log = emu.request_log
    users = len(report.users)
    writes = [r for r in log if r.method not in ("GET", "OPTIONS", "HEAD")]
    print(f"users checked       {users} ({len(report.not_ready)} not ready)")
    print(f"wall time           {wall:.2f} s ({users / wall:.0f} users/s)")
    print(f"requests            {len(log)} ({len(log) / users:.4f} per user), writes {len(writes)}")
    print(f"429s                {report.rate_limited}")
    if peak:
        print(f"peak traced memory  {peak / 1e6:.1f} MB (tracemalloc, whole process: emulator too)")
        print(f"kept after the run  {kept / 1e6:.1f} MB ({kept / users:.0f} bytes per user: the")
        print("                    report; allocations made by the emulator's code excluded)")
    print(f"peak RSS            {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")


if __name__ == "__main__":
    main()
