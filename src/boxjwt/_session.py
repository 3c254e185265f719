"""AsUserSession: a ``requests.Session`` that calls Box as a given user, and survives Box.

How a request travels through :meth:`AsUserSession.send`:

1. :meth:`~AsUserSession.prepare_request` resolves the URL: ``/2.0/...`` against the
   authenticator's ``base_url``, ``/api/2.0/...`` against its upload URL, and absolute
   ``https://api.box.com`` / ``https://upload.box.com`` URLs are rerouted to the configured hosts
   (so one emulator ``base_url`` reroutes everything). Any other absolute URL passes through.
2. Only a request to a *configured Box host* (same scheme, host and port as ``base_url`` or the
   upload URL) gets ``Authorization`` and ``As-User``, set on that one prepared request by the
   session's :class:`~boxjwt.BoxAuth` (the one credential path), never in ``session.headers``.
   A Box header the caller set is refused, not replaced. A redirect to any other host loses
   both (:meth:`rebuild_auth`).
3. A 401 from a Box host goes to :meth:`BoxAuth.recover`: it invalidates exactly the token that
   request carried (compare-and-swap: of many threads hitting the same expired token, one drops
   it and one exchange follows) and the request is sent once more, at once, with a new token.
4. Before each Box request (retries and the 401 resend included) the session's
   :class:`~boxjwt.RateLimiter` paces it against the budget of the user Box charges (the
   As-User target, the owner of a user token, or the service account), and sees the answer: a
   429 pauses that user's class for every thread sharing the limiter.
5. A 429 is retried for every method (Box refused before doing anything): after the shared
   pause when the limiter is on, else after ``Retry-After``; a 5xx, a 202 with ``Retry-After``
   and connection failures only for idempotent methods. No retry at all when the body cannot be
   rewound (a generator, an unseekable stream). Attempts and total time are bounded by the
   :class:`RetryPolicy`.
"""

from __future__ import annotations

import copy
import functools
import logging
import sys
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Final, NoReturn

import requests
from requests.cookies import RequestsCookieJar
from requests.hooks import default_hooks
from requests.models import REDIRECT_STATI
from requests.structures import CaseInsensitiveDict

from boxjwt._auth import (
    BoxAuth,
    SessionMode,
    discard,
    drop_box_headers,
    origin,
    redirect_leaves_box,
    sent_token,
)
from boxjwt._authenticator import JWTAuthenticator
from boxjwt._bounded import error_text, lending_pool, mount_bounded_adapters
from boxjwt._classify import retryable_response
from boxjwt._errors import raise_for_box_error, retry_after_of
from boxjwt._http import API_TIMEOUT, safe_url
from boxjwt._ratelimit import RateLimiter, shared_rate_limiter
from boxjwt._ratepolicy import RateClass, rate_class_of
from boxjwt._retry import RetryEvent, RetryPolicy, log_retry
from boxjwt._routing import box_heads, resolve_box_url
from boxjwt._scrub import scrub
from boxjwt._token_endpoint import get_header, sanitized_cause, transport_error
from boxjwt._validate import validate_timeout
from boxjwt.exceptions import BoxJWTError, ConfigurationError

if TYPE_CHECKING:
    from requests.models import PreparedRequest

__all__ = ["DEFAULT_SESSION_TIMEOUT", "IDEMPOTENT_METHODS", "AsUserSession", "SessionMode"]

logger = logging.getLogger("boxjwt")

#: (connect, read) seconds applied to every request that does not pass its own timeout.
DEFAULT_SESSION_TIMEOUT: Final = API_TIMEOUT

#: Methods retried after a 5xx, a 202 + ``Retry-After`` or a connection failure.
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: Keyword passed from :meth:`AsUserSession.resolve_redirects` to :meth:`AsUserSession.send`:
#: marks a redirect hop, with whether the chain started at a Box host.
_HOP: Final = "_boxjwt_redirect_hop"


def _noop() -> None:
    return None


