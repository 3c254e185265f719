"""A token store shared through Redis: one token exchange per subject across a fleet.

Install with the extra ``boxjwt[redis]``::

    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    import boxjwt
    from boxjwt.stores import RedisTokenStore

    client = redis.Redis.from_url(
        "redis://cache.internal:6379/0",
        socket_timeout=1.0,           # a hung Redis must not stall token calls for long
        socket_connect_timeout=1.0,
        retry=Retry(NoBackoff(), 1),  # redis-py's default retries back off for seconds
    )
    store = RedisTokenStore(client, encryption_key=FERNET_KEY)  # key from your secret manager
    auth = boxjwt.JWTAuthenticator(keyfile, token_store=store)

Near cache: each process keeps the tokens it read from Redis (and accepted) in memory until
their refresh point, so that a cached-token call makes no Redis round trip; an invalidation
(``delete``, as ``JWTAuthenticator.invalidate`` does after a 401) drops the local copy and
compare-and-deletes the record in Redis. ``near_cache=False`` turns it off.

Keys (every one of them expires):

``<prefix>:token:<subject key>``
    the token record, with a TTL of the token's remaining lifetime minus the refresh margin
    (at least one second, at most a day); optionally Fernet-encrypted. The record names the
    subject key it was written for (inside the encrypted, authenticated payload when
    encrypted): a record copied under another subject's key is refused as damaged.
``<prefix>:lock:<subject key>``
    the refresh lock: ``SET NX PX lock_timeout`` holding a random owner token, released only by
    its owner (a Lua compare-and-delete). A lock key found without an expiry (not written by
    boxjwt) is given one, so it cannot block refreshes for longer than ``lock_timeout``.

A record that cannot be used (damaged, bound to another subject, encrypted with another key, or
a key of another Redis type: ``WRONGTYPE``) is a miss for that subject alone: logged once per
subject, replaced by the next refresh, never a reason to stop using Redis, and never kept in
the near cache.

When Redis fails (connection refused, timeout, any other ``redis.RedisError``) the store switches
to a process-local ``MemoryTokenStore``, emits one
:class:`~boxjwt.exceptions.TokenStoreFallbackWarning` and one log warning per outage, probes
Redis again every ``retry_interval`` seconds, and uses it again as soon as it answers. Tokens
in the near cache keep being served during an outage (they are valid until their refresh
point); only a subject missing there reaches Redis, finds it down and falls back. Token values
are never logged.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

try:
    import redis
except ImportError as exc:
    raise ImportError(
        "boxjwt.stores.RedisTokenStore needs the redis client library: pip install 'boxjwt[redis]'"
    ) from exc

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from boxjwt._authenticator import DEFAULT_MAX_USER_TOKENS
from boxjwt._scrub import scrubbed
from boxjwt._store import MemoryTokenStore
from boxjwt._token import MAX_TOKEN_LIFETIME, AccessToken, subject_key
from boxjwt.exceptions import ConfigurationError, TokenStoreError, TokenStoreFallbackWarning
from boxjwt.stores._health import RedisHealth
from boxjwt.stores._near import NearCache

__all__ = ["RedisTokenStore"]

_log = logging.getLogger(__name__)

# Every script reads a key only after checking its type: a key of another type (WRONGTYPE) is a
# damaged record of one subject, never an error that would mark the whole store unavailable.

# KEYS[1] = lock key, KEYS[2] = token key
# ARGV[1] = owner, ARGV[2] = lock expiry (ms), ARGV[3] = "1" when ARGV[4] is a snapshot of the
# token record taken while waiting ("" for no record).
# Returns {1} when the lock was taken, {2} when the token record changed since the snapshot
# (another process refreshed it: no need for the lock), {0, current record, repaired}
# otherwise; repaired is 1 when the lock key had no expiry and was given one (a lock always
# expires, whoever wrote it).
_ACQUIRE = """
local current = false
if redis.call('type', KEYS[2])['ok'] == 'string' then
  current = redis.call('get', KEYS[2])
