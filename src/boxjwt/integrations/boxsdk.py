"""The official Box SDK (``boxsdk`` 10.x, package ``box_sdk_gen``) on boxjwt's tokens.

:class:`BoxSDKAuth` implements the SDK's ``Authentication`` interface with a
:class:`boxjwt.JWTAuthenticator`, so a ``box_sdk_gen.BoxClient`` gets boxjwt's token handling:
one token request per subject however many threads share the client, refresh ahead of expiry,
the clock-skew retry, precise :mod:`boxjwt.exceptions`, and any shared
:class:`~boxjwt.stores.RedisTokenStore`::

    from box_sdk_gen import BoxClient
    from boxjwt.integrations.boxsdk import BoxSDKAuth

    client = BoxClient(auth=BoxSDKAuth(auth))            # auth: a boxjwt.JWTAuthenticator
    client.users.get_user_me()                           # as the service account
    client.with_as_user_header("12345").users.get_user_me()     # As-User: 12345
    BoxClient(auth=BoxSDKAuth(auth).with_user_subject("12345"))  # a user token

Token requests always go to the authenticator's ``base_url``; the SDK's own ``NetworkSession``
(its base URLs, proxy, retry strategy) is used only for the API calls. :func:`box_client`
builds a client whose API base URLs follow the authenticator's too.

Box origins only: the first time a ``BoxSDKAuth`` authenticates a request, it adds one response
hook to the SDK's ``requests.Session``. When Box redirects to another origin (a download),
the hook removes ``Authorization`` and ``As-User`` from the request ``requests`` sends there;
and when the SDK reports a 401 that came from another origin, :meth:`BoxSDKAuth.refresh_token`
keeps the token instead of dropping it and requesting a new one.

Install with ``pip install 'boxjwt[boxsdk]'``. This is the only boxjwt module that imports the
SDK: ``import boxjwt`` never does.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Final

import requests

try:
    from box_sdk_gen.client import BoxClient
    from box_sdk_gen.networking.auth import Authentication
    from box_sdk_gen.networking.base_urls import BaseUrls
    from box_sdk_gen.networking.network import NetworkSession
    from box_sdk_gen.schemas.access_token import AccessToken as _SDKAccessToken
    from box_sdk_gen.serialization.json import deserialize
except ImportError as exc:
    raise ImportError(
        "boxjwt.integrations.boxsdk needs the official Box SDK (boxsdk 10.x, package "
        "box_sdk_gen): pip install 'boxjwt[boxsdk]'"
    ) from exc

from boxjwt._auth import (
    Origin,
    SessionMode,
    box_origins,
    drop_box_headers,
    origin,
    redirect_leaves_box,
)
from boxjwt._authenticator import JWTAuthenticator
from boxjwt._token import AccessToken, SubjectType, subject_key
from boxjwt._validate import describe, validate_user_id
from boxjwt.exceptions import ConfigurationError

__all__ = ["BoxSDKAccessToken", "BoxSDKAuth", "box_client"]

logger = logging.getLogger("boxjwt")

_DOWNSCOPED_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:access_token"
_HOOK_LOCK: Final = threading.Lock()


class BoxSDKAccessToken(_SDKAccessToken):  # type: ignore[misc, unused-ignore]
    """The SDK's ``AccessToken`` model, with a ``repr``/``str`` that hides the token.

    Everything else (``access_token``, ``expires_in``, ``token_type``, ``restricted_to``,
    ``issued_token_type``, ``to_dict()``) is the SDK's own.
    """

    def __repr__(self) -> str:
        restricted = self.restricted_to or []
        return (
            f"AccessToken(access_token='***', expires_in={self.expires_in!r}, "
            f"restricted_to=<{len(restricted)} scope(s)>)"
        )

    __str__ = __repr__


def _to_sdk_token(token: AccessToken, now: float, *, downscoped: bool = False) -> BoxSDKAccessToken:
    """``token`` as a :class:`BoxSDKAccessToken` (``expires_in`` counted from ``now``)."""
    data: dict[str, Any] = {
        "access_token": token.value.reveal(),
        "expires_in": max(0, int(token.expires_in(now))),
        "token_type": token.token_type,
        "restricted_to": [dict(item) for item in token.restricted_to if isinstance(item, Mapping)],
    }
    if downscoped:
        data["issued_token_type"] = _DOWNSCOPED_TOKEN_TYPE
    sdk_token: BoxSDKAccessToken = deserialize(data, BoxSDKAccessToken)
    return sdk_token


def _scope_name(scope: str) -> str:
    # The SDK's scope enums are ``str`` subclasses whose str() is "Enum.MEMBER" on 3.11.
    return str(scope.value) if isinstance(scope, Enum) else scope


def _no_token_storage(token_storage: object) -> None:
    if token_storage is not None:
        raise ConfigurationError(
            "BoxSDKAuth keeps tokens in its JWTAuthenticator's token_store (shared by every "
            "subject); pass token_store= to JWTAuthenticator instead of token_storage="
        )


class _BoxOnlyHook:
    """The response hook a BoxSDKAuth adds (once) to the SDK's ``requests.Session``.

    On a redirect from Box to another origin it removes ``Authorization`` and ``As-User`` from
    the request ``requests`` copies for the next hop (``requests`` itself drops only
    ``Authorization``). It remembers, per thread, whether the last response came from Box, for
    :meth:`BoxSDKAuth.refresh_token`.
    """

    def __init__(self) -> None:
        self.origins: frozenset[Origin] = frozenset()
        self._local = threading.local()

    def __call__(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        self._local.from_box = origin(response.url or "") in self.origins
        if redirect_leaves_box(self.origins, response):
            drop_box_headers(response.request.headers)
        return response

    def start(self) -> None:
        """A new request begins in this thread: no response seen yet."""
        self._local.from_box = None

    def last_from_box(self) -> bool | None:
        """Whether this thread's last response came from Box (None: no response yet)."""
        seen: bool | None = getattr(self._local, "from_box", None)
        return seen


