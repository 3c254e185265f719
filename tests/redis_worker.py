"""A worker process for the Redis acceptance tests: ``python tests/redis_worker.py``.

A fresh interpreter (no pytest imported: it starts faster than a multiprocessing 'spawn' child).
The parent writes one JSON line per command, ``{"command": ..., "kwargs": {...}}``, to its stdin
and reads JSON lines ``["ok", result]``, ``["error", text]``, ``["ready", null]`` and
``["exchanging", null]`` from its stdout. A worker is configured per test (emulator URL, key
file, Redis port, store options) and then asked for tokens from many threads at once. Token
values never leave it: workers answer with SHA-256 digests of them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any, TextIO

import redis
import requests
from redis.backoff import NoBackoff
from redis.retry import Retry

from boxjwt import AsUserSession, JWTAuthenticator, KeyFile, RateLimiter
from boxjwt.exceptions import TokenStoreFallbackWarning
from boxjwt.stores import RedisTokenStore


def digest(value: str) -> str:
    """What workers report instead of a token value."""
    return hashlib.sha256(value.encode()).hexdigest()


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class CountingRedis(redis.Redis):
    """A real client counting the commands it sends, by name (``EVALSHA`` included)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.commands: Counter[str] = Counter()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.commands[str(args[0]).upper()] += 1
        return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


class _StallingSession(requests.Session):
    """Tells the parent that a token exchange started, then never finishes it (to be killed)."""

    def __init__(self, notify: Callable[[], None]) -> None:
        super().__init__()
        self._notify = notify

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # post() calls it too
        self._notify()
        threading.Event().wait()  # until SIGKILL
        raise AssertionError("unreachable")  # pragma: no cover


class Channel:
    """JSON lines to the parent, one writer at a time."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, kind: str, payload: Any = None) -> None:
        line = json.dumps([kind, payload])
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class Worker:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.auth: JWTAuthenticator | None = None
        self.store: RedisTokenStore | None = None
        self.fallback_warnings = 0
        self.log = _Counter()
        logging.getLogger("boxjwt.stores.redis").addHandler(self.log)
        logging.getLogger("boxjwt.stores.redis").setLevel(logging.WARNING)
        warnings.simplefilter("always")
        warnings.showwarning = self._count_warning

    def _count_warning(  # noqa: PLR0917 - the signature of warnings.showwarning
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, TokenStoreFallbackWarning):
            self.fallback_warnings += 1

    def configure(
        self,
        *,
        base_url: str,
        key_path: str,
        redis_port: int,
        store: dict[str, Any],
        stall_exchanges: bool = False,
    ) -> int:
        if self.auth is not None:
            self.auth.close()
        client = CountingRedis(
            host="127.0.0.1",
            port=redis_port,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        )
        self.store = RedisTokenStore(client, **store)
        session = (
            _StallingSession(lambda: self.channel.send("exchanging", self.lock_ttls()))
            if stall_exchanges
            else None
        )
        self.auth = JWTAuthenticator(
            KeyFile.from_file(key_path), base_url=base_url, token_store=self.store, session=session
        )
        self.fallback_warnings = 0
        self.log.messages.clear()
        return os.getpid()

    def lock_ttls(self) -> dict[str, int]:
        """Milliseconds left on each refresh lock in Redis right now."""
        assert self.store is not None
        client = self.store.client
        return {
            key.decode(): int(client.pttl(key)) for key in client.scan_iter(match="boxjwt:lock:*")
        }

    def tokens(self, *, users: list[str], threads: int) -> list[str]:
        """Token digests for ``users`` (in order), fetched by ``threads`` threads at once.

        Thread ``i`` takes ``users[i::threads]``; all threads start together (a barrier).
        """
        auth = self.auth
        assert auth is not None
        results: list[str] = [""] * len(users)
        errors: list[str] = []
        barrier = threading.Barrier(threads)

        def run(offset: int) -> None:
            try:
                barrier.wait()
                for i in range(offset, len(users), threads):
                    results[i] = digest(auth.user_token(users[i]).value.reveal())
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        if errors:
            raise RuntimeError("; ".join(sorted(set(errors))))
        return results

    def api_calls(self, *, user: str, threads: int, calls: int) -> dict[str, Any]:
        """``calls`` ``GET /2.0/users/me`` per thread with ``user``'s token, ``threads`` threads
        at once (one session each, no pacing): the statuses seen and the acting user IDs."""
        auth = self.auth
        assert auth is not None
        statuses: Counter[int] = Counter()
        acting: set[str] = set()
        errors: list[str] = []
        barrier = threading.Barrier(threads)
        mutex = threading.Lock()

        def run() -> None:
            limiter = RateLimiter.disabled()
            try:
                with AsUserSession(auth, user, mode="user_token", rate_limiter=limiter) as box:
                    barrier.wait()
                    for _ in range(calls):
                        response = box.get("/2.0/users/me")
                        with mutex:
                            statuses[response.status_code] += 1
                            acting.add(response.json()["id"])
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        pool = [threading.Thread(target=run) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        if errors:
            raise RuntimeError("; ".join(sorted(set(errors))))
        return {"statuses": dict(statuses), "acting": sorted(acting)}

    def redis_commands(self) -> dict[str, int]:
        """The Redis commands sent since the last call (by name), then counting afresh."""
        assert self.store is not None
        client = self.store.client
        assert isinstance(client, CountingRedis)
        counts = dict(client.commands)
        client.commands.clear()
        return counts

    def status(self) -> dict[str, Any]:
        assert self.store is not None
        return {
            "degraded": self.store.degraded,
            "warnings": self.fallback_warnings,
            "log": list(self.log.messages),
        }


def main() -> None:
    """The worker's main loop: commands from stdin until EOF or ``exit``."""
    channel = Channel(sys.stdout)
    sys.stdout = sys.stderr  # nothing else may write to the protocol stream
    worker = Worker(channel)
    channel.send("ready")
    for line in sys.stdin:
        request = json.loads(line)
        command, kwargs = request["command"], request.get("kwargs", {})
        if command == "exit":
            channel.send("ok")
            return
        try:
            result = getattr(worker, command)(**kwargs)
        except Exception as exc:
            channel.send("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        else:
            channel.send("ok", result)


if __name__ == "__main__":
    main()
