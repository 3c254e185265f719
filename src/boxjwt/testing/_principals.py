"""Who acts: users (in every Box status) and apps (as the consoles configure them), and the
tokens apps are issued. (One module: a user may belong to an app, an app has users.)

An :class:`EmulatedApp` keeps two copies of its console settings: :attr:`~EmulatedApp.settings`
(in effect) and :attr:`~EmulatedApp.pending` (configured, effective after
:meth:`~EmulatedApp.reauthorize`). A token records the settings in effect when it was minted
(:attr:`IssuedToken.settings`) and keeps them until it expires, as on Box.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from boxjwt.testing._content import ALNUM_LOWER, random_string
from boxjwt.testing._scopes import ALL_SCOPES

__all__ = [
    "ACTIVE_STATUSES",
    "MAX_PUBLIC_KEYS",
    "USER_STATUSES",
    "AccessLevel",
    "AppAuth",
    "AppRegistry",
    "AppSettings",
    "EmulatedApp",
    "EmulatedUser",
    "IssuedToken",
    "UserKind",
    "UserStatus",
]

UserKind = Literal["admin", "coadmin", "managed", "app_user", "service_account", "external"]
"""What a user is to the enterprise. ``"external"``: a collaborator from outside it."""

UserStatus = Literal["active", "inactive", "cannot_delete_edit", "cannot_delete_edit_upload"]
"""Box's user ``status`` values."""

USER_STATUSES: Final[frozenset[str]] = frozenset(
    {"active", "inactive", "cannot_delete_edit", "cannot_delete_edit_upload"}
)
ACTIVE_STATUSES: Final[frozenset[str]] = USER_STATUSES - {"inactive"}
"""The statuses of users who can still sign in (and be acted as)."""

AccessLevel = Literal["app_only", "app_enterprise"]
"""``"app_only"`` (App Access Only) or ``"app_enterprise"`` (App + Enterprise Access)."""

AppAuth = Literal["jwt", "ccg", "oauth"]
"""How an app authenticates: server JWT, Client Credentials Grant, or OAuth 2.0 (user auth)."""

MAX_PUBLIC_KEYS: Final = 2
"""Box lets an app register at most two public keys."""


@dataclass(eq=False)
class EmulatedUser:
    """A user of the emulated enterprise (as ``GET /2.0/users`` would show it).

    ``status``: ``"active"``, ``"inactive"`` (cannot be acted as: no As-User, no user
    token), ``"cannot_delete_edit"`` or ``"cannot_delete_edit_upload"`` (active, but restricted;
    the latter cannot upload). ``kind="external"``: a user outside the enterprise (an external
    collaborator): listed only by an exact login search, never impersonated.
    """

    id: str
    name: str
    login: str
    kind: UserKind
    status: UserStatus = "active"
    app: EmulatedApp | None = field(default=None, repr=False)
    """The owning app, for app users and service accounts."""
    created_at: str = "2024-01-01T00:00:00-00:00"
    seq: int = field(default=0, repr=False)
    """Creation order (what marker paging walks)."""

    @property
    def role(self) -> str:
        """Box's ``role`` field: ``"admin"``, ``"coadmin"`` or ``"user"``."""
        return self.kind if self.kind in ("admin", "coadmin") else "user"

    @property
    def is_platform_access_only(self) -> bool:
        """True for app users (and only them)."""
        return self.kind == "app_user"

    @property
    def is_service_account(self) -> bool:
        """True for an app's service account (``AutomationUser_…@boxdevedition.com``)."""
        return self.kind == "service_account"

    @property
    def is_admin(self) -> bool:
        """True for the primary admin and co-admins."""
        return self.kind in ("admin", "coadmin")

    @property
    def is_external(self) -> bool:
        """True for a user outside the enterprise (an external collaborator)."""
        return self.kind == "external"

    @property
    def is_active(self) -> bool:
        """False only for ``status="inactive"``."""
        return self.status in ACTIVE_STATUSES

    def to_json(
        self, enterprise: dict[str, str], fields: list[str] | None = None
    ) -> dict[str, Any]:
        """The Box user object; with ``fields``, only ``type``, ``id`` and those fields."""
        full: dict[str, Any] = {
            "type": "user",
            "id": self.id,
            "name": self.name,
            "login": self.login,
            "created_at": self.created_at,
            "modified_at": self.created_at,
            "language": "en",
            "timezone": "America/Los_Angeles",
            "space_amount": 10_737_418_240,
            "space_used": 0,
            "max_upload_size": 5_368_709_120,
            "status": self.status,
            "job_title": "",
            "phone": "",
            "address": "",
            "avatar_url": f"https://app.box.com/api/avatar/large/{self.id}",
            "notification_email": None,
        }
        if fields is None:
            return full
        extra: dict[str, Any] = {
            "role": self.role,
            "enterprise": None if self.is_external else dict(enterprise),
            "is_platform_access_only": self.is_platform_access_only,
            "is_external_collab_restricted": False,
            "is_exempt_from_device_limits": False,
            "is_exempt_from_login_verification": False,
            "can_see_managed_users": self.is_admin or self.is_service_account,
            "external_app_user_id": None,
            "tracking_codes": [],
        }
        out: dict[str, Any] = {"type": "user", "id": self.id}
        for name in fields:
            if name in full:
                out[name] = full[name]
            elif name in extra:
                out[name] = extra[name]
        return out

    def mini(self) -> dict[str, str]:
        """The mini user object embedded in other objects."""
        return {"type": "user", "id": self.id, "name": self.name, "login": self.login}


