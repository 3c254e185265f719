"""boxjwt's benchmark harness: boxjwt, boxsdk 3.x, boxsdk 10.x and a raw floor, side by side.

One :class:`boxjwt.testing.BoxEmulator` runs in this process (0 ms and 20 ms of added latency,
its ``latency`` knob); each environment's worker (``benchmarks/workers/*.py``) runs as a
subprocess with that environment's Python. Workers time their own work; this process reads
token requests, 401s and accepted connections from the emulator at each phase boundary.

    nox -s bench                      # full run; writes docs/performance.md and the chart
    nox -s bench_quick                # --quick: small sizes, asserts counts (CI)
    python benchmarks/run.py --python-boxsdk3 PY --python-boxsdk10 PY [--quick] [--docs]

Only counts are ever asserted (``--check``, implied by ``--quick``), never timings.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import pathlib
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import IO, Any
from xml.etree import ElementTree

import floor_targets
import report

from boxjwt.testing import BoxEmulator

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
WORKERS = HERE / "workers"
SCRIPTS = {
    "floor": "floor.py",
    "boxjwt": "boxjwt_env.py",
    "boxsdk3": "boxsdk3.py",
    "boxsdk10": "boxsdk10.py",
}
DEFAULT_TOKEN_EXPIRES_IN = 4100


@dataclass(frozen=True)
class Profile:
    """Sizes and repeat counts of one run."""

    latencies: tuple[float, ...] = (0.0, 0.020)
    repeats: int = 5  # cold start, assertion, cached call
    heavy_repeats: int = 3  # the concurrency scenarios
    memory_repeats: int = 1
    cold_iterations: int = 10
    assertion_iterations: int = 300
    call_iterations: int = 300
    call_iterations_latency: int = 100  # with added latency every call waits anyway
    threads: int = 32
    # Tokens issued in the 32-thread scenario live this long (then the worker sleeps past
    # expiry). It must exceed boxsdk 10.x's first 401 backoff (1-3 s) plus its cold pass, or
    # its retried requests meet expired tokens again.
    expires_in: int = 10
    users: int = 1000
    user_threads: int = 8
    memory_users: int = 10_000
    max_seconds: float = 10.0
    # issue 18's paired rows (boxjwt's worker only)
    target_repeats: int = 3
    first_call_iterations: int = 10
    first_token_iterations: int = 60
    key_load_iterations: int = 10
    overhead_iterations: int = 600
    pass2_users: int = 200
    pass2_rounds: int = 5


FULL = Profile()
QUICK = Profile(
    latencies=(0.0,),
    repeats=1,
    heavy_repeats=1,
    cold_iterations=3,
    assertion_iterations=20,
    call_iterations=20,
    call_iterations_latency=10,
    expires_in=6,
    users=100,
    memory_users=200,
    max_seconds=2.0,
    target_repeats=1,
    first_call_iterations=2,
    first_token_iterations=5,
    key_load_iterations=2,
    overhead_iterations=60,
    pass2_users=50,
    pass2_rounds=1,
)


@dataclass(frozen=True)
class Job:
    """One scenario at one latency, repeated."""

    scenario: str
    latency: float
    repeats: int
    params: dict[str, Any]
    envs: tuple[str, ...] | None = None  # None: every environment
    connect_latency: float = 0.0


def plan(profile: Profile) -> list[Job]:
    """Every scenario of the run, in order."""
    jobs: list[Job] = []
    first = profile.latencies[0]
    common = {"max_seconds": profile.max_seconds}
    for latency in profile.latencies:
        calls = profile.call_iterations if latency == 0 else profile.call_iterations_latency
        jobs.append(
            Job(
                "cold_start",
                latency,
                profile.repeats,
                {**common, "iterations": profile.cold_iterations},
            )
        )
        if latency == first:
            jobs.append(
                Job(
                    "assertion",
                    latency,
                    profile.repeats,
                    {**common, "iterations": profile.assertion_iterations},
                )
            )
        jobs.append(Job("cached_call", latency, profile.repeats, {**common, "iterations": calls}))
        jobs.append(
            Job(
                "threads",
                latency,
                profile.heavy_repeats,
                {"threads": profile.threads, "expires_in": profile.expires_in},
            )
        )
        users = {"users_count": profile.users, "threads": profile.user_threads}
        jobs.append(Job("users_user_token", latency, profile.heavy_repeats, users))
        jobs.append(Job("users_as_user", latency, profile.heavy_repeats, users))
        if latency == first:
            jobs.append(
                Job(
                    "memory",
                    latency,
                    profile.memory_repeats,
                    {"users_count": profile.memory_users, "threads": profile.user_threads},
                )
            )
    return jobs + target_jobs(profile)


def target_jobs(profile: Profile) -> list[Job]:
    """Issue 18's paired rows: run by boxjwt's worker, the floor interleaved in it."""
    ours = ("boxjwt",)
    repeats = profile.target_repeats
    limit = {"max_seconds": profile.max_seconds}
    return [
        Job(
            "first_call",
            floor_targets.FIRST_CALL_LATENCY,
            repeats,
            {**limit, "iterations": profile.first_call_iterations},
            ours,
            floor_targets.CONNECT_LATENCY,
        ),
        Job(
            "first_token",
            0.0,
            repeats,
            {**limit, "iterations": profile.first_token_iterations},
            ours,
        ),
        Job("key_load", 0.0, repeats, {**limit, "iterations": profile.key_load_iterations}, ours),
        Job(
            "cached_overhead",
            0.0,
            repeats,
            {**limit, "iterations": profile.overhead_iterations},
            ours,
        ),
        Job(
            "as_user_overhead",
            0.0,
            repeats,
            {**limit, "iterations": profile.overhead_iterations, "users_count": 50},
            ours,
        ),
        Job(
            "users_pass2",
            0.0,
            repeats,
            {
                "users_count": profile.pass2_users,
                "threads": profile.user_threads,
                "rounds": profile.pass2_rounds,
            },
            ours,
        ),
    ]


# ------------------------------------------------------------------------------ workers


def phase_counters(emu: BoxEmulator, connections_before: int) -> dict[str, Any]:
    """What the emulator saw since the last reset: token requests (per subject), API calls,
    401s, and TCP connections accepted."""
    records = emu.request_log
    tokens = [r for r in records if r.method == "POST" and r.endpoint == "/oauth2/token"]
    api = [r for r in records if not r.endpoint.startswith("/oauth2/")]
    per_subject = collections.Counter((r.subject_type, r.subject_id) for r in tokens)
    return {
        "token_requests": len(tokens),
        "token_failures": sum(1 for r in tokens if r.status != 200),
        "subjects": len(per_subject),
        "max_per_subject": max(per_subject.values(), default=0),
        "api_calls": len(api),
        "api_401": sum(1 for r in api if r.status == 401),
        "api_errors": sum(1 for r in api if r.status is None or r.status >= 400),
        "sockets": emu.connections_accepted - connections_before,
    }


def run_worker(
    emu: BoxEmulator,
    *,
    python: str,
    env: str,
    job: Job,
    params: dict[str, Any],
    workdir: pathlib.Path,
    timeout: float,
) -> dict[str, Any]:
    """Run one worker to completion, snapshotting the emulator at each of its checkpoints."""
    emu.latency = job.latency
    emu.connect_latency = job.connect_latency
    emu.token_expires_in = (
        int(params["expires_in"]) if job.scenario == "threads" else DEFAULT_TOKEN_EXPIRES_IN
    )
    params_path = workdir / f"params-{env}-{job.scenario}.json"
    params_path.write_text(json.dumps(params))
    emu.reset_log()
    connections = emu.connections_accepted
    stderr_path = workdir / f"stderr-{env}-{job.scenario}.txt"
    command = [python, str(WORKERS / SCRIPTS[env]), "--params", str(params_path)]
    command += ["--scenario", job.scenario]
    phases: dict[str, Any] = {}
    result: dict[str, Any] | None = None
    started = time.monotonic()
    with stderr_path.open("w") as stderr, _popen(command, stderr, timeout) as proc:
        assert proc.stdout is not None
        assert proc.stdin is not None
        for line in proc.stdout:
            message = json.loads(line)
            if "checkpoint" in message:
                phases[message["checkpoint"]] = phase_counters(emu, connections)
                emu.reset_log()
                connections = emu.connections_accepted
                proc.stdin.write("go\n")
                proc.stdin.flush()
            elif "result" in message:
                result = message["result"]
        returncode = proc.wait()
    elapsed = time.monotonic() - started
    ok = returncode == 0 and result is not None
    errors = _task_errors(result or {})
    return {
        "ok": ok,
        "returncode": returncode,
        "elapsed": elapsed,
        "result": result or {},
        "phases": phases,
        "task_errors": errors,
        "stderr": stderr_path.read_text()[-4000:] if not ok or errors else "",
    }


@contextlib.contextmanager
def _popen(command: list[str], stderr: IO[str], timeout: float) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=WORKERS,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONWARNINGS": "ignore"},
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        yield proc
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _error_samples(result: dict[str, Any]) -> list[str]:
    samples = []
    for phase, value in result.items():
        if isinstance(value, dict) and value.get("errors"):
            samples += [f"  {phase}: {e.splitlines()[0][:200]}" for e in value["error_sample"]]
    return samples


def _task_errors(result: dict[str, Any]) -> int:
    total = 0
    for value in result.values():
        if isinstance(value, dict) and isinstance(value.get("errors"), int):
            total += value["errors"]
    return total


# ------------------------------------------------------------------------------ checks


def check_counts(  # noqa: PLR0912 - one branch per benchmark scenario's count target
    runs: dict[str, dict[str, list[dict[str, Any]]]], profile: Profile, envs: Sequence[str]
) -> list[str]:
    """The count targets (never timings). boxjwt and the floor must be exact; every
    environment must have finished without a failed task."""
    problems: list[str] = []

    def expect(env: str, what: str, have: float, want: float) -> None:
        if have != want:
            problems.append(f"{env}: {what}: {have:g} token requests, expected {want:g}")

    for key, by_env in runs.items():
        for env, env_runs in by_env.items():
            for run in env_runs:
                if not run["ok"]:
                    problems.append(f"{env} {key}: worker failed (exit {run['returncode']})")
                elif run["task_errors"]:
                    problems.append(f"{env} {key}: {run['task_errors']} failed tasks")
    for env in ("boxjwt", "floor"):
        if env not in envs:
            continue
        for key, by_env in runs.items():
            scenario = key.split("@")[0]
            for run in by_env.get(env, []):
                if not run["ok"]:
                    continue
                phases = run["phases"]
                if scenario == "cached_call":
                    expect(env, f"{key} warm calls", phases["run"]["token_requests"], 0)
                elif scenario == "assertion":
                    expect(env, f"{key} minting", phases["run"]["token_requests"], 0)
                elif scenario == "cold_start":
                    per = 2 if env == "boxjwt" else 1  # boxjwt's worker also runs the floor
                    want = per * (run["result"]["iterations"] + 1)  # + the warm-up
                    expect(env, f"{key} cold starts", phases["run"]["token_requests"], want)
                elif scenario == "threads":
                    for phase in ("cold", "expired"):
                        counters = phases[phase]
                        expect(env, f"{key} {phase}", counters["token_requests"], 1)
                elif scenario == "users_user_token":
                    first, second = phases["pass1"], phases["pass2"]
                    expect(env, f"{key} pass 1", first["token_requests"], profile.users)
                    if first["max_per_subject"] != 1 or first["subjects"] != profile.users:
                        problems.append(f"{env}: {key} pass 1: not exactly 1 token per user")
                    expect(env, f"{key} pass 2", second["token_requests"], 0)
                elif scenario == "users_as_user":
                    expect(env, f"{key} As-User", phases["pass1"]["token_requests"], 1)
                    sockets = phases["pass1"]["sockets"]
                    if sockets > profile.user_threads + 2:
                        problems.append(f"{env}: {key}: {sockets} sockets for 8 threads")
                elif scenario == "memory":
                    expect(
                        env,
                        f"{key} memory",
                        phases["populate"]["token_requests"],
                        profile.memory_users,
                    )
    return problems


# ------------------------------------------------------------------------------ machine


def machine() -> dict[str, Any]:
    """What this ran on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        nproc = str(os.cpu_count())
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    return {
        "nproc": nproc,
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "loadavg_start": _loadavg(),
    }


