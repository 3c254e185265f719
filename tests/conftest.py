"""Shared test configuration and fixtures.

Hypothesis profiles: ``ci`` (at least 1,000 examples per property) and ``dev`` (fewer, for quick
local runs), chosen by the ``HYPOTHESIS_PROFILE`` environment variable (``dev`` by default; the
nox ``tests-3.11`` session sets ``ci`` when ``$CI`` is set). Properties keep each example cheap.

Fixtures for every test module (a module that needs another kind defines its own, same name):

* ``clock``, ``emu``, ``ekf``, ``keyfile``, ``user``: a :class:`~boxjwt.testing.FakeClock`, a
  started :class:`~boxjwt.testing.BoxEmulator` on it, an emulated key file for it, that key file
  loaded, a managed user; fresh for every test. In a module marked
  ``pytestmark = pytest.mark.shared_emulator`` one emulator (3 active managed users), clock and
  key file serve all its tests instead (loading a key file costs ~0.1 s), and before every test
  the emulator is put back (faults, clock offset, token lifetime, latency, answers: token errors
  with a request ID, request log) and the clock's recorded sleeps are forgotten; the clock is
  not reset.
* ``captured_logs``: every log record of every logger, at DEBUG.
* ``foreign``: a :class:`~recording_server.RecordingServer` playing another host.
* ``keys``: the keys of :mod:`openssl_keys`, made once per session.
* ``redis_server``: a real ``redis-server``, one per module; ``client``: a client of it, on an
  empty database, for each test (the server is restarted first if a test stopped it).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from authenticator_support import DEFAULT_EXPIRES_IN, Capture
from boxjwt import KeyFile
from boxjwt.testing import BoxAnswers, BoxEmulator, EmulatedKeyFile, EmulatedUser, FakeClock
from recording_server import RecordingServer

if TYPE_CHECKING:
    import redis

    from openssl_keys import Keys
    from redis_server import RedisServer

settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# The CLI wraps its reports to the terminal's width (COLUMNS when set, as pytest-xdist's workers
# set it to 80); the tests read the reports at one width, whatever runs them.
os.environ["COLUMNS"] = "100"

# The boxjwt pytest plugin (box_emulator, box_keyfile fixtures), loaded here rather than through
# its entry point (pyproject passes "-p no:boxjwt") so that coverage sees boxjwt's imports.
pytest_plugins = ["boxjwt.testing.pytest_plugin"]

# tests/fidelity runs the emulator against the official Box SDK; only the nox tests sessions
# (which install boxsdk and set BOXJWT_FIDELITY=1) collect it.
collect_ignore = [] if os.environ.get("BOXJWT_FIDELITY") else ["fidelity"]

# --------------------------------------------------------------------------- the emulator


class _SharedEmulator:
    """One module's emulator, clock and (made on first use) key file."""

    def __init__(self, clock: FakeClock, emu: BoxEmulator) -> None:
        self.clock = clock
        self.emu = emu

    @functools.cached_property
    def ekf(self) -> EmulatedKeyFile:
        return self.emu.make_keyfile()

    @functools.cached_property
    def keyfile(self) -> KeyFile:
        return self.ekf.load()

    def reset(self) -> None:
        self.emu.faults.clear()
        self.emu.clock_offset = 0.0
        self.emu.token_expires_in = DEFAULT_EXPIRES_IN
        self.emu.latency = 0.0
        # These tests check that a request ID Box sends with a token error is kept: make the
        # emulator send one (Box's token endpoint, and the emulator by default, send none).
        self.emu.answers = BoxAnswers(oauth_error_request_id=True)
        self.emu.reset_log()
        self.clock.sleeps.clear()


def _shared(request: pytest.FixtureRequest) -> _SharedEmulator | None:
    if request.node.get_closest_marker("shared_emulator") is None:
        return None
    shared: _SharedEmulator = request.getfixturevalue("_shared_emulator")
    return shared


@pytest.fixture(scope="module")
def _shared_emulator() -> Iterator[_SharedEmulator]:
    clock = FakeClock()
    with BoxEmulator(clock=clock, managed_users=3, inactive_users=0) as emulator:
        yield _SharedEmulator(clock, emulator)


@pytest.fixture(autouse=True)
def _reset_shared_emulator(request: pytest.FixtureRequest) -> Iterator[None]:
    shared = _shared(request)
    if shared is not None:
        shared.reset()
    yield
    if shared is not None:
        shared.emu.faults.clear()


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FakeClock:
    shared = _shared(request)
    return shared.clock if shared is not None else FakeClock()


@pytest.fixture
def emu(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[BoxEmulator]:
    shared = _shared(request)
    if shared is not None:
        yield shared.emu
        return
    with BoxEmulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
def ekf(request: pytest.FixtureRequest, emu: BoxEmulator) -> EmulatedKeyFile:
    shared = _shared(request)
    return shared.ekf if shared is not None else emu.make_keyfile()


@pytest.fixture
def keyfile(request: pytest.FixtureRequest, ekf: EmulatedKeyFile) -> KeyFile:
    shared = _shared(request)
    return shared.keyfile if shared is not None else ekf.load()


@pytest.fixture
def user(emu: BoxEmulator) -> EmulatedUser:
    return emu.managed_users[0]


# --------------------------------------------------------------------------- other hosts, logs


@pytest.fixture
def foreign() -> Iterator[RecordingServer]:
    """Another origin (where Box credentials must never arrive, where Box may redirect)."""
    with RecordingServer() as server:
        yield server


@pytest.fixture
def captured_logs() -> Iterator[Capture]:
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


# --------------------------------------------------------------------------- keys, redis


@pytest.fixture(scope="session")
def keys() -> Keys:
    from openssl_keys import openssl_keys

    return openssl_keys()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    from redis_server import serve  # imports redis: only for the tests that use it

    yield from serve()


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    redis_server.start()  # in case a test stopped it
    conn = redis_server.client()
    conn.flushall()
    yield conn
    conn.close()
