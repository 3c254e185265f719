"""Box credentials on a request: the one place that sets ``Authorization`` and ``As-User``.

:class:`BoxAuth` is a ``requests`` auth (``requests.get(url, auth=BoxAuth(...))``) and the
credential layer of :class:`~boxjwt.AsUserSession`. It owns four rules:

1. **Box origins only.** Credentials go only to a configured Box origin: the scheme, host and
   port of the authenticator's ``base_url`` or ``upload_url``. A request for any other URL is
   refused (:class:`~boxjwt.exceptions.ConfigurationError`) before anything is sent.
2. **The caller's headers win or fail, never vanish.** An ``As-User`` the caller set that is not
   the acting user, or an ``Authorization`` the caller set, is refused, never silently replaced.
3. **Box headers never follow a redirect to another origin** (``requests`` drops only
   ``Authorization``; a download redirect would carry ``As-User`` along).
4. **A 401 counts only when Box sent it** for a request carrying our token: that token is
   dropped (compare-and-swap) and the request sent once more with a new one. A 401 from any
   other origin (the download host a redirect led to) changes nothing.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urljoin

import requests
import requests.auth
from requests.structures import CaseInsensitiveDict

from boxjwt._authenticator import JWTAuthenticator
from boxjwt._bounded import read_at_most
from boxjwt._http import ERROR_READ_BYTES, safe_url
from boxjwt._routing import Origin, origin
from boxjwt._token_endpoint import get_header
from boxjwt._validate import describe, validate_user_id
from boxjwt.exceptions import ConfigurationError

if TYPE_CHECKING:
    from requests.models import PreparedRequest

    from boxjwt._token import AccessToken

__all__ = [
    "BoxAuth",
    "Origin",
    "SessionMode",
    "box_origins",
    "origin",
    "put_credentials",
    "token_of",
]

logger = logging.getLogger("boxjwt")

SessionMode = Literal["as_user", "user_token"]
"""How a user is acted as: ``"as_user"`` (the service account's token + ``As-User``) or
``"user_token"`` (the user's own token)."""

_MODES: Final = ("as_user", "user_token")
_BOX_HEADERS: Final = ("Authorization", "As-User")
#: Attribute naming the token a prepared request carries (to invalidate exactly that one).
_TOKEN_ATTR: Final = "_boxjwt_token"
#: Bodies the ``requests`` hook can send twice (AsUserSession also rewinds files).
_RESENDABLE: Final = (type(None), bytes, str)


# --------------------------------------------------------------------------- origins


@functools.lru_cache(maxsize=16)
def _origins_of(base_url: str, upload_url: str) -> frozenset[Origin]:
    return frozenset(o for o in (origin(base_url), origin(upload_url)) if o is not None)


def box_origins(authenticator: JWTAuthenticator) -> frozenset[Origin]:
    """The origins of the authenticator's ``base_url`` and ``upload_url``: where Box is."""
    return _origins_of(authenticator.base_url, authenticator.upload_url)


def redirect_leaves_box(origins: frozenset[Origin], response: requests.Response) -> bool:
    """True when ``response`` comes from Box and redirects to any other origin."""
    if not response.is_redirect or origin(response.url or "") not in origins:
        return False
    location = get_header(response.headers, "location") or ""
    return origin(urljoin(response.url, location)) not in origins


def drop_box_headers(headers: Any) -> None:
    """Remove ``Authorization`` and ``As-User`` from a request's headers."""
    for name in _BOX_HEADERS:
        headers.pop(name, None)


def sent_token(response: requests.Response) -> AccessToken | None:
    """The token boxjwt put on the request ``response`` answers (None: not one of ours)."""
    token: AccessToken | None = getattr(response.request, _TOKEN_ATTR, None)
    return token


def discard(response: requests.Response) -> None:
    """Read what is left of ``response`` (so its connection can be reused) and close it.

    At most 64 KiB are read: a longer body closes the connection instead.
    """
    read_at_most(response, ERROR_READ_BYTES)


def put_credentials(request: Any, token: AccessToken, as_user: str | None) -> None:
    """Set ``Authorization`` (and ``As-User``, or remove it) on ``request`` (a ``requests`` or
    ``httpx`` request) and remember the token it carries (:func:`sent_token`)."""
    headers = request.headers
    headers["Authorization"] = token.authorization_header()
    if as_user is not None:
        headers["As-User"] = as_user
    else:
        store = _stored(headers)
        if store is None or "as-user" in store:
            headers.pop("As-User", None)
    setattr(request, _TOKEN_ATTR, token)


def _stored(headers: Any) -> dict[str, Any] | None:
    """The dict keyed by lower-case name behind requests' ``CaseInsensitiveDict`` (None for any
    other mapping): a membership test there raises no ``KeyError`` to catch."""
    if type(headers) is CaseInsensitiveDict:
        store: dict[str, Any] = headers._store  # type: ignore[attr-defined]
        return store
    return None


def token_of(request: Any) -> AccessToken | None:
    """The token boxjwt put on ``request`` (None: not one of ours)."""
    token: AccessToken | None = getattr(request, _TOKEN_ATTR, None)
    return token


# --------------------------------------------------------------------------- who acts


Subjects = tuple[str | None, str | None, SessionMode, str | None]
"""(whose token, As-User, mode, deprecation message or None), as BoxAuth's arguments say."""


def _subjects(
    legacy: tuple[object, ...], user_id: object, mode: object, as_user: object
) -> Subjects:
    """Who a BoxAuth acts as, from its arguments; every value validated before any warning."""
    if mode is not None and mode not in _MODES:
        raise ConfigurationError(f"mode must be 'as_user' or 'user_token', not {describe(mode)}")
    if not legacy and as_user is None:
        return _new_spelling(None if user_id is None else validate_user_id(user_id), mode)
    if len(legacy) > 2:
        raise ConfigurationError(
            f"BoxAuth takes at most 2 positional IDs (deprecated), not {len(legacy)}: "
            "write BoxAuth(auth, user_id=..., mode=...)"
        )
    if legacy and user_id is not None:
        raise ConfigurationError("BoxAuth got user_id twice (positionally and as a keyword)")
    if len(legacy) == 2 and as_user is not None:
        raise ConfigurationError("BoxAuth got as_user twice (positionally and as a keyword)")
    if mode is not None:
        raise ConfigurationError(
            "mode= cannot be combined with the deprecated positional user ID or as_user=: "
            "write BoxAuth(auth, user_id=..., mode=...)"
        )
    token_user = legacy[0] if legacy else user_id
    header_user = legacy[1] if len(legacy) == 2 else as_user
    return _old_spelling(
        None if token_user is None else validate_user_id(token_user),
        None if header_user is None else validate_user_id(header_user),
    )


def _new_spelling(user_id: str | None, mode: SessionMode | None) -> Subjects:
    if user_id is None:
        return None, None, mode or "as_user", None
    if mode == "as_user":
        return None, user_id, "as_user", None
    if mode == "user_token":
        return user_id, None, "user_token", None
    return (
        user_id,
        None,
        "user_token",
        (
            f"BoxAuth(auth, user_id={user_id!r}) without mode= uses the user's own token, as "
            "before; the default will become mode='as_user' (the service account with As-User, as "
            f"in AsUserSession). Write BoxAuth(auth, user_id={user_id!r}, mode='user_token') to "
            "keep this, or mode='as_user'."
        ),
    )


def _old_spelling(token_user: str | None, as_user: str | None) -> Subjects:
    """``BoxAuth(auth, token_user, as_user)``, as it was: the same meaning, and a warning."""
    if token_user is not None and as_user is not None:
        return (
            token_user,
            as_user,
            "as_user",
            (
                f"BoxAuth(auth, {token_user!r}, as_user={as_user!r}) (a user's own token plus "
                "As-User) is deprecated and has no new spelling; it will be removed. To act as "
                f"{as_user} write BoxAuth(auth, user_id={as_user!r}, mode='as_user')."
            ),
        )
    if as_user is not None:
        new = f"BoxAuth(auth, user_id={as_user!r}, mode='as_user')"
        return None, as_user, "as_user", f"BoxAuth(auth, as_user=...) is deprecated: write {new}"
    if token_user is not None:
        new = f"BoxAuth(auth, user_id={token_user!r}, mode='user_token')"
        return (
            token_user,
            None,
            "user_token",
            (f"BoxAuth(auth, <user ID>) is deprecated: write {new}"),
        )
    return None, None, "as_user", "BoxAuth(auth, None) is deprecated: write BoxAuth(auth)"


class BoxAuth(requests.auth.AuthBase):
    """``requests`` auth attaching Box credentials (and ``As-User``) to requests for Box.

    ``user_id=None`` (default) calls as the app's service account. With a ``user_id``,
    ``mode="as_user"`` sends the service account's token with ``As-User: <user_id>``;
    ``mode="user_token"`` sends the user's own token (needs "Generate user access tokens")::

        requests.get(f"{auth.api_url}/users/me", auth=BoxAuth(auth, user_id="12345",
                                                                mode="as_user"))

    The same ``user_id`` / ``mode`` keywords as :class:`~boxjwt.AsUserSession`. For now,
    ``user_id`` without ``mode`` keeps its old meaning (the user's own token) with a
    ``DeprecationWarning``: pass ``mode`` explicitly.

    - Only requests for the authenticator's Box origins (``base_url`` and ``upload_url``:
      scheme, host and port) get credentials; any other URL raises
      :class:`~boxjwt.exceptions.ConfigurationError` before anything is sent.
    - An ``As-User`` header the caller set (per call or in a session's headers) that is not
      the acting user, or an ``Authorization`` header the caller set, raises
      :class:`~boxjwt.exceptions.ConfigurationError`: it is never silently replaced.
    - Neither header follows a redirect to another origin.
    - On a 401 from Box, the token that request carried is dropped (compare-and-swap) and the
      request is sent once more with a new token when its body can be replayed
      (``retry_on_401=False`` turns the resend off). A 401 from another origin (where a
      redirect led) drops nothing and resends nothing.
    """

    def __init__(
        self,
        authenticator: JWTAuthenticator,
        *legacy: str | int | None,
        user_id: str | int | None = None,
        mode: SessionMode | None = None,
        as_user: str | int | None = None,
        retry_on_401: bool = True,
    ) -> None:
        if not isinstance(authenticator, JWTAuthenticator):
            raise ConfigurationError(
                f"BoxAuth needs a boxjwt.JWTAuthenticator, not {type(authenticator).__name__}"
            )
        token_user, header_user, resolved, deprecated = _subjects(legacy, user_id, mode, as_user)
        if deprecated is not None:
            warnings.warn(deprecated, DeprecationWarning, stacklevel=2)
        self._authenticator = authenticator
        self._token_user = token_user
        self._as_user = header_user
        self._mode: SessionMode = resolved
        self._retry_on_401 = bool(retry_on_401)
        self._origins = box_origins(authenticator)

    # ------------------------------------------------------------------ identity

    @property
    def authenticator(self) -> JWTAuthenticator:
        """The :class:`~boxjwt.JWTAuthenticator` supplying the tokens."""
        return self._authenticator

    @property
    def user_id(self) -> str | None:
        """The user acted as (``None``: the service account)."""
        return self._as_user if self._as_user is not None else self._token_user

    @property
    def mode(self) -> SessionMode:
        """``"as_user"`` (enterprise token + ``As-User``) or ``"user_token"``."""
        return self._mode

    @property
    def as_user(self) -> str | None:
        """The ``As-User`` header sent (``None``: none)."""
        return self._as_user

    @property
    def origins(self) -> frozenset[Origin]:
        """The Box origins this sends credentials to (``base_url`` and ``upload_url``)."""
        return self._origins

    @property
    def retry_on_401(self) -> bool:
        """Whether the ``requests`` hook resends a request once after a 401 from Box."""
        return self._retry_on_401

    def sibling(self, user_id: str | int | None) -> BoxAuth:
        """The same auth (authenticator, mode, 401 setting) acting as ``user_id``: what
        ``BoxAuth(authenticator, user_id=user_id, mode=self.mode)`` makes, without re-checking
        what this one already checked."""
        user = None if user_id is None else validate_user_id(user_id)
        twin = BoxAuth.__new__(BoxAuth)
        twin._authenticator = self._authenticator
        twin._mode = self._mode
        twin._token_user = user if self._mode == "user_token" else None
        twin._as_user = user if self._mode == "as_user" else None
        twin._retry_on_401 = self._retry_on_401
        twin._origins = self._origins
        return twin

    def _key(self) -> tuple[str | None, str | None, bool]:
        return (self._token_user, self._as_user, self._retry_on_401)

    def __repr__(self) -> str:
        if self._token_user is not None and self._as_user is not None:  # the deprecated pair
            return f"BoxAuth(user_id={self._token_user!r}, as_user={self._as_user!r})"
        return f"BoxAuth(user_id={self.user_id!r}, mode={self._mode!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BoxAuth):
            return NotImplemented
        return self._authenticator is other._authenticator and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((id(self._authenticator), *self._key()))

    # ------------------------------------------------------------------ credentials

    def token(self) -> AccessToken:
        """The token this auth sends (cached by the authenticator)."""
        if self._token_user is None:
            return self._authenticator.enterprise_token()
        return self._authenticator.user_token(self._token_user)

    def is_box_url(self, url: str | bytes | None) -> bool:
        """True when ``url`` is on a configured Box origin (scheme, host and port all match)."""
        if isinstance(url, bytes):
            url = url.decode("utf-8", "replace")
        return bool(url) and origin(str(url)) in self._origins

    def authorize(self, request: PreparedRequest) -> AccessToken:
        """Check a request that is about to get credentials for the first time, then add them.

        Raises :class:`~boxjwt.exceptions.ConfigurationError` for a URL that is not Box's and
        for Box headers the caller set (see the class documentation).
        """
        if not self.is_box_url(request.url):
            raise ConfigurationError(
                f"{describe(safe_url(request.url))} is not a Box URL of this authenticator "
                f"(base_url {self._authenticator.base_url}, upload_url "
                f"{self._authenticator.upload_url}): boxjwt sends credentials to those origins "
                "only. Call Box through them (auth.api_url, or an AsUserSession with a path)."
            )
        self.check_headers(request)
        return self.apply(request)

    def apply(self, request: PreparedRequest) -> AccessToken:
        """Set ``Authorization`` and ``As-User`` on a Box request: the only place boxjwt does.

        No checks: for a request already authorized (a resend, a retry, a hop within Box).
        """
        auth = self._authenticator  # self.token(), inlined: this runs on every request
        user = self._token_user  # validated by __init__
        token = auth.enterprise_token() if user is None else auth._token("user", user)
        put_credentials(request, token, self._as_user)
        return token

    def check_headers(self, request: PreparedRequest | Any) -> None:
        """Refuse an ``Authorization``, or an ``As-User`` for someone else, set by the caller
        (on a ``requests`` or an ``httpx`` request)."""
        # Header values are never bound to locals here: a traceback with captured locals must
        # not show a token the caller put in Authorization.
        previous: AccessToken | None = getattr(request, _TOKEN_ATTR, None)
        store = _stored(request.headers)  # (a test there raises no KeyError to catch)
        if (
            previous is None
            and store is not None
            and not ("authorization" in store or "as-user" in store)
        ):
            return  # the common case: the caller set neither
        if previous is not None and request.headers.get("Authorization") == (
            previous.authorization_header()
        ):
            return  # authorized by boxjwt before (the same request sent again): ours
        if request.headers.get("Authorization") is not None:
            raise ConfigurationError(
                "this request already has an Authorization header (set per call or in the "
                "session's headers): boxjwt sets it from its JWTAuthenticator and never replaces "
                "one you set. Remove it; to send a token of your own, call requests without "
                "boxjwt."
            )
        wanted = request.headers.get("As-User")
        if wanted is not None and wanted != self._as_user:
            raise ConfigurationError(self._as_user_conflict(wanted))

    def _as_user_conflict(self, wanted: str) -> str:
        if self._as_user is not None:
            acting = f"user {self._as_user} through As-User"
        elif self._token_user is not None:
            acting = f"user {self._token_user} with their own token (no As-User)"
        else:
            acting = "the service account"
        shown = describe(wanted)
        return (
            f"As-User: {shown} was set on this request (per call or in the session's headers), "
            f"but it acts as {acting}; boxjwt never drops or replaces an As-User you set. To act "
            f"as {shown}, use session.for_user({shown}) on an AsUserSession, or "
            f"BoxAuth(auth, user_id={shown}, mode='as_user'); otherwise remove the header."
        )

    # ------------------------------------------------------------------ 401 recovery

    def recover(
        self, response: requests.Response, resend: Callable[[], requests.Response] | None
    ) -> requests.Response:
        """After a 401 from Box for a request carrying our token: drop that token and resend.

        ``resend`` sends the request once more (it calls :meth:`apply` for a new token); None
        when the request cannot or must not be sent again. Any other response, or a 401 for a
        request that carried no token of ours (another origin, a hop), is returned as is.
        """
        token = sent_token(response) if response.status_code == 401 else None
        if token is None:
            return response
        self._authenticator.invalidate(token)  # only if it is still the cached one
        if resend is None:
            return response
        request = response.request
        logger.info(
            "%s %s: HTTP 401 from Box (Box request id %s); resending once with a new token",
            request.method,
            safe_url(request.url),
            get_header(response.headers, "box-request-id"),
        )
        discard(response)
        return self.recover(resend(), None)

    # ------------------------------------------------------------------ the requests hook

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        self.authorize(request)
        request.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return request

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.is_redirect:
            if redirect_leaves_box(self._origins, response):
                drop_box_headers(response.request.headers)  # what requests copies for the hop
            return response
        if response.status_code != 401:
            return response
        return self.recover(response, self._resender(response, kwargs))

    def _resender(
        self, response: requests.Response, kwargs: Mapping[str, Any]
    ) -> Callable[[], requests.Response] | None:
        request = response.request
        connection = response.connection
        body: object = request.body  # requests' stubs say bytes | str | None; files happen
        if (
            not self._retry_on_401
            or sent_token(response) is None
            or not isinstance(body, _RESENDABLE)
            or connection is None
        ):
            return None
        send_kwargs = {k: v for k, v in kwargs.items() if k != "allow_redirects"}

        def resend() -> requests.Response:
            again = request.copy()
            self.apply(again)
            new: requests.Response = connection.send(again, **send_kwargs)
            new.history.append(response)
            new.request = again
            return new

        return resend
