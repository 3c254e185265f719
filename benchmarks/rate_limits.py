"""Rate limits: boxjwt's pacing against boxjwt without it, a raw floor and the official SDKs.

    python benchmarks/rate_limits.py [--python-boxsdk3 PY] [--python-boxsdk10 PY]
        [--scale 10] [--minutes 2] [--quick] [--check] [--docs]

One :class:`boxjwt.testing.BoxEmulator` enforces Box's documented budgets (1,000 general calls
a minute per user) on a clock running ``--scale`` times faster than real time (at 10 a Box
minute lasts 6 seconds). Every environment's worker (``workers/rate_limits.py``) scales its
sleeps the same way, so a ``retry-after`` costs the same Box time to all of them. Scenarios:

- ``one_user``: 32 threads of one process working for one user;
- ``many_users``: 16 threads working round-robin for 200 users (each user far under budget);
- ``fleet``: 4 processes x 8 threads for one user (``boxjwt-redis``: one budget shared through
  Redis; the others pace, or not, per process).

For each: calls completed per Box second as a share of the one user's budget (one-user
scenarios), the 429s the emulator answered, calls that failed (gave up after retries), and the
longest single call (Box seconds, waits included). ``--check`` fails unless boxjwt's pacing
keeps 429s at or under 1 % of calls, with no call failed, and (full runs) at least 90 % of
the budget used in the one-user scenarios. ``--docs`` rewrites the "Rate limits" section of
docs/performance.md and docs/_static/rate-limits.svg.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from boxjwt.testing import BoxEmulator, RateLimits

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "workers" / "rate_limits.py"
PAGE = ROOT / "docs" / "performance.md"
CHART = ROOT / "docs" / "_static" / "rate-limits.svg"
BEGIN, END = "<!-- rate-limits:begin -->", "<!-- rate-limits:end -->"
BUDGET = 1000  # Box: general calls per user per minute

LABELS = {
    "boxjwt": "boxjwt (paced)",
    "boxjwt-redis": "boxjwt + RedisRateLimiter",
    "boxjwt-off": "boxjwt, pacing off (0.1)",
    "floor": "raw floor (retry-after loop)",
    "boxsdk10": "boxsdk 10.x",
    "boxsdk3": "boxsdk 3.x",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    processes: int
    threads: int
    users: int


SCENARIOS = (
    Scenario("one_user", "32 threads, one user", 1, 32, 1),
    Scenario("many_users", "200 users from 16 threads", 1, 16, 200),
    Scenario("fleet", "4 processes x 8 threads, one user", 4, 8, 1),
)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--python-boxsdk3")
    parser.add_argument("--python-boxsdk10")
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--minutes", type=float, default=2.0, help="Box minutes per run")
    parser.add_argument("--quick", action="store_true", help="boxjwt and the floor, short runs")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--docs", action="store_true")
    parser.add_argument("--command", default="python benchmarks/rate_limits.py")
    parser.add_argument(
        "--from-results", action="store_true", help="rewrite the docs from the last results"
    )
    return parser.parse_args(argv)


@contextmanager
def _redis() -> Iterator[int | None]:
    """A redis-server for the fleet's shared limiter (None, and no boxjwt-redis, without one)."""
    binary = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        print("no redis-server: the fleet runs without boxjwt-redis", file=sys.stderr)
        yield None
        return
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


