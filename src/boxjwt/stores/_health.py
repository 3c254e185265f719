"""Whether Redis answers: the fall-back-to-local state shared by the Redis store and limiter.

One rule for both: the first failure warns once (a :class:`~boxjwt.BoxJWTWarning` subclass and
a log line), the process then works locally, and one caller per ``retry_interval`` probes Redis
again; the first success logs that Redis is back.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable

from boxjwt.exceptions import BoxJWTWarning


class RedisHealth:
    """The degraded flag, the probe schedule and the once-per-outage warning.

    ``what`` names the shared thing ("the shared token store (Redis)"), ``meanwhile`` says
    what the process does while Redis is away; both end up in the warning.
    """

    def __init__(
        self,
        *,
        what: str,
        meanwhile: str,
        warning: type[BoxJWTWarning],
        retry_interval: float,
        clock: Callable[[], float],
        log: logging.Logger,
    ) -> None:
        self.what = what
        self.meanwhile = meanwhile
        self.warning = warning
        self.retry_interval = retry_interval
        self._clock = clock
        self._log = log
        self._lock = threading.Lock()
        self.degraded = False
        self._retry_at = 0.0

    def use_redis(self) -> bool:
        """False while degraded, except for one caller per ``retry_interval`` (the probe)."""
        with self._lock:
            if not self.degraded:
                return True
            now = self._clock()
            if now < self._retry_at:
                return False
            self._retry_at = now + self.retry_interval
            return True

    def failed(self, exc: Exception, operation: str, *, stacklevel: int = 4) -> None:
        """Redis failed during ``operation``: degrade, and warn if this starts an outage.

        ``stacklevel`` counts from this method: the default points at the caller of the
        store or limiter method that called it.
        """
        with self._lock:
            self._retry_at = self._clock() + self.retry_interval
            first = not self.degraded
            self.degraded = True
        if not first:
            self._log.debug("Redis still unavailable (%s during %s)", type(exc).__name__, operation)
            return
        message = (
            f"{self.what} is unavailable ({type(exc).__name__} during {operation}); "
            f"{self.meanwhile} until it is back (retrying every {self.retry_interval:g} s)"
        )
        self._log.warning("%s: %s", message, exc)
        warnings.warn(message, self.warning, stacklevel=stacklevel)

    def recovered(self) -> None:
        """Redis answered: leave the degraded state (and say so once)."""
        with self._lock:
            if not self.degraded:
                return
            self.degraded = False
        self._log.warning("%s is back; using it again", self.what)
