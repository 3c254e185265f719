"""JWTAuthenticator: assertion -> token exchange -> per-subject single-flight cache."""

from __future__ import annotations

import copy
import functools
import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs
import requests

from boxjwt._assertion import DEFAULT_ASSERTION_LIFETIME, AssertionBuilder
from boxjwt._attempts import ExchangeAttempts
from boxjwt._bounded import TokenSession
from boxjwt._http import TOKEN_LIMITS, TOKEN_TIMEOUT, ReadLimits
from boxjwt._keyfile import KeyFile
from boxjwt._retry import RetryEvent, RetryPolicy
from boxjwt._routing import DEFAULT_BASE_URL, DEFAULT_UPLOAD_URL
from boxjwt._scrub import scrub, scrubbed
from boxjwt._secret import Secret
from boxjwt._store import MemoryTokenStore, TokenStore
from boxjwt._token import AccessToken, SubjectType, subject_key
from boxjwt._token_endpoint import TokenEndpoint, TokenResult, server_time
from boxjwt._validate import (
    MAX_TIMEOUT,
    validate_number,
    validate_timeout,
    validate_url,
    validate_user_id,
)
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

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_REFRESH_MARGIN",
    "DEFAULT_TIMEOUT",
    "DEFAULT_UPLOAD_URL",
    "JWTAuthenticator",
]

logger = logging.getLogger("boxjwt")

#: Refresh this long before expiry (bounded to half a token's lifetime).
DEFAULT_REFRESH_MARGIN: Final = 300.0
#: (connect, read) seconds for each ``/oauth2/*`` request.
DEFAULT_TIMEOUT: Final = TOKEN_TIMEOUT
DEFAULT_MAX_USER_TOKENS: Final = 10_000
#: A token kept past its refresh point is still used, when a refresh fails transiently,
#: while it has at least this many seconds left.
_STALE_GRACE: Final = 10.0
#: Subjects remembered for "warn once" about a refused (foreign) token from the store.
_MAX_REFUSED_KEYS: Final = 1024


@functools.lru_cache(maxsize=1)
def _default_retry() -> RetryPolicy:
    """One default policy for every authenticator that takes the defaults (it is immutable;
    making one seeds a random generator from the OS: a fresh authenticator's first token
    need not pay that)."""
    return RetryPolicy()


class _SubjectLock:
    """One subject's refresh lock, and the outcome of its last exchange.

    Weakly referenced by the authenticator (``threading.Lock`` itself cannot be), so it lives
    exactly as long as some thread is using it. ``generation`` counts finished exchanges and
    ``failure`` is the last one's error (None after a success): threads that waited while an
    exchange failed share its error instead of each repeating the whole retry budget.
    """

    __slots__ = ("__weakref__", "failure", "generation", "lock", "waiting")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.failure: TokenExchangeError | TransportError | None = None
        self.waiting = 0


def _subject_text(subject_type: SubjectType, subject_id: str) -> str:
    return f"{subject_type} {subject_id}"


