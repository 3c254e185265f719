"""Shared pieces of the JWTAuthenticator tests: a module-wide emulator on a fake clock.

Each test module gets one started :class:`BoxEmulator` sharing one :class:`FakeClock` with the
authenticators under test (so expiry is exercised by advancing the clock, never by sleeping),
and one loaded key file (loading costs ~0.1 s). The autouse reset puts the emulator's knobs
back and empties its request log before every test.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest

import boxjwt
from boxjwt import JWTAuthenticator, KeyFile, RetryPolicy
from boxjwt.testing import BoxAnswers, BoxEmulator, EmulatedKeyFile, FakeClock

DEFAULT_EXPIRES_IN = 4100
SEED = 20240601


def seeded_policy(**kwargs: Any) -> RetryPolicy:
    """The retry policy under test, with a seeded jitter source (waits are reproducible)."""
    return RetryPolicy(rng=random.Random(SEED), **kwargs)


def expected_backoffs(n: int, **kwargs: Any) -> list[float]:
    """The first ``n`` backoff waits the seeded policy draws (same seed, same order)."""
    twin = seeded_policy(**kwargs)
    return [twin.backoff(i) for i in range(n)]


def make_auth(
    keyfile: KeyFile, emu: BoxEmulator, clock: FakeClock, **kwargs: Any
) -> JWTAuthenticator:
    """An authenticator on the emulator, the fake clock and its recording sleeper."""
    kwargs.setdefault("retry", seeded_policy())
    return JWTAuthenticator(
        keyfile, base_url=emu.base_url, clock=clock, sleep=clock.sleep, **kwargs
    )


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def emu(clock: FakeClock) -> Iterator[BoxEmulator]:
    with BoxEmulator(clock=clock, managed_users=3, inactive_users=0) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def ekf(emu: BoxEmulator) -> EmulatedKeyFile:
    return emu.make_keyfile()


@pytest.fixture(scope="module")
def keyfile(ekf: EmulatedKeyFile) -> KeyFile:
    return ekf.load()


@pytest.fixture(autouse=True)
def _reset_emulator(emu: BoxEmulator, clock: FakeClock) -> Iterator[None]:
    emu.faults.clear()
    emu.clock_offset = 0.0
    emu.token_expires_in = DEFAULT_EXPIRES_IN
    emu.latency = 0.0
    # These tests check that a request ID Box sends with a token error is kept: make the
    # emulator send one (Box's token endpoint, and the emulator by default, send none).
    emu.answers = BoxAnswers(oauth_error_request_id=True)
    emu.reset_log()
    clock.sleeps.clear()
    yield
    emu.faults.clear()


class Capture(logging.Handler):
    """Collects every log record, from every logger, at DEBUG."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        out = []
        for r in self.records:
            out.append(r.getMessage())
            out.append(repr(r.args))
            if r.exc_info and r.exc_info[1] is not None:
                out.append(str(r.exc_info[1]))
        return out


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


__all__ = [
    "DEFAULT_EXPIRES_IN",
    "Capture",
    "_reset_emulator",
    "boxjwt",
    "captured_logs",
    "clock",
    "ekf",
    "emu",
    "expected_backoffs",
    "keyfile",
    "make_auth",
    "seeded_policy",
]