def _copy_headers(headers: Any) -> Any:
    """A copy of a session's default headers: for requests' ``CaseInsensitiveDict``, a copy of
    the dict behind it (its values are ``(name, value)`` tuples), not one insertion per
    header."""
    if type(headers) is not CaseInsensitiveDict:
        return copy.copy(headers)
    new: Any = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
    new._store = headers._store.copy()  # type: ignore[attr-defined]
    return new


def _copy(request: requests.Request) -> requests.Request:
    """A shallow copy of ``request`` (``copy.copy``, without its generic machinery)."""
    if type(request) is not requests.Request:
        return copy.copy(request)
    new = object.__new__(requests.Request)
    new.__dict__.update(request.__dict__)
    return new


def _rewinder(body: object) -> Callable[[], None] | None:
    """A function putting ``body`` back where it starts now, or None if it cannot be replayed.

    ``None``, ``bytes`` and ``str`` bodies replay as they are; a seekable file is sought back to
    its current position; generators and unseekable streams cannot be replayed.
    """
    if body is None or isinstance(body, bytes | str):
        return _noop
    seek = getattr(body, "seek", None)
    tell = getattr(body, "tell", None)
    seekable = getattr(body, "seekable", None)
    if not callable(seek) or not callable(tell):
        return None
    try:
        if callable(seekable) and not seekable():
            return None
        position = tell()
    except (OSError, ValueError):
        return None

    def rewind() -> None:
        seek(position)

    return rewind


def _keep_auth(request: PreparedRequest) -> PreparedRequest:
    """The ``auth`` of a Box request while it is prepared: leaves it alone.

    Stands in for "no auth" so that ``requests`` does not add a ``~/.netrc`` login to a Box
    request (BoxAuth would refuse it as an Authorization the caller set).
    """
    return request


def _after_shared_pause(outcome: object) -> float | None:
    """The retry wait of a paced session: none after a 429, whose wait is the user's shared
    pause (the next ``acquire`` sleeps it); else the answer's ``Retry-After``."""
    if isinstance(outcome, requests.Response) and outcome.status_code == 429:
        return 0.0
    return retry_after_of(outcome)


def _log_retry(method: str, request: PreparedRequest, paced: bool, event: RetryEvent) -> None:
    """Log a retry of a Box request (and free the connection of the answer retried)."""
    outcome = event.outcome
    status = request_id = None
    if isinstance(outcome, requests.Response):
        status, request_id = outcome.status_code, get_header(outcome.headers, "box-request-id")
        discard(outcome)
    log_retry(
        logger,
        method,
        safe_url(request.url),
        event,
        paced=paced,
        status=status,
        request_id=request_id,
    )


