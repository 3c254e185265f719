"""boxjwt for asyncio, on ``httpx`` (extra: ``pip install 'boxjwt[async]'``).

::

    from boxjwt.aio import AsyncAsUserSession, AsyncJWTAuthenticator

    auth = AsyncJWTAuthenticator(boxjwt.KeyFile.from_file("key.json"))
    async with AsyncAsUserSession(auth) as s:
        r = await s.for_user("12345").get("/2.0/users/me")

The same guarantees as :class:`boxjwt.JWTAuthenticator` and :class:`boxjwt.AsUserSession`,
from the same I/O-free core. ``import boxjwt`` never imports ``httpx``; this package does.
"""

from __future__ import annotations

try:
    import httpx  # noqa: F401 - checked here, used by the modules below
except ImportError as exc:  # pragma: no cover - the extra is installed wherever tests run
    raise ImportError("boxjwt.aio needs httpx: pip install 'boxjwt[async]'") from exc

from boxjwt.aio._authenticator import AsyncJWTAuthenticator
from boxjwt.aio._session import DEFAULT_LIMITS, AsyncAsUserSession

__all__ = ["DEFAULT_LIMITS", "AsyncAsUserSession", "AsyncJWTAuthenticator"]