class AppRegistry(Protocol):
    """What an app needs from the enterprise that holds it."""

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """The enterprise lock."""

    def new_user(
        self, *, name: str, login: str, kind: UserKind, app: EmulatedApp | None = None
    ) -> EmulatedUser:
        """Create and register a user."""

    def users_of(self, app: EmulatedApp, kind: UserKind) -> list[EmulatedUser]:
        """The users of ``kind`` that ``app`` owns."""

    def next_pooled_key(self) -> rsa.RSAPrivateKey:
        """A fresh RSA key for a new key pair."""


@dataclass(frozen=True)
class AppSettings:
    """The console settings that only take effect when an admin re-authorizes the app."""

    access_level: AccessLevel = "app_enterprise"
    as_user: bool = True
    """Advanced feature "Make API calls using the as-user header"."""
    user_tokens: bool = True
    """Advanced feature "Generate user access tokens"."""
    scopes: frozenset[str] = ALL_SCOPES


def _check_settings(settings: AppSettings) -> AppSettings:
    if settings.access_level not in ("app_only", "app_enterprise"):
        raise ValueError(
            f"access_level must be 'app_only' or 'app_enterprise', not {settings.access_level!r}"
        )
    unknown = set(settings.scopes) - ALL_SCOPES
    if unknown:
        raise ValueError(
            f"unknown scope(s) {sorted(unknown)}; known scopes: {', '.join(sorted(ALL_SCOPES))}"
        )
    return settings


@dataclass(eq=False)
class IssuedToken:
    """An access token the emulator issued. ``value`` is secret: it is not in the repr."""

    value: str = field(repr=False)
    app: EmulatedApp
    subject_type: Literal["enterprise", "user"]
    owner: EmulatedUser
    issued_at: float
    expires_at: float
    settings: AppSettings = field(default_factory=AppSettings)
    """The app's settings when the token was minted: what it keeps until it expires, however
    the app is re-authorized later (as on Box)."""
    restricted_scopes: frozenset[str] | None = None
    """Downscoped tokens: the token-exchange scopes granted."""


