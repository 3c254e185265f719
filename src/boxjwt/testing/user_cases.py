"""Users of every kind check_users tells apart, added to a :class:`BoxEmulator` for a demo or
a test: ``boxjwt check-users --emulator`` shows them; tests assert each verdict::

    from boxjwt.testing import BoxEmulator, user_cases

    with BoxEmulator() as emu:
        ekf = emu.make_keyfile()
        cases = user_cases.add(emu)                   # one UserCase per kind of user
        report = boxjwt.check_users(auth, [c.asked for c in cases])
        for case in cases:
            assert report[case.asked].as_user.reason == case.reason

Each :class:`UserCase` is one entry of the plan (``asked``: an ID or a login, as a plan would
name the user) with the As-User verdict Box gives (``reason``) and the user-token one
(``token_reason``). The list holds a duplicate (the ready user again, by ID) and a login the
enterprise does not know.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from boxjwt.checkusers import Reason

if TYPE_CHECKING:
    from boxjwt.testing import BoxEmulator

__all__ = ["UserCase", "add"]


@attrs.frozen(kw_only=True)
class UserCase:
    """One entry of a plan, and what check_users says about it."""

    name: str
    #: The ID or login the plan names.
    asked: str
    #: The As-User verdict's reason (``ok``: ready).
    reason: Reason
    #: The user-token verdict's reason (with ``user_tokens=True``).
    token_reason: Reason
    #: True for an entry naming a user named before (checked once).
    duplicate: bool = False


def add(emu: BoxEmulator) -> list[UserCase]:
    """Add one user of each kind to ``emu`` and return the plan's entries, in order.

    ``emu`` must have an app (:meth:`~boxjwt.testing.BoxEmulator.make_keyfile` first)."""
    domain = f"enterprise{emu.enterprise_id}.example.com"
    ready = emu.add_user("Ready User", login=f"ready.user@{domain}")
    restricted = emu.add_user(
        "Restricted User", status="cannot_delete_edit", login=f"restricted.user@{domain}"
    )
    inactive = emu.add_user("Inactive User", status="inactive", login=f"inactive.user@{domain}")
    coadmin = emu.add_user("Co-Admin User", kind="coadmin", login=f"coadmin.user@{domain}")
    external = emu.add_external_user("External Collaborator", login="partner@example.org")
    app_user = emu.app.add_app_user("Integration App User")
    ok = Reason.OK
    return [
        UserCase(name="ready", asked=ready.login, reason=ok, token_reason=ok),
        UserCase(name="restricted", asked=restricted.id, reason=ok, token_reason=ok),
        UserCase(
            name="inactive",
            asked=inactive.login,
            reason=Reason.INACTIVE,
            token_reason=Reason.INACTIVE,
        ),
        UserCase(name="admin", asked=emu.admin.login, reason=Reason.ADMIN, token_reason=ok),
        UserCase(name="co-admin", asked=coadmin.login, reason=Reason.COADMIN, token_reason=ok),
        UserCase(
            name="external",
            asked=external.login,
            reason=Reason.EXTERNAL,
            token_reason=Reason.EXTERNAL,
        ),
        UserCase(
            name="unknown login",
            asked=f"former.employee@{domain}",
            reason=Reason.NOT_FOUND,
            token_reason=Reason.NOT_FOUND,
        ),
        UserCase(name="app user", asked=app_user.id, reason=ok, token_reason=ok),
        UserCase(name="duplicate", asked=ready.id, reason=ok, token_reason=ok, duplicate=True),
    ]
