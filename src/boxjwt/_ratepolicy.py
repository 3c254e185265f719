"""Rate classes, budgets and counters of boxjwt's rate limiter (see :mod:`boxjwt._ratelimit`).

Pure data and arithmetic: shared by the in-process :class:`~boxjwt.RateLimiter` and the
fleet-wide :class:`~boxjwt.stores.RedisRateLimiter` (whose Lua script does the same arithmetic).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

import attrs

from boxjwt.exceptions import ConfigurationError

__all__ = [
    "MAX_LIMITS_PER_CLASS",
    "RATE_CLASSES",
    "RateClass",
    "RateClassStats",
    "RateLimit",
    "RateLimiterStats",
    "RatePolicy",
    "rate_class_of",
]

RateClass = Literal["general", "upload", "search"]
"""The budget a request counts against: Box counts uploads and searches apart."""

RATE_CLASSES: Final[tuple[RateClass, ...]] = get_args(RateClass)

#: At most this many limits per class (the Redis script keeps one field per limit).
MAX_LIMITS_PER_CLASS: Final = 4

_UPLOAD = re.compile(
    r"(?:^|/)api/2\.0/files/(?:content|[0-9]+/content|upload_sessions(?:/.*)?"
    r"|[0-9]+/upload_sessions)/?$"
)
_SEARCH = re.compile(r"(?:^|/)2\.0/search/?$")


def rate_class_of(method: str, url: str) -> RateClass:
    """The budget a Box request counts against, from its method and URL (or path).

    ``upload``: the upload host's ``/api/2.0/files/content``, ``/api/2.0/files/{id}/content``
    and upload sessions (creating one, its parts, its commit); ``search``: ``/2.0/search``;
    everything else (downloads too) is ``general``. ``OPTIONS`` (the upload pre-check) is
    always ``general``. Query strings and a trailing slash are ignored.
    """
    if "/search" not in url and "/files/" not in url:
        return "general"  # the common case, without parsing
    path = urlsplit(url).path if "://" in url else url.partition("?")[0]
    if method.upper() != "OPTIONS" and _UPLOAD.search(path):
        return "upload"
    if _SEARCH.search(path):
        return "search"
    return "general"


# --------------------------------------------------------------------------- policy


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{attribute.name} must be a number > 0, not {value!r}")
    if not math.isfinite(value):
        raise ConfigurationError(f"{attribute.name} must be finite")


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigurationError(f"RatePolicy.{attribute.name} must be a number >= 0")


def _fraction(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigurationError(f"RatePolicy.{attribute.name} must be in (0, 1]")


def _burst(_inst: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError("RateLimit.burst must be an integer >= 1")


@attrs.frozen
class RateLimit:
    """At most ``requests`` per ``period`` seconds, evenly spaced; ``burst`` may go back to back.

    Paced this way, any window of ``period`` seconds holds at most
    ``floor(requests) + burst`` requests: keep that at or under Box's number.
    """

    requests: float = attrs.field(validator=_positive)
    period: float = attrs.field(default=60.0, validator=_positive)
    burst: int = attrs.field(default=1, validator=_burst)

    @property
    def interval(self) -> float:
        """Seconds between two requests at full rate."""
        return self.period / self.requests

    def scaled(self, share: float) -> RateLimit:
        """The same limit at ``share`` of its rate (burst kept, at least one)."""
        return RateLimit(self.requests * share, self.period, max(1, int(self.burst * share)))


def _limits(value: RateLimit | Sequence[RateLimit]) -> tuple[RateLimit, ...]:
    limits = (value,) if isinstance(value, RateLimit) else tuple(value)
    if not all(isinstance(limit, RateLimit) for limit in limits):
        raise ConfigurationError("rate limits must be boxjwt.RateLimit objects")
    if len(limits) > MAX_LIMITS_PER_CLASS:
        raise ConfigurationError(f"at most {MAX_LIMITS_PER_CLASS} RateLimits per class")
    return limits


def _class_limits(value: RateLimit | Sequence[RateLimit]) -> tuple[RateLimit, ...]:
    limits = _limits(value)
    if not limits:
        raise ConfigurationError("every rate class needs at least one RateLimit")
    return limits


@attrs.frozen(kw_only=True)
class RatePolicy:
    """Budgets and back-off rules. Immutable; share it freely.

    Box's documented limits are per user: 1,000 requests a minute, 240 uploads a minute,
    6 searches a second and 60 a minute, plus 12 searches a second per enterprise. The defaults
    pace a little under them (95 %, with a burst that keeps every window within Box's number):

    ======================  =====================================================
    ``general``             950 a minute, burst 20 (at most 970 in any minute)
    ``upload``              228 a minute, burst 6 (at most 234)
    ``search``              5.5 a second (at most 6 in any second) and 57 a minute, burst 2
    ``enterprise_search``   11 a second for the whole enterprise
    ======================  =====================================================

    Back-off: ``retry-after`` is honoured up to ``max_pause`` seconds; without one, pause number
    *n* of an episode waits ``min(backoff_max, backoff_base * 2**n) * U(1 - jitter, 1 + jitter)``.
    Adaptive rate: see the module documentation (``decrease``, ``min_factor``,
    ``quiet_period``, ``recovery_rate`` per second).
    """

    general: tuple[RateLimit, ...] = attrs.field(
        default=(RateLimit(950, 60.0, burst=20),), converter=_class_limits
    )
    upload: tuple[RateLimit, ...] = attrs.field(
        default=(RateLimit(228, 60.0, burst=6),), converter=_class_limits
    )
    search: tuple[RateLimit, ...] = attrs.field(
        default=(RateLimit(5.5, 1.0), RateLimit(57, 60.0, burst=2)), converter=_class_limits
    )
    enterprise_search: tuple[RateLimit, ...] = attrs.field(
        default=(RateLimit(11, 1.0),), converter=_limits
    )
    max_pause: float = attrs.field(default=60.0, validator=_non_negative)
    backoff_base: float = attrs.field(default=1.0, validator=_non_negative)
    backoff_max: float = attrs.field(default=30.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.5)
    decrease: float = attrs.field(default=0.7, validator=_fraction)
    min_factor: float = attrs.field(default=0.1, validator=_fraction)
    quiet_period: float = attrs.field(default=30.0, validator=_non_negative)
    recovery_rate: float = attrs.field(default=0.02, validator=_positive)

    @jitter.validator
    def _check_jitter(self, _attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
            raise ConfigurationError("RatePolicy.jitter must be in [0, 1)")

    def limits(self, rate_class: RateClass) -> tuple[RateLimit, ...]:
        """The per-subject limits of ``rate_class``."""
        limits: tuple[RateLimit, ...] = getattr(self, rate_class)
        return limits

    def enterprise_limits(self, rate_class: RateClass) -> tuple[RateLimit, ...]:
        """The per-enterprise limits of ``rate_class`` (only search has them)."""
        return self.enterprise_search if rate_class == "search" else ()

    def share(self, fraction: float) -> RatePolicy:
        """This policy at ``fraction`` of every budget, e.g. ``1/4`` for each of 4 processes."""
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise ConfigurationError("RatePolicy.share needs a number in (0, 1]")
        if not 0 < fraction <= 1:
            raise ConfigurationError("RatePolicy.share needs a number in (0, 1]")

        def scale(limits: tuple[RateLimit, ...]) -> tuple[RateLimit, ...]:
            return tuple(limit.scaled(fraction) for limit in limits)

        return attrs.evolve(
            self,
            general=scale(self.general),
            upload=scale(self.upload),
            search=scale(self.search),
            enterprise_search=scale(self.enterprise_search),
        )

    def backoff(self, index: int, rng: random.Random) -> float:
        """The jittered exponential pause number ``index`` (0 first) when Box gave no wait."""
        base = min(self.backoff_max, self.backoff_base * 2.0 ** min(max(index, 0), 62))
        return base * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter) if self.jitter else base

    def factor_at(self, base: float, last_429: float | None, now: float) -> float:
        """The adaptive rate factor at ``now``: ``base`` set at ``last_429``, then recovering."""
        if base >= 1.0 or last_429 is None:
            return 1.0
        recovering = max(0.0, now - last_429 - self.quiet_period)
        return min(1.0, base + self.recovery_rate * recovering)


@attrs.frozen
class RateClassStats:
    """Counters of one rate class since the limiter was made (this process only)."""

    requests: int = 0
    """Permits handed out."""
    paced: int = 0
    """Of those, how many had to wait."""
    total_wait: float = 0.0
    """Seconds waited, summed over all permits."""
    max_wait: float = 0.0
    """The longest single wait, in seconds."""
    throttled: int = 0
    """429 answers seen."""
    pauses: int = 0
    """Shared pauses started (one per episode, not one per thread)."""
    rate_decreases: int = 0
    """Times the adaptive rate was lowered."""


@attrs.frozen
class RateLimiterStats:
    """An immutable snapshot of a limiter's counters (:meth:`RateLimiter.snapshot`)."""

    enabled: bool
    backend: str
    """``"local"``, ``"redis"`` or ``"local-fallback"`` (Redis unreachable)."""
    classes: Mapping[RateClass, RateClassStats]
    rate_factors: Mapping[tuple[str, RateClass], float]
    """The adaptive rate (share of the budget) of every (subject, class) below 100 % now."""

    @property
    def requests(self) -> int:
        """Permits handed out, all classes."""
        return sum(stats.requests for stats in self.classes.values())

    @property
    def throttled(self) -> int:
        """429 answers seen, all classes."""
        return sum(stats.throttled for stats in self.classes.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON logs and metrics)."""
        return {
            "enabled": self.enabled,
            "backend": self.backend,
            "classes": {name: attrs.asdict(stats) for name, stats in self.classes.items()},
            "rate_factors": [
                {"subject": subject, "rate_class": cls, "factor": factor}
                for (subject, cls), factor in sorted(self.rate_factors.items())
            ],
        }


class _Counters:
    __slots__ = ("max_wait", "paced", "pauses", "rate_decreases", "requests", "throttled", "wait")

    def __init__(self) -> None:
        self.requests = self.paced = self.throttled = self.pauses = self.rate_decreases = 0
        self.wait = self.max_wait = 0.0

    def freeze(self) -> RateClassStats:
        return RateClassStats(
            self.requests,
            self.paced,
            self.wait,
            self.max_wait,
            self.throttled,
            self.pauses,
            self.rate_decreases,
        )
