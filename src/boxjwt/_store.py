"""Where tokens are kept: the ``TokenStore`` protocol and the in-memory default."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from boxjwt._token import AccessToken
from boxjwt.exceptions import ConfigurationError

__all__ = ["MemoryTokenStore", "TokenStore"]

logger = logging.getLogger("boxjwt")


@runtime_checkable
class TokenStore(Protocol):
    """Keeps tokens by subject key ("<client id>:<enterprise|user>:<subject id>").

    The authenticator already serialises refreshes of one subject *within a process*; a store
    that spans processes (Redis) also makes :meth:`lock` exclusive across them, so that a fleet
    makes one exchange per subject. Implementations must be thread-safe.

    The authenticator refuses (and replaces) a token whose subject is not the one the key
    names, whatever the store. A store that serialises tokens should bind each record to its
    key (``token.to_json(key=key)`` / ``AccessToken.from_json(raw, key=key)``) and treat a
    record it cannot read as missing.
    """

    def get(self, key: str) -> AccessToken | None:
        """The stored token for ``key``, or None."""

    def set(self, key: str, token: AccessToken) -> None:
        """Store ``token`` for ``key``, replacing any other."""

    def delete(self, key: str, *, only_if: AccessToken | None = None) -> bool:
        """Remove the token for ``key``; with ``only_if``, only while it is still that token.

        Returns True when something was removed (compare-and-swap for ``invalidate``).
        """

    def lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Exclusive section for refreshing ``key`` across everything sharing this store."""


class MemoryTokenStore:
    """The default store: a thread-safe LRU dict in this process.

    ``max_size`` bounds how many *user* tokens are kept (user tokens for large migrations); the
    least recently used one is dropped first. Enterprise (service account) tokens are kept
    apart, outside that bound: however many users pass through, the token every ``As-User``
    call needs is never evicted. The first time a token that was still valid (by ``clock``,
    wall seconds) is evicted, a warning is logged on the ``boxjwt`` logger: the bound is too
    small for the working set, and every eviction costs one more token exchange. ``lock`` is
    a no-op: within one process the authenticator's per-subject locks already make refreshes
    single-flight.
    """

    def __init__(self, max_size: int = 10_000, *, clock: Callable[[], float] = time.time) -> None:
        bound: object = max_size
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
            raise ConfigurationError("MemoryTokenStore max_size must be an integer >= 1")
        self.max_size = max_size
        self._clock = clock
        self._data: OrderedDict[str, AccessToken] = OrderedDict()
        self._enterprise: dict[str, AccessToken] = {}
        self._mutex = threading.Lock()
        self._warned = False
        #: How many still-valid user tokens were evicted to respect ``max_size``.
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._data) + len(self._enterprise)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(size={len(self)}, max_size={self.max_size})"

    def get(self, key: str) -> AccessToken | None:
        with self._mutex:
            token = self._enterprise.get(key)
            if token is not None:
                return token
            token = self._data.get(key)
            if token is not None:
                self._data.move_to_end(key)
            return token

    def set(self, key: str, token: AccessToken) -> None:
        evicted: list[AccessToken] = []
        with self._mutex:
            if token.subject_type == "enterprise":
                self._data.pop(key, None)
                self._enterprise[key] = token
                return
            self._enterprise.pop(key, None)
            self._data[key] = token
            self._data.move_to_end(key)
            while len(self._data) > self.max_size:
                evicted.append(self._data.popitem(last=False)[1])
        if evicted:
            self._evicted(evicted)

    def _evicted(self, tokens: list[AccessToken]) -> None:
        now = self._clock()
        fresh = sum(1 for token in tokens if token.expires_at > now)
        if not fresh:
            return
        with self._mutex:
            self.evictions += fresh
            first, self._warned = not self._warned, True
        if first:
            logger.warning(
                "the in-memory token cache is full (%d user tokens): a still-valid user token "
                "was evicted, so that user's next call makes a new token exchange. Raise "
                "max_user_tokens (JWTAuthenticator) or MemoryTokenStore(max_size=...) above the "
                "number of users in use at once. (Logged once; see MemoryTokenStore.evictions.)",
                self.max_size,
            )
        else:
            logger.debug("evicted %d still-valid user token(s) from the memory cache", fresh)

    def delete(self, key: str, *, only_if: AccessToken | None = None) -> bool:
        with self._mutex:
            for data in (self._enterprise, self._data):
                current = data.get(key)
                if current is None:
                    continue
                if only_if is not None and current != only_if:
                    return False
                del data[key]
                return True
            return False

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        yield