def _loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


# ------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, 1 repeat; implies --check"
    )
    parser.add_argument("--check", action="store_true", help="fail unless the counts are exact")
    parser.add_argument("--docs", action="store_true", help="write docs/performance.md + chart")
    parser.add_argument("--python-boxsdk3", help="Python of the venv with boxsdk 3.x")
    parser.add_argument("--python-boxsdk10", help="Python of the venv with boxsdk 10.x")
    parser.add_argument(
        "--envs",
        default=",".join(report.ENV_ORDER),
        help="comma-separated subset of floor,boxjwt,boxsdk3,boxsdk10",
    )
    parser.add_argument("--scenarios", help="comma-separated subset of the scenarios")
    parser.add_argument("--latencies", help="comma-separated added latencies in ms (e.g. 0,20)")
    parser.add_argument("--repeats", type=int, help="override every repeat count")
    parser.add_argument("--users", type=int, help="users in the 1,000-user scenarios")
    parser.add_argument("--memory-users", type=int, help="users in the memory scenario")
    parser.add_argument(
        "--out", type=pathlib.Path, help="results JSON (default benchmarks/results/)"
    )
    parser.add_argument("--command", help="the command line to print in the docs page")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per worker run")
    parser.add_argument(
        "--from-results",
        type=pathlib.Path,
        help="render (and check) a saved results JSON instead of measuring",
    )
    return parser.parse_args(argv)


