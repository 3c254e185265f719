"""Who and what is in the emulated enterprise: the part of the facade that reads and adds
users, groups and files (``BoxEmulator`` inherits it)."""

from __future__ import annotations

from typing import Literal

from boxjwt.testing._content import EmulatedFile, EmulatedGroup, random_string
from boxjwt.testing._principals import USER_STATUSES, EmulatedApp, EmulatedUser, UserStatus
from boxjwt.testing._state import EnterpriseState

__all__ = ["Population"]


class Population:
    """The enterprise's people and content, over an :class:`EnterpriseState`."""

    def __init__(self, state: EnterpriseState) -> None:
        self.state = state
        """The shared state (internal; use the properties)."""

    def populate(
        self,
        *,
        co_admins: int,
        managed_users: int,
        inactive_users: int,
        external_users: int,
        groups: int,
    ) -> None:
        """Create the initial enterprise: the primary admin, then the others."""
        domain = f"enterprise{self.enterprise_id}.example.com"
        self._admin = self.state.new_user(
            name="Primary Admin", login=f"admin@{domain}", kind="admin"
        )
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
        for n in range(1, external_users + 1):
            self.add_external_user(f"External Collaborator {n}", login=f"collab{n}@example.org")
        for n in range(1, groups + 1):
            self.add_group(f"Group {n}")

    @property
    def admin(self) -> EmulatedUser:
        """The enterprise's primary admin."""
        return self._admin

    @property
    def enterprise_id(self) -> str:
        """The enterprise ID (a string of digits)."""
        return self.state.enterprise_id

    # ------------------------------------------------------------------ users

    @property
    def users(self) -> list[EmulatedUser]:
        """Every user, service accounts, app users and external users included, in creation
        order."""
        return self.state.all_users()

    def _kind(self, kind: str) -> list[EmulatedUser]:
        return [u for u in self.users if u.kind == kind]

    @property
    def co_admins(self) -> list[EmulatedUser]:
        """The co-admins."""
        return self._kind("coadmin")

    @property
    def managed_users(self) -> list[EmulatedUser]:
        """Managed (non-admin) users, in creation order: the initial active ones first, then
        the initial inactive ones, then any added later."""
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
    def external_users(self) -> list[EmulatedUser]:
        """Users outside the enterprise (external collaborators): listed by ``GET /2.0/users``
        only for an exact login search, never acted as (no As-User, no user token)."""
        return self._kind("external")

    def find_user(self, user_id: str) -> EmulatedUser | None:
        """The user with this ID, or ``None``."""
        return self.state.find_user(user_id)

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
        status: UserStatus = "active",
        login: str | None = None,
    ) -> EmulatedUser:
        """Add a managed user, co-admin or admin, in any Box ``status`` (``"active"``,
        ``"inactive"``, ``"cannot_delete_edit"``, ``"cannot_delete_edit_upload"``).
        (App users: :meth:`EmulatedApp.add_app_user`; external: :meth:`add_external_user`.)"""
        if kind not in ("admin", "coadmin", "managed"):
            raise ValueError(f"kind must be 'admin', 'coadmin' or 'managed', not {kind!r}")
        if status not in USER_STATUSES:
            raise ValueError(f"status must be one of {sorted(USER_STATUSES)}, not {status!r}")
        login = login or f"{random_string(8).lower()}@enterprise{self.enterprise_id}.example.com"
        return self.state.new_user(name=name, login=login, kind=kind, status=status)

    def add_users(self, count: int, *, status: UserStatus = "active") -> list[EmulatedUser]:
        """Add ``count`` managed users at once (``Bulk User <n>``, ``bulk<n>@…``): cheap enough
        for enterprises of tens of thousands."""
        if status not in USER_STATUSES:
            raise ValueError(f"status must be one of {sorted(USER_STATUSES)}, not {status!r}")
        domain = f"enterprise{self.enterprise_id}.example.com"
        with self.state.lock:
            start = len(self.state.users)
            return [
                self.state.new_user(
                    name=f"Bulk User {n}", login=f"bulk{n}@{domain}", kind="managed", status=status
                )
                for n in range(start + 1, start + count + 1)
            ]

    def add_external_user(self, name: str, *, login: str | None = None) -> EmulatedUser:
        """Add a user from outside the enterprise (an external collaborator)."""
        login = login or f"{random_string(8).lower()}@external.example.org"
        return self.state.new_user(name=name, login=login, kind="external")

    # ------------------------------------------------------------------ apps

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

    # ------------------------------------------------------------------ content

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
        return self.state.all_files()

    def add_file(
        self, name: str, content: bytes = b"", *, owner: EmulatedUser | str | None = None
    ) -> EmulatedFile:
        """Put a file in a root folder: ``owner``'s, or every user's when ``owner`` is None."""
        owner_id = owner.id if isinstance(owner, EmulatedUser) else owner
        return self.state.add_file(name, content, owner_id)