class AsUserSession(requests.Session):
    """A ``requests.Session`` calling Box as ``user_id`` (``None``: the service account).

    ::

        auth = boxjwt.JWTAuthenticator(boxjwt.KeyFile.from_file("key.json"))
        with boxjwt.AsUserSession(auth, user_id="12345") as s:
            s.get("/2.0/users/me").json()["id"]          # "12345"
            s.post("/api/2.0/files/content", files=...)   # the upload host

    ``mode="as_user"`` (default) sends the service account's (enterprise) token with an
    ``As-User: <user_id>`` header (needs "Make API calls using the as-user header");
    ``mode="user_token"`` sends the user's own token instead (needs "Generate user access
    tokens"). ``user_id=None`` calls as the service account in both modes.

    - Paths: ``/2.0/...`` resolves against ``auth.base_url``, ``/api/2.0/...`` against
      ``auth.upload_url``; absolute ``https://api.box.com/...`` and
      ``https://upload.box.com/...`` URLs are rerouted to those when they are overridden. Other
      absolute URLs pass through untouched and never receive Box credentials.
    - ``Authorization`` and ``As-User`` belong to the session on Box hosts: its
      :attr:`credentials` (a :class:`~boxjwt.BoxAuth`) sets both on every request there and
      never stores them in ``session.headers``. One you set yourself (per call or in
      ``session.headers``), an ``As-User`` other than the session's user, or ``auth=``, raises
      :class:`~boxjwt.exceptions.ConfigurationError` instead of being dropped or replaced. To
      act as someone else, use :meth:`for_user`.
    - ``timeout``: ``(connect, read)`` seconds (or one number) for every request that passes
      no ``timeout`` of its own.
    - ``raise_for_status=True`` turns every Box error response (4xx/5xx, after retries) into
      the matching :mod:`boxjwt.exceptions` error, as :func:`boxjwt.raise_for_box_error` does.
    - ``retry``: the :class:`boxjwt.RetryPolicy` bounding retries of 429, 5xx and connection
      failures (default: the authenticator's, with its injected sleep and clock). A 401 is not
      a retry: the token is invalidated and the request resent once, immediately.
    - ``rate_limiter``: the :class:`boxjwt.RateLimiter` pacing every Box request at Box's
      per-user budgets (default: one limiter per authenticator, shared by all its sessions and
      using the authenticator's retry clock and sleep; a
      :class:`boxjwt.stores.RedisRateLimiter` shares them across processes;
      ``RateLimiter.disabled()`` turns pacing off). See the rate limits how-to.
    - Connection failures on Box hosts raise :class:`boxjwt.exceptions.TransportError`; token
      problems raise the authenticator's :class:`~boxjwt.exceptions.TokenExchangeError`.

    **One pool for many users.** A session per user must not mean a connection pool per user.
    :meth:`for_user` (or ``share_pool_with=other``) makes a sibling session that uses the very
    same ``adapters`` mapping, hence the same ``HTTPAdapter`` objects and their urllib3 pools::

        root = boxjwt.AsUserSession(auth)                    # owns the pool
        root.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=32))  # optional
        for user_id in user_ids:                             # 10,000 users: still one pool
            s = root.for_user(user_id)
            s.get("/2.0/folders/0")

    Siblings are cheap (no socket, no pool, no token until the first request: in ``as_user``
    mode every sibling uses the one cached enterprise token) and may be used from many threads.
    Mounting an adapter on any of them mounts it for all. ``requests`` keeps at most
    ``pool_maxsize`` (default 10) idle connections per host: with more worker threads than
    that, mount an ``HTTPAdapter(pool_maxsize=<threads>)`` as above. Closing a sibling leaves
    the shared pool alone; closing the session that created the pool closes its idle
    connections (siblings still work: the pool reconnects on demand). Each sibling keeps its
    own cookies. ``trust_env = False`` on the root (copied to siblings) skips ``requests``'
    per-request scan of proxy environment variables when no proxy is needed.

    **One connection at start.** The pool is lent to the authenticator's token requests made
    while this session (or a sibling) sends, so a cold process's first call opens one
    connection for its token and the call, not two (only the pool is shared: the token
    request keeps its own settings: no redirects, its timeout and deadline, its proxies). An
    adapter you mount is not lent (its retries or TLS settings are yours): the token requests
    then keep a pool of their own.
    """

    def __init__(
        self,
        auth: JWTAuthenticator,
        user_id: str | int | None = None,
        *,
        mode: SessionMode = "as_user",
        timeout: float | tuple[float, float] = DEFAULT_SESSION_TIMEOUT,
        raise_for_status: bool = False,
        retry: RetryPolicy | None = None,
        share_pool_with: AsUserSession | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if not isinstance(auth, JWTAuthenticator):
            raise ConfigurationError(
                "AsUserSession needs a boxjwt.JWTAuthenticator, not " + type(auth).__name__
            )
        credentials = BoxAuth(auth, user_id=user_id, mode=mode)  # validates both
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError("retry must be a boxjwt RetryPolicy (or None)")
        if share_pool_with is not None and not isinstance(share_pool_with, AsUserSession):
            raise ConfigurationError("share_pool_with must be another AsUserSession")
        if rate_limiter is not None and not isinstance(rate_limiter, RateLimiter):
            raise ConfigurationError(
                "rate_limiter must be a boxjwt.RateLimiter (RateLimiter.disabled() turns "
                "pacing off) or None for the authenticator's shared one"
            )
        checked_timeout = validate_timeout(timeout)
        if share_pool_with is None:
            super().__init__()
            mount_bounded_adapters(self)  # lent to the token endpoint (see JWTAuthenticator)
        else:
            self._init_sibling(share_pool_with)

        if rate_limiter is None:
            rate_limiter = shared_rate_limiter(auth, clock=auth.retry.clock, sleep=auth.retry.sleep)
        self._set_up(
            credentials,
            checked_timeout,
            retry if retry is not None else auth.retry,
            rate_limiter,
            owns_pool=share_pool_with is None,
        )
        self.raise_for_status = bool(raise_for_status)
        """Raise :mod:`boxjwt.exceptions` errors for Box error responses (after retries)."""

    def _set_up(
        self,
        credentials: BoxAuth,
        timeout: float | tuple[float, float],
        retry: RetryPolicy,
        rate_limiter: RateLimiter,
        *,
        owns_pool: bool,
    ) -> None:
        """boxjwt's own state, from values already checked."""
        auth = credentials.authenticator
        self._authenticator = auth
        self._credentials = credentials
        self._origins = credentials.origins
        self._heads = box_heads(auth.base_url, auth.upload_url)
        self._timeout = timeout
        self._retry = retry
        self._owns_pool = owns_pool
        self._rate_limiter = rate_limiter
        user = credentials.user_id
        self._rate_subject = user if user is not None else f"service-account:{auth.client_id}"

    def _init_sibling(self, parent: AsUserSession) -> None:
        """What ``requests.Session.__init__`` sets (``Session.__attrs__``), taken from ``parent``.

        ``requests`` would build two ``HTTPAdapter`` pools here only for us to drop them; a
        sibling instead uses the very same ``adapters`` mapping (the same urllib3 pools) and
        copies of the parent's defaults. Cookies and hooks are its own.
        """
        headers, params = parent.headers, parent.params
        self.headers = _copy_headers(headers)
        self.auth = None
        self.proxies = dict(parent.proxies)
        self.hooks = default_hooks()
        self.params = params.copy() if type(params) is dict else copy.copy(params)
        self.stream = parent.stream
        self.verify = parent.verify
        self.cert = parent.cert
        self.max_redirects = parent.max_redirects
        self.trust_env = parent.trust_env
        # its own cookies, under the parent's cookie policy (a setting, like verify)
        self.cookies = RequestsCookieJar(policy=getattr(parent.cookies, "_policy", None))
        self.adapters = parent.adapters

    # ------------------------------------------------------------------ properties

    @property
    def authenticator(self) -> JWTAuthenticator:
        """The :class:`~boxjwt.JWTAuthenticator` supplying the tokens."""
        return self._authenticator

    @property
    def user_id(self) -> str | None:
        """The user this session acts as (``None``: the service account)."""
        return self._credentials.user_id

    @property
    def mode(self) -> SessionMode:
        """``"as_user"`` (enterprise token + ``As-User``) or ``"user_token"``."""
        return self._credentials.mode

    @property
    def credentials(self) -> BoxAuth:
        """The :class:`~boxjwt.BoxAuth` that puts this session's credentials on Box requests."""
        return self._credentials

    @property
    def timeout(self) -> float | tuple[float, float]:
        """The default timeout of every request."""
        return self._timeout

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
        """Whose budget this session's requests spend: the user ID it acts as, or
        ``"service-account:<client ID>"``."""
        return self._rate_subject

    @property
    def owns_pool(self) -> bool:
        """True for the session that created the connection pool; False for its siblings."""
        return self._owns_pool

    def __repr__(self) -> str:
        return (
            f"AsUserSession(user_id={self.user_id!r}, mode={self.mode!r}, "
            f"base_url={self._authenticator.base_url!r})"
        )

    def __getstate__(self) -> NoReturn:
        raise TypeError("an AsUserSession cannot be pickled; build one per process")

    # ------------------------------------------------------------------ siblings

    def for_user(self, user_id: str | int | None) -> AsUserSession:
        """A session acting as ``user_id`` that shares this session's connection pool.

        It has the same authenticator, mode, timeout, retry policy, rate limiter and
        ``raise_for_status``,
        and copies of the default headers, proxies, ``verify``, ``cert``, ``params``,
        ``stream``, ``trust_env`` and ``max_redirects``. Creating it opens nothing.
        """
        credentials = self._credentials.sibling(user_id)  # validates user_id
        sibling = AsUserSession.__new__(AsUserSession)  # __init__'s checks were made for us
        sibling._init_sibling(self)
        # _set_up(), from this session's already derived values
        sibling._authenticator = self._authenticator
        sibling._credentials = credentials
        sibling._origins = self._origins
        sibling._heads = self._heads
        sibling._timeout = self._timeout
        sibling._retry = self._retry
        sibling._owns_pool = False
        sibling._rate_limiter = self._rate_limiter
        user = credentials.user_id
        sibling._rate_subject = self._rate_subject if user is None else user
        sibling.raise_for_status = self.raise_for_status
        return sibling

    def close(self) -> None:
        """Close the pooled connections if this session owns the pool; a sibling closes nothing."""
        if self._owns_pool:
            super().close()

    # ------------------------------------------------------------------ URLs

    def is_box_url(self, url: str | bytes | None) -> bool:
        """True when ``url`` is on a configured Box host (scheme, host and port all match)."""
        return self._credentials.is_box_url(url)

    def resolve_url(self, url: str) -> str:
        """The absolute URL a request for ``url`` goes to.

        ``/api/2.0/...`` -> the upload URL; any other ``/...`` path -> ``base_url``; absolute
        ``https://api.box.com`` / ``https://upload.box.com`` URLs -> the configured hosts; any
        other absolute URL unchanged.
        """
        return self._resolve(url)[0]

    def _resolve(self, url: str) -> tuple[str, bool]:
        """(:meth:`resolve_url`, whether that is a Box URL): paths need no second parse."""
        auth = self._authenticator
        return resolve_box_url(url, auth.base_url, auth.upload_url, self._origins)

    def prepare_request(self, request: requests.Request) -> PreparedRequest:
        """Resolve the URL (see :meth:`resolve_url`), then prepare as ``requests`` does.

        A Box request takes no ``auth`` (the session authenticates it): passing one, or setting
        ``session.auth``, raises :class:`~boxjwt.exceptions.ConfigurationError`.
        """
        raw: object = request.url
        url = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        resolved, box = self._resolve(url)
        if box:
            if request.auth is not None or self.auth is not None:
                raise ConfigurationError(
                    f"{self!r} authenticates its Box requests itself: do not pass auth= or set "
                    "session.auth (to act as another user, use session.for_user(user_id))"
                )
            request = _copy(request)
            request.url = resolved
            request.auth = _keep_auth
        elif resolved != raw:
            request = _copy(request)
            request.url = resolved
        return super().prepare_request(request)

    # ------------------------------------------------------------------ redirects

    def rebuild_auth(self, prepared_request: PreparedRequest, response: requests.Response) -> None:
        """On a redirect away from a Box host, drop ``Authorization`` and ``As-User``."""
        base: Any = super().rebuild_auth  # typed in some requests versions, not in others
        base(prepared_request, response)
        if redirect_leaves_box(self._origins, response):
            drop_box_headers(prepared_request.headers)

    def resolve_redirects(
        self, resp: requests.Response, req: PreparedRequest, *args: Any, **kwargs: Any
    ) -> Generator[requests.Response, None, None]:
        """``requests``' redirect loop; each hop is marked so :meth:`send` only authorizes it.

        A hop to a Box host gets fresh credentials only when the chain started at a Box host.
        """
        if resp.status_code not in REDIRECT_STATI or not resp.is_redirect:
            return  # nearly every answer: nothing to follow (the status first: no header lookup)
        kwargs[_HOP] = self._on_box(req.url or "")
        yield from super().resolve_redirects(resp, req, *args, **kwargs)

    def _on_box(self, url: str) -> bool:
        """Whether ``url`` is on a configured Box origin (:meth:`is_box_url`, for ``str``)."""
        return url.startswith(self._heads) or origin(url) in self._origins

    # ------------------------------------------------------------------ sending

    def send(self, request: PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send ``request``: Box credentials, 401 recovery and retries for Box hosts only."""
        hop = kwargs.pop(_HOP, None)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        if hop is not None:  # a redirect hop of a chain being followed by super().send
            if hop and self._on_box(request.url or ""):
                self._credentials.apply(request)
            return super().send(request, **kwargs)
        if not self._on_box(request.url or ""):
            return super().send(request, **kwargs)
        outer = sys.exception()
        response: requests.Response | None = None
        lent = lending_pool.set(self)  # a token needed meanwhile rides on this session's pool
        try:
            response = self._send_to_box(request, kwargs)
            if self.raise_for_status:
                raise_for_box_error(response, service_account=self.user_id is None)
        except BoxJWTError as exc:
            # The request is over: no token stays on it (the caller's frames hold it), none in
            # the frames the error leaves behind.
            request.headers.pop("Authorization", None)
            del request, response
            scrub(exc, outer)
            raise
        finally:
            lending_pool.reset(lent)
        return response

    def _send_paced(
        self, request: PreparedRequest, kwargs: dict[str, Any], rate_class: RateClass
    ) -> requests.Response:
        """One send of a Box request: a slot in the user's budget, the credentials, and the
        answer reported to the limiter (a 429 pauses the user for every thread)."""
        limiter = self._rate_limiter
        permit = limiter.acquire(
            self._rate_subject, rate_class, enterprise=self._authenticator.enterprise_id
        )
        self._credentials.apply(request)
        response = requests.Session.send(self, request, **kwargs)
        box = response.history[0] if response.history else response  # Box's own answer
        status = box.status_code
        limiter.record_response(permit, status, retry_after_of(box) if status == 429 else None)
        return response

    def _send_to_box(self, request: PreparedRequest, kwargs: dict[str, Any]) -> requests.Response:
        credentials = self._credentials
        credentials.check_headers(request)  # the caller's Box headers are refused, not replaced
        method = (request.method or "GET").upper()
        idempotent = method in IDEMPOTENT_METHODS
        rewind = _rewinder(request.body)
        resent = False
        rate_class, paced = rate_class_of(method, request.url or ""), self._rate_limiter.enabled

        def send_once() -> requests.Response:
            if rewind is not None:
                rewind()
            return self._send_paced(request, kwargs, rate_class)

        def resend_after_401() -> requests.Response:
            nonlocal resent
            resent = True
            return send_once()

        def attempt() -> requests.Response:
            response = send_once()
            if response.status_code == 401:  # Box's 401: BoxAuth drops the token, resends once
                again = None if resent or rewind is None else resend_after_401
                response = credentials.recover(response, again)
            return response

        def retry_exception(exc: BaseException) -> bool:
            if not idempotent or rewind is None or not isinstance(exc, requests.RequestException):
                return False
            return transport_error(exc, method, safe_url(request.url) or "").retryable

        def retry_result(response: requests.Response) -> bool:
            if rewind is None or sent_token(response) is None:
                return False  # not replayable, or answered by a host that is not Box
            return retryable_response(
                response.status_code,
                response.headers,
                lambda: error_text(response),
                idempotent=idempotent,
            )

        try:
            return self._retry.run(
                attempt,
                retry_exception=retry_exception,
                retry_result=retry_result,
                retry_after=_after_shared_pause if paced else retry_after_of,
                on_retry=functools.partial(_log_retry, method, request, paced),
            )
        except requests.RequestException as exc:
            url = safe_url(request.url) or ""
            raise transport_error(exc, method, url) from sanitized_cause(exc)