def _profile(args: argparse.Namespace) -> Profile:
    profile = QUICK if args.quick else FULL
    if args.latencies:
        profile = replace(
            profile, latencies=tuple(float(v) / 1000 for v in args.latencies.split(","))
        )
    if args.repeats:
        profile = replace(
            profile, repeats=args.repeats, heavy_repeats=args.repeats, memory_repeats=args.repeats
        )
    if args.users:
        profile = replace(profile, users=args.users)
    if args.memory_users:
        profile = replace(profile, memory_users=args.memory_users)
    return profile


def _pythons(args: argparse.Namespace, envs: Sequence[str]) -> dict[str, str]:
    pythons = {"floor": sys.executable, "boxjwt": sys.executable}
    for env in ("boxsdk3", "boxsdk10"):
        given = getattr(args, f"python_{env}")
        default = ROOT / ".nox" / f"bench-{env}" / "bin" / "python"
        python = given or (str(default) if default.exists() else None)
        if env in envs and python is None:
            raise SystemExit(
                f"no Python for {env}: pass --python-{env} (a venv with "
                f"{'boxsdk[jwt]>=3.9,<4' if env == 'boxsdk3' else 'boxsdk[jwt]>=10,<11'}) "
                f"or run `nox -s bench`, which makes {default.parent.parent}"
            )
        if python:
            pythons[env] = python
    return pythons


