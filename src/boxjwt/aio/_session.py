"""AsyncAsUserSession: an ``httpx.AsyncClient`` wrapper that calls Box as a given user.

The same travel as :class:`boxjwt.AsUserSession`, awaited (see that module's documentation):
URLs resolved by :func:`boxjwt._session.resolve_box_url`; Box headers only on Box origins and
never across a redirect to another origin (redirects are followed here, hop by hop, never by
``httpx``, which would carry ``As-User`` along); a 401 from Box drops exactly the token it was
sent with and resends once; every Box request paced by the shared
:class:`~boxjwt.RateLimiter` (its decisions; the waits are awaited); 429, transient 409, 5xx
and connection failures retried as :func:`boxjwt._classify.retryable_response` and the
:class:`~boxjwt.RetryPolicy` decide.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import httpx

from boxjwt._answers import api_error
from boxjwt._auth import BoxAuth, SessionMode, drop_box_headers, origin, put_credentials, token_of
from boxjwt._classify import retryable_response
from boxjwt._http import API_TIMEOUT, ERROR_READ_BYTES, get_header, parse_retry_after, safe_url
from boxjwt._ratelimit import RateLimiter, RatePermit, shared_rate_limiter
from boxjwt._ratepolicy import RateClass, rate_class_of
from boxjwt._retry import RetryEvent, RetryPolicy, default_retry_after, log_retry
from boxjwt._routing import resolve_box_url
from boxjwt._scrub import scrub
from boxjwt._session import IDEMPOTENT_METHODS
from boxjwt._validate import validate_timeout
from boxjwt.aio._authenticator import AsyncJWTAuthenticator
from boxjwt.aio._h11 import fast_client
from boxjwt.aio._transport import drain, httpx_timeout, read_at_most, retrying, transport_error
from boxjwt.exceptions import BoxJWTError, ConfigurationError

if TYPE_CHECKING:
    from types import TracebackType

    from boxjwt._token import AccessToken

__all__ = ["DEFAULT_LIMITS", "AsyncAsUserSession"]

logger = logging.getLogger("boxjwt")

#: The connection pool of a session and its :meth:`~AsyncAsUserSession.for_user` siblings:
#: at most 100 connections, all of them kept alive between calls.
DEFAULT_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=100)
_MAX_REDIRECTS: Final = 20


def _retry_after(outcome: object) -> float | None:
    if isinstance(outcome, httpx.Response):
        return parse_retry_after(get_header(outcome.headers, "retry-after"))
    return default_retry_after(outcome)


def _after_shared_pause(outcome: object) -> float | None:
    """A paced session waits after a 429 at its next reservation (the user's shared pause)."""
    if isinstance(outcome, httpx.Response) and outcome.status_code == 429:
        return 0.0
    return _retry_after(outcome)


def _replayable(kwargs: Mapping[str, Any]) -> bool:
    """Whether the body these ``httpx`` keywords make can be sent again: bytes, text, forms,
    JSON, and multipart files given as bytes or seekable files (``httpx`` seeks them back to
    0 for every send); not iterators or unseekable streams."""
    content = kwargs.get("content")
    if content is not None and not isinstance(content, bytes | str):
        return False
    data = kwargs.get("data")
    if data is not None and not isinstance(data, Mapping):
        return False
    files = kwargs.get("files")
    if files:
        for value in files.values() if isinstance(files, Mapping) else (v for _, v in files):
            body = value[1] if isinstance(value, tuple) else value
            if not isinstance(body, bytes | str) and not _seekable(body):
                return False
    return True


def _seekable(body: object) -> bool:
    check = getattr(body, "seekable", None)
    try:
        return callable(getattr(body, "seek", None)) and (not callable(check) or bool(check()))
    except (OSError, ValueError):
        return False


async def _materialise(response: httpx.Response, limit: int) -> str:
    """Read at most ``limit`` bytes of an unread answer; keep them as its content when that
    was all of it (``.text`` and ``.json()`` then work). The text read."""
    if not response.is_stream_consumed:
        body, cut = await read_at_most(response, limit)
        if not cut:
            response._content = body  # what httpx's own aread() sets
        return body.decode(response.encoding or "utf-8", "replace")
    return response.text


class AsyncAsUserSession:
    """Calls Box as ``user_id`` (``None``: the service account) from asyncio.

    ::

        auth = AsyncJWTAuthenticator(boxjwt.KeyFile.from_file("key.json"))
        async with AsyncAsUserSession(auth) as root:
            me = await root.for_user("12345").get("/2.0/users/me")   # an httpx.Response

    ``mode``, ``timeout``, ``raise_for_status``, ``retry`` and ``rate_limiter`` mean what
    they mean for :class:`boxjwt.AsUserSession` (the default limiter is the one the
    authenticator's sync core shares with every session, sync or async). ``client`` is the
    ``httpx.AsyncClient`` to send through (default: a private one with
    :data:`boxjwt.aio.DEFAULT_LIMITS`, closed by :meth:`aclose`); its own ``follow_redirects``
    and ``auth`` are never used: this session follows redirects itself (``max_redirects``),
    dropping ``Authorization`` and ``As-User`` on any hop away from Box. :meth:`for_user` makes
    a sibling on the same client, hence the same connection pool (and cookie jar: Box's API sets
    none).

    Request methods (``get``, ``post``, ``put``, ``patch``, ``delete``, ``head``, ``options``,
    ``request``) take ``httpx``'s keywords (``params``, ``headers``, ``content``, ``data``,
    ``files``, ``json``, ``timeout``) and return an ``httpx.Response``, read unless
    ``stream=True`` (then read it with ``aread()``/``aiter_bytes()`` and close it). A request
    with a body that cannot be replayed (a multipart upload, an async iterator) is sent once:
    no retry, no resend after a 401.
    """

    def __init__(
        self,
        auth: AsyncJWTAuthenticator,
        user_id: str | int | None = None,
        *,
        mode: SessionMode = "as_user",
        timeout: float | tuple[float, float] = API_TIMEOUT,
        raise_for_status: bool = False,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        client: httpx.AsyncClient | None = None,
        max_redirects: int = _MAX_REDIRECTS,
        _share_with: AsyncAsUserSession | None = None,
    ) -> None:
        if not isinstance(auth, AsyncJWTAuthenticator):
            raise ConfigurationError(
                "AsyncAsUserSession needs a boxjwt.aio.AsyncJWTAuthenticator, not "
                + type(auth).__name__
            )
        credentials = BoxAuth(auth.core, user_id=user_id, mode=mode)  # validates both
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError("retry must be a boxjwt RetryPolicy (or None)")
        if rate_limiter is not None and not isinstance(rate_limiter, RateLimiter):
            raise ConfigurationError(
                "rate_limiter must be a boxjwt.RateLimiter (RateLimiter.disabled() turns "
                "pacing off) or None for the authenticator's shared one"
            )
        if client is not None and not isinstance(client, httpx.AsyncClient):
            raise ConfigurationError("client must be an httpx.AsyncClient (or None)")
        bound: object = max_redirects
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
            raise ConfigurationError("max_redirects must be an integer >= 0")
        self._timeout = validate_timeout(timeout)
        self._auth = auth
        self._credentials = credentials
        self._origins = credentials.origins
        self._as_user = credentials.as_user
        self._token_user = credentials.user_id if credentials.mode == "user_token" else None
        self.raise_for_status = bool(raise_for_status)
        """Raise :mod:`boxjwt.exceptions` errors for Box error responses (after retries)."""
        self._retry = retry if retry is not None else auth.retry
        self._max_redirects = max_redirects
        if rate_limiter is None:
            core = auth.core
            rate_limiter = shared_rate_limiter(core, clock=core.retry.clock, sleep=core.retry.sleep)
        self._rate_limiter = rate_limiter
        self._inline_limiter = type(rate_limiter) is RateLimiter
        user = credentials.user_id
        self._rate_subject = user if user is not None else f"service-account:{auth.client_id}"
        self._client: httpx.AsyncClient
        if _share_with is not None:
            self._client = _share_with._client
            self._owns_client = False
        else:
            self._owns_client = client is None
            self._client = client if client is not None else fast_client(DEFAULT_LIMITS)
        self._httpx_timeout = httpx_timeout(self._timeout)

    # ------------------------------------------------------------------ properties

    @property
    def authenticator(self) -> AsyncJWTAuthenticator:
        """The :class:`AsyncJWTAuthenticator` supplying the tokens."""
        return self._auth

    @property
    def user_id(self) -> str | None:
        """The user this session acts as (``None``: the service account)."""
        return self._credentials.user_id

    @property
    def mode(self) -> SessionMode:
        """``"as_user"`` (enterprise token + ``As-User``) or ``"user_token"``."""
        return self._credentials.mode

    @property
    def client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` (the connection pool) shared with every sibling."""
        return self._client

    @property
    def owns_client(self) -> bool:
        """True for the session whose :meth:`aclose` closes the client."""
        return self._owns_client

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of this session's Box requests."""
        return self._retry

    @property
    def rate_limiter(self) -> RateLimiter:
        """The limiter pacing this session's Box requests (shared with its siblings)."""
        return self._rate_limiter

    @property
    def rate_subject(self) -> str:
        """Whose budget this session's requests spend."""
        return self._rate_subject

    def __repr__(self) -> str:
        return (
            f"AsyncAsUserSession(user_id={self.user_id!r}, mode={self.mode!r}, "
            f"base_url={self._auth.base_url!r})"
        )

    def for_user(self, user_id: str | int | None) -> AsyncAsUserSession:
        """A session acting as ``user_id`` on this session's client (one connection pool),
        with the same mode, timeout, retry policy, rate limiter and ``raise_for_status``."""
        return AsyncAsUserSession(
            self._auth,
            user_id,
            mode=self.mode,
            timeout=self._timeout,
            raise_for_status=self.raise_for_status,
            retry=self._retry,
            rate_limiter=self._rate_limiter,
            max_redirects=self._max_redirects,
            _share_with=self,
        )

    def is_box_url(self, url: str) -> bool:
        """True when ``url`` is on a configured Box origin (scheme, host and port all match)."""
        return self._credentials.is_box_url(url)

    def resolve_url(self, url: str) -> str:
        """The absolute URL a request for ``url`` goes to (see
        :meth:`boxjwt.AsUserSession.resolve_url`)."""
        auth = self._auth
        return resolve_box_url(url, auth.base_url, auth.upload_url, self._origins)[0]

    async def aclose(self) -> None:
        """Close the client if this session created it; a sibling closes nothing."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncAsUserSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ requests

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """``GET url`` (see :meth:`request`)."""
        return await self.request("GET", url, **kwargs)

    async def head(self, url: str, **kwargs: Any) -> httpx.Response:
        """``HEAD url``."""
        return await self.request("HEAD", url, **kwargs)

    async def options(self, url: str, **kwargs: Any) -> httpx.Response:
        """``OPTIONS url``."""
        return await self.request("OPTIONS", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """``POST url``."""
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        """``PUT url``."""
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        """``PATCH url``."""
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        """``DELETE url``."""
        return await self.request("DELETE", url, **kwargs)

    async def request(
        self,
        method: str,
        url: str,
        *,
        stream: bool = False,
        follow_redirects: bool = True,
        timeout: float | tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send ``method url``: Box credentials, 401 recovery, pacing and retries on Box
        origins only; any other URL is sent as it is, without credentials."""
        if "auth" in kwargs:
            raise ConfigurationError(
                f"{self!r} authenticates its Box requests itself: do not pass auth= (to act as "
                "another user, use session.for_user(user_id))"
            )
        auth = self._auth
        resolved, box = resolve_box_url(url, auth.base_url, auth.upload_url, self._origins)
        wait = self._httpx_timeout if timeout is None else httpx_timeout(validate_timeout(timeout))
        request = self._client.build_request(method, resolved, timeout=wait, **kwargs)
        follow = self._max_redirects if follow_redirects else 0
        if not box:
            response = await self._send_hops(request, follow, box_chain=False)
            return await self._finish(response, stream)
        outer = sys.exception()
        try:
            response = await self._send_to_box(request, follow, _replayable(kwargs))
            if self.raise_for_status and response.status_code >= 400:
                await self._raise_for(response)
        except BoxJWTError as exc:
            request.headers.pop("Authorization", None)
            del request
            scrub(exc, outer)
            raise
        return await self._finish(response, stream)

    async def _finish(self, response: httpx.Response, stream: bool) -> httpx.Response:
        if not stream and not response.is_stream_consumed:
            try:
                await response.aread()
            finally:
                await response.aclose()
        return response

    async def _raise_for(self, response: httpx.Response) -> None:
        text = await _materialise(response, ERROR_READ_BYTES)
        await response.aclose()
        request = response.request
        raise api_error(
            response.status_code,
            response.headers,
            text,
            method=request.method,
            url=safe_url(str(request.url)),
            reason=response.reason_phrase,
            service_account=self.user_id is None,
        )

    # ------------------------------------------------------------------ sending

    async def _token(self) -> AccessToken:
        if self._token_user is None:
            return await self._auth.enterprise_token()
        return await self._auth.user_token(self._token_user)

    async def _send_hops(
        self, request: httpx.Request, follow: int, *, box_chain: bool
    ) -> httpx.Response:
        """Send ``request`` and follow up to ``follow`` redirects, one hop at a time: a hop to
        a Box origin gets this session's credentials only when the chain started at Box; any
        other hop gets neither ``Authorization`` nor ``As-User``."""
        response = await self._client.send(request, stream=True, follow_redirects=False)
        history: list[httpx.Response] = []
        while response.next_request is not None and len(history) < follow:
            hop = response.next_request
            await drain(response, ERROR_READ_BYTES)
            history.append(response)
            if box_chain and origin(str(hop.url)) in self._origins:
                put_credentials(hop, await self._token(), self._as_user)
            else:
                drop_box_headers(hop.headers)
            response = await self._client.send(hop, stream=True, follow_redirects=False)
        response.history = history
        return response

    async def _send_paced(
        self, request: httpx.Request, rate_class: RateClass, follow: int
    ) -> httpx.Response:
        """One send of a Box request: a slot in the user's budget (awaited), the credentials,
        and Box's answer reported to the limiter (a 429 pauses the user for every task)."""
        limiter = self._rate_limiter
        enterprise = self._auth.enterprise_id
        permit: RatePermit
        if self._inline_limiter:
            permit = limiter.reserve(self._rate_subject, rate_class, enterprise=enterprise)
        else:
            permit = await asyncio.to_thread(
                limiter.reserve, self._rate_subject, rate_class, enterprise=enterprise
            )
        delay = permit.delay
        while delay > 0:
            await self._auth.sleep(delay)
            delay = limiter.recheck(permit)
        put_credentials(request, await self._token(), self._as_user)
        response = await self._send_hops(request, follow, box_chain=True)
        box = response.history[0] if response.history else response  # Box's own answer
        status = box.status_code
        retry_after = _retry_after(box) if status == 429 else None
        if self._inline_limiter:
            limiter.record_response(permit, status, retry_after)
        else:
            await asyncio.to_thread(limiter.record_response, permit, status, retry_after)
        return response

    async def _recover(
        self, response: httpx.Response, resend: Callable[[], Awaitable[httpx.Response]] | None
    ) -> httpx.Response:
        """A 401 from Box for a request carrying our token: drop that token (compare-and-swap)
        and, once, resend at once with a new one. A 401 from another origin changes nothing."""
        token = token_of(response.request) if response.status_code == 401 else None
        if token is None:
            return response
        await self._auth.invalidate(token)
        if resend is None:
            return response
        logger.info(
            "%s %s: HTTP 401 from Box (Box request id %s); resending once with a new token",
            response.request.method,
            safe_url(str(response.request.url)),
            get_header(response.headers, "box-request-id"),
        )
        await drain(response, ERROR_READ_BYTES)
        return await self._recover(await resend(), None)

    async def _send_to_box(
        self, request: httpx.Request, follow: int, replayable: bool
    ) -> httpx.Response:
        self._credentials.check_headers(request)  # the caller's Box headers are refused
        method = request.method
        url = safe_url(str(request.url)) or ""
        idempotent = method in IDEMPOTENT_METHODS
        rate_class = rate_class_of(method, str(request.url))
        paced = self._rate_limiter.enabled
        resent = False

        async def send_once() -> httpx.Response:
            return await self._send_paced(request, rate_class, follow)

        async def resend() -> httpx.Response:
            nonlocal resent
            resent = True
            return await send_once()

        async def attempt() -> httpx.Response:
            try:
                response = await send_once()
            except httpx.HTTPError as exc:
                raise transport_error(exc, method, url) from None
            if response.status_code == 401:
                response = await self._recover(
                    response, None if resent or not replayable else resend
                )
            if response.status_code == 409 and replayable:
                await _materialise(response, ERROR_READ_BYTES)  # the code decides a retry
            return response

        def retry_exception(exc: BaseException) -> bool:
            return idempotent and replayable and getattr(exc, "retryable", False) is True

        def retry_result(response: httpx.Response) -> bool:
            if not replayable or token_of(response.request) is None:
                return False  # not replayable, or answered by a host that is not Box
            return retryable_response(
                response.status_code,
                response.headers,
                lambda: response.text if response.is_stream_consumed else "",
                idempotent=idempotent,
            )

        async def on_retry(event: RetryEvent) -> None:
            await _log_retry(method, url, paced=paced, event=event)

        return await retrying(
            self._retry,
            self._auth.sleep,
            attempt,
            retry_exception=retry_exception,
            retry_result=retry_result,
            retry_after=_after_shared_pause if paced else _retry_after,
            on_retry=on_retry,
        )


async def _log_retry(method: str, url: str, *, paced: bool, event: RetryEvent) -> None:
    """Log a retry of a Box request (the answer retried is drained first)."""
    outcome = event.outcome
    status = request_id = None
    if isinstance(outcome, httpx.Response):
        status, request_id = outcome.status_code, get_header(outcome.headers, "box-request-id")
        await drain(outcome, ERROR_READ_BYTES)
    log_retry(logger, method, url, event, paced=paced, status=status, request_id=request_id)
