"""BoxEmulator: a local Box (API host, upload host and OAuth endpoints) over real HTTP.

The token endpoint's check order is documented in ``boxjwt.testing._oauth``, the API's in
``boxjwt.testing._api``; both are summarised in :class:`BoxEmulator`'s docstring.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from boxjwt.testing import _api
from boxjwt.testing._faults import Fault, FaultPlan
from boxjwt.testing._http import API_ERROR_MESSAGES, Request, Response, api_error, oauth_error
from boxjwt.testing._keyfiles import EmulatedKeyFile, Mangling, deep_merge, mangle_pem
from boxjwt.testing._keys import ENCRYPTED_KEY_FORMATS, KeyFormat, encode_private_key
from boxjwt.testing._log import RequestLog, RequestRecord, redact_headers
from boxjwt.testing._oauth import BOX_AUDIENCE, describe_token_request, handle_revoke, handle_token
from boxjwt.testing._server import EmulatorHTTPServer
from boxjwt.testing._state import (
    ALL_SCOPES,
    AccessLevel,
    AppAuth,
    AppSettings,
    EmulatedApp,
    EmulatedFile,
    EmulatedGroup,
    EmulatedUser,
    EnterpriseState,
    IssuedToken,
    random_string,
)

__all__ = ["BoxEmulator"]

Handler = Callable[["BoxEmulator", Request, list[str]], Response]


@dataclass(frozen=True)
class _Route:
    pattern: str
    regex: re.Pattern[str]
    methods: Mapping[str, Handler]


def _route(pattern: str, methods: Mapping[str, Handler]) -> _Route:
    regex = re.compile("^" + re.escape(pattern).replace(r"\{id\}", r"(\d+)") + "$")
    return _Route(pattern, regex, methods)


def _token(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    return handle_token(emu, request)


def _revoke(emu: BoxEmulator, request: Request, params: list[str]) -> Response:
    return handle_revoke(emu, request)


_ROUTES: tuple[_Route, ...] = (
    _route("/oauth2/token", {"POST": _token, "GET": _token}),
    _route("/oauth2/revoke", {"POST": _revoke}),
    _route("/2.0/users/me", {"GET": _api.users_me}),
    _route("/2.0/users", {"GET": _api.users}),
    _route("/2.0/users/{id}", {"GET": _api.user}),
    _route("/2.0/folders/{id}", {"GET": _api.folder}),
    _route("/2.0/files/content", {"OPTIONS": _api.upload_precheck}),
    _route("/api/2.0/files/content", {"POST": _api.upload}),
    _route("/2.0/files/{id}", {"GET": _api.file_info}),
    _route("/2.0/files/{id}/content", {"GET": _api.file_content}),
    _route("/2.0/events", {"GET": _api.events}),
    _route("/2.0/groups", {"GET": _api.groups}),
    _route("/_emulator/download/{id}", {"GET": _api.download}),
)

DEFAULT_TOKEN_EXPIRES_IN = 4100


class BoxEmulator:
    """A faithful local Box: real HTTP on ``127.0.0.1``, an enterprise, apps, tokens, faults.

    ::

        with BoxEmulator() as emu:                      # or emu.start() / emu.stop()
            ekf = emu.make_keyfile(tmp_path / "key.json")   # a fully configured JWT app
            kf = ekf.load()                             # -> boxjwt.KeyFile
            auth = boxjwt.JWTAuthenticator(kf, base_url=emu.base_url)
            ...
            assert emu.token_requests(subject_type="enterprise") == 1

    **Serves** (one base URL for everything): ``/oauth2/token``, ``/oauth2/revoke``,
    ``GET /2.0/users/me``, ``GET /2.0/users``, ``GET /2.0/users/{id}``, ``GET /2.0/folders/0``,
    ``OPTIONS /2.0/files/content``, ``POST /api/2.0/files/content`` (upload host path),
    ``GET /2.0/files/{id}``, ``GET /2.0/files/{id}/content`` (302 to :meth:`download_url`),
    ``GET /2.0/events``, ``GET /2.0/groups``. Anything else: Box's JSON 404 (405 for a known
    path with another method). Every response carries ``Date`` (the emulator's clock:
    ``clock() + clock_offset``) and ``box-request-id``; JSON errors repeat the request ID.

    **Token endpoint** checks, in order (details and exact bodies in
    ``boxjwt.testing._oauth``): grant_type; client_id known; client_secret; app is a JWT app;
    assertion decodes; alg RS256/384/512; iss; app has keys; kid; signature; aud; exp integer;
    exp not passed; exp <= now + 60; jti length 16-128; jti not replayed; box_sub_type; sub;
    app authorized; user token allowed.

    **API** checks, in order (details in ``boxjwt.testing._api``): bearer token present;
    token live (401 ``invalid_token``); As-User feature on (403 ``insufficient_scope`` header);
    As-User target allowed (JSON 403 ``access_denied_insufficient_permissions``); scope (403
    ``insufficient_scope`` header).

    **Enterprise**: :attr:`admin` (primary admin), :attr:`co_admins`, :attr:`managed_users`
    (active ones first, then ``inactive_users`` inactive ones), every app's service account
    (``AutomationUser_<app number>_<10 chars>@boxdevedition.com``) and app users
    (``is_platform_access_only``), :attr:`groups`, :attr:`files`.

    **Apps**: :meth:`make_keyfile` (an app plus its key.json) or :meth:`create_app`; settings
    on :class:`EmulatedApp` (pending until ``reauthorize()`` where Box does that).

    **Knobs**: :attr:`clock_offset` (Box's clock ahead (+) or behind (-) the local one),
    :attr:`token_expires_in`, :attr:`latency` (seconds added to every answer, really slept),
    :attr:`faults` (:class:`FaultPlan`), :attr:`accepted_audiences`,
    :attr:`allow_as_user_admins`, :attr:`download_url_template`.

    **Observability**: :attr:`request_log`, :meth:`records`, :meth:`count`,
    :meth:`token_requests`, :meth:`reset_log`. **Storms**: :meth:`revoke_all_tokens`.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = None,
        clock_offset: float = 0.0,
        token_expires_in: int = DEFAULT_TOKEN_EXPIRES_IN,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        enterprise_id: str | None = None,
        co_admins: int = 2,
        managed_users: int = 5,
        inactive_users: int = 1,
        groups: int = 2,
    ) -> None:
        self.clock: Callable[[], float] = clock or time.time
        """The local clock (default :func:`time.time`); Box's clock is this plus the offset."""
        self.clock_offset = clock_offset
        """Seconds Box's clock is ahead of :attr:`clock` (negative: behind)."""
        self.token_expires_in = token_expires_in
        """``expires_in`` of new access tokens (Box: 3600-4200)."""
        self.latency = latency
        """Seconds every request waits before being answered (real time)."""
        self.faults = FaultPlan()
        """Scripted faults: see :class:`~boxjwt.testing.FaultPlan`."""
        self.accepted_audiences: set[str] = {BOX_AUDIENCE}
        """The ``aud`` values the token endpoint accepts (Box: only its own token URL)."""
        self.allow_as_user_admins = False
        """Whether a service account may use As-User on the admin and co-admins."""
        self.download_url_template = "{base_url}/_emulator/download/{file_id}"
        """Where ``GET /2.0/files/{id}/content`` redirects (``{base_url}``, ``{file_id}``)."""
        self._host = host
        self._port = port
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log = RequestLog()
        self.state = EnterpriseState(self.now, enterprise_id)
        """The shared state (internal; use the properties)."""
        domain = f"enterprise{self.state.enterprise_id}.example.com"
        self.admin: EmulatedUser = self.state.new_user(
            name="Primary Admin", login=f"admin@{domain}", kind="admin"
        )
        """The enterprise's primary admin."""
        for n in range(1, co_admins + 1):
            self.state.new_user(name=f"Co-Admin {n}", login=f"coadmin{n}@{domain}", kind="coadmin")
        for n in range(1, managed_users + 1):
            inactive = n > managed_users - inactive_users
            self.state.new_user(
                name=f"Managed User {n}",
                login=f"user{n}@{domain}",
                kind="managed",
                status="inactive" if inactive else "active",
            )
        for n in range(1, groups + 1):
            self.add_group(f"Group {n}")

    def __repr__(self) -> str:
        where = self.base_url if self.running else "stopped"
        return f"BoxEmulator({where}, enterprise_id={self.enterprise_id!r}, apps={len(self.apps)})"

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    def start(self) -> BoxEmulator:
        """Bind and serve in a daemon thread; return ``self``. Idempotent."""
        if self._server is None:
            server = EmulatorHTTPServer((self._host, self._port), self._dispatch)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.01},
                name=f"BoxEmulator:{server.server_address[1]}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving, close kept-alive connections and the socket. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    close = stop

    def __enter__(self) -> BoxEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (raises :class:`RuntimeError` when not started)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use `with`")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the API host (``/2.0``, ``/oauth2``) and the upload host
        (``/api/2.0``) at once. Pass it as boxjwt's ``base_url``."""
        return f"http://{self._host}:{self.port}"

    @property
    def api_url(self) -> str:
        """``base_url + "/2.0"`` (Box: ``https://api.box.com/2.0``)."""
        return f"{self.base_url}/2.0"

    @property
    def upload_url(self) -> str:
        """``base_url + "/api"`` (Box: ``https://upload.box.com/api``)."""
        return f"{self.base_url}/api"

    @property
    def token_url(self) -> str:
        """``base_url + "/oauth2/token"``."""
        return f"{self.base_url}/oauth2/token"

    def download_url(self, file_id: str) -> str:
        """Where the content of ``file_id`` is served (see :attr:`download_url_template`)."""
        base = self.base_url if self.running else ""
        return self.download_url_template.format(base_url=base, file_id=file_id)

    def now(self) -> float:
        """Box's current time: ``clock() + clock_offset``."""
        return self.clock() + self.clock_offset

    # ------------------------------------------------------------------ enterprise

    @property
    def enterprise_id(self) -> str:
        """The enterprise ID (a string of digits)."""
        return self.state.enterprise_id

    @property
    def users(self) -> list[EmulatedUser]:
        """Every user, service accounts and app users included, in creation order."""
        with self.state.lock:
            return list(self.state.users.values())

    def _kind(self, kind: str) -> list[EmulatedUser]:
        return [u for u in self.users if u.kind == kind]

    @property
    def co_admins(self) -> list[EmulatedUser]:
        """The co-admins."""
        return self._kind("coadmin")

    @property
    def managed_users(self) -> list[EmulatedUser]:
        """Managed (non-admin) users: active ones first, then inactive ones."""
        return self._kind("managed")

    @property
    def app_users(self) -> list[EmulatedUser]:
        """App users of every app."""
        return self._kind("app_user")

    @property
    def service_accounts(self) -> list[EmulatedUser]:
        """Every app's service account."""
        return self._kind("service_account")

    @property
    def apps(self) -> list[EmulatedApp]:
        """Every registered app, in creation order."""
        with self.state.lock:
            return list(self.state.apps)

    @property
    def app(self) -> EmulatedApp:
        """The first app (the one most tests use). :class:`LookupError` if there is none."""
        apps = self.apps
        if not apps:
            raise LookupError("no app yet: call make_keyfile() or create_app()")
        return apps[0]

    @property
    def service_account(self) -> EmulatedUser:
        """The first app's service account."""
        return self.app.service_account

    def find_user(self, user_id: str) -> EmulatedUser | None:
        """The user with this ID, or ``None``."""
        with self.state.lock:
            return self.state.users.get(user_id)

    def user(self, user_id: str) -> EmulatedUser:
        """The user with this ID (:class:`KeyError` if unknown)."""
        found = self.find_user(user_id)
        if found is None:
            raise KeyError(user_id)
        return found

    def add_user(
        self,
        name: str,
        *,
        kind: Literal["admin", "coadmin", "managed"] = "managed",
        status: Literal["active", "inactive"] = "active",
        login: str | None = None,
    ) -> EmulatedUser:
        """Add a managed user, co-admin or admin. (App users: :meth:`EmulatedApp.add_app_user`.)"""
        if kind not in ("admin", "coadmin", "managed"):
            raise ValueError(f"kind must be 'admin', 'coadmin' or 'managed', not {kind!r}")
        login = login or f"{random_string(8).lower()}@enterprise{self.enterprise_id}.example.com"
        return self.state.new_user(name=name, login=login, kind=kind, status=status)

    @property
    def groups(self) -> list[EmulatedGroup]:
        """The enterprise's groups."""
        with self.state.lock:
            return list(self.state.groups)

    def add_group(self, name: str) -> EmulatedGroup:
        """Add a group."""
        with self.state.lock:
            group = EmulatedGroup(self.state.new_id(), name)
            self.state.groups.append(group)
            return group

    @property
    def files(self) -> list[EmulatedFile]:
        """Every file, in creation order."""
        with self.state.lock:
            return list(self.state.files.values())

    def add_file(
        self, name: str, content: bytes = b"", *, owner: EmulatedUser | str | None = None
    ) -> EmulatedFile:
        """Put a file in a root folder: ``owner``'s, or every user's when ``owner`` is None."""
        owner_id = owner.id if isinstance(owner, EmulatedUser) else owner
        with self.state.lock:
            item = EmulatedFile(self.state.new_id(), name, content, owner_id)
            self.state.files[item.id] = item
            return item

    # ------------------------------------------------------------------ apps

    def app_by_client_id(self, client_id: str) -> EmulatedApp | None:
        """The app with this client ID, or ``None``."""
        with self.state.lock:
            for app in self.state.apps:
                if app.client_id == client_id:
                    return app
        return None

    def create_app(
        self,
        *,
        name: str | None = None,
        auth: AppAuth = "jwt",
        authorized: bool = True,
        access_level: AccessLevel = "app_enterprise",
        as_user: bool = True,
        user_tokens: bool = True,
        scopes: Iterable[str] = ALL_SCOPES,
        public_keys: int | None = None,
        app_users: int = 2,
    ) -> EmulatedApp:
        """Register an app (default: fully configured JWT app, authorized in the enterprise).

        ``public_keys`` generated key pairs are registered (default: 1 for JWT apps, else 0);
        ``app_users`` app users are created. Its service account is created too.
        """
        if auth not in ("jwt", "ccg", "oauth"):
            raise ValueError(f"auth must be 'jwt', 'ccg' or 'oauth', not {auth!r}")
        settings = AppSettings(access_level, as_user, user_tokens, frozenset(scopes))
        with self.state.lock:
            number = self.state.new_id(7)
            app = EmulatedApp(
                self.state,
                number=int(number),
                name=name or f"Emulated App {number}",
                auth=auth,
                authorized=authorized,
                settings=settings,
            )
            self.state.apps.append(app)
        keys = (1 if auth == "jwt" else 0) if public_keys is None else public_keys
        for _ in range(keys):
            app.add_public_key()
        for _ in range(app_users):
            app.add_app_user()
        return app

    def make_keyfile(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        app: EmulatedApp | None = None,
        kid: str | None = None,
        key_format: KeyFormat | None = None,
        passphrase: str | None = None,
        unencrypted: bool = False,
        separate_pem: bool = False,
        pem_path: str | os.PathLike[str] | None = None,
        auth: AppAuth = "jwt",
        int_enterprise_id: bool = False,
        webhooks: bool = False,
        mangle: Mangling | None = None,
        config_overrides: Mapping[str, Any] | None = None,
        name: str | None = None,
        authorized: bool = True,
        access_level: AccessLevel = "app_enterprise",
        as_user: bool = True,
        user_tokens: bool = True,
        scopes: Iterable[str] = ALL_SCOPES,
    ) -> EmulatedKeyFile:
        """Register an app and produce its key.json, written to ``path`` (mode 0600) if given.

        Default: Box's exact download: a fully configured, authorized JWT app;
        ``privateKey`` PKCS#8 PBES2/3DES encrypted with a random ``passphrase``; every value a
        string. Variants:

        - ``key_format``: any of :data:`~boxjwt.testing.KEY_FORMATS`; ``unencrypted=True``
          means ``"pkcs8"`` (``"pkcs1"`` also unencrypted); ``passphrase`` to choose it.
        - ``separate_pem``: empty ``privateKey``/``passphrase`` in the JSON, the PEM in
          :attr:`EmulatedKeyFile.pem` and written to ``pem_path`` (default ``path`` with
          ``.pem``); :meth:`EmulatedKeyFile.load` passes both along.
        - ``auth="ccg"``: a Client Credentials Grant config (no ``appAuth``); ``auth="oauth"``:
          an OAuth 2.0 app's credentials (the token endpoint refuses the JWT grant).
        - ``int_enterprise_id``: ``enterpriseID`` as a JSON integer; ``webhooks``: add
          ``webhooks.primaryKey``/``secondaryKey``; ``mangle``: damage the PEM (see
          :func:`~boxjwt.testing.mangle_pem`); ``config_overrides``: deep-merged into the
          config (``None`` deletes a key), e.g. a wrong ``enterpriseID``.
        - ``app``: a key file for an existing app (``kid``: one of its keys; default: a new key
          pair is added, as Box's "Generate a Public/Private Keypair" does). Otherwise the app
          settings (``authorized``, ``access_level``, ``as_user``, ``user_tokens``,
          ``scopes``) configure the new app.
        """
        fmt: KeyFormat = key_format or ("pkcs8" if unencrypted else "box")
        if unencrypted and fmt in ENCRYPTED_KEY_FORMATS:
            raise ValueError(f"unencrypted=True contradicts the encrypted key_format {fmt!r}")
        if app is None:
            app = self.create_app(
                name=name,
                auth=auth,
                authorized=authorized,
                access_level=access_level,
                as_user=as_user,
                user_tokens=user_tokens,
                scopes=scopes,
                public_keys=1 if auth != "ccg" else 0,
            )
            kid = app.kid
        elif kid is None and auth != "ccg":
            kid = app.add_public_key()
        private_key: rsa.RSAPrivateKey | None = None
        pem: str | None = None
        if fmt in ENCRYPTED_KEY_FORMATS and passphrase is None:
            passphrase = secrets.token_hex(16)
        if fmt not in ENCRYPTED_KEY_FORMATS and passphrase is not None:
            raise ValueError(f"key format {fmt!r} is unencrypted: pass no passphrase")
        settings: dict[str, Any] = {"clientID": app.client_id, "clientSecret": app.client_secret}
        if auth != "ccg":
            assert kid is not None  # noqa: S101 - non-CCG apps always get a key above
            private_key = app.private_key(kid)
            pem = mangle_pem(encode_private_key(private_key, fmt, passphrase), mangle)
            settings["appAuth"] = {
                "publicKeyID": kid,
                "privateKey": "" if separate_pem else pem,
                "passphrase": "" if separate_pem else (passphrase or ""),
            }
        config: dict[str, Any] = {
            "boxAppSettings": settings,
            "enterpriseID": int(self.enterprise_id) if int_enterprise_id else self.enterprise_id,
        }
        if webhooks:
            config["webhooks"] = {
                "primaryKey": random_string(32),
                "secondaryKey": random_string(32),
            }
        deep_merge(config, config_overrides or {})
        keyfile = EmulatedKeyFile(
            emulator=self,
            app=app,
            config=config,
            kid=kid if auth != "ccg" else None,
            private_key=private_key,
            pem=pem,
            passphrase=passphrase,
            key_format=fmt if auth != "ccg" else None,
            separate_pem=separate_pem and auth != "ccg",
        )
        keyfile.write(path, pem_path=pem_path)
        return keyfile

    # ------------------------------------------------------------------ tokens

    def live_token(self, value: str) -> IssuedToken | None:
        """The issued token with this value if it exists and has not expired."""
        with self.state.lock:
            token = self.state.tokens.get(value)
            if token is None or token.expires_at <= self.now():
                return None
            return token

    def issue_token(
        self,
        app: EmulatedApp | None = None,
        user: EmulatedUser | None = None,
        *,
        expires_in: int | None = None,
    ) -> str:
        """Mint an access token directly (no assertion, no checks): the app's service account
        (enterprise token) by default, or ``user`` (a user token). For API-only tests."""
        app = app or self.app
        subject_type: Literal["enterprise", "user"] = "enterprise" if user is None else "user"
        owner = user or app.service_account
        expires = self.token_expires_in if expires_in is None else expires_in
        return self.state.mint_token(app, owner, subject_type, expires).value

    def forget_token(self, value: str, app: EmulatedApp | None = None) -> bool:
        """Revoke one token (only if it belongs to ``app``, when given). True if it existed."""
        with self.state.lock:
            token = self.state.tokens.get(value)
            if token is None or (app is not None and token.app is not app):
                return False
            del self.state.tokens[value]
            return True

    revoke_token = forget_token

    def revoke_all_tokens(self) -> int:
        """Invalidate every issued token (the next API calls get 401s: a storm). Returns how
        many there were."""
        with self.state.lock:
            count = len(self.state.tokens)
            self.state.tokens.clear()
            return count

    @property
    def live_tokens(self) -> int:
        """How many issued tokens are still valid."""
        with self.state.lock:
            now = self.now()
            return sum(1 for t in self.state.tokens.values() if t.expires_at > now)

    # ------------------------------------------------------------------ observability

    @property
    def request_log(self) -> list[RequestRecord]:
        """Every request so far (a copy), in completion order."""
        return self._log.snapshot()

    def records(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        status: int | None = None,
        endpoint: str | None = None,
        subject_type: str | None = None,
        subject_id: str | None = None,
        client_id: str | None = None,
        as_user: str | None = None,
    ) -> list[RequestRecord]:
        """The log, filtered. ``path`` matches a concrete path or a route pattern."""
        out = []
        for record in self._log.snapshot():
            if method is not None and record.method != method.upper():
                continue
            if path is not None and path not in (record.path, record.endpoint):
                continue
            checks = (
                (status, record.status),
                (endpoint, record.endpoint),
                (subject_type, record.subject_type),
                (subject_id, record.subject_id),
                (client_id, record.client_id),
                (as_user, record.as_user),
            )
            if any(want is not None and want != have for want, have in checks):
                continue
            out.append(record)
        return out

    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        status: int | None = None,
        endpoint: str | None = None,
        subject_type: str | None = None,
        subject_id: str | None = None,
        client_id: str | None = None,
        as_user: str | None = None,
    ) -> int:
        """How many requests match (same filters as :meth:`records`)."""
        return len(
            self.records(
                method,
                path,
                status=status,
                endpoint=endpoint,
                subject_type=subject_type,
                subject_id=subject_id,
                client_id=client_id,
                as_user=as_user,
            )
        )

    def token_requests(
        self,
        subject_type: str | None = None,
        subject_id: str | None = None,
        *,
        client_id: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many ``POST /oauth2/token`` requests arrived (any grant, any outcome, faults
        included), optionally only for a subject (the assertion's ``box_sub_type``/``sub``),
        a client ID, or an answer status."""
        return self.count(
            "POST",
            "/oauth2/token",
            subject_type=subject_type,
            subject_id=subject_id,
            client_id=client_id,
            status=status,
        )

    def reset_log(self) -> None:
        """Forget the request log (counts start again from zero)."""
        self._log.clear()

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since :meth:`start` (a kept-alive connection counts once;
        0 when stopped): how many sockets clients opened, for connection-pool tests."""
        server = self._server
        return server.connections_accepted if server is not None else 0

    @property
    def open_connections(self) -> int:
        """Accepted connections still open now (0 when stopped)."""
        server = self._server
        return server.open_connections if server is not None else 0

    # ------------------------------------------------------------------ dispatch

    def _match(self, path: str) -> tuple[_Route | None, list[str]]:
        for route in _ROUTES:
            match = route.regex.match(path)
            if match:
                return route, list(match.groups())
        return None, []

    def _fault_response(self, fault: Fault, request: Request) -> Response:
        status = fault.status
        assert status is not None  # noqa: S101 - only called for status faults
        body = fault.body
        if body is None:
            if status == 202 or 300 <= status < 400:
                response = Response(status)
            elif request.endpoint.startswith("/oauth2/"):
                code, message = API_ERROR_MESSAGES.get(status, ("error", "Error"))
                response = oauth_error(code, message, status)
            else:
                response = api_error(status, request.request_id)
        elif isinstance(body, Mapping):
            response = Response(
                status, json.dumps(body).encode(), [("Content-Type", "application/json")]
            )
        elif isinstance(body, str):
            response = Response(
                status, body.encode(), [("Content-Type", "text/plain; charset=utf-8")]
            )
        else:
            response = Response(status, body)
        overridden = {name.lower() for name in fault.headers}
        response.headers = [h for h in response.headers if h[0].lower() not in overridden]
        response.headers.extend(fault.headers.items())
        return response

    def _respond(self, route: _Route | None, request: Request, params: list[str]) -> Response:
        if route is None:
            return api_error(404, request.request_id)
        handler = route.methods.get(request.method)
        if handler is None:
            allow = ", ".join(sorted(route.methods))
            return api_error(405, request.request_id, headers=[("Allow", allow)])
        try:
            return handler(self, request, params)
        except _api.DeniedError as denied:
            return denied.response
        except Exception:  # noqa: BLE001 - an emulator bug must answer, not hang the client
            return api_error(500, request.request_id)

    def _dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Response | None:
        arrived = self.now()
        seq = self._log.next_seq()
        split = urlsplit(target)
        path = split.path
        route, params = self._match(path)
        request = Request(
            method=method,
            path=path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            request_id=secrets.token_hex(8),
            endpoint=route.pattern if route else path,
        )
        if request.endpoint == "/oauth2/token":
            request.notes.update(describe_token_request(request))
        if self.latency > 0:
            time.sleep(self.latency)
        fault = self.faults.take(method, path, request.endpoint)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        response: Response | None
        if fault is not None and fault.drop:
            response = None
        elif fault is not None and fault.status is not None:
            response = self._fault_response(fault, request)
        else:
            response = self._respond(route, request, params)
        if response is not None:
            response.headers.append(("Date", formatdate(self.now(), usegmt=True)))
            response.headers.append(("box-request-id", request.request_id))
        notes = request.notes
        self._log.append(
            RequestRecord(
                seq=seq,
                time=arrived,
                method=method,
                path=path,
                endpoint=request.endpoint,
                status=response.status if response is not None else None,
                query={k: v[0] for k, v in request.query.items()},
                request_headers=redact_headers(headers),
                response_headers=dict(response.headers) if response is not None else {},
                request_id=request.request_id,
                grant_type=notes.get("grant_type"),
                client_id=notes.get("client_id"),
                subject_type=notes.get("subject_type"),
                subject_id=notes.get("subject_id"),
                as_user=notes.get("as_user"),
                acting_user_id=notes.get("acting_user_id"),
                error=response.error if response is not None else None,
                fault=fault.kind if fault is not None else None,
            )
        )
        return response