def measure(args: argparse.Namespace, profile: Profile, envs: list[str]) -> dict[str, Any]:
    """Run every job against one emulator; return the raw results document."""
    pythons = _pythons(args, envs)
    jobs = plan(profile)
    if args.scenarios:
        wanted = set(args.scenarios.split(","))
        jobs = [j for j in jobs if j.scenario in wanted]
    info = machine()
    print(f"boxjwt benchmarks: {info['cpu']}, nproc={info['nproc']}, Python {info['python']}")
    print(f"load average at start: {info['loadavg_start']}", flush=True)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="boxjwt-bench-") as tmp, BoxEmulator() as emu:
        workdir = pathlib.Path(tmp)
        keyfile = emu.make_keyfile(workdir / "key.json")  # Box's format: 3DES-encrypted PKCS#8
        count = max(profile.users, profile.memory_users)
        users = [emu.add_user(f"Bench User {n}").id for n in range(count)]
        base = {"base_url": emu.base_url, "key_path": str(keyfile.path), "users": users}
        for job in jobs:
            key = f"{job.scenario}@{job.latency:g}"
            by_env = runs.setdefault(key, {})
            for repeat in range(job.repeats):
                order = envs[repeat % len(envs) :] + envs[: repeat % len(envs)]
                for env in order:
                    if job.envs is not None and env not in job.envs:
                        continue
                    run = run_worker(
                        emu,
                        python=pythons[env],
                        env=env,
                        job=job,
                        params={**base, **job.params},
                        workdir=workdir,
                        timeout=args.timeout,
                    )
                    by_env.setdefault(env, []).append(run)
                    status = "ok" if run["ok"] and not run["task_errors"] else "FAILED"
                    print(
                        f"[{time.monotonic() - started:7.1f}s] {key:<24} {env:<9} "
                        f"repeat {repeat + 1}/{job.repeats} {status} ({run['elapsed']:.1f}s)",
                        flush=True,
                    )
                    if status == "FAILED":
                        print(run["stderr"], *_error_samples(run["result"]), file=sys.stderr)
    info["loadavg_end"] = _loadavg()
    info["duration_s"] = round(time.monotonic() - started, 1)
    versions: dict[str, dict[str, str]] = {
        env: next(
            (r["result"]["versions"] for rs in runs.values() for r in rs.get(env, []) if r["ok"]),
            {},
        )
        for env in envs
    }
    return {
        "machine": info,
        "profile": asdict(profile),
        "envs": envs,
        "versions": versions,
        "runs": runs,
    }


