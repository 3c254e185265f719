"""Token stores beyond the in-memory default, and the fleet-wide rate limiter.

:class:`~boxjwt.stores.RedisTokenStore` (extra ``boxjwt[redis]``) shares tokens and refresh
locks between processes and machines; :class:`~boxjwt.stores.RedisRateLimiter` shares Box's
per-user budgets. Both are imported lazily: ``import boxjwt.stores`` does not import the
``redis`` client library until one of them is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from boxjwt._store import MemoryTokenStore, TokenStore

if TYPE_CHECKING:
    from boxjwt.stores.redis import RedisTokenStore
    from boxjwt.stores.redis_ratelimit import RedisRateLimiter

__all__ = ["MemoryTokenStore", "RedisRateLimiter", "RedisTokenStore", "TokenStore"]

_LAZY = {
    "RedisRateLimiter": "boxjwt.stores.redis_ratelimit",
    "RedisTokenStore": "boxjwt.stores.redis",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'boxjwt.stores' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
