"""Shared pieces of the JWTAuthenticator tests: authenticators on the emulator and fake clock.

The fixtures (``clock``, ``emu``, ``ekf``, ``keyfile``, ``captured_logs``; one emulator per module
with ``pytestmark = pytest.mark.shared_emulator``) are in tests/conftest.py. The authenticators
made here share the test's :class:`FakeClock` (so expiry is exercised by advancing the clock,
never by sleeping).
"""

from __future__ import annotations

import logging
import random
from typing import Any

import boxjwt
from boxjwt import JWTAuthenticator, KeyFile, RetryPolicy
from boxjwt.testing import BoxEmulator, FakeClock

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


__all__ = [
    "DEFAULT_EXPIRES_IN",
    "Capture",
    "boxjwt",
    "expected_backoffs",
    "make_auth",
    "seeded_policy",
]