_MARKED = re.compile(r"<!-- ([a-z-]+):begin -->.*?<!-- \1:end -->", re.DOTALL)


def _marked_sections(page: str) -> list[str]:
    """The sections other benchmarks wrote between ``<!-- name:begin -->`` and
    ``<!-- name:end -->`` (rate limits, asyncio): kept when this page is rewritten."""
    return [match.group(0) for match in _MARKED.finditer(page)]


def render(results: dict[str, Any], *, page: pathlib.Path, chart: pathlib.Path, docs: bool) -> str:
    """Write the page and the chart; return the table."""
    profile = results["profile"]
    sizes = {"users": int(profile["users"]), "memory_users": int(profile["memory_users"])}
    table_rows = report.rows(results["runs"], tuple(profile["latencies"]), sizes)
    table = report.markdown_table(table_rows)
    svg = report.svg_chart(table_rows, "boxjwt vs the official Box SDKs")
    users = int(profile.get("pass2_users", FULL.pass2_users))
    close_table, close_rows = floor_targets.table(results["runs"], users)
    close_svg = floor_targets.svg(close_rows, users)
    ElementTree.fromstring(close_svg)  # noqa: S314 - our own output: well-formed, or fail here
    ElementTree.fromstring(svg)  # noqa: S314 - our own output: well-formed, or fail here
    chart.parent.mkdir(parents=True, exist_ok=True)
    chart.write_text(svg)
    close_chart = chart.with_name("floor-targets.svg")
    close_chart.write_text(close_svg)
    kept = _marked_sections(page.read_text() if page.exists() else "")
    page.write_text(
        report.performance_page(
            table=table,
            table_rows=table_rows,
            machine=results["machine"],
            versions=results["versions"],
            command=results["command"],
            profile=profile,
            chart_path="_static/benchmarks.svg" if docs else chart.name,
            close=(
                close_table,
                floor_targets.summary(close_rows, users),
                "_static/floor-targets.svg" if docs else close_chart.name,
            ),
        ).rstrip("\n")
        + "".join(f"\n\n{section}" for section in kept)
        + "\n"
    )
    print(f"wrote {page} and {chart}")
    return table + "\n" + close_table


def main(argv: Sequence[str] | None = None) -> int:
    """Measure (or load ``--from-results``), render, check the counts."""
    args = parse_args(argv)
    if args.from_results:
        results = json.loads(args.from_results.read_text())
        profile = Profile(**{**asdict(FULL), **results["profile"]})
        profile = replace(profile, latencies=tuple(profile.latencies))
        envs = list(results.get("envs") or report.ENV_ORDER)
        out = args.from_results
    else:
        profile = _profile(args)
        envs = [e.strip() for e in args.envs.split(",") if e.strip()]
        unknown = set(envs) - set(SCRIPTS)
        if unknown:
            raise SystemExit(f"unknown environments: {', '.join(sorted(unknown))}")
        results = measure(args, profile, envs)
        results["command"] = args.command or shlex.join(
            ["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]
        )
        out = args.out or HERE / "results" / ("quick.json" if args.quick else "latest.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1, default=str))
        print(f"raw results: {out}")

    # The page and the chart are always rendered (so a quick run exercises that code too);
    # only --docs puts them into docs/.
    if args.docs:
        page = ROOT / "docs" / "performance.md"
        chart = ROOT / "docs" / "_static" / "benchmarks.svg"
    else:
        page, chart = out.with_suffix(".md"), out.with_suffix(".svg")
    print()
    print(render(results, page=page, chart=chart, docs=args.docs))

    problems = check_counts(results["runs"], profile, envs)
    problems += floor_targets.check(results["runs"], profile.pass2_users)
    if problems:
        print("count checks FAILED:", *problems, sep="\n  ", file=sys.stderr)
        return 1 if args.check or args.quick else 0
    print("count checks: exact (boxjwt and the floor); every environment completed every task")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
