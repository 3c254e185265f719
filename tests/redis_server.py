"""A real ``redis-server`` for tests: on a free loopback port, stopped and restarted at will.

Test modules declare their own fixture around :func:`serve`::

    @pytest.fixture(scope="module")
    def redis_server() -> Iterator[RedisServer]:
        yield from serve()

Without a ``redis-server`` binary (``$REDIS_SERVER`` or on ``PATH``) the tests are skipped
locally and fail in CI (``$CI`` set): the Redis acceptance tests must never be skipped there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = ["RedisServer", "find_redis_server", "free_port", "serve"]

_READY = b"Ready to accept connections"


def find_redis_server() -> str:
    """The redis-server binary; skips the test (fails it in CI) when there is none."""
    binary = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if binary:
        return binary
    message = (
        "redis-server is not installed (set $REDIS_SERVER or put it on PATH; "
        "Debian/Ubuntu: apt-get install redis-server)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{message}: the Redis tests must run in CI", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server --save "" --appendonly no`` subprocess on a fixed loopback port."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._drainer: threading.Thread | None = None
        self._dir = tempfile.mkdtemp(prefix="boxjwt-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> RedisServer:
        """Start the server and return once it accepts connections (read from its log)."""
        if self.running:
            return self
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "save": "",
            "appendonly": "no",
            "dir": self._dir,
            "loglevel": "notice",
            "daemonize": "no",
        }
        argv = [self.binary]
        for name, value in options.items():
            argv += [f"--{name}", value]
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert process.stdout is not None
        log = []
        for line in process.stdout:
            log.append(line)
            if _READY in line:
                break
        else:
            process.wait(timeout=10)
            output = b"".join(log).decode(errors="replace")
            raise RuntimeError(f"redis-server did not start on port {self.port}:\n{output}")
        # keep draining its log so that it never blocks writing to a full pipe
        self._drainer = threading.Thread(target=_drain, args=(process.stdout,), daemon=True)
        self._drainer.start()
        self.process = process
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it to exit."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a wedged server
                process.kill()
                process.wait(timeout=10)
        if self._drainer is not None:  # it closes the pipe once the server's end is gone
            self._drainer.join(timeout=10)
            self._drainer = None

    def restart(self) -> None:
        """Stop, then start again on the same port (empty: nothing is persisted)."""
        self.stop()
        self.start()

    def client(self, **options: Any) -> redis.Redis:
        """A client that fails fast (1 s timeouts, no retries) like the docs recommend."""
        settings: dict[str, Any] = {
            "socket_timeout": 1.0,
            "socket_connect_timeout": 1.0,
            "retry": Retry(NoBackoff(), 0),
        }
        settings.update(options)
        return redis.Redis(host="127.0.0.1", port=self.port, **settings)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


def _drain(stream: Any) -> None:
    with stream:  # closed at end of file: no ResourceWarning for an unclosed pipe
        for _ in stream:
            pass


def serve() -> Iterator[RedisServer]:
    """Fixture body: a running server, stopped and removed afterwards."""
    server = RedisServer(find_redis_server()).start()
    try:
        yield server
    finally:
        server.cleanup()
