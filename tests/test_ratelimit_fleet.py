"""4 processes x 8 threads for one user through RedisRateLimiter (issue 16 acceptance).

Each process is ``tests/ratelimit_worker.py``; the emulator (in this process) enforces Box's
budgets on a scaled clock and counts what it accepted and refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from boxjwt.testing import BoxEmulator, RateLimits
from redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

WORKER = str(Path(__file__).with_name("ratelimit_worker.py"))
PROCESSES, THREADS = 4, 8
SCALE = 10.0  # a Box minute lasts 6 real seconds


def run_fleet(
    emu: BoxEmulator, redis_server: RedisServer, tmp_path: Path, *, stop_redis_after: float | None
) -> list[dict[str, Any]]:
    keyfile = emu.make_keyfile(tmp_path / "key.json")
    config = {
        "base_url": emu.base_url,
        "keyfile": str(keyfile.path),
        "user": emu.managed_users[0].id,
        "redis_port": redis_server.port,
        "scale": SCALE,
        "box_seconds": 60.0,
        "threads": THREADS,
        "share": 1 / PROCESSES,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    for proc in procs:  # every process has imported, read its key and got its token
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    start_at = time.time() + 0.2
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{start_at!r}\n")
        proc.stdin.flush()
    if stop_redis_after is not None:
        time.sleep(max(0.0, start_at + stop_redis_after / SCALE - time.time()))
        redis_server.stop()
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def calls(results: list[dict[str, Any]]) -> int:
    return sum(sum(r["statuses"].values()) for r in results)


def test_a_fleet_stays_within_one_budget(redis_server: RedisServer, tmp_path: Path) -> None:
    redis_server.start()
    redis_server.client().flushall()
    with BoxEmulator(rate_limits=RateLimits(time_scale=SCALE)) as emu:
        results = run_fleet(emu, redis_server, tmp_path, stop_redis_after=None)
        user = emu.managed_users[0].id
        refused = emu.rate_limited(user)
        accepted = sorted(r.time for r in emu.records("GET", status=200, acting_user_id=user))
    total = calls(results)
    assert [r["error_count"] for r in results] == [0] * PROCESSES
    assert all(set(r["statuses"]) == {"200"} for r in results)  # every call succeeded
    assert refused <= 0.01 * total
    assert all(r["snapshot"]["backend"] == "redis" for r in results)
    assert all(r["warnings"] == [] for r in results)
    # one budget for the fleet: at most Box's 1,000 in any Box minute, and most of it used
    busiest = max(
        sum(1 for t in accepted[i:] if (t - start) * SCALE < 60.0)
        for i, start in enumerate(accepted)
    )
    assert 900 <= busiest <= 1000


def test_redis_stopped_mid_run_every_process_falls_back_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.start()
    redis_server.client().flushall()
    try:
        with BoxEmulator(rate_limits=RateLimits(time_scale=SCALE)) as emu:
            results = run_fleet(emu, redis_server, tmp_path, stop_redis_after=20.0)
            refused = emu.rate_limited(emu.managed_users[0].id)
    finally:
        redis_server.start()
    total = calls(results)
    assert [r["error_count"] for r in results] == [0] * PROCESSES
    assert all(set(r["statuses"]) == {"200"} for r in results)  # every call succeeded
    for result in results:
        assert len(result["warnings"]) == 1  # each process warned once...
        assert result["warnings"][0].startswith("RateLimiterFallbackWarning")
        assert result["snapshot"]["backend"] == "local-fallback"  # ...and paces on its own
    assert refused <= 0.01 * total
