"""How check_users talks to Box: the caller's authenticator, its rate limiter, bounded reads.

API calls go through one :class:`boxjwt.AsUserSession` of the caller's authenticator (its cached
enterprise token, its :class:`~boxjwt.RateLimiter` pacing every call against the budget of the
user Box charges, its retry policy) and per-user siblings sharing one connection pool. User
tokens come from a private authenticator on the same key file (a small in-memory cache, so
that checking 10,000 users neither keeps 10,000 tokens nor fills the caller's token store).
A response hook counts every answer (retries included) and the 429s.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final

import requests

from boxjwt._authenticator import JWTAuthenticator
from boxjwt._bounded import BoundedAdapter, mount_bounded_adapters
from boxjwt._http import PREFLIGHT_LIMITS
from boxjwt._retry import RetryPolicy
from boxjwt._session import AsUserSession
from boxjwt.preflight._client import Answer, call_box

__all__ = ["Counter", "UsersClient"]

_JSON: Final = {"Accept": "application/json"}


class Counter:
    """A response hook: counts answers and 429s (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.answers = 0
        self.rate_limited = 0

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        with self._lock:
            self.answers += 1
            if response.status_code == 429:
                self.rate_limited += 1
        return response


class UsersClient:
    """The sessions of one check_users run (close it when done)."""

    def __init__(
        self,
        auth: JWTAuthenticator,
        *,
        timeout: float | tuple[float, float],
        retry: RetryPolicy | None,
        workers: int,
        user_tokens: bool,
    ) -> None:
        self.api = Counter()
        self.tokens = Counter()
        self._root = AsUserSession(auth, timeout=timeout, retry=retry, raise_for_status=True)
        adapter = BoundedAdapter(pool_connections=2, pool_maxsize=workers + 1)
        self._root.mount("https://", adapter)
        self._root.mount("http://", adapter)
        self._token_session: requests.Session | None = None
        self._token_auth: JWTAuthenticator | None = None
        if user_tokens:
            session = mount_bounded_adapters(requests.Session())
            session.hooks["response"].append(self.tokens)
            self._token_session = session
            self._token_auth = JWTAuthenticator(
                auth.keyfile,
                base_url=auth.base_url,
                upload_url=auth.upload_url,
                timeout=auth.timeout,
                retry=auth.retry if retry is None else retry,
                max_user_tokens=workers + 1,
                clock=auth.clock,
                session=session,
            )

    def call(
        self, path: str, params: Mapping[str, str] | None = None, *, as_user: str | None = None
    ) -> Answer:
        """``GET /2.0<path>`` as the service account, or with ``As-User: as_user``. Never
        raises for Box's answer (token failures included: ``answer.error``)."""
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        shown = f"GET /2.0{path}" + (f"?{query}" if query else "")
        if as_user is not None:
            shown += f" (As-User: {as_user})"
        session = self._root.for_user(as_user)
        session.hooks["response"].append(self.api)
        return call_box(session, "GET", path, shown=shown, limits=PREFLIGHT_LIMITS, params=params)

    def user_token(self, user_id: str) -> None:
        """Ask Box for ``user_id``'s own token (raises the token request's error)."""
        assert self._token_auth is not None  # noqa: S101 - only called with user_tokens=True
        self._token_auth.user_token(user_id)

    def close(self) -> None:
        """Close the connection pool and the token session."""
        self._root.close()
        if self._token_auth is not None:
            self._token_auth.close()
        if self._token_session is not None:
            self._token_session.close()
