"""A settable clock for tests: nothing in boxjwt's tests ever sleeps for real."""

from __future__ import annotations

import threading

__all__ = ["FakeClock"]

DEFAULT_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class FakeClock:
    """A thread-safe callable clock returning Unix seconds as a float.

    Pass it wherever a ``clock`` callable is accepted (the emulator, the authenticator)::

        clock = FakeClock()
        with BoxEmulator(clock=clock) as emu:
            clock.advance(3600)  # tokens issued before are now past their expiry

    ``sleep`` is a drop-in for :func:`time.sleep` that advances the clock instead of waiting,
    and records every requested delay in :attr:`sleeps`.
    """

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []
        """Every delay passed to :meth:`sleep`, in order."""

    def __call__(self) -> float:
        """The current fake time."""
        with self._lock:
            return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self():.3f})"

    @property
    def now(self) -> float:
        """The current fake time (the same as calling the clock)."""
        return self()

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, with a negative value); return the new time."""
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, timestamp: float) -> None:
        """Jump to an absolute Unix time."""
        with self._lock:
            self._now = float(timestamp)

    def sleep(self, seconds: float) -> None:
        """Record ``seconds`` and advance the clock by it, without waiting."""
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)
