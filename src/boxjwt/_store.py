"""Where tokens are kept: the ``TokenStore`` protocol and the in-memory default."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from boxjwt._token import AccessToken
from boxjwt.exceptions import ConfigurationError

__all__ = ["MemoryTokenStore", "TokenStore"]


@runtime_checkable
class TokenStore(Protocol):
    """Keeps tokens by subject key ("<client id>:<enterprise|user>:<subject id>").

    The authenticator already serialises refreshes of one subject *within a process*; a store
    that spans processes (Redis) also makes :meth:`lock` exclusive across them, so that a fleet
    makes one exchange per subject. Implementations must be thread-safe.
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

    ``max_size`` bounds how many subjects are kept (user tokens for large migrations); the least
    recently used token is dropped first. ``lock`` is a no-op: within one process the
    authenticator's per-subject locks already make refreshes single-flight.
    """

    def __init__(self, max_size: int = 10_000) -> None:
        if max_size < 1:
            raise ConfigurationError("MemoryTokenStore max_size must be at least 1")
        self.max_size = max_size
        self._data: OrderedDict[str, AccessToken] = OrderedDict()
        self._mutex = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(size={len(self._data)}, max_size={self.max_size})"

    def get(self, key: str) -> AccessToken | None:
        with self._mutex:
            token = self._data.get(key)
            if token is not None:
                self._data.move_to_end(key)
            return token

    def set(self, key: str, token: AccessToken) -> None:
        with self._mutex:
            self._data[key] = token
            self._data.move_to_end(key)
            while len(self._data) > self.max_size:
                self._data.popitem(last=False)

    def delete(self, key: str, *, only_if: AccessToken | None = None) -> bool:
        with self._mutex:
            current = self._data.get(key)
            if current is None or (only_if is not None and current != only_if):
                return False
            del self._data[key]
            return True

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        yield
