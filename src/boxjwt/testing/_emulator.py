"""BoxEmulator: a local Box (API host, upload host and OAuth endpoints) over real HTTP.

A facade: the state and every knob live in :class:`~boxjwt.testing._state.EnterpriseState`,
the HTTP handlers (``_oauth``, ``_access``, ``_api``, ``_api_users``) take that state, and
``_dispatch`` turns requests into answers. Nothing below imports this module.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from boxjwt.testing._answers import BoxAnswers
from boxjwt.testing._dispatch import Dispatcher
from boxjwt.testing._faults import FaultPlan
from boxjwt.testing._keyfiles import EmulatedKeyFile, Mangling, build_keyfile
from boxjwt.testing._keys import ENCRYPTED_KEY_FORMATS, KeyFormat
from boxjwt.testing._log import RequestLog, RequestRecord
from boxjwt.testing._population import Population
from boxjwt.testing._principals import (
    AccessLevel,
    AppAuth,
    AppSettings,
    EmulatedApp,
    EmulatedUser,
    IssuedToken,
)
from boxjwt.testing._ratelimit import RateLimits
from boxjwt.testing._scopes import ALL_SCOPES
from boxjwt.testing._server import EmulatorHTTPServer
from boxjwt.testing._state import EnterpriseState, check_lifetime
from boxjwt.testing._traffic import Traffic

__all__ = ["BoxEmulator"]


class BoxEmulator(Population, Traffic):
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
    ``GET /2.0/search``, ``GET /2.0/events``, ``GET /2.0/groups``. Anything else: Box's JSON
    404 (405 for a known path with another method). Every response carries ``Date`` (the
    emulator's clock: ``clock() + clock_offset``) and ``box-request-id`` (JSON errors repeat
    it), except ``/oauth2/*`` errors, as on Box.

    **Token endpoint** checks, in order (details and exact bodies in
    ``boxjwt.testing._oauth``): grant_type; client_id known; client_secret; app is a JWT app;
    assertion decodes; alg RS256/384/512; iss; app has keys; kid; signature; aud; exp integer;
    exp not passed; exp <= now + 60; jti length 16-128; jti not replayed; box_sub_type; sub
    (a user of the enterprise); app authorized; user token allowed; user active.

    **API** checks, in order (details in ``boxjwt.testing._access``): bearer token present;
    token live (401 ``invalid_token``); As-User feature on *when the token was minted* (403
    ``insufficient_scope`` header); As-User target allowed (JSON 403
    ``access_denied_insufficient_permissions``: admins, co-admins, service accounts, other
    apps' app users; external and inactive users too, *(unconfirmed)* wording in
    :attr:`answers`); scope (403 ``insufficient_scope`` header); throttles and rate limits (429).

    **Re-authorization** applies to new tokens only: a token keeps the app settings it was
    minted with until it expires or is revoked.

    **Enterprise**: :attr:`admin` (primary admin), :attr:`co_admins`, :attr:`managed_users`
    (active ones first, then ``inactive_users`` inactive ones: by default one, when there are
    at least two managed users), :attr:`external_users`
    (collaborators from outside: never impersonated), every app's service account
    (``AutomationUser_<app number>_<10 chars>@boxdevedition.com``) and app users
    (``is_platform_access_only``), :attr:`groups`, :attr:`files`. ``managed_users=25_000``
    is cheap (about a second).

    **Apps**: :meth:`make_keyfile` (an app plus its key.json) or :meth:`create_app`; settings
    on :class:`EmulatedApp` (pending until ``reauthorize()`` where Box does that).

    **Knobs**: :attr:`clock_offset` (Box's clock ahead (+) or behind (-) the local one),
    :attr:`token_lifetime` / :attr:`token_expires_in` (``expires_in`` of new tokens: by default
    drawn per token from Box's observed 3646-4175 s with the ``seed``; an int fixes it),
    :attr:`latency` (seconds added to every answer, really slept), :attr:`connect_latency`
    (seconds added once per new connection: a TLS handshake), :attr:`faults`
    (:class:`FaultPlan`), :attr:`rate_limits`, :meth:`throttle`, :attr:`answers` (wording of
    unconfirmed refusals), :attr:`accepted_audiences`, :attr:`allow_as_user_admins`,
    :attr:`download_url_template`.

    **Rate limits** are off by default (one switch away) so that tests that make many calls
    do not start failing or waiting for real minutes: ``BoxEmulator(rate_limits=True)`` for
    Box's documented budgets in real time, ``rate_limits=RateLimits(time_scale=60)`` for a
    minute per second, or set ``BOXJWT_EMULATOR_RATE_LIMITS`` (``on`` or a time scale) to
    change the default for a whole test run. Waits a 429 asks for: :meth:`sleep`.

    **Observability**: :attr:`request_log`, :meth:`records`, :meth:`count`,
    :meth:`token_requests`, :meth:`rate_limited`, :meth:`reset_log`. **Storms**:
    :meth:`revoke_all_tokens`.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = None,
        clock_offset: float = 0.0,
        token_expires_in: int | tuple[int, int] | None = None,
        seed: int | None = 0,
        rate_limits: bool | RateLimits | None = None,
        latency: float = 0.0,
        connect_latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        enterprise_id: str | None = None,
        co_admins: int = 2,
        managed_users: int = 5,
        inactive_users: int | None = None,
        external_users: int = 1,
        groups: int = 2,
    ) -> None:
        state = EnterpriseState(clock or time.time, enterprise_id, seed=seed)
        super().__init__(state)
        state.clock_offset = clock_offset
        if token_expires_in is not None:
            state.token_lifetime = check_lifetime(token_expires_in)
        self.rate_limits = rate_limits
        self.faults = FaultPlan()
        """Scripted faults: see :class:`~boxjwt.testing.FaultPlan`."""
        self._log = RequestLog()
        self._dispatcher = Dispatcher(state, self.faults, self._log)
        self._dispatcher.latency = latency
        self._connect_latency = float(connect_latency)
        self._host = host
        self._port = port
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.populate(
            co_admins=co_admins,
            managed_users=managed_users,
            inactive_users=(1 if managed_users >= 2 else 0)
            if inactive_users is None
            else inactive_users,
            external_users=external_users,
            groups=groups,
        )

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
            server = EmulatorHTTPServer((self._host, self._port), self._dispatcher)
            server.connect_latency = self._connect_latency
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.01},
                name=f"BoxEmulator:{server.server_address[1]}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
            self.state.base_url = f"http://{self._host}:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        """Stop serving, close kept-alive connections and the socket. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self.state.base_url = ""
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
        return self.state.download_url(file_id)

    # ------------------------------------------------------------------ knobs

    @property
    def clock(self) -> Callable[[], float]:
        """The local clock (default :func:`time.time`); Box's clock is this plus the offset."""
        return self.state.clock

    @clock.setter
    def clock(self, value: Callable[[], float]) -> None:
        self.state.clock = value

    def now(self) -> float:
        """Box's current time: ``clock() + clock_offset``."""
        return self.state.now()

    @property
    def clock_offset(self) -> float:
        """Seconds Box's clock is ahead of :attr:`clock` (negative: behind)."""
        return self.state.clock_offset

    @clock_offset.setter
    def clock_offset(self, value: float) -> None:
        self.state.clock_offset = value

    @property
    def token_lifetime(self) -> tuple[int, int]:
        """The range ``expires_in`` of new tokens is drawn from, inclusive (default Box's
        observed ``(3646, 4175)``; the draw is reproducible through the ``seed``)."""
        return self.state.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, value: int | tuple[int, int]) -> None:
        self.state.token_lifetime = check_lifetime(value)

    @property
    def token_expires_in(self) -> int:
        """The longest ``expires_in`` a new token may get; setting an int gives every new
        token exactly that lifetime (``emu.token_expires_in = 5`` for short-lived tokens)."""
        return self.state.token_lifetime[1]

    @token_expires_in.setter
    def token_expires_in(self, value: int) -> None:
        self.state.token_lifetime = check_lifetime(value)

    @property
    def latency(self) -> float:
        """Seconds every request waits before being answered (real time)."""
        return self._dispatcher.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._dispatcher.latency = value

    @property
    def connect_latency(self) -> float:
        """Seconds each new TCP connection waits before its first request is read (real time):
        what a TLS handshake costs a client, on top of :attr:`latency`. With
        ``connect_latency=0.04`` a client opening two connections where one would do pays
        40 ms more."""
        return self._connect_latency

    @connect_latency.setter
    def connect_latency(self, value: float) -> None:
        self._connect_latency = float(value)
        if self._server is not None:
            self._server.connect_latency = self._connect_latency

    @property
    def accepted_audiences(self) -> set[str]:
        """The ``aud`` values the token endpoint accepts (Box: only its own token URL)."""
        return self.state.accepted_audiences

    @property
    def allow_as_user_admins(self) -> bool:
        """Whether a service account may use As-User on the admin and co-admins."""
        return self.state.allow_as_user_admins

    @allow_as_user_admins.setter
    def allow_as_user_admins(self, value: bool) -> None:
        self.state.allow_as_user_admins = value

    @property
    def download_url_template(self) -> str:
        """Where ``GET /2.0/files/{id}/content`` redirects (``{base_url}``, ``{file_id}``)."""
        return self.state.download_url_template

    @download_url_template.setter
    def download_url_template(self, value: str) -> None:
        self.state.download_url_template = value

    @property
    def answers(self) -> BoxAnswers:
        """How refusals whose wording Box does not document are worded (see
        :class:`~boxjwt.testing.BoxAnswers`); assign another to change them."""
        return self.state.answers

    @answers.setter
    def answers(self, value: BoxAnswers) -> None:
        if not isinstance(value, BoxAnswers):
            raise TypeError("answers must be a boxjwt.testing.BoxAnswers")
        self.state.answers = value

    # ------------------------------------------------------------------ apps

    def app_by_client_id(self, client_id: str) -> EmulatedApp | None:
        """The app with this client ID, or ``None``."""
        return self.state.app_by_client_id(client_id)

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
        keyfile = build_keyfile(
            self.state,
            app,
            kid=kid,
            key_format=fmt,
            passphrase=passphrase,
            separate_pem=separate_pem,
            int_enterprise_id=int_enterprise_id,
            webhooks=webhooks,
            mangle=mangle,
            config_overrides=config_overrides,
        )
        keyfile.write(path, pem_path=pem_path)
        return keyfile

    # ------------------------------------------------------------------ tokens

    def live_token(self, value: str) -> IssuedToken | None:
        """The issued token with this value if it exists and has not expired."""
        return self.state.live_token(value)

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
        return self.state.mint_token(app, owner, subject_type, expires_in=expires_in).value

    def forget_token(self, value: str, app: EmulatedApp | None = None) -> bool:
        """Revoke one token (only if it belongs to ``app``, when given). True if it existed."""
        return self.state.forget_token(value, app)

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
        acting_user_id: str | None = None,
        rate_limit: str | None = None,
    ) -> list[RequestRecord]:
        """The log, filtered (every filter given must match). ``path`` matches a concrete path
        or a route pattern."""
        filters = {
            "method": method,
            "path": path,
            "status": status,
            "endpoint": endpoint,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "client_id": client_id,
            "as_user": as_user,
            "acting_user_id": acting_user_id,
            "rate_limit": rate_limit,
        }
        return [r for r in self._log.snapshot() if r.matches(**filters)]

    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        **filters: Any,
    ) -> int:
        """How many requests match (same filters as :meth:`records`)."""
        return len(self.records(method, path, **filters))

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
