"""A rate limiter shared through Redis: one budget per Box user for a whole fleet.

Install with the extra ``boxjwt[redis]``::

    limiter = RedisRateLimiter(redis.Redis.from_url(..., socket_timeout=1.0))
    s = boxjwt.AsUserSession(auth, user_id="12345", rate_limiter=limiter)

Every reservation is **one** atomic Lua call (``EVALSHA``, loading the script on ``NOSCRIPT``)
doing the same GCRA arithmetic as :class:`boxjwt.RateLimiter`; a 429 is a second script that
pauses the (subject, class) for every process and adapts its rate. Keys (each one expires:
every write sets ``PEXPIRE`` to the end of the schedule, pause or rate recovery it holds, plus
a second):

``<prefix>:rate:<class>:<subject>``
    a hash: ``t1``..``t4`` (one theoretical arrival time per limit), ``pu`` (pause until),
    ``ps``/``pg`` (start and length of the latest pause), ``fb``/``l4`` (adaptive rate factor and
    the last 429), ``ep`` (when the latest pause was decided), ``st`` (429s in this episode).
``<prefix>:rate-enterprise:<class>:<enterprise>``
    the per-enterprise limits (search).

**Clock.** By default every time in Redis is Redis's own (``TIME`` inside the script): the
processes of a fleet run on machines whose clocks differ, and a schedule compared across
machines must use one clock. The delays handed back are relative, and each process sleeps them
on its own monotonic clock. Pass ``clock=`` (tests, with a ``FakeClock``) to use that clock for
both instead.

**Pauses across processes.** The process that receives a 429 pauses its own waiting threads at
once; other processes learn of the pause from the reply to their next reservation (it carries
the latest pause), and their threads waiting for slots re-check on waking.

**Redis unavailable.** Any ``redis.RedisError`` switches to a process-local
:class:`~boxjwt.RateLimiter` (``local_fallback``, same policy by default; for N processes pass
``RateLimiter(policy.share(1 / N))``), with one
:class:`~boxjwt.exceptions.RateLimiterFallbackWarning` and one log warning per outage. Redis
is tried again every ``retry_interval`` seconds and used as soon as it answers.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any

try:
    import redis
except ImportError as exc:
    raise ImportError(
        "boxjwt.stores.RedisRateLimiter needs the redis client library: pip install 'boxjwt[redis]'"
    ) from exc

from boxjwt._ratelimit import (
    RateLimiter,
    RatePermit,
    _check_class,
    _check_subject,
    _clean_retry_after,
    _log_throttle,
    _Track,
)
from boxjwt._ratepolicy import (
    RATE_CLASSES,
    RateClass,
    RateClassStats,
    RateLimit,
    RateLimiterStats,
    RatePolicy,
)
from boxjwt.exceptions import ConfigurationError, RateLimiterFallbackWarning
from boxjwt.stores._health import RedisHealth

__all__ = ["RedisRateLimiter"]

_log = logging.getLogger(__name__)

_PRELUDE = """
local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function fmt(x) return string.format('%.17g', x) end
local function factor_at(fb, l4, now, quiet, recovery)
  if fb >= 1 or not l4 then return 1 end
  return math.min(1, fb + recovery * math.max(0, now - l4 - quiet))
end
local function expire(key, now, horizon)
  redis.call('PEXPIRE', key, math.max(1, math.ceil((horizon - now) * 1000) + 1000))
end
local function recovered_at(fb, l4, quiet, recovery)
  if not l4 then return -math.huge end
  return l4 + quiet + math.max(0, 1 - fb) / recovery
end
"""

# KEYS[1] subject hash, KEYS[2] enterprise hash (when ARGV[5] > 0).
# ARGV: now|'', quiet, recovery, n, m, then n + m pairs (interval, burst).
# Returns {delay, send, fb, l4 - now|'', ps - now|'', pg|'', ps (the pause's identity)|''}.
_RESERVE = (
    _PRELUDE
    + """
local now = clock(ARGV[1])
local quiet, recovery = tonumber(ARGV[2]), tonumber(ARGV[3])
local n, m = tonumber(ARGV[4]), tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'pu', 'fb', 'l4', 'ps', 'pg', 't1', 't2', 't3', 't4')
local pu = tonumber(s[1]) or -math.huge
local fb = tonumber(s[2]) or 1
local l4 = tonumber(s[3])
local f = factor_at(fb, l4, now, quiet, recovery)
local send = math.max(now, pu)
local e = {}
if m > 0 then e = redis.call('HMGET', KEYS[2], 't1', 't2', 't3', 't4') end
local function interval(i, factor) return tonumber(ARGV[4 + 2 * i]) / factor end
local function burst(i) return tonumber(ARGV[5 + 2 * i]) end
for i = 1, n do
  local tat = tonumber(s[5 + i]) or -math.huge
  send = math.max(send, tat - (burst(i) - 1) * interval(i, f))
