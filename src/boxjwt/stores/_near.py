"""The near cache of :class:`~boxjwt.stores.RedisTokenStore`: tokens read from Redis, kept here.

Only a token the store has just read from Redis and accepted (decrypted, bound to its key,
finite times) is ever put here, each until its refresh point. A put is refused when the
subject's record changed in between (a ``set`` or ``delete`` bumps the epoch of the key's
bucket, and a read names the epoch it started in): a read racing an invalidation never brings
the invalidated token back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from boxjwt._token import AccessToken

__all__ = ["NearCache"]

#: Keys share this many epoch counters (by hash): a change to one subject's record makes a
#: concurrent read of another subject in the same bucket skip its put (one more Redis read).
_BUCKETS = 256


class NearCache:
    """A thread-safe, bounded map of subject key to (token, refresh point).

    ``max_size`` bounds the user tokens (least recently used dropped first, at the cost of one
    Redis read when that user comes back); the service account's tokens are kept apart, as in
    :class:`~boxjwt.MemoryTokenStore`, so that many users never evict the token every
    ``As-User`` call needs.
    """

    __slots__ = ("_clock", "_enterprise", "_epochs", "_mutex", "_users", "max_size")

    def __init__(self, max_size: int, clock: Callable[[], float]) -> None:
        self.max_size = max_size
        self._clock = clock
        self._users: OrderedDict[str, tuple[AccessToken, float]] = OrderedDict()
        self._enterprise: dict[str, tuple[AccessToken, float]] = {}
        self._mutex = threading.Lock()
        # bumped by every discard() of a key of the bucket; put() names the epoch of its read
        self._epochs = [0] * _BUCKETS

    def epoch(self, key: str) -> int:
        """The epoch of ``key``'s bucket, read before reading ``key``'s record from Redis."""
        return self._epochs[hash(key) % _BUCKETS]

    def get(self, key: str) -> AccessToken | None:
        """The token kept for ``key`` while before its refresh point, else None."""
        with self._mutex:
            entry = self._enterprise.get(key)
            if entry is None:
                entry = self._users.get(key)
                if entry is None:
                    return None
                self._users.move_to_end(key)
            token, until = entry
            if self._clock() < until:
                return token
            self._enterprise.pop(key, None)
            self._users.pop(key, None)
            return None

    def put(self, key: str, token: AccessToken, until: float, epoch: int) -> None:
        """Keep ``token`` until ``until``, unless some record changed since ``epoch``."""
        with self._mutex:
            if epoch != self._epochs[hash(key) % _BUCKETS] or not self._clock() < until:
                return
            if token.subject_type == "enterprise":
                self._enterprise[key] = (token, until)
                return
            self._users[key] = (token, until)
            self._users.move_to_end(key)
            while len(self._users) > self.max_size:
                self._users.popitem(last=False)

    def discard(self, key: str, only_if: AccessToken | None = None) -> bool:
        """Drop the token kept for ``key`` (with ``only_if``: only while it is that token).

        Returns True when one was dropped. Bumps the epoch either way, so that reads already
        under way cannot put an older record back.
        """
        with self._mutex:
            self._epochs[hash(key) % _BUCKETS] += 1
            for data in (self._enterprise, self._users):
                entry = data.get(key)
                if entry is not None:
                    if only_if is not None and entry[0] != only_if:
                        return False
                    del data[key]
                    return True
            return False
