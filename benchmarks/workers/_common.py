"""What every benchmark worker shares: the parent protocol, timers, thread drivers, memory.

A worker is run by ``benchmarks/run.py`` with its environment's Python::

    python workers/<env>.py --params PARAMS.json --scenario NAME

``PARAMS.json`` holds the emulator's URLs, the key file path, the user IDs and the scenario's
sizes. The worker writes JSON lines on stdout: ``{"checkpoint": NAME}`` when a phase ends (it
then waits for one line on stdin, while the parent reads the emulator's counters), and finally
``{"result": {...}}``. Nothing else may go to stdout.

This module imports nothing beyond the standard library, so every environment can use it.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

Scenario = Callable[["Context"], dict[str, Any]]


@dataclass
class Context:
    """The parameters of one run and the channel back to the parent."""

    params: dict[str, Any]
    scenario: str
    phases: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """The emulator's base URL (API, OAuth and upload host at once)."""
        return str(self.params["base_url"])

    @property
    def key_path(self) -> str:
        """The key.json written by the parent (Box's format, encrypted private key)."""
        return str(self.params["key_path"])

    def users(self, count: int | None = None) -> list[str]:
        """The first ``count`` user IDs of the emulated enterprise (all of them by default)."""
        users = [str(u) for u in self.params["users"]]
        return users if count is None else users[:count]

    def get(self, name: str, default: Any = None) -> Any:
        """A scenario parameter."""
        return self.params.get(name, default)

    def checkpoint(self, name: str) -> None:
        """End a phase: tell the parent, and wait until it has read the emulator's counters."""
        self.phases.append(name)
        _emit({"checkpoint": name})
        line = sys.stdin.readline()
        if not line:
            raise SystemExit("the parent went away")


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def load_key_material(path: str) -> tuple[dict[str, Any], bytes, bytes | None]:
    """The key.json as a dict, its private key PEM and passphrase as bytes (for the floor and
    for SDK constructors that take the key material separately)."""
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    auth = config["boxAppSettings"]["appAuth"]
    passphrase = auth.get("passphrase") or None
    return config, auth["privateKey"].encode("ascii"), passphrase.encode() if passphrase else None


def timed_loop(
    operation: Callable[[], object], *, iterations: int, max_seconds: float, minimum: int = 3
) -> list[float]:
    """Run ``operation`` once untimed (warm-up), then up to ``iterations`` times (at least
    ``minimum``, stopping early once ``max_seconds`` have passed); return each call's duration
    in seconds."""
    operation()
    samples: list[float] = []
    started = time.perf_counter()
    for index in range(iterations):
        t0 = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - t0)
        if index + 1 >= minimum and time.perf_counter() - started > max_seconds:
            break
    return samples


