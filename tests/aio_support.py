"""Helpers of the asyncio twin's tests: an authenticator on the emulator and the fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from authenticator_support import seeded_policy
from boxjwt import KeyFile
from boxjwt.aio import AsyncJWTAuthenticator
from boxjwt.testing import BoxEmulator, FakeClock

ME = "/2.0/users/me"


def fake_sleep(clock: FakeClock) -> Callable[[float], Awaitable[None]]:
    """An async sleeper that records the wait on ``clock`` and advances it (never sleeps)."""

    async def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        await asyncio.sleep(0)

    return sleep


def make_auth(
    keyfile: KeyFile, emu: BoxEmulator, clock: FakeClock, **kwargs: Any
) -> AsyncJWTAuthenticator:
    """An async authenticator on the emulator, the fake clock and its recording sleeper."""
    kwargs.setdefault("retry", seeded_policy())
    return AsyncJWTAuthenticator(
        keyfile, base_url=emu.base_url, clock=clock, sleep=fake_sleep(clock), **kwargs
    )