def _hook(network_session: object, origins: frozenset[Origin]) -> _BoxOnlyHook | None:
    """The hook on ``network_session``'s ``requests.Session``, added if missing.

    None when the SDK's network client has no ``requests`` session (a custom client).
    """
    client = getattr(network_session, "network_client", None)
    session = getattr(client, "requests_session", None)
    if not isinstance(session, requests.Session):
        return None
    hooks = session.hooks.setdefault("response", [])
    found = next((h for h in hooks if isinstance(h, _BoxOnlyHook)), None)
    if found is not None and origins <= found.origins:
        return found
    with _HOOK_LOCK:
        found = next((h for h in hooks if isinstance(h, _BoxOnlyHook)), None)
        if found is None:
            found = _BoxOnlyHook()
            hooks.append(found)
        found.origins |= origins
    return found


class BoxSDKAuth(Authentication):  # type: ignore[misc, unused-ignore]
    """The Box SDK's ``Authentication`` backed by a :class:`boxjwt.JWTAuthenticator`.

    ``user_id=None`` authenticates as the app's service account (an enterprise token), else as
    that managed or app user (a user token, ``mode="user_token"``: needs "Generate user access
    tokens"). The SDK sends ``As-User`` itself: for the service account acting as a user, use
    ``box_client(auth, user_id=..., mode="as_user")`` or ``client.with_as_user_header(...)``
    (``mode="as_user"`` with a ``user_id`` is refused here, since this object alone would call
    as the service account). Tokens live in the authenticator's cache, so every ``BoxSDKAuth``
    over one authenticator, and every ``BoxClient`` using them, shares them.

    - :meth:`retrieve_token` / :meth:`retrieve_authorization_header`: the cached token,
      refreshed ahead of expiry; concurrent callers make one token request.
    - :meth:`refresh_token` (the SDK calls it on a 401): drops the token this thread last
      used, only if it is still the cached one (compare-and-swap), then returns the current
      token, so a 401 storm makes one new token request. A 401 from an origin that is not
      Box's (where a redirect led) drops nothing.
    - :meth:`revoke_token`: revokes the cached token at Box and forgets it.
    - :meth:`downscope_token`: a new, uncached token limited to some scopes.
    - :meth:`with_user_subject` / :meth:`with_enterprise_subject`: a ``BoxSDKAuth`` for another
      subject over the same authenticator (and cache).

    ``network_session`` arguments are accepted for the SDK's interface and ignored: token
    requests go to the authenticator's ``base_url`` with its own session, timeout and retries.
    Failures raise :mod:`boxjwt.exceptions` (for example
    :class:`~boxjwt.exceptions.UserTokenNotAllowedError`), which pass through the SDK unchanged.
    """

    def __init__(
        self,
        authenticator: JWTAuthenticator,
        *,
        user_id: str | int | None = None,
        mode: SessionMode = "user_token",
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call, unused-ignore]
        if not isinstance(authenticator, JWTAuthenticator):
            raise ConfigurationError(
                f"BoxSDKAuth needs a boxjwt.JWTAuthenticator, not {type(authenticator).__name__}"
            )
        self._authenticator = authenticator
        self._user_id = None if user_id is None else validate_user_id(user_id)
        if mode not in ("as_user", "user_token"):
            raise ConfigurationError(
                f"mode must be 'as_user' or 'user_token', not {describe(mode)}"
            )
        if mode == "as_user" and self._user_id is not None:
            raise ConfigurationError(
                "the SDK sends As-User itself, so a BoxSDKAuth cannot: use "
                f"box_client(auth, user_id={self._user_id!r}, mode='as_user'), or "
                f"BoxClient(auth=BoxSDKAuth(auth)).with_as_user_header({self._user_id!r})"
            )
        self._origins = box_origins(authenticator)
        self._used = threading.local()

    # ------------------------------------------------------------------ identity

    @property
    def authenticator(self) -> JWTAuthenticator:
        """The :class:`boxjwt.JWTAuthenticator` whose tokens this uses."""
        return self._authenticator

    @property
    def user_id(self) -> str | None:
        """The user this authenticates as, or None for the service account."""
        return self._user_id

    @property
    def mode(self) -> SessionMode:
        """Always ``"user_token"``: this authenticates as its subject with that subject's token."""
        return "user_token"

    @property
    def subject_type(self) -> SubjectType:
        """``"enterprise"`` (the service account) or ``"user"``."""
        return "enterprise" if self._user_id is None else "user"

    @property
    def subject_id(self) -> str:
        """The enterprise ID (service account) or the user ID: the assertion's ``sub``."""
        return self._authenticator.enterprise_id if self._user_id is None else self._user_id

    def __repr__(self) -> str:
        return (
            f"BoxSDKAuth(client_id={self._authenticator.client_id!r}, "
            f"subject_type={self.subject_type!r}, subject_id={self.subject_id!r})"
        )

    # ------------------------------------------------------------------ boxjwt tokens

    def token(self) -> AccessToken:
        """The current :class:`boxjwt.AccessToken` for this subject (cached, single-flight)."""
        token = self._authenticator.token(self._user_id)
        self._used.token = token
        return token

    def _cached(self) -> AccessToken | None:
        key = subject_key(self._authenticator.client_id, self.subject_type, self.subject_id)
        return self._authenticator.token_store.get(key)

    def _sdk_token(self, token: AccessToken, *, downscoped: bool = False) -> BoxSDKAccessToken:
        return _to_sdk_token(token, self._authenticator.clock(), downscoped=downscoped)

    # ------------------------------------------------------------------ the SDK's interface

    def retrieve_token(self, *, network_session: NetworkSession | None = None) -> _SDKAccessToken:
        """The current token as the SDK's ``AccessToken``; a token request only when needed."""
        return self._sdk_token(self.token())

    def refresh_token(self, *, network_session: NetworkSession | None = None) -> _SDKAccessToken:
        """A token newer than the one this thread last used (the SDK calls this on a 401).

        Drops that token only if it is still cached (compare-and-swap), so when many threads
        get a 401 for the same token, one of them replaces it and the others reuse the new
        one. A thread that has not used a token yet drops the cached one.
        """
        hook = _hook(network_session, self._origins)
        if hook is not None and hook.last_from_box() is False:
            logger.info(
                "the Box SDK got a 401 from a host that is not Box (after a redirect); "
                "the token is kept"
            )
            return self.retrieve_token()
        used: AccessToken | None = getattr(self._used, "token", None)
        if used is None:
            used = self._cached()
        if used is not None:
            self._authenticator.invalidate(used)
        return self.retrieve_token()

    def retrieve_authorization_header(
        self, *, network_session: NetworkSession | None = None
    ) -> str:
        """``"Bearer <token>"`` for the current token. Never log it.

        Also makes sure the SDK's ``requests.Session`` (from ``network_session``) has the hook
        that keeps Box headers on Box (see the module documentation).
        """
        hook = _hook(network_session, self._origins)
        if hook is not None:
            hook.start()
        return self.token().authorization_header()

    def revoke_token(self, *, network_session: NetworkSession | None = None) -> None:
        """Revoke the cached token at Box and drop it; nothing happens when none is cached.

        The next call makes a new token request. Other processes sharing a token store see
        the token gone as well.
        """
        token = self._cached()
        self._used.token = None
        if token is not None:
            self._authenticator.revoke(token)

    def downscope_token(
        self,
        scopes: Sequence[str],
        *,
        resource: str | None = None,
        shared_link: str | None = None,
        network_session: NetworkSession | None = None,
    ) -> _SDKAccessToken:
        """A new token limited to ``scopes`` (and to ``resource`` or ``shared_link``).

        ``scopes`` are Box scope names such as ``"item_preview"`` (the SDK's
        ``ResourceScopeScopeField`` members work too); ``resource`` is the full API URL of a
        file or folder (``https://api.box.com/2.0/files/123``). The current token is unchanged
        and the downscoped one is not cached.
        """
        names = scopes.split() if isinstance(scopes, str) else [_scope_name(s) for s in scopes]
        token = self._authenticator.downscope(
            self.token(),
            names,
            resource=resource,
            shared_link=shared_link,
        )
        return self._sdk_token(token, downscoped=True)

    # ------------------------------------------------------------------ other subjects

    def with_user_subject(self, user_id: str | int, *, token_storage: object = None) -> BoxSDKAuth:
        """A ``BoxSDKAuth`` for a user token of ``user_id``, over the same authenticator.

        ``token_storage`` must be None: tokens stay in the authenticator's ``token_store``.
        """
        _no_token_storage(token_storage)
        return BoxSDKAuth(self._authenticator, user_id=user_id)

    def with_enterprise_subject(
        self, enterprise_id: str | None = None, *, token_storage: object = None
    ) -> BoxSDKAuth:
        """A ``BoxSDKAuth`` for the service account, over the same authenticator.

        ``enterprise_id`` may be omitted; if given it must be the key file's enterprise (a
        :class:`~boxjwt.JWTAuthenticator` serves one enterprise: make another for another).
        """
        _no_token_storage(token_storage)
        if enterprise_id is not None and str(enterprise_id) != self._authenticator.enterprise_id:
            raise ConfigurationError(
                f"this JWTAuthenticator serves enterprise {self._authenticator.enterprise_id}, "
                f"not {enterprise_id!r}: load that enterprise's key file into another "
                "JWTAuthenticator"
            )
        return BoxSDKAuth(self._authenticator)

    # ------------------------------------------------------------------ client helpers

    def base_urls(self) -> BaseUrls:
        """The SDK's ``BaseUrls`` for the API and upload roots the authenticator points at."""
        return _base_urls(self._authenticator)