end
if ARGV[3] == '1' and current and current ~= ARGV[4] then
  return {2}
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1}
end
local repaired = 0
if redis.call('pttl', KEYS[1]) == -1 then
  redis.call('pexpire', KEYS[1], ARGV[2])
  repaired = 1
end
return {0, current, repaired}
"""

# Delete KEYS[1] only while it still holds ARGV[1]: lock release by owner, and CAS token delete.
_COMPARE_AND_DELETE = """
if redis.call('type', KEYS[1])['ok'] == 'string' and redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""

_LOCKED = 1
_CHANGED = 2
#: Subjects remembered for "warn once" about their damaged records.
_MAX_WARNED = 1024


def _wrong_type(exc: redis.RedisError) -> bool:
    """True for Redis's answer to reading a key of another type: a damaged record, no outage."""
    return isinstance(exc, redis.ResponseError) and str(exc).startswith("WRONGTYPE")


def _names(key: str, token: AccessToken) -> bool:
    """Whether ``key`` is the subject key of ``token``'s subject (``subject_key``): a record
    whose token the authenticator would refuse as another subject's is never near-cached."""
    if token.client_id is not None:
        return key == subject_key(token.client_id, token.subject_type, token.subject_id)
    return key.endswith(f":{token.subject_type}:{token.subject_id}")


def _fernet(key: bytes | str | Sequence[bytes | str]) -> MultiFernet:
    """The cipher for ``key`` (one Fernet key or a list); refusals keep the key out of the
    error (no chained cause; the frames are cleared by the caller's ``@scrubbed``)."""
    keys: Sequence[bytes | str] = [key] if isinstance(key, bytes | str) else key
    if not keys:
        raise ConfigurationError("encryption_key is empty: pass Fernet.generate_key()")
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError):
        pass
    raise ConfigurationError(
        "encryption_key must be a Fernet key (32 url-safe base64-encoded bytes, as made by "
        "cryptography.fernet.Fernet.generate_key()) or a list of them"
    )


