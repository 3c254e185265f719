"""The emulated Box: one state object that the HTTP handlers take and the facade wraps.

:class:`EnterpriseState` holds everything a request can read or change (users, apps, tokens,
files, groups) and every knob that decides how Box answers (clock and offset, token
lifetimes, accepted audiences, the wording of unconfirmed refusals, rate limits, throttles).
Handlers in ``_oauth`` and ``_api`` depend on it and on nothing above it;
:class:`~boxjwt.testing.BoxEmulator` is a facade over it.

Everything mutable is guarded by one re-entrant lock (``EnterpriseState.lock``), shared by the
HTTP handler threads and the test code that toggles settings.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from typing import Final, Literal

from cryptography.hazmat.primitives.asymmetric import rsa

from boxjwt.testing._answers import BoxAnswers
from boxjwt.testing._content import EmulatedFile, EmulatedGroup, iso_time, random_string
from boxjwt.testing._http import BOX_AUDIENCE
from boxjwt.testing._keys import pooled_rsa_key
from boxjwt.testing._principals import (
    AppSettings,
    EmulatedApp,
    EmulatedUser,
    IssuedToken,
    UserKind,
    UserStatus,
)
from boxjwt.testing._ratelimit import RateLimiter, RateLimits, Throttle

__all__ = ["BOX_TOKEN_LIFETIME", "EnterpriseState", "check_lifetime"]

BOX_TOKEN_LIFETIME: Final = (3646, 4175)
"""The range of ``expires_in`` Box has been observed to send (box-facts.md §5)."""


def check_lifetime(value: int | tuple[int, int]) -> tuple[int, int]:
    """``value`` (seconds, or an inclusive ``(low, high)`` range) as a validated range."""
    low, high = (value, value) if isinstance(value, int) else value
    bounds: tuple[object, object] = (low, high)
    for bound in bounds:
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
            raise ValueError(f"token lifetimes are whole seconds >= 1, not {value!r}")
    if low > high:
        raise ValueError(f"token lifetime range {value!r} is empty (low > high)")
    return low, high


class EnterpriseState:
    """All mutable emulator state and the knobs that shape Box's answers, behind one lock."""

    def __init__(
        self,
        clock: Callable[[], float],
        enterprise_id: str | None = None,
        *,
        seed: int | None = 0,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        """The local clock; Box's clock is this plus :attr:`clock_offset`."""
        self.clock_offset = 0.0
        self.enterprise_id = enterprise_id or str(secrets.randbelow(90_000_000) + 10_000_000)
        self.enterprise_name = f"Emulated Enterprise {self.enterprise_id}"
        self.users: dict[str, EmulatedUser] = {}
        self.apps: list[EmulatedApp] = []
        self.tokens: dict[str, IssuedToken] = {}
        self.jtis: dict[str, float] = {}
        self.files: dict[str, EmulatedFile] = {}
        self.groups: list[EmulatedGroup] = []
        self.token_lifetime: tuple[int, int] = BOX_TOKEN_LIFETIME
        self.rng = random.Random(seed)  # noqa: S311 - reproducible lifetimes, not secrets
        self.accepted_audiences: set[str] = {BOX_AUDIENCE}
        self.allow_as_user_admins = False
        self.download_url_template = "{base_url}/_emulator/download/{file_id}"
        self.base_url = ""
        """``http://host:port`` while serving, else ``""``."""
        self.answers = BoxAnswers()
        self.rate_limiter: RateLimiter | None = None
        self.throttles: list[Throttle] = []
        self.refusals: Counter[str] = Counter()
        """429s answered (budgets and throttles) per acting user ID."""
        self._key_index = 0
        self._ids: set[str] = set()
        self._id_rng = random.Random()  # noqa: S311 - IDs are not secrets; secrets is 3x slower
        self._stamp: tuple[int, str] = (0, iso_time(0))
        self._user_seq = 0

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        """Box's current time: ``clock() + clock_offset``."""
        return self.clock() + self.clock_offset

    def box_seconds(self) -> float:
        """The rate-limit timeline: the clock times the rate limits' time scale."""
        limiter = self.rate_limiter
        return self.clock() * (limiter.limits.time_scale if limiter is not None else 1.0)

    def count_refusal(self, user_id: str) -> None:
        """Count a 429 answered to ``user_id``."""
        with self.lock:
            self.refusals[user_id] += 1

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """Turn rate limiting on with ``limits`` (counts start afresh), or off (``None``)."""
        self.rate_limiter = None if limits is None else RateLimiter(limits, self.clock)

    # ------------------------------------------------------------------ ids and keys

    @property
    def enterprise_json(self) -> dict[str, str]:
        """The enterprise mini object."""
        return {"type": "enterprise", "id": self.enterprise_id, "name": self.enterprise_name}

    def new_id(self, digits: int = 11) -> str:
        """A fresh numeric ID, unique within this emulator."""
        with self.lock:
            while True:
                low = 10 ** (digits - 1)
                candidate = str(self._id_rng.randrange(low, 10 * low))
                if candidate not in self._ids:
                    self._ids.add(candidate)
                    return candidate

    def next_pooled_key(self) -> rsa.RSAPrivateKey:
        """The next key of the process-wide pool: distinct for every app of this emulator."""
        with self.lock:
            index = self._key_index
            self._key_index += 1
        return pooled_rsa_key(index)

    # ------------------------------------------------------------------ users and content

    def new_user(
        self,
        *,
        name: str,
        login: str,
        kind: UserKind,
        status: UserStatus = "active",
        app: EmulatedApp | None = None,
    ) -> EmulatedUser:
        """Create and register a user."""
        with self.lock:
            self._user_seq += 1
            user = EmulatedUser(
                id=self.new_id(),
                name=name,
                login=login,
                kind=kind,
                status=status,
                app=app,
                created_at=self._created_at(),
                seq=self._user_seq,
            )
            self.users[user.id] = user
            return user

    def _created_at(self) -> str:
        second = int(self.clock())
        if self._stamp[0] != second:
            self._stamp = (second, iso_time(second))
        return self._stamp[1]

    def users_of(self, app: EmulatedApp, kind: UserKind) -> list[EmulatedUser]:
        """The users of ``kind`` that ``app`` owns."""
        with self.lock:
            return [u for u in self.users.values() if u.kind == kind and u.app is app]

    def find_user(self, user_id: str) -> EmulatedUser | None:
        """The user with this ID, or ``None``."""
        with self.lock:
            return self.users.get(user_id)

    def all_users(self) -> list[EmulatedUser]:
        """Every user, in creation order (a copy)."""
        with self.lock:
            return list(self.users.values())

    def all_files(self) -> list[EmulatedFile]:
        """Every file, in creation order (a copy)."""
        with self.lock:
            return list(self.files.values())

    def add_file(self, name: str, content: bytes, owner_id: str | None) -> EmulatedFile:
        """Put a file in ``owner_id``'s root folder (every user's when ``None``)."""
        with self.lock:
            item = EmulatedFile(self.new_id(), name, content, owner_id)
            self.files[item.id] = item
            return item

    def download_url(self, file_id: str) -> str:
        """Where the content of ``file_id`` is served."""
        return self.download_url_template.format(base_url=self.base_url, file_id=file_id)

    # ------------------------------------------------------------------ apps and tokens

    def app_by_client_id(self, client_id: str) -> EmulatedApp | None:
        """The app with this client ID, or ``None``."""
        with self.lock:
            return next((app for app in self.apps if app.client_id == client_id), None)

    def next_lifetime(self) -> int:
        """``expires_in`` for the next token: drawn from :attr:`token_lifetime` (seeded)."""
        with self.lock:
            low, high = self.token_lifetime
            return low if low == high else self.rng.randint(low, high)

    def mint_token(
        self,
        app: EmulatedApp,
        owner: EmulatedUser,
        subject_type: Literal["enterprise", "user"],
        *,
        expires_in: int | None = None,
        restricted_scopes: frozenset[str] | None = None,
        settings: AppSettings | None = None,
    ) -> IssuedToken:
        """Issue and remember a new 32-character access token, with the app's settings now
        (or ``settings``); ``expires_in`` default: :meth:`next_lifetime`."""
        with self.lock:
            now = self.clock()
            lifetime = self.next_lifetime() if expires_in is None else expires_in
            token = IssuedToken(
                value=random_string(32),
                app=app,
                subject_type=subject_type,
                owner=owner,
                issued_at=now,
                expires_at=now + lifetime,
                settings=app.settings if settings is None else settings,
                restricted_scopes=restricted_scopes,
            )
            self.tokens[token.value] = token
            return token

    def live_token(self, value: str) -> IssuedToken | None:
        """The issued token with this value if it exists and has not expired."""
        with self.lock:
            token = self.tokens.get(value)
            if token is None or token.expires_at <= self.now():
                return None
            return token

    def forget_token(self, value: str, app: EmulatedApp | None = None) -> bool:
        """Revoke one token (only if it belongs to ``app``, when given). True if it existed."""
        with self.lock:
            token = self.tokens.get(value)
            if token is None or (app is not None and token.app is not app):
                return False
            del self.tokens[value]
            return True

    def use_jti(self, jti: str, expires_at: float) -> bool:
        """Record ``jti`` until ``expires_at``; False if it is already recorded (a replay)."""
        with self.lock:
            now = self.clock()
            for old in [j for j, until in self.jtis.items() if until < now]:
                del self.jtis[old]
            if jti in self.jtis:
                return False
            self.jtis[jti] = expires_at
            return True