def paired_loop(
    first: Callable[[], object],
    second: Callable[[], object],
    *,
    iterations: int,
    max_seconds: float,
    minimum: int = 3,
    block: int = 1,
) -> tuple[list[float], list[float]]:
    """Alternate ``first`` and ``second`` in blocks of ``block`` calls (A B B A A B ...), so
    both see the same machine load, after one untimed warm-up call of each; return the
    durations of each. Use blocks when the two use different connections, so that switching
    between them does not slow every call."""
    first()
    second()
    a: list[float] = []
    b: list[float] = []
    started = time.perf_counter()
    rounds = max(1, iterations // block)
    for index in range(rounds):
        order = ((first, a), (second, b)) if index % 2 == 0 else ((second, b), (first, a))
        for operation, samples in order:
            for _ in range(block):
                t0 = time.perf_counter()
                operation()
                samples.append(time.perf_counter() - t0)
        if len(a) >= minimum and time.perf_counter() - started > max_seconds:
            break
    return a, b


def interleaved(
    operations: dict[str, Callable[[], object]],
    *,
    iterations: int,
    max_seconds: float,
    block: int = 25,
    minimum: int = 3,
) -> dict[str, list[float]]:
    """Run every operation in turn, ``block`` calls at a time (A B C, then C B A, ...), so all
    see the same machine load, after ``block`` untimed warm-up calls of each; return each
    operation's durations in seconds."""
    names = list(operations)
    for name in names:
        for _ in range(block):
            operations[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    started = time.perf_counter()
    perf = time.perf_counter
    for index in range(max(1, iterations // block)):
        for name in names if index % 2 == 0 else names[::-1]:
            operation, bucket = operations[name], samples[name]
            for _ in range(block):
                t0 = perf()
                operation()
                bucket.append(perf() - t0)
        if len(samples[names[0]]) >= minimum and perf() - started > max_seconds:
            break
    return samples


def summary(samples: Sequence[float]) -> dict[str, Any]:
    """Median, spread and count of timing samples (seconds)."""
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
    }


def run_concurrently(threads: int, operation: Callable[[int], object]) -> dict[str, Any]:
    """Start ``threads`` threads that each call ``operation(index)`` at the same instant (a
    barrier releases them together); return the wall time and the failures."""
    barrier = threading.Barrier(threads + 1)
    errors: list[str] = []
    lock = threading.Lock()

    def body(index: int) -> None:
        barrier.wait()
        try:
            operation(index)
        except Exception as exc:
            with lock:
                errors.append(_describe(exc))

    workers = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    t0 = time.perf_counter()
    for worker in workers:
        worker.join()
    return {"wall": time.perf_counter() - t0, "errors": len(errors), "error_sample": errors[:3]}


def run_pool(
    threads: int, items: Iterable[str], operation: Callable[[str], object]
) -> dict[str, Any]:
    """Run ``operation(item)`` for every item on a pool of ``threads`` threads; return the
    wall time and the failures."""
    errors: list[str] = []
    lock = threading.Lock()

    def body(item: str) -> None:
        try:
            operation(item)
        except Exception as exc:
            with lock:
                errors.append(_describe(exc))

    items = list(items)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        # Start the pool's threads before the clock does.
        list(pool.map(lambda _: None, range(threads)))
        t0 = time.perf_counter()
        list(pool.map(body, items))
        wall = time.perf_counter() - t0
    return {"wall": wall, "errors": len(errors), "error_sample": errors[:3]}


def traced_memory(populate: Callable[[], object]) -> dict[str, Any]:
    """Bytes still allocated after ``populate()`` (traced by :mod:`tracemalloc`, after a full
    garbage collection), i.e. what the caches built by ``populate`` keep alive."""
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    keep = populate()
    wall = time.perf_counter() - t0
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()
    del keep
    return {"bytes": retained, "wall": wall}


def check(response_status: int, expected: int = 200) -> None:
    """Fail the task unless the API answered ``expected``."""
    if response_status != expected:
        raise RuntimeError(f"unexpected HTTP status {response_status}")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def versions(*distributions: str) -> dict[str, str]:
    """Installed versions of the given distributions (``"-"`` when missing)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in distributions:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "-"
    return out


def main(
    env: str,
    scenarios: dict[str, Scenario],
    distributions: Sequence[str],
    prepare: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Parse the command line, run one scenario, print its result line. ``prepare(params)``
    runs first (e.g. to point an SDK's global configuration at the emulator)."""
    parser = argparse.ArgumentParser(description=f"boxjwt benchmark worker: {env}")
    parser.add_argument("--params", required=True)
    parser.add_argument("--scenario", required=True, choices=sorted(scenarios))
    args = parser.parse_args()
    with open(args.params, encoding="utf-8") as handle:
        params = json.load(handle)
    context = Context(params=params, scenario=args.scenario)
    try:
        if prepare is not None:
            prepare(params)
        result = scenarios[args.scenario](context)
    except Exception:
        traceback.print_exc()
        raise SystemExit(1) from None
    result["env"] = env
    result["versions"] = versions(*distributions)
    _emit({"result": result})