class EmulatedApp:
    """A Box app (Developer Console + Admin Console settings), as the emulator sees it.

    Immediate: :meth:`disable`/:meth:`enable` (authorization in the enterprise),
    :meth:`add_public_key`/:meth:`remove_public_key`, :meth:`reset_client_secret`.
    Pending until :meth:`reauthorize` (like Box): :meth:`configure` (access level, as-user,
    user tokens, scopes). :attr:`settings` is what new tokens get now, :attr:`pending` what
    they will get after re-authorization. A token already issued keeps the settings it was
    minted with until it expires or is revoked (:attr:`IssuedToken.settings`), as on Box: "enabled
    and re-authorized, but the migration still holds an old token" is reproducible.
    """

    def __init__(
        self,
        state: AppRegistry,
        *,
        number: int,
        name: str,
        auth: AppAuth,
        authorized: bool,
        settings: AppSettings,
    ) -> None:
        self._state = state
        self.number = number
        """The app's numeric ID (it appears in the service account's login)."""
        self.name = name
        self.auth: AppAuth = auth
        self.client_id = random_string(32, ALNUM_LOWER)
        self._client_secret = random_string(32)
        self._authorized = authorized
        self._settings = _check_settings(settings)
        self._pending = self._settings
        self._public_keys: dict[str, rsa.RSAPublicKey] = {}
        self._private_keys: dict[str, rsa.RSAPrivateKey] = {}
        self.service_account: EmulatedUser = state.new_user(
            name=name,
            login=f"AutomationUser_{number}_{random_string(10)}@boxdevedition.com",
            kind="service_account",
            app=self,
        )
        """The app's service account: the identity of its enterprise tokens."""

    def __repr__(self) -> str:
        return (
            f"EmulatedApp(number={self.number}, client_id={self.client_id!r}, auth={self.auth!r}, "
            f"authorized={self.authorized}, settings={self.settings})"
        )

    # ------------------------------------------------------------------ credentials

    @property
    def client_secret(self) -> str:
        """The current client secret (plain text: test credentials)."""
        with self._state.lock:
            return self._client_secret

    def check_secret(self, candidate: str) -> bool:
        """Constant-time comparison with the current client secret."""
        return hmac.compare_digest(candidate.encode(), self.client_secret.encode())

    def reset_client_secret(self) -> str:
        """Generate a new client secret, effective immediately; return it."""
        with self._state.lock:
            self._client_secret = random_string(32)
            return self._client_secret

    # ------------------------------------------------------------------ keys

    @property
    def kid(self) -> str | None:
        """The first registered public key ID, if any."""
        with self._state.lock:
            return next(iter(self._public_keys), None)

    @property
    def public_keys(self) -> dict[str, rsa.RSAPublicKey]:
        """The registered public keys by ID (a copy)."""
        with self._state.lock:
            return dict(self._public_keys)

    def private_key(self, kid: str | None = None) -> rsa.RSAPrivateKey:
        """The private key the emulator generated for ``kid`` (default: the first key).

        Raises :class:`KeyError` for a key added from a public key only.
        """
        with self._state.lock:
            kid = kid if kid is not None else self.kid
            if kid is None or kid not in self._private_keys:
                raise KeyError(f"no private key known for kid {kid!r}")
            return self._private_keys[kid]

    def add_public_key(
        self, key: rsa.RSAPrivateKey | rsa.RSAPublicKey | str | bytes | None = None
    ) -> str:
        """Register a public key ("Add a Public Key" / "Generate a Public/Private Keypair").

        ``key`` may be a private key, a public key, or public-key PEM; ``None`` generates a new
        key pair (its private half available from :meth:`private_key`). Returns the new key ID.
        Box allows at most two keys per app: a third raises :class:`ValueError`.
        """
        with self._state.lock:
            if len(self._public_keys) >= MAX_PUBLIC_KEYS:
                raise ValueError("Box allows at most 2 public keys per app: remove one first")
            private: rsa.RSAPrivateKey | None = None
            if key is None:
                private = self._state.next_pooled_key()
                public = private.public_key()
            elif isinstance(key, rsa.RSAPrivateKey):
                private, public = key, key.public_key()
            elif isinstance(key, rsa.RSAPublicKey):
                public = key
            else:
                data = key.encode("ascii") if isinstance(key, str) else key
                loaded = serialization.load_pem_public_key(data)
                if not isinstance(loaded, rsa.RSAPublicKey):
                    raise ValueError("Box only accepts RSA public keys")
                public = loaded
            kid = random_string(8, ALNUM_LOWER)
            self._public_keys[kid] = public
            if private is not None:
                self._private_keys[kid] = private
            return kid

    def remove_public_key(self, kid: str) -> None:
        """Delete a registered public key (effective immediately). :class:`KeyError` if unknown."""
        with self._state.lock:
            del self._public_keys[kid]
            self._private_keys.pop(kid, None)

    # ------------------------------------------------------------------ authorization

    @property
    def authorized(self) -> bool:
        """Whether the app is authorized (and enabled) in the enterprise."""
        with self._state.lock:
            return self._authorized

    def disable(self) -> None:
        """The admin disables (or never authorized) the app: effective immediately.

        Token requests answer ``unauthorized_client`` and its existing tokens get 401.
        """
        with self._state.lock:
            self._authorized = False

    def enable(self) -> None:
        """The admin authorizes / re-enables the app: effective immediately."""
        with self._state.lock:
            self._authorized = True

    authorize = enable

    # ------------------------------------------------------------------ pending settings

    @property
    def settings(self) -> AppSettings:
        """The settings in effect (as of the last authorization)."""
        with self._state.lock:
            return self._settings

    @property
    def pending(self) -> AppSettings:
        """The settings as configured in the Developer Console (effective after reauthorize)."""
        with self._state.lock:
            return self._pending

    def configure(
        self,
        *,
        access_level: AccessLevel | None = None,
        as_user: bool | None = None,
        user_tokens: bool | None = None,
        scopes: Iterable[str] | None = None,
    ) -> AppSettings:
        """Change console settings (``None``: unchanged). They stay pending until
        :meth:`reauthorize`, exactly as on Box. Returns the pending settings."""
        with self._state.lock:
            pending = self._pending
            if access_level is not None:
                pending = replace(pending, access_level=access_level)
            if as_user is not None:
                pending = replace(pending, as_user=as_user)
            if user_tokens is not None:
                pending = replace(pending, user_tokens=user_tokens)
            if scopes is not None:
                pending = replace(pending, scopes=frozenset(scopes))
            self._pending = _check_settings(pending)
            return self._pending

    def reauthorize(self) -> AppSettings:
        """The admin re-authorizes the app: pending settings take effect for tokens minted from
        now on (tokens already issued keep theirs), and the app is enabled. Returns the
        settings now in effect."""
        with self._state.lock:
            self._settings = self._pending
            self._authorized = True
            return self._settings

    # ------------------------------------------------------------------ app users

    @property
    def app_users(self) -> list[EmulatedUser]:
        """The app users this app created."""
        with self._state.lock:
            return self._state.users_of(self, "app_user")

    def add_app_user(self, name: str | None = None) -> EmulatedUser:
        """Create an app user (``is_platform_access_only=true``) owned by this app."""
        with self._state.lock:
            number = len(self.app_users) + 1
            name = name or f"App User {self.number}-{number}"
            return self._state.new_user(
                name=name,
                login=f"AppUser_{self.number}_{random_string(10)}@boxdevedition.com",
                kind="app_user",
                app=self,
            )
