"""How preflight talks to Box: through the same authenticator and session code users use.

Token requests go through :class:`boxjwt.JWTAuthenticator` and API probes through
:class:`boxjwt.AsUserSession` (credentials, ``As-User``, the 401 recovery, ``Retry-After`` and the
retry policy all live there, not here). Preflight only adds an :class:`Observer`, a ``requests``
response hook on every session it uses, which counts the answers and samples Box's ``Date``
header for the clock check. Every answer is read within limits (``boxjwt._http.PREFLIGHT_LIMITS``:
all of it within 30 s, at most 1 MiB), so a slow or hostile server cannot stall a run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import attrs
import requests

from boxjwt._authenticator import JWTAuthenticator
from boxjwt._bounded import bounded_request, mount_bounded_adapters
from boxjwt._http import PREFLIGHT_LIMITS, ReadLimits, get_header, json_object, server_time
from boxjwt._keyfile import KeyFile
from boxjwt._retry import RetryPolicy
from boxjwt._session import AsUserSession
from boxjwt._store import MemoryTokenStore
from boxjwt._token import AccessToken
from boxjwt._token_endpoint import transport_error
from boxjwt.exceptions import APIError, TokenExchangeError, TransportError
from boxjwt.preflight._model import CheckEvidence

__all__ = ["Answer", "BoxClient", "Observer", "call_box", "token_evidence"]

_JSON: Final = {"Accept": "application/json"}

S = TypeVar("S", bound=requests.Session)


class Observer:
    """A response hook: counts every answer and samples Box's clock from its ``Date`` header."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._skews: list[float] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        now = self._clock()
        box = server_time(response.headers)
        with self._lock:
            self._count += 1
            if box is not None:
                # Date has one-second resolution (truncated): Box's time is within [D, D + 1).
                self._skews.append(box + 0.5 - now)
        return response

    def watch(self, session: S) -> S:
        """``session``, observed."""
        session.hooks["response"].append(self)
        return session

    @property
    def request_count(self) -> int:
        """Answers seen (a request that got no answer is not counted)."""
        with self._lock:
            return self._count

    def skew(self) -> float | None:
        """Box's clock minus the local clock (the median sample), or None without a sample."""
        with self._lock:
            samples = sorted(self._skews)
        if not samples:
            return None
        return samples[len(samples) // 2]


@attrs.frozen
class Answer:
    """One API answer, or the failure to get one (``status`` None)."""

    evidence: CheckEvidence
    status: int | None = None
    #: The JSON object of a 200 answer (None for anything else).
    data: Mapping[str, Any] | None = None
    error: APIError | TokenExchangeError | TransportError | None = None

    def unexpected(self) -> str:
        """The tail of a message about an answer that is not the expected one."""
        if self.status is None:
            return ": no answer from Box."
        if self.error is not None:
            return f": HTTP {self.status} {self.evidence.error or ''}".rstrip() + "."
        return f": unexpected answer (HTTP {self.status})."


def call_box(
    session: requests.Session,
    method: str,
    path: str,
    *,
    shown: str,
    limits: ReadLimits,
    params: Mapping[str, str] | None = None,
    json_body: object = None,
) -> Answer:
    """``method /2.0<path>`` through ``session``, read within ``limits``, as an :class:`Answer`
    (``shown``: the request as reports name it). Never raises for Box's answer: a refusal, a
    token failure or a transport failure is the answer's ``error``."""
    try:
        try:
            response = bounded_request(
                session,
                method,
                f"/2.0{path}",
                limits=limits,
                params=dict(params or {}),
                json=json_body,
                headers=_JSON,
                allow_redirects=False,
            )
        except requests.RequestException as exc:  # the answer's deadline passed
            raise transport_error(exc, method, shown) from None
    except (APIError, TokenExchangeError, TransportError) as exc:
        status = None if isinstance(exc, TransportError) else exc.status_code
        return Answer(_error_evidence(shown, exc), status, error=exc)
    evidence = CheckEvidence(
        request=shown,
        status_code=response.status_code,
        request_id=get_header(response.headers, "box-request-id"),
    )
    data = json_object(response.text) if response.status_code == 200 else None
    return Answer(evidence, response.status_code, data)


def _error_evidence(
    request: str, exc: APIError | TokenExchangeError | TransportError
) -> CheckEvidence:
    """What Box said, in its own words, from the error that describes the answer."""
    if isinstance(exc, APIError):
        return CheckEvidence(
            request=request,
            status_code=exc.status_code,
            error=exc.code,
            error_description=exc.box_message,
            request_id=exc.request_id,
        )
    if isinstance(exc, TokenExchangeError):
        return CheckEvidence(
            request=request,
            status_code=exc.status_code,
            error=exc.error,
            error_description=exc.error_description,
            request_id=exc.request_id,
        )
    return CheckEvidence(request=request, error_description=exc.message)


def token_evidence(subject: str, exc: TokenExchangeError | TransportError) -> CheckEvidence:
    """The evidence of a refused or failed token request for ``subject``."""
    request = f"POST /oauth2/token ({subject})"
    if isinstance(exc, TokenExchangeError):
        return _error_evidence(request, exc)
    return CheckEvidence(request=request, error_description=str(exc))


class BoxClient:
    """A private authenticator (fresh token cache) and the sessions of one preflight run."""

    def __init__(
        self,
        keyfile: KeyFile,
        *,
        base_url: str,
        timeout: float | tuple[float, float],
        retry: RetryPolicy,
        clock: Callable[[], float],
        observer: Observer,
        limits: ReadLimits = PREFLIGHT_LIMITS,
    ) -> None:
        self._observer = observer
        self._limits = limits
        self._token_session = observer.watch(mount_bounded_adapters(requests.Session()))
        self.auth = JWTAuthenticator(
            keyfile,
            base_url=base_url,
            timeout=timeout,
            deadline=limits.deadline,
            retry=retry,
            token_store=MemoryTokenStore(),
            clock=clock,
            session=self._token_session,
        )
        # Owns the connection pool; each probe uses a sibling (one per call: thread-safe).
        self._pool = mount_bounded_adapters(
            AsUserSession(self.auth, timeout=timeout, retry=retry, raise_for_status=True)
        )

    @property
    def clock_corrected(self) -> bool:
        """True when the authenticator corrected its assertions for the local clock."""
        return self.auth.clock_offset != 0

    def enterprise_token(self) -> AccessToken:
        """The service account's token (raises the token request's error)."""
        return self.auth.enterprise_token()

    def user_token(self, user_id: str) -> AccessToken:
        """``user_id``'s own token (raises the token request's error)."""
        return self.auth.user_token(user_id)

    def _session(self, user_id: str | None, user_token: bool) -> AsUserSession:
        if user_token:
            session = AsUserSession(
                self.auth,
                user_id,
                mode="user_token",
                timeout=self._pool.timeout,
                retry=self._pool.retry,
                raise_for_status=True,
                share_pool_with=self._pool,
            )
        else:
            session = self._pool.for_user(user_id)
        return self._observer.watch(session)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        as_user: str | None = None,
        user_token_of: str | None = None,
    ) -> Answer:
        """``method /2.0<path>`` as the service account, ``As-User: as_user``, or with
        ``user_token_of``'s own token. Never raises for Box's answer."""
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        shown = f"{method} /2.0{path}" + (f"?{query}" if query else "")
        if as_user is not None:
            shown += f" (As-User: {as_user})"
        session = self._session(user_token_of or as_user, user_token_of is not None)
        return call_box(
            session,
            method,
            path,
            shown=shown,
            limits=self._limits,
            params=params,
            json_body=json_body,
        )

    def close(self) -> None:
        """Close the connection pool and the token session."""
        self._pool.close()
        self.auth.close()
        self._token_session.close()