class JWTAuthenticator:
    """Box JWT server authentication: enterprise and user tokens, cached and single-flight.

    ``keyfile`` is a :class:`boxjwt.KeyFile` (its private key is decrypted once and reused).
    ``base_url`` reroutes the token calls and the API (``api_url`` is ``base_url + "/2.0"``;
    ``upload_url`` defaults to ``https://upload.box.com/api/2.0``, or to
    ``base_url + "/api/2.0"`` when ``base_url`` is overridden).

    Every token request signs a fresh assertion (``alg`` RS256/RS384/RS512, ``exp`` =
    Box's time + ``assertion_lifetime`` seconds, at most 60) and goes through ``retry``
    (a :class:`RetryPolicy`). An ``exp`` error retries once using Box's ``Date`` as "now"
    and remembers the offset (:attr:`clock_offset`); a reused ``jti`` retries once.

    Tokens are cached per subject in ``token_store`` (default: an in-process LRU holding up to
    ``max_user_tokens`` user tokens, 10,000 by default; the service account's token is kept
    apart and never evicted by them; ``max_user_tokens`` next to a ``token_store`` of your own
    is a :class:`~boxjwt.exceptions.ConfigurationError`: bound that store instead) and
    refreshed ``refresh_margin`` seconds before expiry (never more than half a token's
    lifetime). Concurrent requests for one subject make one exchange; different
    subjects never wait on each other. A token the store returns for another subject (another
    user, the service account, another app) is refused, logged, and replaced by a new exchange.
    A token's lifetime is Box's ``expires_in`` (about 3600 s), which must be a finite number
    above 0 (else the answer is a retryable :class:`~boxjwt.exceptions.TokenServerError`) and
    is believed within [5 s, 24 h] (``boxjwt._token.MIN_TOKEN_LIFETIME`` /
    ``MAX_TOKEN_LIFETIME``): a server cannot make a token fresh forever, nor force an exchange
    per call.

    ``timeout`` is each ``/oauth2/*`` request's ``(connect, read)`` seconds (the read timeout
    bounds each wait for the next bytes); ``deadline`` bounds the whole answer, from its status
    line to its last byte (of which at most 64 KiB are read), so that a server trickling bytes
    cannot hold a token refresh, and the subject's lock, for longer.

    ``clock`` (local Unix seconds) and ``sleep`` are injectable for tests; when given they also
    replace the retry policy's clock and sleeper. ``session`` is the ``requests.Session`` for
    ``/oauth2/*`` (default: a private one, closed by :meth:`close`; with a session of yours the
    deadline is enforced from the answer's first body byte on). Never follows redirects.

    A token requested while an :class:`~boxjwt.AsUserSession` sends (its first call, a
    refresh, a 401's resend) travels over that session's connection pool when the origin is
    the same (``api.box.com`` serves ``/oauth2/token`` and ``/2.0``): a cold process opens one
    connection, not two. Only the pool is shared: this session's settings (no redirects, its
    timeout and deadline, its proxies and headers) still apply. With a ``session`` of yours, or
    an adapter you mounted on the AsUserSession, each keeps its own pool.
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
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        deadline: float = TOKEN_LIMITS.deadline,
        retry: RetryPolicy | None = None,
        token_store: TokenStore | None = None,
        max_user_tokens: int | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        for name in ("client_id", "enterprise_id", "public_key_id", "client_secret"):
            if not hasattr(keyfile, name):
                raise ConfigurationError(
                    f"keyfile must be a boxjwt.KeyFile (load it with KeyFile.from_file), "
                    f"not {type(keyfile).__name__}"
                )
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError("retry must be a boxjwt.RetryPolicy")
        if token_store is not None and not isinstance(token_store, TokenStore):
            raise ConfigurationError("token_store must implement get/set/delete/lock")
        if max_user_tokens is not None and token_store is not None:
            raise ConfigurationError(
                "max_user_tokens bounds the default in-memory token store and would be ignored "
                "with token_store=: bound the store you pass instead (MemoryTokenStore("
                "max_size=...); a RedisTokenStore expires every key on its own)"
            )
        bound: object = DEFAULT_MAX_USER_TOKENS if max_user_tokens is None else max_user_tokens
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
            raise ConfigurationError("max_user_tokens must be an integer >= 1")

        self._keyfile = keyfile
        self._client_id = keyfile.client_id
        self._base_url = validate_url("base_url", base_url)
        if upload_url is not None:
            self._upload_url = validate_url("upload_url", upload_url)
        elif self._base_url == DEFAULT_BASE_URL:
            self._upload_url = DEFAULT_UPLOAD_URL
        else:
            self._upload_url = f"{self._base_url}/api/2.0"
        self._refresh_margin = validate_number("refresh_margin", refresh_margin)
        self._timeout = validate_timeout(timeout)
        self._deadline = validate_number("deadline", deadline, minimum=0.001, maximum=MAX_TIMEOUT)
        self._clock: Callable[[], float] = clock if clock is not None else time.time

        policy = retry if retry is not None else _default_retry()
        changes: dict[str, Any] = {}
        if clock is not None:
            changes["clock"] = clock
        if sleep is not None:
            changes["sleep"] = sleep
        self._retry = attrs.evolve(policy, **changes) if changes else policy

        self._assertions = AssertionBuilder(
            client_id=keyfile.client_id,
            public_key_id=keyfile.public_key_id,
            private_key=keyfile.private_key,
            alg=alg,
            lifetime=assertion_lifetime,
        )
        self._owns_session = session is None
        self._session = session if session is not None else TokenSession()
        self._endpoint = TokenEndpoint(
            base_url=self._base_url,
            client_id=keyfile.client_id,
            client_secret=keyfile.client_secret,
            session=self._session,
            timeout=self._timeout,
            limits=ReadLimits(TOKEN_LIMITS.max_bytes, self._deadline),
            clock=self._clock,
        )
        self._store: TokenStore = (
            token_store if token_store is not None else MemoryTokenStore(bound, clock=self._clock)
        )
        self._refused_keys: set[str] = set()
        self._clock_offset = 0.0
        self._enterprise_key = subject_key(self._client_id, "enterprise", keyfile.enterprise_id)
        self._locks_mutex = threading.Lock()
        self._locks: weakref.WeakValueDictionary[str, _SubjectLock] = weakref.WeakValueDictionary()

    # ------------------------------------------------------------------ properties

    @property
    def keyfile(self) -> KeyFile:
        """The :class:`boxjwt.KeyFile` this authenticator signs with."""
        return self._keyfile

    @property
    def client_id(self) -> str:
        """The app's client ID."""
        return self._keyfile.client_id

    @property
    def enterprise_id(self) -> str:
        """The enterprise whose service account :meth:`enterprise_token` is for."""
        return self._keyfile.enterprise_id

    @property
    def base_url(self) -> str:
        """The root of Box (``https://api.box.com``), without a trailing slash."""
        return self._base_url

    @property
    def api_url(self) -> str:
        """``base_url + "/2.0"``: where API paths such as ``/folders/0`` resolve."""
        return f"{self._base_url}/2.0"

    @property
    def upload_url(self) -> str:
        """The upload API root (``https://upload.box.com/api/2.0`` unless rerouted)."""
        return self._upload_url

    @property
    def alg(self) -> str:
        """The assertion's signing algorithm."""
        return self._assertions.alg

    @property
    def assertion_lifetime(self) -> float:
        """Seconds from "now" (Box's time) to the assertion's ``exp``."""
        return self._assertions.lifetime

    @property
    def refresh_margin(self) -> float:
        """Seconds before expiry at which a cached token is replaced (at most half its life)."""
        return self._refresh_margin

    @property
    def timeout(self) -> float | tuple[float, float]:
        """The timeout of each ``/oauth2/*`` request."""
        return self._timeout

    @property
    def deadline(self) -> float:
        """Seconds within which each whole ``/oauth2/*`` answer must arrive."""
        return self._deadline

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of token requests (reusable for API calls)."""
        return self._retry

    @property
    def token_store(self) -> TokenStore:
        """Where tokens are cached."""
        return self._store

    @property
    def session(self) -> requests.Session:
        """The session used for ``/oauth2/*`` (never the session used for API calls)."""
        return self._session

    @property
    def clock(self) -> Callable[[], float]:
        """The local clock (Unix seconds) that token expiry is measured with."""
        return self._clock

    @property
    def clock_offset(self) -> float:
        """Box's clock minus ours, in seconds, as learned from an ``exp`` error (else 0)."""
        return self._clock_offset

    def box_time(self) -> float:
        """Box's current time as best known: the local clock plus :attr:`clock_offset`."""
        return self._clock() + self._clock_offset

    def __repr__(self) -> str:
        return (
            f"JWTAuthenticator(client_id={self.client_id!r}, enterprise_id={self.enterprise_id!r},"
            f" base_url={self._base_url!r}, alg={self.alg!r})"
        )

    # ------------------------------------------------------------------ tokens

    def enterprise_token(self) -> AccessToken:
        """The service account's token (``box_sub_type=enterprise``), cached."""
        return self._token("enterprise", self._keyfile.enterprise_id, self._enterprise_key)

    def user_token(self, user_id: str) -> AccessToken:
        """A token for the managed or app user ``user_id`` (``box_sub_type=user``), cached.

        Needs "Generate user access tokens" (and App + Enterprise Access for managed users).
        """
        return self._token("user", validate_user_id(user_id))

    def token(self, user_id: str | None = None) -> AccessToken:
        """``user_token(user_id)``, or ``enterprise_token()`` when ``user_id`` is None."""
        return self.enterprise_token() if user_id is None else self.user_token(user_id)

    def invalidate(self, token: AccessToken) -> bool:
        """Drop ``token`` from the cache if it is still the cached one (compare-and-swap).

        Call it when Box rejects a token (401): of many threads doing so at once, one removes
        it and the next request makes one new exchange. Returns True when it was removed.
        """
        if not isinstance(token, AccessToken):
            raise ConfigurationError("invalidate() takes the AccessToken to drop")
        key = subject_key(self.client_id, token.subject_type, token.subject_id)
        removed = self._store.delete(key, only_if=token)
        if removed:
            logger.debug(
                "dropped the cached token for %s",
                _subject_text(token.subject_type, token.subject_id),
            )
        return removed

    @scrubbed
    def revoke(self, token: AccessToken | Secret | str) -> None:
        """Revoke ``token`` at Box (``POST /oauth2/revoke``) and drop it from the cache."""
        candidate: object = token
        if isinstance(candidate, AccessToken):
            self.invalidate(candidate)
            value = candidate.value.reveal()
        elif isinstance(candidate, Secret):
            value = candidate.reveal()
        elif isinstance(candidate, str) and candidate:
            value = candidate
        else:
            raise ConfigurationError("revoke() takes an AccessToken (or its value)")
        request_id = self._retry.call(
            lambda: self._endpoint.revoke(value), on_retry=self._log_retry("revoking a token")
        )
        logger.info("revoked a token (Box request id %s)", request_id or "-")

    @scrubbed
    def downscope(
        self,
        token: AccessToken,
        scopes: Sequence[str] | str,
        *,
        resource: str | None = None,
        shared_link: str | None = None,
    ) -> AccessToken:
        """A new token limited to ``scopes`` (and a ``resource`` URL or ``shared_link``).

        Not cached. ``scopes`` is a list such as ``["item_preview"]`` (or a space-separated
        string); ``resource`` is the full API URL of a file or folder.
        """
        if not isinstance(token, AccessToken):
            raise ConfigurationError("downscope() takes an AccessToken")
        names: list[object] = list(scopes.split() if isinstance(scopes, str) else scopes)
        if not names or not all(isinstance(s, str) and s.strip() for s in names):
            raise ConfigurationError("downscope() needs at least one scope name")
        scope_list = [str(s).strip() for s in names]
        subject = _subject_text(token.subject_type, token.subject_id)
        result: TokenResult = self._retry.call(
            lambda: self._endpoint.downscope(
                token, scope_list, resource=resource, shared_link=shared_link
            ),
            on_retry=self._log_retry(f"downscoping a token for {subject}"),
        )
        logger.info(
            "downscoped a token for %s to %s (Box request id %s)",
            subject,
            " ".join(scope_list),
            result.request_id or "-",
        )
        return result.token

    def close(self) -> None:
        """Close the private ``/oauth2/*`` session (a session passed in is left open)."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> JWTAuthenticator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ cache

    def _subject_lock(self, key: str) -> _SubjectLock:
        with self._locks_mutex:
            lock = self._locks.get(key)
            if lock is None:
                lock = _SubjectLock()
                self._locks[key] = lock
            return lock

    def _fresh(self, token: AccessToken) -> bool:
        return token.is_fresh(self._clock(), self._refresh_margin)

    def _cached(self, key: str, subject_type: SubjectType, subject_id: str) -> AccessToken | None:
        """The store's token for ``key``, unless it belongs to another subject (then None)."""
        token = self._store.get(key)
        if token is None or not self._foreign(token, subject_type, subject_id):
            return token
        self._refuse(key, subject_type, subject_id)
        return None

    def _foreign(self, token: AccessToken, subject_type: SubjectType, subject_id: str) -> bool:
        """True when ``token`` was issued for another subject (or another app)."""
        return (
            token.subject_id != subject_id
            or token.subject_type != subject_type
            or (token.client_id is not None and token.client_id != self._client_id)
        )

    def _refuse(self, key: str, subject_type: SubjectType, subject_id: str) -> None:
        with self._locks_mutex:
            first = key not in self._refused_keys
            if first:
                if len(self._refused_keys) >= _MAX_REFUSED_KEYS:
                    self._refused_keys.clear()
                self._refused_keys.add(key)
        logger.log(
            logging.WARNING if first else logging.DEBUG,
            "the token store returned a token issued for another subject when asked for %s; "
            "refused it (a record copied or swapped in the store?) and requesting a new one",
            _subject_text(subject_type, subject_id),
        )

    def _token(
        self, subject_type: SubjectType, subject_id: str, key: str | None = None
    ) -> AccessToken:
        """The cached token of a subject (``key``: its :func:`subject_key`, if known), else a
        new one. ``subject_id`` is already validated."""
        if key is None:
            key = subject_key(self._client_id, subject_type, subject_id)
        token = self._store.get(key)
        if token is not None:  # the hot path: _cached(), _foreign() and _fresh() inlined
            if (
                token.subject_id != subject_id
                or token.subject_type != subject_type
                or (token.client_id is not None and token.client_id != self._client_id)
            ):
                self._refuse(key, subject_type, subject_id)
            else:
                expires_at = token.expires_at  # AccessToken.is_fresh, as arithmetic
                margin = min(self._refresh_margin, (expires_at - token.issued_at) / 2)
                if expires_at - self._clock() > (margin if margin > 0.0 else 0.0):
                    return token
        outer = sys.exception()
        try:
            return self._refresh(key, subject_type, subject_id)
        except BoxJWTError as exc:
            scrub(exc, outer)  # no secret in the frames it leaves behind
            raise

    def _refresh(self, key: str, subject_type: SubjectType, subject_id: str) -> AccessToken:
        """The slow path of :meth:`_token`: single-flight refresh of one subject's token."""
        subject_lock = self._subject_lock(key)  # a strong reference while we use it
        with self._locks_mutex:
            subject_lock.waiting += 1
            generation = subject_lock.generation
        try:
            subject_lock.lock.acquire()
        finally:
            with self._locks_mutex:
                subject_lock.waiting -= 1
        try:
            token = self._cached(key, subject_type, subject_id)
            if token is not None and self._fresh(token):
                return token
            failure = subject_lock.failure
            if failure is not None and subject_lock.generation != generation:
                # The exchange we waited for failed: share its outcome rather than repeat it.
                logger.debug(
                    "token request for %s failed while this thread waited for it (%s)",
                    _subject_text(subject_type, subject_id),
                    type(failure).__name__,
                )
                return self._stale_or_raise(copy.copy(failure), token, subject_type, subject_id)
            with self._store.lock(key):
                token = self._cached(key, subject_type, subject_id)
                if token is not None and self._fresh(token):
                    return token
                try:
                    new = self._exchange(subject_type, subject_id)
                except (TokenExchangeError, TransportError) as exc:
                    subject_lock.failure = exc
                    subject_lock.generation += 1
                    return self._stale_or_raise(exc, token, subject_type, subject_id)
                subject_lock.failure = None
                subject_lock.generation += 1
                self._store.set(key, new)
                return new
        finally:
            subject_lock.lock.release()

    def _stale_or_raise(
        self,
        exc: TokenExchangeError | TransportError,
        token: AccessToken | None,
        subject_type: SubjectType,
        subject_id: str,
    ) -> AccessToken:
        """The still-valid ``token`` when the refresh failed transiently, else raise ``exc``."""
        if exc.retryable and token is not None:
            left = token.expires_in(self._clock())
            if left > _STALE_GRACE:
                logger.warning(
                    "could not refresh the token for %s (%s); using the current one for its "
                    "remaining %.0f s",
                    _subject_text(subject_type, subject_id),
                    type(exc).__name__,
                    left,
                )
                return token
        raise exc

    # ------------------------------------------------------------------ exchange

    def _log_retry(self, what: str) -> Callable[[RetryEvent], None]:
        def log(event: RetryEvent) -> None:
            outcome = event.outcome
            request_id = getattr(outcome, "request_id", None)
            logger.warning(
                "%s: attempt %d failed (%s%s); retrying in %.1f s",
                what,
                event.attempt,
                type(outcome).__name__,
                f", Box request id {request_id}" if request_id else "",
                event.delay,
            )

        return log

    def _learn_offset(self, exc: TokenExchangeError) -> None:
        box_now = server_time(exc.headers)
        if box_now is None:
            logger.warning(
                "Box says the assertion's exp is wrong (%s) but sent no Date header; retrying "
                "once with a fresh assertion",
                type(exc).__name__,
            )
            return
        offset = box_now - self._clock()
        logger.warning(
            "this machine's clock is %.0f s %s Box's (by its Date header); assertions now use "
            "Box's time. Synchronise the clock (NTP).",
            abs(offset),
            "behind" if offset > 0 else "ahead of",
        )
        self._clock_offset = offset

    def _exchange(self, subject_type: SubjectType, subject_id: str) -> AccessToken:
        tries = ExchangeAttempts(self, subject_type, subject_id)

        def attempt() -> TokenResult:
            assertion = tries.assertion()
            try:
                return self._endpoint.exchange(assertion, subject_type, subject_id)
            except (AssertionExpError, JTIReusedError) as exc:
                tries.refused(exc)
                raise

        logger.debug("requesting a token for %s", tries.subject)
        try:
            result = self._retry.call(attempt, on_retry=self._log_retry(tries.what))
        except (TokenExchangeError, TransportError) as exc:
            tries.gave_up(exc)
            raise
        return tries.got(result)
