"""Issue 7 acceptance: real worker processes sharing tokens through a real redis-server.

Four worker processes (fresh interpreters started once per module; see redis_worker.py) run
JWTAuthenticators with a RedisTokenStore against one BoxEmulator in this process. Only counts are
asserted: token requests seen by the emulator, token digests, warnings, Redis keys.
"""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet

import redis_worker
from boxjwt.testing import BoxEmulator
from redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

N_WORKERS = 4
WORKER = str(Path(redis_worker.__file__).resolve())
REPLY_TIMEOUT = 120.0


class Workers:
    """Long-lived worker processes (``python redis_worker.py``) driven by JSON lines."""

    def __init__(self, count: int) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.replies: list[queue.Queue[Any]] = []
        self.ready: list[bool] = []
        for _ in range(count):
            self._spawn()  # they start up while the test's other fixtures are made

    def _spawn(self, index: int | None = None) -> None:
        proc = subprocess.Popen(
            [sys.executable, WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        replies: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=_read_lines, args=(proc, replies), daemon=True).start()
        if index is None:
            self.procs.append(proc)
            self.replies.append(replies)
            self.ready.append(False)
        else:
            self.procs[index], self.replies[index] = proc, replies
            self.ready[index] = False

    def __len__(self) -> int:
        return len(self.procs)

    def send(self, index: int, command: str, **kwargs: Any) -> None:
        if not self.ready[index]:
            self.expect(index, "ready")
            self.ready[index] = True
        stdin = self.procs[index].stdin
        assert stdin is not None
        stdin.write(json.dumps({"command": command, "kwargs": kwargs}) + "\n")
        stdin.flush()

    def expect(self, index: int, kind: str = "ok") -> Any:
        try:
            got, payload = self.replies[index].get(timeout=REPLY_TIMEOUT)
        except queue.Empty:
            pytest.fail(f"worker {index} did not answer within {REPLY_TIMEOUT:.0f} s")
        if got == "error":
            pytest.fail(f"worker {index} failed: {payload}")
        assert got == kind, (got, kind)
        return payload

    def call_all(
        self, command: str, per_worker: list[dict[str, Any]] | None = None, **kwargs: Any
    ) -> list[Any]:
        """Send ``command`` to every worker at once, then collect the answers in order."""
        arguments = per_worker if per_worker is not None else [kwargs] * len(self)
        for i, args in enumerate(arguments):
            self.send(i, command, **args)
        return [self.expect(i) for i in range(len(arguments))]

    def kill(self, index: int) -> None:
        """SIGKILL a worker, then start a fresh one in its place (configure it before use)."""
        proc = self.procs[index]
        proc.kill()
        assert proc.wait(30) == -signal.SIGKILL
        self._close_stdin(proc)
        self._spawn(index)

    @staticmethod
    def _close_stdin(proc: subprocess.Popen[str]) -> None:
        """EOF for the worker (its stdout is closed by its reader thread at end of file)."""
        with contextlib.suppress(OSError, ValueError):  # a dead worker: broken pipe on flush
            assert proc.stdin is not None
            proc.stdin.close()

    def close(self) -> None:
        for proc in self.procs:
            self._close_stdin(proc)  # the worker's loop ends
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a wedged worker
                proc.kill()
                proc.wait(10)


def _read_lines(proc: subprocess.Popen[str], replies: queue.Queue[Any]) -> None:
    assert proc.stdout is not None
    with proc.stdout:  # closed at end of file: no ResourceWarning for an unclosed pipe
        for line in proc.stdout:
            replies.put(json.loads(line))
    replies.put(("error", f"the worker exited (status {proc.wait()})"))


@pytest.fixture(scope="module")
def workers(redis_server: RedisServer) -> Iterator[Workers]:
    pool = Workers(N_WORKERS)
    yield pool
    pool.close()


@pytest.fixture
def emulator() -> Iterator[BoxEmulator]:
    with BoxEmulator() as emu:
        yield emu


@pytest.fixture
def key_path(emulator: BoxEmulator, tmp_path: Path) -> str:
    ekf = emulator.make_keyfile(path=tmp_path / "key.json")
    assert ekf.path is not None
    return str(ekf.path)


def configure(
    workers: Workers,
    emulator: BoxEmulator,
    key_path: str,
    redis_server: RedisServer,
    *,
    indexes: range | None = None,
    stall: int | None = None,
    **store: Any,
) -> None:
    indexes = range(len(workers)) if indexes is None else indexes
    for i in indexes:
        workers.send(
            i,
            "configure",
            base_url=emulator.base_url,
            key_path=key_path,
            redis_port=redis_server.port,
            store=store,
            stall_exchanges=(i == stall),
        )
    for i in indexes:
        workers.expect(i)


def key_client_id(key_path: str) -> str:
    client_id: str = json.loads(Path(key_path).read_text())["boxAppSettings"]["clientID"]
    return client_id


def user_ids(emulator: BoxEmulator, count: int) -> list[str]:
    return [emulator.add_user(f"Worker User {n}").id for n in range(count)]


def assert_every_key_expires(conn: redis.Redis) -> list[bytes]:
    keys = sorted(conn.scan_iter())
    for key in keys:
        assert conn.pttl(key) > 0, f"{key!r} has no expiry"
    return keys


# ---------------------------------------------------------------------------- the five criteria


def test_cold_start_same_subject_one_exchange(
    workers: Workers,
    emulator: BoxEmulator,
    key_path: str,
    redis_server: RedisServer,
    client: redis.Redis,
) -> None:
    configure(workers, emulator, key_path, redis_server)
    [user] = user_ids(emulator, 1)
    results = workers.call_all("tokens", users=[user] * 8, threads=8)
    digests = {d for per_worker in results for d in per_worker}
    assert len(digests) == 1
    assert sum(len(r) for r in results) == 32
    assert emulator.token_requests() == 1
    assert len(assert_every_key_expires(client)) == 1


def test_200_users_across_4_processes(
    workers: Workers,
    emulator: BoxEmulator,
    key_path: str,
    redis_server: RedisServer,
    client: redis.Redis,
) -> None:
    configure(workers, emulator, key_path, redis_server)
    users = user_ids(emulator, 200)
    # every worker asks for every user, each starting at a different point: real contention
    orders = [users[k * 50 :] + users[: k * 50] for k in range(len(workers))]
    per_worker = [{"users": order, "threads": 8} for order in orders]
    first = workers.call_all("tokens", per_worker)
    by_user = [dict(zip(order, got, strict=True)) for order, got in zip(orders, first, strict=True)]
    assert all(mapping == by_user[0] for mapping in by_user)
    assert len(set(by_user[0].values())) == 200
    assert emulator.token_requests() == 200
    assert all(emulator.token_requests(subject_type="user", subject_id=u) == 1 for u in users)

    second = workers.call_all("tokens", per_worker)
    assert second == first
    assert emulator.token_requests() == 200
    assert len(assert_every_key_expires(client)) == 200


def test_killed_lock_holder_delays_the_others_at_most_the_lock_expiry(
    workers: Workers,
    emulator: BoxEmulator,
    key_path: str,
    redis_server: RedisServer,
    client: redis.Redis,
) -> None:
    # a wait far longer than the lock expiry: success through a timeout would mean 3 exchanges
    configure(workers, emulator, key_path, redis_server, stall=0, lock_timeout=2, wait_timeout=60)
    [user] = user_ids(emulator, 1)
    workers.send(0, "tokens", users=[user], threads=1)
    # worker 0 holds the lock, mid-exchange; it reports the lock's TTL as the exchange starts
    lock_ttls = workers.expect(0, "exchanging")
    assert list(lock_ttls) == [f"boxjwt:lock:{key_client_id(key_path)}:user:{user}"]
    assert 0 < lock_ttls.popitem()[1] <= 2000
    workers.kill(0)

    others = range(1, len(workers))
    for i in others:
        workers.send(i, "tokens", users=[user] * 8, threads=8)
    results = [workers.expect(i) for i in others]
    assert len({d for r in results for d in r}) == 1
    assert emulator.token_requests() == 1  # the killed worker's request never reached Box
    assert list(client.scan_iter(match="boxjwt:lock:*")) == []
    assert_every_key_expires(client)


def test_redis_outage_falls_back_and_recovers(
    workers: Workers,
    emulator: BoxEmulator,
    key_path: str,
    redis_server: RedisServer,
    client: redis.Redis,
) -> None:
    # without the near cache every call reaches Redis (with it: the next test)
    configure(workers, emulator, key_path, redis_server, retry_interval=0, near_cache=False)
    users = user_ids(emulator, 20)
    before, after = users[:10], users[10:]
    n = len(workers)

    workers.call_all("tokens", users=before, threads=4)
    assert emulator.token_requests() == 10

    redis_server.stop()
    workers.call_all("tokens", users=before, threads=4)  # every call still succeeds
    assert emulator.token_requests() == 10 + 10 * n  # each process caches on its own now
    workers.call_all("tokens", users=before, threads=4)
    assert emulator.token_requests() == 10 + 10 * n  # ... and its local cache works
    for status in workers.call_all("status"):
        assert status["degraded"] is True
        assert status["warnings"] == 1
        assert len([m for m in status["log"] if "unavailable" in m]) == 1

    redis_server.start()  # same port, empty
    conn = redis_server.client()
    workers.call_all("tokens", users=before, threads=4)
    assert emulator.token_requests() == 10 + 10 * n  # local tokens moved into Redis, no exchange
    assert len(list(conn.scan_iter(match="boxjwt:token:*"))) == 10
    workers.call_all("tokens", users=after, threads=4)
    assert emulator.token_requests() == 20 + 10 * n  # shared again: one exchange per new user
    for status in workers.call_all("status"):
        assert status["degraded"] is False
        assert status["warnings"] == 1
        assert any("is back" in m for m in status["log"])
    assert len(assert_every_key_expires(conn)) == 20
    conn.close()


def test_encrypted_store_holds_no_plaintext(
    workers: Workers,
    emulator: BoxEmulator,
    key_path: str,
    redis_server: RedisServer,
    client: redis.Redis,
) -> None:
    key = Fernet.generate_key()
    configure(workers, emulator, key_path, redis_server, encryption_key=key.decode())
    users = user_ids(emulator, 5)
    results = workers.call_all("tokens", users=users, threads=5)
    assert all(r == results[0] for r in results)
    assert emulator.token_requests() == 5

    records = [client.get(k) for k in assert_every_key_expires(client)]
    assert len(records) == 5
    stored = set()
    for raw in records:
        assert raw is not None
        record = json.loads(Fernet(key).decrypt(raw))
        value = record["value"]
        assert value.encode() not in raw
        assert record["subject_id"].encode() not in raw
        stored.add(redis_worker.digest(value))
    assert stored == set(results[0])


# ---------------------------------------------------------------------------- issue 16: near cache

ME = "/2.0/users/me"


def test_redis_outage_with_the_near_cache(
    workers: Workers,
    emulator: BoxEmulator,
    key_path: str,
    redis_server: RedisServer,
    client: redis.Redis,
) -> None:
    """Near-cached tokens outlive an outage without an exchange; only new subjects fall back."""
    configure(workers, emulator, key_path, redis_server, retry_interval=0)
    users = user_ids(emulator, 20)
    before, after = users[:10], users[10:]
    n = len(workers)
    first = workers.call_all("tokens", users=before, threads=4)
    workers.call_all("tokens", users=before, threads=4)  # every process has read every record
    assert emulator.token_requests() == 10

    redis_server.stop()
    assert workers.call_all("tokens", users=before, threads=4) == first  # from the near caches
    assert emulator.token_requests() == 10
    for status in workers.call_all("status"):
        assert status["degraded"] is False  # never needed Redis: nothing to warn about
        assert status["warnings"] == 0
    workers.call_all("tokens", users=after, threads=4)  # new users: Redis down, local tokens
    assert emulator.token_requests() == 10 + 10 * n
    for status in workers.call_all("status"):
        assert status["degraded"] is True
        assert status["warnings"] == 1

    redis_server.start()  # same port, empty
    conn = redis_server.client()
    workers.call_all("tokens", users=after, threads=4)  # local tokens moved into Redis
    workers.call_all("tokens", users=before, threads=4)  # still near-cached
    assert emulator.token_requests() == 10 + 10 * n
    for status in workers.call_all("status"):
        assert status["degraded"] is False
    assert len(assert_every_key_expires(conn)) == 10
    conn.close()


def test_near_cache_steady_state_and_a_401_costs_one_exchange_fleet_wide(
    workers: Workers,
    emulator: BoxEmulator,
    key_path: str,
    redis_server: RedisServer,
    client: redis.Redis,
) -> None:
    """Issue 16 acceptance: no Redis round trip per cached call in any process; a 401 in one
    process leads to exactly one new token exchange for the whole fleet."""
    configure(workers, emulator, key_path, redis_server)
    [user] = user_ids(emulator, 1)
    ok = {"statuses": {"200": 1}, "acting": [user]}
    assert workers.call_all("api_calls", user=user, threads=1, calls=1) == [ok] * len(workers)
    workers.call_all("api_calls", user=user, threads=1, calls=1)  # every process has read it
    assert emulator.token_requests() == 1
    workers.call_all("redis_commands")

    steady = workers.call_all("api_calls", user=user, threads=4, calls=25)
    assert steady == [{"statuses": {"200": 100}, "acting": [user]}] * len(workers)
    assert workers.call_all("redis_commands") == [{}] * len(workers)  # 400 calls, no Redis
    assert emulator.token_requests() == 1

    emulator.revoke_all_tokens()  # Box stops accepting the token every process holds
    workers.send(0, "api_calls", user=user, threads=1, calls=1)
    assert workers.expect(0) == ok  # a 401, one exchange, the resend
    assert emulator.token_requests() == 2
    others = range(1, len(workers))
    for i in others:  # each meets its own 401, drops its copy, finds the new token in Redis
        workers.send(i, "api_calls", user=user, threads=4, calls=5)
    for i in others:
        assert workers.expect(i) == {"statuses": {"200": 20}, "acting": [user]}
    assert emulator.token_requests() == 2
    assert len(workers) <= emulator.count("GET", ME, status=401) <= 1 + 4 * len(others)

    emulator.revoke_all_tokens()  # every process at once, 8 threads each
    results = workers.call_all("api_calls", user=user, threads=8, calls=3)
    assert results == [{"statuses": {"200": 24}, "acting": [user]}] * len(workers)
    assert emulator.token_requests() == 3

    workers.call_all("api_calls", user=user, threads=1, calls=1)
    workers.call_all("redis_commands")
    workers.call_all("api_calls", user=user, threads=4, calls=10)
    assert workers.call_all("redis_commands") == [{}] * len(workers)  # steady again
    assert emulator.token_requests() == 3