end
for j = 1, m do
  local tat = tonumber(e[j]) or -math.huge
  send = math.max(send, tat - (burst(n + j) - 1) * interval(n + j, 1))
end
local horizon = math.max(pu, recovered_at(fb, l4, quiet, recovery))
for i = 1, n do
  local tat = math.max(send, tonumber(s[5 + i]) or -math.huge) + interval(i, f)
  redis.call('HSET', KEYS[1], 't' .. i, fmt(tat))
  horizon = math.max(horizon, tat)
end
expire(KEYS[1], now, horizon)
if m > 0 then
  local ehorizon = now
  for j = 1, m do
    local tat = math.max(send, tonumber(e[j]) or -math.huge) + interval(n + j, 1)
    redis.call('HSET', KEYS[2], 't' .. j, fmt(tat))
    ehorizon = math.max(ehorizon, tat)
  end
  expire(KEYS[2], now, ehorizon)
end
local ps = tonumber(s[4])
return {fmt(send - now), fmt(send), fmt(fb), l4 and fmt(l4 - now) or '',
        ps and fmt(ps - now) or '', s[5] or '', s[4] or ''}
"""
)

# KEYS[1] subject hash.
# ARGV: now|'', retry_after|'', sent_at|'', max_pause, backoff_base, backoff_max, jitter factor,
# decrease, min_factor, quiet, recovery, n, then n pairs (interval, burst).
# Returns {new pause 0|1, fresh 0|1, decreased 0|1, wait, fb, ps - now|'', pg|'', ps|''}.
_THROTTLE = (
    _PRELUDE
    + """
local now = clock(ARGV[1])
local max_pause, base, cap, jitter = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]),
  tonumber(ARGV[7])
local decrease, min_factor = tonumber(ARGV[8]), tonumber(ARGV[9])
local quiet, recovery, n = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local s = redis.call('HMGET', KEYS[1], 'pu', 'fb', 'l4', 'ep', 'st', 't1', 't2', 't3', 't4')
local pu = tonumber(s[1]) or -math.huge
local fb = tonumber(s[2]) or 1
local l4 = tonumber(s[3])
local episode = tonumber(s[4]) or -math.huge
local strikes = tonumber(s[5]) or 0
local f = factor_at(fb, l4, now, quiet, recovery)
if l4 and now - l4 > quiet then strikes = 0 end
local fresh = ARGV[3] == '' or tonumber(ARGV[3]) > episode
fb, l4 = f, now
local decreased = 0
if fresh then
  if strikes >= 1 and f > min_factor then
    fb = math.max(min_factor, f * decrease)
    decreased = 1
  end
  strikes = math.min(strikes + 1, 63)
  episode = now
end
local wait = 0
if ARGV[2] ~= '' then
  wait = math.min(tonumber(ARGV[2]), max_pause)
elseif fresh then
  wait = math.min(cap, base * 2 ^ (strikes - 1)) * jitter
end
local finish = now + wait
local new_pause = 0
local horizon = math.max(pu, recovered_at(fb, l4, quiet, recovery))
if wait > 0 and finish > pu then
  new_pause = 1
  local start = math.max(now, pu)
  local gap = finish - start
  for i = 1, n do
    local interval = tonumber(ARGV[11 + 2 * i]) / fb
    local tat = tonumber(s[5 + i]) or -math.huge
    if tat > start then tat = tat + gap end
    tat = math.max(tat, finish + (tonumber(ARGV[12 + 2 * i]) - 1) * interval)
    redis.call('HSET', KEYS[1], 't' .. i, fmt(tat))
    horizon = math.max(horizon, tat)
  end
  redis.call('HSET', KEYS[1], 'pu', fmt(finish), 'ps', fmt(start), 'pg', fmt(gap))
  horizon = math.max(horizon, finish)
else
  for i = 1, n do horizon = math.max(horizon, tonumber(s[5 + i]) or -math.huge) end
end
redis.call('HSET', KEYS[1], 'fb', fmt(fb), 'l4', fmt(l4), 'ep', fmt(episode), 'st', strikes)
expire(KEYS[1], now, horizon)
local p = redis.call('HMGET', KEYS[1], 'ps', 'pg')
local ps = tonumber(p[1])
return {new_pause, fresh and 1 or 0, decreased, fmt(wait), fmt(fb),
        ps and fmt(ps - now) or '', p[2] or '', p[1] or ''}
