"""boxjwt.aio against the threaded AsUserSession on the same work, against the emulator.

Two workloads, each with 20 ms of latency added to every answer of the emulator:

- **As-User**: 1,000 users x 10 calls (``GET /2.0/users/me`` acting as each user), 10,000 calls;
- **one user**: 1 user x 10,000 calls.

Each client runs in a subprocess of its own (the emulator keeps this process): the asyncio twin
(one ``AsyncAsUserSession`` and a ``for_user`` sibling per user, ``--tasks`` tasks on its pool of
100 connections; 32 and 100 by default) and the threaded session (one ``AsUserSession`` and its
siblings, 32 threads, a pool of 32), each warmed up by one call first. Pacing is off for both
(``RateLimiter.disabled()``): the emulator does not enforce Box's rate limits here and the
budgets would stretch a run to minutes; the transports are measured, not Box's limits.
Reported: calls per second (the median of ``--repeats`` runs), token requests (counted by the
emulator), peak RSS of the client process.

::

    python benchmarks/async_vs_threads.py              # full sizes
    python benchmarks/async_vs_threads.py --quick --check
    python benchmarks/async_vs_threads.py --docs --check --command "nox -s bench"

``--check`` fails unless both clients made the same token requests (one: As-User needs only
the service account's token) and every call succeeded; ``--strict`` also fails unless the
asyncio twin's best throughput on the As-User workload is at least the 32 threads'. ``--docs``
rewrites the "asyncio and threads" section of docs/performance.md (between its markers, kept
when run.py regenerates the rest of the page: ``nox -s bench`` runs this script after it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- async-vs-threads:begin -->", "<!-- async-vs-threads:end -->"
ME = "/2.0/users/me"
THREADS = 32


# --------------------------------------------------------------------------- workers


def _plan(users: list[str], calls: int) -> list[str]:
    """Every user ``calls`` times, interleaved (user 1, user 2, ..., user 1, user 2, ...)."""
    return users * calls


def _run_async(base_url: str, keyfile: str, plan: list[str], tasks: int) -> dict[str, Any]:
    import boxjwt
    from boxjwt.aio import AsyncAsUserSession, AsyncJWTAuthenticator

    async def main() -> dict[str, Any]:
        kf = boxjwt.KeyFile.from_file(keyfile)
        limiter = boxjwt.RateLimiter.disabled()
        async with (
            AsyncJWTAuthenticator(kf, base_url=base_url) as auth,
            AsyncAsUserSession(auth, rate_limiter=limiter) as root,
        ):
            sessions = {u: root.for_user(u) for u in dict.fromkeys(plan)}
            await sessions[plan[0]].get(ME)  # warm up: the token, lazy imports
            queue: asyncio.Queue[str] = asyncio.Queue()
            for user in plan:
                queue.put_nowait(user)
            failed = 0

            async def worker() -> None:
                nonlocal failed
                while not queue.empty():
                    user = queue.get_nowait()
                    response = await sessions[user].get(ME)
                    if response.status_code != 200 or response.json()["id"] != user:
                        failed += 1

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(tasks)))
            elapsed = time.perf_counter() - start
        return {"elapsed": elapsed, "failed": failed}

    return asyncio.run(main())


def _run_threads(base_url: str, keyfile: str, plan: list[str]) -> dict[str, Any]:
    import requests

    import boxjwt

    kf = boxjwt.KeyFile.from_file(keyfile)
    auth = boxjwt.JWTAuthenticator(kf, base_url=base_url)
    root = boxjwt.AsUserSession(auth, rate_limiter=boxjwt.RateLimiter.disabled())
    root.trust_env = False  # as the async client: no proxy scan per request
    root.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=THREADS))
    sessions = {u: root.for_user(u) for u in dict.fromkeys(plan)}
    sessions[plan[0]].get(ME)  # warm up: the token, lazy imports
    lock = threading.Lock()
    failed = 0

    def call(user: str) -> None:
        nonlocal failed
        response = sessions[user].get(ME)
        if response.status_code != 200 or response.json()["id"] != user:
            with lock:
                failed += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(call, plan))
    elapsed = time.perf_counter() - start
    root.close()
    auth.close()
    return {"elapsed": elapsed, "failed": failed}


def worker_main(args: argparse.Namespace) -> int:
    plan = _plan(json.loads(pathlib.Path(args.users_file).read_text()), args.calls)
    if args.worker == "async":
        result = _run_async(args.base_url, args.keyfile, plan, int(args.tasks))
    else:
        result = _run_threads(args.base_url, args.keyfile, plan)
    result["calls"] = len(plan)
    result["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- the parent


def _measure(
    emu: Any, client: str, files: tuple[pathlib.Path, pathlib.Path], calls: int, tasks: int
) -> dict[str, Any]:
    keyfile, users_file = files
    before = emu.token_requests()
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            client,
            "--base-url",
            emu.base_url,
            "--keyfile",
            str(keyfile),
            "--users-file",
            str(users_file),
            "--calls",
            str(calls),
            "--tasks",
            str(tasks),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["token_requests"] = emu.token_requests() - before
    result["throughput"] = result["calls"] / result["elapsed"]
    return result


def measure(args: argparse.Namespace, workdir: pathlib.Path) -> list[dict[str, Any]]:
    from boxjwt.testing import BoxEmulator

    users, calls = (100, 10) if args.quick else (1000, 10)
    single = 1000 if args.quick else 10_000
    rows = []
    with BoxEmulator(latency=args.latency / 1000) as emu:
        keyfile = workdir / "key.json"
        emu.make_keyfile(keyfile)
        people = [emu.add_user(f"Bench user {n}").id for n in range(users)]
        workloads = [
            (f"As-User: {users:,} users x {calls} calls", people, calls),
            (f"one user x {single:,} calls", people[:1], single),
        ]
        for name, who, n in workloads:
            users_file = workdir / "users.json"
            users_file.write_text(json.dumps(who))
            clients = [("async", t) for t in args.tasks] + [("threads", THREADS)]
            for client, tasks in clients:
                runs = [
                    _measure(emu, client, (keyfile, users_file), n, tasks)
                    for _ in range(args.repeats)
                ]
                best = statistics.median_low(sorted(r["throughput"] for r in runs))
                row = {
                    "workload": name,
                    "client": client,
                    "tasks": tasks,
                    "throughput": best,
                    "token_requests": max(r["token_requests"] for r in runs),
                    "failed": sum(r["failed"] for r in runs),
                    "max_rss_mib": max(r["max_rss_mib"] for r in runs),
                    "calls": runs[0]["calls"],
                }
                rows.append(row)
                print(
                    f"{name:32} {client:8} {tasks:4} {best:8.0f} calls/s"
                    f"  tokens {row['token_requests']}  failed {row['failed']}"
                    f"  rss {row['max_rss_mib']:.0f} MiB",
                    flush=True,
                )
    return rows


def check(rows: Sequence[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    problems = []
    for row in rows:
        if row["failed"]:
            problems.append(f"{row['workload']} / {row['client']}: {row['failed']} failed calls")
        if row["token_requests"] != 1:
            problems.append(
                f"{row['workload']} / {row['client']}: {row['token_requests']} token requests "
                "per run (expected 1)"
            )
    if args.strict:
        for workload in dict.fromkeys(r["workload"] for r in rows):
            if not workload.startswith("As-User"):
                continue
            mine = [r for r in rows if r["workload"] == workload]
            fast = max(r["throughput"] for r in mine if r["client"] == "async")
            slow = max(r["throughput"] for r in mine if r["client"] == "threads")
            if fast < slow:
                problems.append(
                    f"{workload}: asyncio {fast:.0f} calls/s < 32 threads {slow:.0f} calls/s"
                )
    return problems


def section(rows: Sequence[dict[str, Any]], args: argparse.Namespace) -> str:
    def client(row: dict[str, Any]) -> str:
        if row["client"] == "async":
            return f"`boxjwt.aio` ({row['tasks']} tasks)"
        return f"`AsUserSession` ({THREADS} threads)"

    lines = [
        BEGIN,
        "",
        "## asyncio and threads",
        "",
        f"Measured with `{args.command}` ({platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}): `benchmarks/async_vs_threads.py`. "
        f"The emulator adds {args.latency:g} ms to every answer; each client runs in its own "
        "process, pacing off (the transports are measured, not Box's rate limits); "
        f"median of {args.repeats} runs. *Token requests* are counted by the emulator per run; "
        "*peak RSS* is the client process's.",
        "",
        "| workload | client | calls/s | token requests | peak RSS (MiB) |",
        "|---|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['workload']} | {client(row)} | {row['throughput']:,.0f} | "
            f"{row['token_requests']} | {row['max_rss_mib']:.0f} |"
        )
    lines += [
        "",
        "The calls are bound by CPU here, not by the 20 ms: the emulator and the client share "
        f"{os.cpu_count()} cores. One event loop then does more than 32 threads because "
        "`boxjwt.aio`'s session speaks HTTP/1.1 itself (h11 on asyncio's streams: about half "
        "the CPU per call of `requests`, a third of httpx's default transport); both make the "
        "one token request As-User needs. Peak RSS is the whole client process's, "
        "interpreter included. See {doc}`asyncio`.",
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_docs(rows: Sequence[dict[str, Any]], args: argparse.Namespace) -> None:
    page = PAGE.read_text(encoding="utf-8")
    block = section(rows, args)
    if BEGIN in page and END in page:
        head, _, rest = page.partition(BEGIN)
        _, _, tail = rest.partition(END)
        page = head + block.rstrip("\n") + tail
    else:
        page = page.rstrip("\n") + "\n\n" + block
    PAGE.write_text(page, encoding="utf-8")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="100 users x 10, 1 user x 1,000")
    parser.add_argument("--repeats", type=int, default=None, help="runs per cell (3; quick: 1)")
    parser.add_argument("--latency", type=float, default=20.0, help="ms added to every answer")
    parser.add_argument(
        "--tasks", default="32,100", help="comma-separated task counts of the asyncio client"
    )
    parser.add_argument("--check", action="store_true", help="fail on wrong counts (see above)")
    parser.add_argument(
        "--strict", action="store_true", help="also fail unless asyncio >= 32 threads (As-User)"
    )
    parser.add_argument("--docs", action="store_true", help="rewrite the docs section")
    parser.add_argument("--command", default="python benchmarks/async_vs_threads.py")
    parser.add_argument("--worker", choices=("async", "threads"), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--keyfile", help=argparse.SUPPRESS)
    parser.add_argument("--users-file", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=10, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if not args.worker:
        args.tasks = [int(t) for t in str(args.tasks).split(",")]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(args, pathlib.Path(tmp))
    if args.docs:
        write_docs(rows, args)
        print(f"wrote the asyncio section of {PAGE}")
    if args.check:
        problems = check(rows, args)
        for problem in problems:
            print(f"CHECK FAILED: {problem}", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