def run_one(
    emu: BoxEmulator,
    scenario: Scenario,
    env: str,
    python: str,
    *,
    key_path: str,
    users: list[str],
    args: argparse.Namespace,
    redis_port: int | None,
) -> dict[str, Any]:
    """One environment in one scenario: its processes' reports and the emulator's counts."""
    emu.rate_limits = RateLimits(time_scale=args.scale)  # counts start afresh
    emu.reset_log()
    config = {
        "base_url": emu.base_url,
        "key_path": key_path,
        "users": users[: scenario.users],
        "threads": scenario.threads,
        "scale": args.scale,
        "box_seconds": 60.0 * args.minutes,
        "redis_port": redis_port,
    }
    procs = [
        subprocess.Popen(
            [python, str(WORKER), env, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(WORKER.parent),
        )
        for _ in range(scenario.processes)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            proc.kill()
            raise RuntimeError(f"{env} worker did not start: {line!r}")
    emu.reset_log()
    emu.rate_limits = RateLimits(time_scale=args.scale)
    start_at = time.time() + 0.2
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{start_at!r}\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"{env} worker failed (exit {proc.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    # steady state: what the emulator accepted in the last Box minute of the run (the first
    # minute of a sliding window also lets the unspent budget of the minute before through)
    accepted_times = [r.time for r in emu.records("GET", "/2.0/users/me", status=200)]
    end = max(accepted_times, default=0.0)
    box_minutes = 1.0
    accepted = sum(1 for t in accepted_times if (end - t) * args.scale < 60.0)
    calls = sum(r["ok"] + r["failed"] for r in reports)
    return {
        "scenario": scenario.name,
        "env": env,
        "calls": calls,
        "ok": sum(r["ok"] for r in reports),
        "failed": sum(r["failed"] for r in reports),
        "refused_429": emu.count("GET", "/2.0/users/me", status=429),
        "accepted_per_minute": accepted / box_minutes,
        "budget_share": accepted / box_minutes / BUDGET if scenario.users == 1 else None,
        "longest_wait": max(r["longest_wait"] for r in reports),
        "errors": [e for r in reports for e in r["errors"]][:3],
    }


def environments(args: argparse.Namespace) -> dict[str, str]:
    envs = {"boxjwt": sys.executable, "boxjwt-off": sys.executable, "floor": sys.executable}
    if not args.quick:
        if args.python_boxsdk10:
            envs["boxsdk10"] = str(pathlib.Path(args.python_boxsdk10).absolute())
        if args.python_boxsdk3:
            envs["boxsdk3"] = str(pathlib.Path(args.python_boxsdk3).absolute())
    return envs


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    results = ROOT / "benchmarks" / "results"
    if args.from_results:
        write_docs(json.loads((results / "rate_limits.json").read_text()), args)
        return 0
    if args.quick:
        args.minutes = min(args.minutes, 1.2)
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        _redis() as redis_port,
        BoxEmulator(managed_users=201) as emu,  # one of them inactive
    ):
        key_path = str(emu.make_keyfile(pathlib.Path(tmp) / "key.json").path)
        users = [u.id for u in emu.managed_users if u.status == "active"]
        for scenario in SCENARIOS:
            envs = environments(args)
            if scenario.name == "fleet" and redis_port is not None:
                envs = {"boxjwt-redis": sys.executable, **envs}
            for env, python in envs.items():
                row = run_one(
                    emu,
                    scenario,
                    env,
                    python,
                    key_path=key_path,
                    users=users,
                    args=args,
                    redis_port=redis_port,
                )
                rows.append(row)
                print(_line(row), flush=True)
    results.mkdir(exist_ok=True)
    name = "rate_limits_quick.json" if args.quick else "rate_limits.json"
    (results / name).write_text(json.dumps(rows, indent=2))
    if args.docs:
        write_docs(rows, args)
    problems = check(rows, share=not args.quick) if args.check else []
    for problem in problems:
        print(f"CHECK FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _line(row: dict[str, Any]) -> str:
    share = "" if row["budget_share"] is None else f" {row['budget_share']:6.1%} of budget"
    return (
        f"{row['scenario']:10} {row['env']:13} calls {row['calls']:6} failed {row['failed']:4} "
        f"429s {row['refused_429']:5}{share}  longest {row['longest_wait']:6.1f} s"
    )


def check(rows: Sequence[dict[str, Any]], *, share: bool = True) -> list[str]:
    """Issue 16's targets for boxjwt's pacing (one-user scenarios; the fleet through Redis);
    the share of the budget only for full runs (a quick run's minute is mostly ramp-up)."""
    problems = []
    for row in rows:
        paced = (row["scenario"], row["env"]) in {
            ("one_user", "boxjwt"),
            ("fleet", "boxjwt-redis"),
            ("many_users", "boxjwt"),
        }
        if not paced:
            continue
        where = f"{row['scenario']}/{row['env']}"
        if row["failed"]:
            problems.append(f"{where}: {row['failed']} calls failed")
        if row["refused_429"] > 0.01 * max(row["calls"], 1):
            problems.append(f"{where}: {row['refused_429']} 429s for {row['calls']} calls")
        if share and row["budget_share"] is not None and row["budget_share"] < 0.9:
            problems.append(f"{where}: only {row['budget_share']:.1%} of the budget used")
    return problems


# ------------------------------------------------------------------------------ docs


def svg(rows: Sequence[dict[str, Any]]) -> str:
    """Bars: calls accepted per Box minute as a share of one user's budget, per scenario."""
    bars = [r for r in rows if r["budget_share"] is not None]
    width, bar, gap, left, top = 720, 18, 6, 250, 40
    height = top + len(bars) * (bar + gap) + 40
    scale = (width - left - 80) / 1.2
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="10" y="20" font-size="14">Calls accepted per minute, share of one user\'s '
        f"budget (Box: {BUDGET:,}/min)</text>",
    ]
    x_budget = left + scale * 1.0
    out.append(
        f'<line x1="{x_budget:.1f}" y1="{top - 6}" x2="{x_budget:.1f}" y2="{height - 30}" '
        'stroke="#c00" stroke-dasharray="4 3"/>'
    )
    out.append(f'<text x="{x_budget + 4:.1f}" y="{height - 18}" fill="#c00">budget</text>')
    for i, row in enumerate(bars):
        y = top + i * (bar + gap)
        share = float(row["budget_share"])
        paced = row["env"] in ("boxjwt", "boxjwt-redis")
        colour = "#2a7" if paced else "#888"
        label = f"{row['scenario'].replace('_', ' ')}: {LABELS[row['env']]}"
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{label}</text>')
        out.append(
            f'<rect x="{left}" y="{y}" width="{scale * min(share, 1.2):.1f}" height="{bar}" '
            f'fill="{colour}"/>'
        )
        out.append(
            f'<text x="{left + scale * min(share, 1.2) + 4:.1f}" y="{y + 13}">{share:.0%}, '
            f"{row['refused_429']} 429s</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def section(rows: Sequence[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        BEGIN,
        "## Rate limits (issue 16)",
        "",
        f"Measured with `{args.command}`: the emulator enforces Box's budgets on a clock "
        f"{args.scale:g} times faster than real time ({args.minutes:g} Box minutes per run), "
        "and every environment's sleeps are scaled alike (a `retry-after: 50` costs 50 Box "
        "seconds to all of them). *429s* are the refusals the emulator answered; *failed* "
        "calls gave up after their retries; *accepted / min* counts the last Box minute of "
        "each run (the emulator's sliding window lets a cold start spend a whole minute's "
        "budget at once); *longest* is the longest single call in Box seconds, waits "
        "included.",
        "",
        "![calls accepted per minute as a share of the budget](_static/rate-limits.svg)",
        "",
        "| scenario | environment | calls | failed | 429s | accepted / min | share of budget "
        "| longest call (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    titles = {s.name: s.title for s in SCENARIOS}
    for row in rows:
        share = "—" if row["budget_share"] is None else f"{row['budget_share']:.1%}"
        lines.append(
            f"| {titles[row['scenario']]} | {LABELS[row['env']]} | {row['calls']:,} | "
            f"{row['failed']:,} | {row['refused_429']:,} | {row['accepted_per_minute']:,.0f} "
            f"| {share} | {row['longest_wait']:.1f} |"
        )
    lines += [
        "",
        "Pacing spends one user's budget evenly: no thread waits for a 429 to learn the limit, "
        "so the longest call is about the queue of 32 threads, not a `retry-after`. Without "
        "it every thread retries its own 429 and comes back together with the others. In the "
        "fleet, only a limiter shared through Redis keeps four processes within one budget.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_docs(rows: Sequence[dict[str, Any]], args: argparse.Namespace) -> None:
    CHART.write_text(svg(rows), encoding="utf-8")
    page = PAGE.read_text(encoding="utf-8")
    block = section(rows, args)
    if BEGIN in page and END in page:
        head, _, rest = page.partition(BEGIN)
        _, _, tail = rest.partition(END)
        page = head + block.rstrip("\n") + tail
    else:
        page = page.rstrip("\n") + "\n\n" + block
    PAGE.write_text(page, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