"""
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _number(value: Any) -> float | None:
    text = _text(value)
    return float(text) if text else None


def _pairs(limits: Sequence[RateLimit]) -> list[str]:
    args: list[str] = []
    for limit in limits:
        args += [repr(limit.interval), str(limit.burst)]
    return args


class RedisRateLimiter(RateLimiter):
    """A :class:`~boxjwt.RateLimiter` whose budgets, pauses and adaptive rates are shared by
    every process using the same Redis (see the module documentation).

    ``client``
        a ``redis.Redis``; give it short timeouts (``socket_timeout=1.0``,
        ``socket_connect_timeout=1.0``) and few retries, as for the token store.
    ``policy``
        the budgets (:class:`~boxjwt.RatePolicy`); every process should use the same one.
    ``prefix``
        namespace of the keys.
    ``clock``
        ``None`` (default): Redis's clock for the shared schedule and ``time.monotonic`` for
        local waits; a callable: that clock for both (tests).
    ``local_fallback``
        the limiter used while Redis is unavailable (default: a ``RateLimiter`` with the same
        policy, clock and sleep).
    ``retry_interval``
        seconds between attempts to reach Redis again while it is unavailable.
    """

    def __init__(
        self,
        client: redis.Redis,
        policy: RatePolicy | None = None,
        *,
        prefix: str = "boxjwt",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        local_fallback: RateLimiter | None = None,
        retry_interval: float = 5.0,
    ) -> None:
        super().__init__(policy, clock=clock or time.monotonic, sleep=sleep, rng=rng)
        if not prefix or not isinstance(prefix, str):
            raise ConfigurationError("RedisRateLimiter prefix must be a non-empty string")
        if local_fallback is not None and not isinstance(local_fallback, RateLimiter):
            raise ConfigurationError("local_fallback must be a boxjwt.RateLimiter")
        if isinstance(local_fallback, RedisRateLimiter):
            raise ConfigurationError("local_fallback must be a local boxjwt.RateLimiter")
        if isinstance(retry_interval, bool) or not retry_interval >= 0:
            raise ConfigurationError("RedisRateLimiter retry_interval must be >= 0")
        self.client = client
        self.prefix = prefix
        self.retry_interval = float(retry_interval)
        self.local_fallback = local_fallback or RateLimiter(
            self.policy, clock=self.clock, sleep=sleep, rng=rng
        )
        self._server_time = clock is None
        self._reserve_script = client.register_script(_RESERVE)
        self._throttle_script = client.register_script(_THROTTLE)
        self._health = RedisHealth(
            what="the shared rate limiter (Redis)",
            meanwhile="this process paces its Box requests on its own",
            warning=RateLimiterFallbackWarning,
            retry_interval=self.retry_interval,
            clock=self._clock,
            log=_log,
        )

    def __repr__(self) -> str:
        return f"RedisRateLimiter(prefix={self.prefix!r}, degraded={self._health.degraded})"

    @property
    def degraded(self) -> bool:
        """True while Redis is unavailable and ``local_fallback`` paces this process."""
        return self._health.degraded

    def key(self, subject: str, rate_class: RateClass) -> str:
        """The Redis key of ``subject``'s ``rate_class`` state."""
        return f"{self.prefix}:rate:{rate_class}:{subject}"

    def enterprise_key(self, enterprise: str, rate_class: RateClass) -> str:
        """The Redis key of an enterprise's ``rate_class`` state (search)."""
        return f"{self.prefix}:rate-enterprise:{rate_class}:{enterprise}"

    # ------------------------------------------------------------------ the protocol

    def reserve(
        self, subject: str, rate_class: RateClass = "general", *, enterprise: str | None = None
    ) -> RatePermit:
        """Take the next slot of ``subject``'s budget, fleet-wide: one Lua call."""
        cls = _check_class(rate_class)
        subject = _check_subject(subject)
        if enterprise is not None:
            enterprise = _check_subject(enterprise, "enterprise")
        if not self._health.use_redis():
            return self.local_fallback.reserve(subject, cls, enterprise=enterprise)
        policy = self.policy
        limits = policy.limits(cls)
        elimits = policy.enterprise_limits(cls) if enterprise is not None else ()
        keys = [self.key(subject, cls)]
        if elimits:
            keys.append(self.enterprise_key(enterprise or "", cls))
        args = [self._now_arg(), repr(policy.quiet_period), repr(policy.recovery_rate)]
        args += [str(len(limits)), str(len(elimits)), *_pairs(limits), *_pairs(elimits)]
        try:
            reply: Any = self._reserve_script(keys=keys, args=args)
        except redis.RedisError as exc:
            self._health.failed(exc, "reserve")
            return self.local_fallback.reserve(subject, cls, enterprise=enterprise)
        self._health.recovered()
        now = self._clock()
        delay = max(0.0, float(_text(reply[0])))
        with self._lock:
            track = self._track((subject, cls), len(limits))
            self._mirror(track, now, reply[2], reply[3], reply[4:7])
            permit = RatePermit(
                self,
                subject=subject,
                rate_class=cls,
                enterprise=enterprise,
                reserved_at=now,
                send_at=now + delay,
                epoch=self._epoch,
                remote_send_at=float(_text(reply[1])),
            )
            self._count_reservation(cls, delay)
            self._since_sweep += 1
            if self._since_sweep >= 1024:
                self._sweep(now)
        return permit

    def record_response(
        self, permit: RatePermit, status: int, retry_after: float | None = None
    ) -> None:
        """Report the answer; a 429 pauses the (subject, class) for the whole fleet."""
        if permit._owner is not self:
            permit._owner.record_response(permit, status, retry_after)
        elif status == 429:
            self._remote_429(permit.subject, permit.rate_class, retry_after, permit._remote_send_at)

    def on_429(
        self,
        subject: str,
        rate_class: RateClass = "general",
        retry_after: float | None = None,
        *,
        sent_at: float | None = None,
    ) -> None:
        """A 429 for a request made without a permit (``sent_at`` in the shared clock)."""
        self._remote_429(_check_subject(subject), _check_class(rate_class), retry_after, sent_at)

    def snapshot(self) -> RateLimiterStats:
        """Counters of this process (Redis and fallback permits together); the adaptive rates
        as this process last saw them."""
        mine, theirs = super().snapshot(), self.local_fallback.snapshot()
        classes = {
            cls: RateClassStats(
                requests=a.requests + b.requests,
                paced=a.paced + b.paced,
                total_wait=a.total_wait + b.total_wait,
                max_wait=max(a.max_wait, b.max_wait),
                throttled=a.throttled + b.throttled,
                pauses=a.pauses + b.pauses,
                rate_decreases=a.rate_decreases + b.rate_decreases,
            )
            for cls in RATE_CLASSES
            for a, b in [(mine.classes[cls], theirs.classes[cls])]
        }
        factors = {**theirs.rate_factors, **mine.rate_factors}
        return RateLimiterStats(
            enabled=True,
            backend=mine.backend,
            classes=MappingProxyType(classes),
            rate_factors=MappingProxyType(factors),
        )

    def _backend(self) -> str:
        return "local-fallback" if self._health.degraded else "redis"

    # ------------------------------------------------------------------ internals

    def _now_arg(self) -> str:
        return "" if self._server_time else repr(self._clock())

    def _remote_429(
        self, subject: str, cls: RateClass, retry_after: float | None, sent_at: float | None
    ) -> None:
        retry_after = _clean_retry_after(retry_after)
        if not self._health.use_redis():
            self.local_fallback.on_429(subject, cls, retry_after)
            return
        policy = self.policy
        limits = policy.limits(cls)
        with self._lock:
            jitter = self._rng.uniform(1 - policy.jitter, 1 + policy.jitter)
        args = [
            self._now_arg(),
            "" if retry_after is None else repr(retry_after),
            "" if sent_at is None else repr(sent_at),
            *map(repr, (policy.max_pause, policy.backoff_base, policy.backoff_max, jitter)),
            *map(repr, (policy.decrease, policy.min_factor, policy.quiet_period)),
            repr(policy.recovery_rate),
            str(len(limits)),
            *_pairs(limits),
        ]
        try:
            reply: Any = self._throttle_script(keys=[self.key(subject, cls)], args=args)
        except redis.RedisError as exc:
            self._health.failed(exc, "429")
            self.local_fallback.on_429(subject, cls, retry_after)
            return
        self._health.recovered()
        new_pause, fresh, decreased = (int(value) for value in reply[:3])
        factor = float(_text(reply[4]))
        now = self._clock()
        with self._lock:
            counters = self._counters[cls]
            counters.throttled += 1
            counters.pauses += new_pause and fresh
            counters.rate_decreases += decreased
            track = self._track((subject, cls), len(limits))
            self._mirror(track, now, reply[4], b"0", reply[5:8])
        _log_throttle(
            subject,
            cls,
            retry_after=retry_after,
            wait=float(_text(reply[3])),
            new_pause=bool(new_pause and fresh),
            decreased=bool(decreased),
            factor=factor,
        )

    def _mirror(self, track: _Track, now: float, fb: Any, l4: Any, pause: Sequence[Any]) -> None:
        """Copy what Redis said about this (subject, class) into the local track (locked)."""
        track.factor_base = float(_text(fb))
        last_429 = _number(l4)
        track.last_429 = None if last_429 is None else now + last_429
        start, gap, identity = _number(pause[0]), _number(pause[1]), _text(pause[2])
        if start is None or gap is None or identity == track.remote_pause:
            return
        track.remote_pause = identity
        start += now
        track.pause_until = max(track.pause_until, start + gap)
        self._record_pause(track, start, gap)