class RedisTokenStore:
    """A ``TokenStore`` shared by every process using the same Redis.

    ``client``
        a ``redis.Redis``. Give it a ``socket_timeout`` and ``socket_connect_timeout`` of about a
        second, and few retries (``retry=Retry(NoBackoff(), 1)``): a Redis that hangs would
        otherwise hold up every token call for redis-py's defaults (5 s timeouts, ten retries)
        before the store falls back to the local cache.
    ``prefix``
        namespace of every key (``"<prefix>:token:..."``, ``"<prefix>:lock:..."``).
    ``refresh_margin``
        seconds before expiry at which a token stops being served; use the authenticator's
        ``refresh_margin``. A key's TTL is the token's remaining lifetime minus this margin
        (bounded to half the lifetime, as ``AccessToken.refresh_margin`` does), at least 1 s.
    ``lock_timeout``
        expiry of a refresh lock: the longest a process that died while refreshing delays the
        others. Keep it short; an exchange takes well under a second.
    ``wait_timeout``
        longest wait for another process's refresh (default ``lock_timeout + 1``); past it the
        caller refreshes without the lock (a warning is logged).
    ``poll_interval``
        seconds between checks while waiting.
    ``encryption_key``
        a Fernet key (``Fernet.generate_key()``), or a list of them for rotation (the first
        encrypts, all decrypt). Records are then unreadable without the key: use it whenever
        the Redis is shared with anything else.
    ``local_fallback``
        the process-local store used while Redis is unavailable (a new ``MemoryTokenStore``
        by default).
    ``retry_interval``
        seconds between attempts to reach Redis again while it is unavailable.
    ``near_cache``
        keep each token read from Redis in this process until its refresh point (by
        ``refresh_margin``), so that cached-token calls make no Redis round trip (default
        True). An invalidation (:meth:`delete`) drops the local copy and the Redis record
        (compare-and-delete); other processes drop theirs at their own 401. False: every
        :meth:`get` reads Redis.
    ``near_cache_size``
        how many user tokens the near cache holds (least recently used dropped first; the
        service account's tokens are kept apart); the authenticator's default bound, 10,000.
    ``clock``, ``sleep``
        injectable for tests; ``clock`` must be the wall clock of ``AccessToken.expires_at``.

    Records that cannot be used (damaged, of another Redis type, bound to another subject, or
    encrypted with another key) are treated as missing, and replaced by the next refresh.
    """

    @scrubbed
    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "boxjwt",
        refresh_margin: float = 300.0,
        lock_timeout: float = 20.0,
        wait_timeout: float | None = None,
        poll_interval: float = 0.05,
        encryption_key: bytes | str | Sequence[bytes | str] | None = None,
        local_fallback: MemoryTokenStore | None = None,
        retry_interval: float = 5.0,
        near_cache: bool = True,
        near_cache_size: int = DEFAULT_MAX_USER_TOKENS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not prefix:
            raise ConfigurationError("RedisTokenStore prefix must be a non-empty string")
        if not lock_timeout >= 0.001:
            raise ConfigurationError("RedisTokenStore lock_timeout must be at least 1 ms")
        if wait_timeout is None:
            wait_timeout = lock_timeout + 1.0
        for name, value in (
            ("refresh_margin", refresh_margin),
            ("wait_timeout", wait_timeout),
            ("retry_interval", retry_interval),
        ):
            if not value >= 0:
                raise ConfigurationError(f"RedisTokenStore {name} must be >= 0")
        if not poll_interval > 0:
            raise ConfigurationError("RedisTokenStore poll_interval must be > 0")
        size: object = near_cache_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigurationError("RedisTokenStore near_cache_size must be an integer >= 1")
        self.client = client
        self.prefix = prefix
        self.refresh_margin = float(refresh_margin)
        self.lock_timeout = float(lock_timeout)
        self.wait_timeout = float(wait_timeout)
        self.poll_interval = float(poll_interval)
        self.retry_interval = float(retry_interval)
        self.local_fallback = MemoryTokenStore() if local_fallback is None else local_fallback
        self._fernet = None if encryption_key is None else _fernet(encryption_key)
        self.near_cache = bool(near_cache)
        self.near_cache_size = near_cache_size
        self._near = NearCache(near_cache_size, clock) if near_cache else None
        self._clock = clock
        self._sleep = sleep
        self._acquire_script = client.register_script(_ACQUIRE)
        self._cad_script = client.register_script(_COMPARE_AND_DELETE)
        self._state = threading.Lock()
        self._health = RedisHealth(
            what="the shared token store (Redis)",
            meanwhile="caching tokens in this process",
            warning=TokenStoreFallbackWarning,
            retry_interval=self.retry_interval,
            clock=self._clock,
            log=_log,
        )
        self._warned: set[str] = set()

    def __repr__(self) -> str:
        return (
            f"RedisTokenStore(prefix={self.prefix!r}, encrypted={self.encrypted}, "
            f"degraded={self._health.degraded})"
        )

    # ------------------------------------------------------------------ introspection

    @property
    def encrypted(self) -> bool:
        """Whether records are Fernet-encrypted."""
        return self._fernet is not None

    @property
    def degraded(self) -> bool:
        """True while Redis is unavailable and the local fallback is in use."""
        return self._health.degraded

    def token_key(self, key: str) -> str:
        """The Redis key of the token record of subject ``key``."""
        return f"{self.prefix}:token:{key}"

    def lock_key(self, key: str) -> str:
        """The Redis key of the refresh lock of subject ``key``."""
        return f"{self.prefix}:lock:{key}"

    # ------------------------------------------------------------------ TokenStore

    def get(self, key: str) -> AccessToken | None:
        """The token stored for ``key``; None when absent, expired or unreadable.

        From the near cache while it holds the token (no Redis round trip); otherwise read
        from Redis, and a token read and accepted is kept in the near cache.
        """
        near = self._near
        if near is None:
            return self._read(key, None, 0)
        token = near.get(key)
        if token is not None:
            return token
        return self._read(key, near, near.epoch(key))

    def _read(self, key: str, near: NearCache | None, epoch: int) -> AccessToken | None:
        """Read ``key``'s record from Redis (or the local fallback), then near-cache it."""
        if not self._health.use_redis():
            return self.local_fallback.get(key)
        try:
            raw: Any = self.client.get(self.token_key(key))
        except redis.RedisError as exc:
            if _wrong_type(exc):
                self._health.recovered()
                self._damaged(key, "is not a string (WRONGTYPE)")
                return None
            self._health.failed(exc, "get")
            return self.local_fallback.get(key)
        self._health.recovered()
        if raw is None:
            return self._promote(key)
        token = self._decode(key, raw)
        if token is not None and near is not None and _names(key, token):
            near.put(
                key, token, token.expires_at - token.refresh_margin(self.refresh_margin), epoch
            )
        return token

    def set(self, key: str, token: AccessToken) -> None:
        """Store ``token`` for ``key`` with a TTL ending at its refresh point.

        Drops the near cache's copy for ``key``: the next :meth:`get` reads the new record.
        """
        try:
            self._write(key, token)
        finally:
            if self._near is not None:
                self._near.discard(key)

    def _write(self, key: str, token: AccessToken) -> None:
        if not self._health.use_redis():
            self.local_fallback.set(key, token)
            return
        try:
            self.client.set(self.token_key(key), self._encode(key, token), px=self._ttl_ms(token))
        except redis.RedisError as exc:
            self._health.failed(exc, "set")
            self.local_fallback.set(key, token)
            return
        self._health.recovered()
        if len(self.local_fallback):
            self.local_fallback.delete(key)

    def delete(self, key: str, *, only_if: AccessToken | None = None) -> bool:
        """Remove the token for ``key``; with ``only_if``, only while it is still that token.

        The comparison is made on the decoded token and the removal is a Lua
        compare-and-delete of the exact record compared, so a token another process stored in
        between is never removed. The near cache's copy is dropped on the same condition (other
        processes keep theirs until their own :meth:`delete`).
        """
        near = self._near
        if near is None:
            return self._remove(key, only_if)
        dropped = near.discard(key, only_if)
        try:
            return self._remove(key, only_if) or dropped
        finally:
            near.discard(key, only_if)  # a copy a concurrent read put back meanwhile

    def _remove(self, key: str, only_if: AccessToken | None) -> bool:
        removed_locally = self.local_fallback.delete(key, only_if=only_if)
        if not self._health.use_redis():
            return removed_locally
        token_key = self.token_key(key)
        try:
            if only_if is None:
                removed = bool(self.client.delete(token_key))
            else:
                raw: Any = self.client.get(token_key)
                removed = (
                    raw is not None
                    and self._decode(key, raw) == only_if
                    and bool(self._cad_script(keys=[token_key], args=[raw]))
                )
        except redis.RedisError as exc:
            if not _wrong_type(exc):
                self._health.failed(exc, "delete")
                return removed_locally
            removed = False  # a damaged record is not the token to drop
        self._health.recovered()
        return removed or removed_locally

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the fleet-wide refresh lock of ``key``, or return once another holder refreshed.

        Waits at most ``wait_timeout``. The body runs without the lock when another process
        stored a new token meanwhile (the caller's re-check then finds it), when the wait timed
        out, or when Redis is unavailable. The near cache's copy for ``key`` is dropped first:
        a caller refreshing found it unusable, and its re-check must read the shared record.
        """
        if self._near is not None:
            self._near.discard(key)
        owner = self._acquire(key)
        try:
            yield
        finally:
            if owner is not None:
                self._release(key, owner)

    # ------------------------------------------------------------------ locking

    def _acquire(self, key: str) -> str | None:
        """The owner token when the lock was taken; None when the caller goes on without it."""
        if not self._health.use_redis():
            return None
        keys = [self.lock_key(key), self.token_key(key)]
        owner = secrets.token_hex(16)
        expiry_ms = max(1, int(self.lock_timeout * 1000))
        deadline = self._clock() + self.wait_timeout
        polls_left = math.ceil(self.wait_timeout / self.poll_interval) + 1
        snapshot: Any = None
        has_snapshot = False
        while True:
            args = [owner, expiry_ms, "1" if has_snapshot else "0", snapshot or b""]
            try:
                result: Any = self._acquire_script(keys=keys, args=args)
            except redis.RedisError as exc:
                self._health.failed(exc, "lock")
                return None
            self._health.recovered()
            status = int(result[0])
            if status == _LOCKED:
                return owner
            if status == _CHANGED:
                _log.debug("token for %s refreshed by another process", key)
                return None
            if int(result[2]):
                _log.warning(
                    "the refresh lock of %s had no expiry (not written by boxjwt?); it now "
                    "expires in %.1f s",
                    key,
                    self.lock_timeout,
                )
            if not has_snapshot:
                snapshot, has_snapshot = result[1], True
            polls_left -= 1
            if polls_left <= 0 or self._clock() >= deadline:
                _log.warning(
                    "waited %.1f s for the refresh lock of %s; refreshing without it",
                    self.wait_timeout,
                    key,
                )
                return None
            self._sleep(self.poll_interval)

    def _release(self, key: str, owner: str) -> None:
        try:
            released: Any = self._cad_script(keys=[self.lock_key(key)], args=[owner])
        except redis.RedisError as exc:
            self._health.failed(exc, "unlock")
            return
        self._health.recovered()
        if not released:
            _log.warning(
                "the refresh lock of %s expired before it was released: the refresh took "
                "longer than lock_timeout (%.1f s)",
                key,
                self.lock_timeout,
            )

    # ------------------------------------------------------------------ records

    def _ttl_ms(self, token: AccessToken) -> int:
        """Milliseconds until the token's refresh point: at least 1 s, at most a token's
        longest believed lifetime (a record never outlives a day, whatever it says)."""
        margin = token.refresh_margin(self.refresh_margin)
        remaining = token.expires_at - margin - self._clock()
        if not remaining > 1.0:  # NaN included
            return 1000
        return int(min(remaining, MAX_TOKEN_LIFETIME) * 1000)

    def _encode(self, key: str, token: AccessToken) -> bytes:
        data = token.to_json(key=key).encode()
        return data if self._fernet is None else self._fernet.encrypt(data)

    def _decode(self, key: str, raw: bytes | str) -> AccessToken | None:
        """The record's token, or None (logged) when it is damaged, encrypted with another key,
        or bound to another subject: a record is only ever used for the key it was written for.
        """
        try:
            data = raw if self._fernet is None else self._fernet.decrypt(raw)
        except InvalidToken:
            self._damaged(key, "is damaged or encrypted with another key")
            return None
        try:
            return AccessToken.from_json(data, key=key)
        except TokenStoreError as exc:
            self._damaged(key, str(exc).removeprefix("a stored token record "))
            return None

    def _damaged(self, key: str, what: str) -> None:
        """Log a damaged record: a warning the first time for ``key``, then at debug level."""
        with self._state:
            first = key not in self._warned
            if first:
                if len(self._warned) >= _MAX_WARNED:
                    self._warned.clear()
                self._warned.add(key)
        _log.log(
            logging.WARNING if first else logging.DEBUG,
            "the stored token record of %s %s; treating it as missing",
            key,
            what,
        )

    def _promote(self, key: str) -> AccessToken | None:
        """After an outage: move a token cached locally meanwhile into Redis (if still absent)."""
        if not len(self.local_fallback):
            return None
        token = self.local_fallback.get(key)
        if token is None:
            return None
        self.local_fallback.delete(key, only_if=token)
        try:
            self.client.set(
                self.token_key(key), self._encode(key, token), px=self._ttl_ms(token), nx=True
            )
        except redis.RedisError as exc:
            self._health.failed(exc, "set")
            self.local_fallback.set(key, token)
        return token
