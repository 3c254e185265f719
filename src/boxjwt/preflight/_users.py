"""Box users as preflight sees them: the service account, the user list, the probe user."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import attrs

from boxjwt._http import opt_str
from boxjwt.preflight._model import CheckEvidence, UserRef

__all__ = ["BoxUser", "ProbeUser", "UserListing"]

_SERVICE_ACCOUNT_LOGIN: Final = re.compile(r"^AutomationUser_\d+_\w+@boxdevedition\.com$", re.I)


@attrs.frozen(kw_only=True)
class BoxUser:
    """One user of a Box answer (``None``: Box did not say)."""

    id: str
    login: str | None = None
    role: str | None = None
    status: str | None = None
    platform_only: bool | None = None

    @classmethod
    def parse(cls, entry: object) -> BoxUser | None:
        """The user in a JSON ``user`` object, or None when it has no ``id``."""
        if not isinstance(entry, Mapping) or not opt_str(entry.get("id")):
            return None
        platform = entry.get("is_platform_access_only")
        return cls(
            id=str(entry["id"]),
            login=opt_str(entry.get("login")),
            role=opt_str(entry.get("role")),
            status=opt_str(entry.get("status")),
            platform_only=platform if isinstance(platform, bool) else None,
        )

    @classmethod
    def parse_all(cls, entries: object) -> tuple[BoxUser, ...]:
        """The users of a JSON ``entries`` list (anything else: none)."""
        if not isinstance(entries, list):
            return ()
        return tuple(u for u in (cls.parse(e) for e in entries) if u is not None)

    @property
    def is_service_account(self) -> bool:
        """An ``AutomationUser_…@boxdevedition.com`` login."""
        return bool(self.login and _SERVICE_ACCOUNT_LOGIN.match(self.login))

    @property
    def managed(self) -> bool:
        """A member of the enterprise (not an app user, not a service account)."""
        return self.platform_only is False and not self.is_service_account

    @property
    def suitable(self) -> bool:
        """An active managed non-admin user: a safe As-User / user-token target."""
        return self.managed and self.status == "active" and self.role == "user"

    def ref(self) -> UserRef:
        """The report's form."""
        return UserRef(id=self.id, login=self.login)


@attrs.frozen(kw_only=True)
class UserListing:
    """What ``GET /2.0/users`` returned, and Box's answer (the evidence of two checks)."""

    users: tuple[BoxUser, ...]
    evidence: tuple[CheckEvidence, ...]


@attrs.frozen(kw_only=True)
class ProbeUser:
    """The user the As-User and user-token checks act as.

    ``known`` is False when only the ID the caller gave is known (Box did not list the users), so
    its role, status and kind are unknown.
    """

    user: BoxUser
    known: bool = True

    def caveat(self) -> str | None:
        """Why Box may refuse this user whatever the app's settings (None: no known reason)."""
        user = self.user
        if not self.known:
            return None
        if user.role == "admin":
            return f"the probe user {user.ref()} is an admin"
        if user.role == "coadmin":
            return f"the probe user {user.ref()} is a co-admin"
        if user.platform_only:
            return f"the probe user {user.ref()} is an app user"
        if user.status != "active":
            return f"the probe user {user.ref()} is {user.status or 'not active'}"
        return None