def _base_urls(authenticator: JWTAuthenticator) -> BaseUrls:
    upload = authenticator.upload_url
    upload = upload.removesuffix("/2.0")  # the SDK appends /2.0 itself
    return BaseUrls(base_url=authenticator.base_url, upload_url=upload)


def box_client(
    authenticator: JWTAuthenticator,
    *,
    user_id: str | int | None = None,
    mode: SessionMode | None = None,
    network_session: NetworkSession | None = None,
) -> BoxClient:
    """A ``box_sdk_gen.BoxClient`` on boxjwt's tokens, acting as ``user_id``.

    ``user_id=None``: the service account. With a ``user_id``, ``mode="as_user"`` uses the
    service account's token and the SDK's ``As-User`` header (``with_as_user_header``);
    ``mode="user_token"`` uses the user's own token (``BoxSDKAuth(auth, user_id=...)``). For
    now, ``user_id`` without ``mode`` keeps its old meaning (the user's own token) with a
    ``DeprecationWarning``: pass ``mode`` explicitly.

    Its API and upload base URLs are the authenticator's (so one ``base_url``, for example an
    emulator's, reroutes everything). ``network_session`` (its retry strategy, proxy, timeouts,
    headers) is kept apart from its base URLs.
    """
    checked = None if user_id is None else validate_user_id(user_id)
    if mode is not None and mode not in ("as_user", "user_token"):
        raise ConfigurationError(f"mode must be 'as_user' or 'user_token', not {describe(mode)}")
    if checked is not None and mode is None:
        warnings.warn(
            f"box_client(auth, user_id={checked!r}) without mode= uses the user's own token, as "
            "before; the default will become mode='as_user' (As-User, as in AsUserSession). "
            f"Write box_client(auth, user_id={checked!r}, mode='user_token') to keep this, or "
            "mode='as_user'.",
            DeprecationWarning,
            stacklevel=2,
        )
    as_user = checked if mode == "as_user" else None
    auth = BoxSDKAuth(authenticator, user_id=None if as_user else checked)
    session = network_session if network_session is not None else NetworkSession()
    client = BoxClient(auth=auth, network_session=session.with_custom_base_urls(auth.base_urls()))
    return client if as_user is None else client.with_as_user_header(as_user)
