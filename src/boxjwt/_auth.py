"""BoxAuth: plug a JWTAuthenticator into any ``requests`` call."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import requests
import requests.auth

from boxjwt._authenticator import JWTAuthenticator, validate_user_id
from boxjwt._token import AccessToken
from boxjwt.exceptions import ConfigurationError

if TYPE_CHECKING:
    from requests.models import PreparedRequest

__all__ = ["BoxAuth"]

_RESENDABLE = (type(None), bytes, str)


class BoxAuth(requests.auth.AuthBase):
    """``requests`` auth attaching a Box bearer token (and ``As-User``) to each request.

    ``user_id=None`` uses the service account's (enterprise) token, else that user's token;
    ``as_user`` adds ``As-User: <id>`` (the service account acting as a user). On a 401 the
    token is invalidated (compare-and-swap) and the request is sent once more with a new token
    when its body can be replayed (``retry_on_401=False`` turns that off)::

        requests.get(f"{auth.api_url}/users/me", auth=BoxAuth(auth))
    """

    def __init__(
        self,
        authenticator: JWTAuthenticator,
        user_id: str | None = None,
        as_user: str | None = None,
        *,
        retry_on_401: bool = True,
    ) -> None:
        if not isinstance(authenticator, JWTAuthenticator):
            raise ConfigurationError("BoxAuth needs a boxjwt.JWTAuthenticator")
        self.authenticator = authenticator
        self.user_id = None if user_id is None else validate_user_id(user_id)
        self.as_user = None if as_user is None else validate_user_id(as_user)
        self.retry_on_401 = retry_on_401

    def __repr__(self) -> str:
        return f"BoxAuth(user_id={self.user_id!r}, as_user={self.as_user!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BoxAuth):
            return NotImplemented
        return (self.authenticator, self.user_id, self.as_user, self.retry_on_401) == (
            other.authenticator,
            other.user_id,
            other.as_user,
            other.retry_on_401,
        )

    def __hash__(self) -> int:
        return hash((id(self.authenticator), self.user_id, self.as_user, self.retry_on_401))

    def token(self) -> AccessToken:
        """The token this auth attaches (cached by the authenticator)."""
        return self.authenticator.token(self.user_id)

    def _apply(self, request: PreparedRequest, token: AccessToken) -> None:
        request.headers["Authorization"] = token.authorization_header()
        if self.as_user is not None:
            request.headers["As-User"] = self.as_user
        else:
            request.headers.pop("As-User", None)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        token = self.token()
        self._apply(request, token)
        request.register_hook(  # type: ignore[no-untyped-call]
            "response", functools.partial(self._handle_401, token)
        )
        return request

    def _handle_401(
        self, token: AccessToken, response: requests.Response, **kwargs: Any
    ) -> requests.Response:
        if response.status_code != 401:
            return response
        self.authenticator.invalidate(token)
        request = response.request
        body: object = request.body
        if (
            not self.retry_on_401
            or getattr(request, "_boxjwt_resent", False)
            or not isinstance(body, _RESENDABLE)
            or response.connection is None
        ):
            return response
        response.content  # noqa: B018 - drain, so the connection can be reused
        response.close()
        retry = request.copy()
        retry._boxjwt_resent = True  # type: ignore[attr-defined]
        self._apply(retry, self.token())
        kwargs.pop("allow_redirects", None)  # requests passes it to hooks; send() rejects it
        new = response.connection.send(retry, **kwargs)
        new.history.append(response)
        new.request = retry
        return new
