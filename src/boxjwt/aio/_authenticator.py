"""AsyncJWTAuthenticator: the JWTAuthenticator's guarantees for asyncio, over ``httpx``.

A thin transport: the configuration, assertion building, answer classification, clock-skew
handling, retry decisions and the token store are the sync authenticator's (one is kept
inside, never used to send anything); this class awaits where that one blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import sys
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from boxjwt._answers import token_error
from boxjwt._assertion import DEFAULT_ASSERTION_LIFETIME
from boxjwt._attempts import ExchangeAttempts
from boxjwt._authenticator import DEFAULT_BASE_URL, DEFAULT_REFRESH_MARGIN, JWTAuthenticator
from boxjwt._http import TOKEN_LIMITS, TOKEN_TIMEOUT, ReadLimits
from boxjwt._keyfile import KeyFile
from boxjwt._retry import RetryPolicy
from boxjwt._scrub import scrub
from boxjwt._store import MemoryTokenStore, TokenStore
from boxjwt._token import AccessToken, SubjectType, subject_key
from boxjwt._validate import validate_user_id
from boxjwt.aio._transport import httpx_timeout, post_form, retrying
from boxjwt.exceptions import (
    AssertionExpError,
    BoxJWTError,
    ConfigurationError,
    JTIReusedError,
    TokenExchangeError,
    TransportError,
)

if TYPE_CHECKING:
    from types import TracebackType

    from boxjwt._token_endpoint import TokenResult

__all__ = ["AsyncJWTAuthenticator"]

logger = logging.getLogger("boxjwt")

T = TypeVar("T")


class _SubjectLock:
    """One subject's refresh lock (per event loop) and the outcome of its last exchange.

    ``generation`` counts *finished* exchanges: a task cancelled mid-exchange finishes none, so
    the next task refreshes at once instead of sharing an outcome that never came.
    """

    __slots__ = ("__weakref__", "failure", "generation", "lock")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.generation = 0
        self.failure: TokenExchangeError | TransportError | None = None


class AsyncJWTAuthenticator:
    """Box JWT server authentication for asyncio: enterprise and user tokens, cached and
    single-flight across tasks.

    ::

        auth = AsyncJWTAuthenticator(boxjwt.KeyFile.from_file("key.json"))
        token = await auth.enterprise_token()

    The keywords are :class:`boxjwt.JWTAuthenticator`'s (``base_url``, ``upload_url``,
    ``alg``, ``assertion_lifetime``, ``refresh_margin``, ``timeout``, ``deadline``,
    ``retry``, ``token_store``, ``max_user_tokens``, ``clock``), with the same meaning and
    validation, plus:

    - ``sleep``: an *async* sleeper for retry waits (default ``asyncio.sleep``);
    - ``client``: the ``httpx.AsyncClient`` for ``/oauth2/*`` (default: a private one, closed
      by :meth:`aclose`). Never follows redirects.

    Concurrent requests for one subject make one exchange (an ``asyncio.Lock`` per subject,
    re-checked inside; with a shared store such as
    :class:`~boxjwt.stores.RedisTokenStore` the store's lock makes it one per fleet). The
    default in-memory store is used inline (it never blocks); any other store is called in a
    worker thread (``asyncio.to_thread``) so that a slow store never stalls the loop. Signing
    an assertion (RSA, ~0.3 ms) runs inline; the key was decrypted when the
    :class:`~boxjwt.KeyFile` was loaded. A cancelled task never leaves a subject locked, and a
    token is stored only whole, after its exchange succeeded.
    """

    def __init__(
        self,
        keyfile: KeyFile,
        *,
        base_url: str = DEFAULT_BASE_URL,
        upload_url: str | None = None,
        alg: str = "RS256",
        assertion_lifetime: float = DEFAULT_ASSERTION_LIFETIME,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        timeout: float | tuple[float, float] = TOKEN_TIMEOUT,
        deadline: float = TOKEN_LIMITS.deadline,
        retry: RetryPolicy | None = None,
        token_store: TokenStore | None = None,
        max_user_tokens: int | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if client is not None and not isinstance(client, httpx.AsyncClient):
            raise ConfigurationError("client must be an httpx.AsyncClient (or None)")
        if sleep is not None and not callable(sleep):
            raise ConfigurationError("sleep must be an async function taking seconds")
        self._core = JWTAuthenticator(
            keyfile,
            base_url=base_url,
            upload_url=upload_url,
            alg=alg,
            assertion_lifetime=assertion_lifetime,
            refresh_margin=refresh_margin,
            timeout=timeout,
            deadline=deadline,
            retry=retry,
            token_store=token_store,
            max_user_tokens=max_user_tokens,
            clock=clock,
        )
        self._core.close()  # its requests session is never used
        self._sleep: Callable[[float], Awaitable[None]] = sleep or asyncio.sleep
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient()
        self._timeout = httpx_timeout(self._core.timeout)
        self._limits = ReadLimits(TOKEN_LIMITS.max_bytes, self._core.deadline)
        store = self._core.token_store
        self._inline_store = type(store) is MemoryTokenStore
        self._locks: weakref.WeakValueDictionary[tuple[int, str], _SubjectLock] = (
            weakref.WeakValueDictionary()
        )

    # ------------------------------------------------------------------ properties

    @property
    def core(self) -> JWTAuthenticator:
        """The sync :class:`~boxjwt.JWTAuthenticator` holding the configuration, the signer
        and the token store (it shares this authenticator's tokens; it sends nothing here)."""
        return self._core

    @property
    def keyfile(self) -> KeyFile:
        """The :class:`boxjwt.KeyFile` this authenticator signs with."""
        return self._core.keyfile

    @property
    def client_id(self) -> str:
        """The app's client ID."""
        return self._core.client_id

    @property
    def enterprise_id(self) -> str:
        """The enterprise whose service account :meth:`enterprise_token` is for."""
        return self._core.enterprise_id

    @property
    def base_url(self) -> str:
        """The root of Box (``https://api.box.com``), without a trailing slash."""
        return self._core.base_url

    @property
    def api_url(self) -> str:
        """``base_url + "/2.0"``."""
        return self._core.api_url

    @property
    def upload_url(self) -> str:
        """The upload API root (``https://upload.box.com/api/2.0`` unless rerouted)."""
        return self._core.upload_url

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of token requests (sessions reuse it for API calls)."""
        return self._core.retry

    @property
    def sleep(self) -> Callable[[float], Awaitable[None]]:
        """The async sleeper of retry waits."""
        return self._sleep

    @property
    def token_store(self) -> TokenStore:
        """Where tokens are cached."""
        return self._core.token_store

    @property
    def client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` used for ``/oauth2/*`` (never for API calls)."""
        return self._client

    @property
    def clock_offset(self) -> float:
        """Box's clock minus ours, in seconds, as learned from an ``exp`` error (else 0)."""
        return self._core.clock_offset

    def __repr__(self) -> str:
        return (
            f"AsyncJWTAuthenticator(client_id={self.client_id!r}, "
            f"enterprise_id={self.enterprise_id!r}, base_url={self.base_url!r}, "
            f"alg={self._core.alg!r})"
        )

    # ------------------------------------------------------------------ tokens

    async def enterprise_token(self) -> AccessToken:
        """The service account's token (``box_sub_type=enterprise``), cached."""
        return await self._token("enterprise", self._core.enterprise_id)

    async def user_token(self, user_id: str) -> AccessToken:
        """A token for the managed or app user ``user_id`` (``box_sub_type=user``), cached."""
        return await self._token("user", validate_user_id(user_id))

    async def token(self, user_id: str | None = None) -> AccessToken:
        """``user_token(user_id)``, or ``enterprise_token()`` when ``user_id`` is None."""
        if user_id is None:
            return await self.enterprise_token()
        return await self.user_token(user_id)

    async def invalidate(self, token: AccessToken) -> bool:
        """Drop ``token`` from the cache if it is still the cached one (compare-and-swap)."""
        if not isinstance(token, AccessToken):
            raise ConfigurationError("invalidate() takes the AccessToken to drop")
        if self._inline_store:
            return self._core.invalidate(token)
        return await _in_thread(self._core.invalidate, token)

    async def aclose(self) -> None:
        """Close the private ``/oauth2/*`` client (a client passed in is left open)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncJWTAuthenticator:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ cache

    async def _get(self, key: str) -> AccessToken | None:
        store = self._core.token_store
        if self._inline_store:
            return store.get(key)
        return await _in_thread(store.get, key)

    async def _cached(
        self, key: str, subject_type: SubjectType, subject_id: str
    ) -> AccessToken | None:
        token = await self._get(key)
        core = self._core
        if token is None or not core._foreign(token, subject_type, subject_id):
            return token
        core._refuse(key, subject_type, subject_id)
        return None

    async def _token(self, subject_type: SubjectType, subject_id: str) -> AccessToken:
        key = subject_key(self._core.client_id, subject_type, subject_id)
        token = await self._cached(key, subject_type, subject_id)
        if token is not None and self._core._fresh(token):
            return token
        outer = sys.exception()
        try:
            return await self._refresh(key, subject_type, subject_id)
        except BoxJWTError as exc:
            scrub(exc, outer)
            raise

    def _subject_lock(self, key: str) -> _SubjectLock:
        index = (id(asyncio.get_running_loop()), key)
        lock = self._locks.get(index)
        if lock is None:
            lock = self._locks[index] = _SubjectLock()
        return lock

    async def _refresh(self, key: str, subject_type: SubjectType, subject_id: str) -> AccessToken:
        """Single flight: one exchange per subject, however many tasks ask."""
        core = self._core
        subject_lock = self._subject_lock(key)  # a strong reference while we use it
        generation = subject_lock.generation
        async with subject_lock.lock:  # released on cancellation too
            token = await self._cached(key, subject_type, subject_id)
            if token is not None and core._fresh(token):
                return token
            failure = subject_lock.failure
            if failure is not None and subject_lock.generation != generation:
                # The exchange we waited for failed: share its outcome rather than repeat it.
                return core._stale_or_raise(copy.copy(failure), token, subject_type, subject_id)
            async with self._store_lock(key):
                token = await self._cached(key, subject_type, subject_id)
                if token is not None and core._fresh(token):
                    return token
                try:
                    new = await self._exchange(subject_type, subject_id)
                except (TokenExchangeError, TransportError) as exc:
                    subject_lock.failure = exc
                    subject_lock.generation += 1
                    return core._stale_or_raise(exc, token, subject_type, subject_id)
                subject_lock.failure = None
                subject_lock.generation += 1
                await self._set(key, new)
                return new

    async def _set(self, key: str, token: AccessToken) -> None:
        store = self._core.token_store
        if self._inline_store:
            store.set(key, token)
            return
        # Shielded: once the token is ours, a cancellation does not stop it being stored whole.
        await asyncio.shield(asyncio.to_thread(store.set, key, token))

    @contextlib.asynccontextmanager
    async def _store_lock(self, key: str) -> AsyncIterator[None]:
        """The store's cross-process lock, entered and left in a worker thread (a no-op for
        the in-memory store). A task cancelled while waiting for it leaves it released."""
        if self._inline_store:
            yield
            return
        manager = self._core.token_store.lock(key)
        entering = asyncio.ensure_future(asyncio.to_thread(manager.__enter__))
        try:
            await asyncio.shield(entering)
        except asyncio.CancelledError:
            entering.add_done_callback(lambda _: _leave_later(manager, entering))
            raise
        try:
            yield
        finally:
            await asyncio.shield(asyncio.to_thread(manager.__exit__, None, None, None))

    # ------------------------------------------------------------------ exchange

    async def _exchange(self, subject_type: SubjectType, subject_id: str) -> AccessToken:
        tries = ExchangeAttempts(self._core, subject_type, subject_id)

        async def attempt() -> TokenResult:
            assertion = tries.assertion()
            try:
                return await self._post_assertion(assertion, subject_type, subject_id)
            except (AssertionExpError, JTIReusedError) as exc:
                tries.refused(exc)
                raise

        logger.debug("requesting a token for %s", tries.subject)
        try:
            result = await retrying(
                self._core.retry, self._sleep, attempt, on_retry=self._core._log_retry(tries.what)
            )
        except (TokenExchangeError, TransportError) as exc:
            tries.gave_up(exc)
            raise
        return tries.got(result)

    async def _post_assertion(
        self, assertion: str, subject_type: SubjectType, subject_id: str
    ) -> TokenResult:
        endpoint = self._core._endpoint
        form, context, redact = endpoint.jwt_request(assertion, subject_type, subject_id)
        issued_at = self._core.clock()
        status, headers, text, truncated = await post_form(
            self._client, endpoint.token_url, form, timeout=self._timeout, limits=self._limits
        )
        if status != 200:
            raise token_error(status, headers, text, context=context, redact_secrets=redact)
        return endpoint.token_result(
            status,
            headers,
            text,
            truncated=truncated,
            issued_at=issued_at,
            subject_type=subject_type,
            subject_id=subject_id,
            context=context,
            redact=redact,
        )


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


def _leave_later(
    manager: contextlib.AbstractContextManager[None], entering: asyncio.Future[Any]
) -> None:
    """A cancelled task's store lock, taken in its thread after the task stopped waiting:
    release it (in a thread: the store may block)."""
    if entering.cancelled() or entering.exception() is not None:
        return
    asyncio.get_running_loop().run_in_executor(None, manager.__exit__, None, None, None)
