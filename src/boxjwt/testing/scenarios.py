"""Preflight scenarios: reproduce one Box app misconfiguration on a :class:`BoxEmulator`.

Each scenario is a mistake an admin can make (a scope left off, a key pair deleted, the app
never re-authorized...), built for real on an emulator, with what :func:`boxjwt.preflight`
reports for it. ``boxjwt preflight --emulator --scenario NAME`` shows them; tests use them to
check how their own code reacts to a misconfigured app::

    from boxjwt.testing import BoxEmulator, scenarios

    scenarios.names()                                 # ["configured", "not-authorized", ...]
    scenarios.get("as-user-off").description          # '"Make API calls using the as-user ..."'

    with BoxEmulator() as emu:
        setup = scenarios.get("as-user-off").build(emu, tmp_path)
        report = setup.preflight()                    # boxjwt.preflight against the emulator
        assert not report.ok
        setup.keyfile.load()                          # the boxjwt.KeyFile, for your own code

    with scenarios.emulate("no-read") as setup:       # its own emulator and temporary directory
        ...
"""

from __future__ import annotations

import contextlib
import pathlib
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from boxjwt.exceptions import ConfigurationError
from boxjwt.preflight import KEYFILE_CHECKS, CheckId, CheckStatus, PreflightReport, preflight

if TYPE_CHECKING:
    from boxjwt.testing import BoxEmulator, EmulatedKeyFile

__all__ = ["SCENARIOS", "Scenario", "ScenarioSetup", "emulate", "get", "names"]

Make = Callable[["BoxEmulator", pathlib.Path], "EmulatedKeyFile"]
"""Writes a scenario's key file into the directory (as ``key.json``) and returns it."""

_KEY_JSON: Final = "key.json"


@attrs.frozen(kw_only=True)
class ScenarioSetup:
    """A scenario built on an emulator: its key file, and the probe user to name (if any)."""

    scenario: Scenario
    emulator: BoxEmulator
    keyfile: EmulatedKeyFile
    #: Where the key file was written.
    path: pathlib.Path
    #: The ``probe_user=`` the scenario runs preflight with (None: preflight chooses).
    probe_user: str | None = None

    def preflight(self, **kwargs: Any) -> PreflightReport:
        """:func:`boxjwt.preflight` of this setup against its emulator (``kwargs`` passed on)."""
        kwargs.setdefault("probe_user", self.probe_user)
        return preflight(self.path, base_url=self.emulator.base_url, **kwargs)


@attrs.frozen(kw_only=True)
class Scenario:
    """One misconfiguration. ``expected`` maps each check that does not pass to its status
    (every other check passes)."""

    name: str
    description: str
    make: Callable[[BoxEmulator, pathlib.Path], EmulatedKeyFile] = attrs.field(repr=False)
    expected: Mapping[CheckId, CheckStatus] = attrs.field(factory=dict)
    #: Picks the ``probe_user=`` to name on the emulator (None: let preflight choose).
    probe_user: Callable[[BoxEmulator], str] | None = attrs.field(default=None, repr=False)

    @property
    def exit_code(self) -> int:
        """What ``boxjwt preflight --emulator --scenario NAME`` exits with (0, 1 or 2)."""
        failed = {c for c, s in self.expected.items() if s is CheckStatus.FAIL}
        if failed & KEYFILE_CHECKS:
            return 2
        return 1 if failed else 0

    def build(self, emulator: BoxEmulator, directory: str | pathlib.Path) -> ScenarioSetup:
        """Set up the scenario on ``emulator``; its key file is written into ``directory``."""
        folder = pathlib.Path(directory)
        keyfile = self.make(emulator, folder)
        return ScenarioSetup(
            scenario=self,
            emulator=emulator,
            keyfile=keyfile,
            path=folder / _KEY_JSON,
            probe_user=None if self.probe_user is None else self.probe_user(emulator),
        )


# --------------------------------------------------------------------------- the setups


def _keyfile(emu: BoxEmulator, directory: pathlib.Path, **kwargs: Any) -> EmulatedKeyFile:
    return emu.make_keyfile(directory / _KEY_JSON, **kwargs)


def _then(action: Callable[[BoxEmulator, EmulatedKeyFile], object], **kwargs: Any) -> Make:
    """A setup that writes a fully configured key file, then applies ``action(emu, ekf)``."""

    def make(emu: BoxEmulator, directory: pathlib.Path) -> EmulatedKeyFile:
        ekf = _keyfile(emu, directory, **kwargs)
        action(emu, ekf)
        return ekf

    return make


def _settings(**settings: Any) -> Make:
    """Console settings changed and the app re-authorized (so they are in effect)."""

    def action(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
        ekf.app.configure(**settings)
        ekf.app.reauthorize()

    return _then(action)


def _without_scope(scope: str) -> Make:
    def action(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
        ekf.app.configure(scopes=ekf.app.settings.scopes - {scope})
        ekf.app.reauthorize()

    return _then(action)


def _pending(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    # As-User was off; the admin turned it on in the Developer Console but never re-authorized.
    ekf.app.configure(as_user=False)
    ekf.app.reauthorize()
    ekf.app.configure(as_user=True)


def _kid(ekf: EmulatedKeyFile) -> str:
    """The key file's ``publicKeyID``."""
    return str(ekf.config["boxAppSettings"]["appAuth"]["publicKeyID"])


def _key_removed(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    ekf.app.add_public_key()  # the app keeps another key...
    ekf.app.remove_public_key(_kid(ekf))  # ...but not the key file's


def _no_public_key(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    ekf.app.remove_public_key(_kid(ekf))


def _wrong_key(emu: BoxEmulator, directory: pathlib.Path) -> EmulatedKeyFile:
    ekf = emu.make_keyfile()
    other = ekf.app.add_public_key()
    # The first key's private key, labelled with the second key's ID.
    return _keyfile(
        emu,
        directory,
        app=ekf.app,
        kid=ekf.kid,
        config_overrides={"boxAppSettings": {"appAuth": {"publicKeyID": other}}},
    )


def _first_active_user(emu: BoxEmulator) -> str:
    return next(u.id for u in emu.managed_users if u.status == "active")


def _clock(offset: float) -> Callable[[BoxEmulator, EmulatedKeyFile], None]:
    def action(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
        emu.clock_offset = offset

    return action


def _loose_permissions(emu: BoxEmulator, directory: pathlib.Path) -> EmulatedKeyFile:
    ekf = _keyfile(emu, directory)
    (directory / _KEY_JSON).chmod(0o644)
    return ekf


_F = CheckStatus.FAIL
_W = CheckStatus.WARN
_S = CheckStatus.SKIPPED
_AFTER_TOKEN: Final = dict.fromkeys(
    (
        CheckId.IDENTITY_SERVICE_ACCOUNT,
        CheckId.SCOPE_MANAGE_USERS,
        CheckId.ACCESS_ENTERPRISE,
        CheckId.SCOPE_READ,
        CheckId.SCOPE_WRITE,
        CheckId.FEATURE_AS_USER,
        CheckId.FEATURE_USER_TOKENS,
        CheckId.SCOPE_MANAGE_GROUPS,
        CheckId.SCOPE_ENTERPRISE_PROPERTIES,
    ),
    _S,
)
_TOKEN_FAILS: Final = {CheckId.TOKEN_ENTERPRISE: _F, **_AFTER_TOKEN}
_NO_BOX: Final = {CheckId.CLOCK_SKEW: _S, CheckId.TOKEN_ENTERPRISE: _S, **_AFTER_TOKEN}
_NO_PROBES: Final = {CheckId.FEATURE_AS_USER: _S, CheckId.FEATURE_USER_TOKENS: _S}


_TOKEN_SCENARIOS: Final = (
    Scenario(
        name="not-authorized",
        description="The app was never authorized (or was disabled) in the Admin Console.",
        make=_then(lambda emu, ekf: ekf.app.disable()),
        expected=_TOKEN_FAILS,
    ),
    Scenario(
        name="wrong-secret",
        description="The client secret was reset after the key file was downloaded.",
        make=_then(lambda emu, ekf: ekf.app.reset_client_secret()),
        expected=_TOKEN_FAILS,
    ),
    Scenario(
        name="key-removed",
        description="The key file's key pair was deleted from the app (another key remains).",
        make=_then(_key_removed),
        expected=_TOKEN_FAILS,
    ),
    Scenario(
        name="no-public-key",
        description="The app's only public key was deleted.",
        make=_then(_no_public_key),
        expected=_TOKEN_FAILS,
    ),
    Scenario(
        name="wrong-key",
        description="The key file's private key does not match its publicKeyID.",
        make=_wrong_key,
        expected=_TOKEN_FAILS,
    ),
    Scenario(
        name="wrong-enterprise",
        description="enterpriseID in the key file names another enterprise.",
        make=lambda emu, d: _keyfile(emu, d, config_overrides={"enterpriseID": "12345"}),
        expected=_TOKEN_FAILS,
    ),
    Scenario(
        name="not-jwt-app",
        description="The credentials belong to an OAuth 2.0 (user authentication) app.",
        make=lambda emu, d: _keyfile(emu, d, auth="oauth"),
        expected=_TOKEN_FAILS,
    ),
    Scenario(
        name="ccg-config",
        description="A Client Credentials Grant app's config (no appAuth): not a JWT app.",
        make=lambda emu, d: _keyfile(emu, d, auth="ccg"),
        expected={
            CheckId.KEYFILE_PARSE: _F,
            CheckId.KEYFILE_DECRYPT: _S,
            CheckId.KEYFILE_PASSPHRASE: _S,
            CheckId.KEYFILE_ENTERPRISE_ID: _S,
            **_NO_BOX,
        },
    ),
    Scenario(
        name="wrong-passphrase",
        description="The passphrase in the key file does not decrypt its private key.",
        make=lambda emu, d: _keyfile(
            emu,
            d,
            config_overrides={"boxAppSettings": {"appAuth": {"passphrase": "not-it"}}},
        ),
        expected={CheckId.KEYFILE_DECRYPT: _F, CheckId.KEYFILE_PASSPHRASE: _S, **_NO_BOX},
    ),
)


_SETTING_SCENARIOS: Final = (
    Scenario(
        name="app-access-only",
        description='App Access Level left at "App Access Only".',
        make=_settings(access_level="app_only"),
        expected={CheckId.ACCESS_ENTERPRISE: _F, **_NO_PROBES},
    ),
    Scenario(
        name="as-user-off",
        description='"Make API calls using the as-user header" is off.',
        make=_settings(as_user=False),
        expected={CheckId.FEATURE_AS_USER: _F},
    ),
    Scenario(
        name="user-tokens-off",
        description='"Generate user access tokens" is off.',
        make=_settings(user_tokens=False),
        expected={CheckId.FEATURE_USER_TOKENS: _F},
    ),
    Scenario(
        name="no-manage-users",
        description='Scope "Manage users" is off; the admin names a probe user '
        "(--probe-user), so As-User and user tokens are still checked.",
        make=_without_scope("manage_users"),
        expected={CheckId.SCOPE_MANAGE_USERS: _F, CheckId.ACCESS_ENTERPRISE: _S},
        probe_user=_first_active_user,
    ),
    Scenario(
        name="no-read",
        description='Scope "Read all files and folders stored in Box" is off.',
        make=_without_scope("read"),
        expected={CheckId.SCOPE_READ: _F},
    ),
    Scenario(
        name="no-write",
        description='Scope "Write all files and folders stored in Box" is off.',
        make=_without_scope("write"),
        expected={CheckId.SCOPE_WRITE: _F},
    ),
    Scenario(
        name="no-manage-groups",
        description='Optional scope "Manage groups" is off (a warning).',
        make=_without_scope("manage_groups"),
        expected={CheckId.SCOPE_MANAGE_GROUPS: _W},
    ),
    Scenario(
        name="no-enterprise-properties",
        description='Optional scope "Manage enterprise properties" is off (a warning).',
        make=_without_scope("manage_enterprise_properties"),
        expected={CheckId.SCOPE_ENTERPRISE_PROPERTIES: _W},
    ),
    Scenario(
        name="pending-reauthorization",
        description="As-User was enabled in the Developer Console, but the app was not "
        "re-authorized since, so Box still applies the old settings.",
        make=_then(_pending),
        expected={CheckId.FEATURE_AS_USER: _F},
    ),
)


_LOCAL_SCENARIOS: Final = (
    Scenario(
        name="clock-behind",
        description="This machine's clock is 5 minutes behind Box's.",
        make=_then(_clock(300.0)),
        expected={CheckId.CLOCK_SKEW: _F},
    ),
    Scenario(
        name="clock-ahead",
        description="This machine's clock is 5 minutes ahead of Box's.",
        make=_then(_clock(-300.0)),
        expected={CheckId.CLOCK_SKEW: _F},
    ),
    Scenario(
        name="unencrypted-key",
        description="The private key is stored without a passphrase (a warning).",
        make=lambda emu, d: _keyfile(emu, d, unencrypted=True),
        expected={CheckId.KEYFILE_PASSPHRASE: _W},
    ),
    Scenario(
        name="loose-permissions",
        description="The key file is readable by other users (a warning).",
        make=_loose_permissions,
        expected={CheckId.KEYFILE_PERMISSIONS: _W},
    ),
)


_CONFIGURED: Final = Scenario(
    name="configured",
    description="A fully configured app, as the setup guide describes: every check passes.",
    make=_keyfile,
)

#: Every scenario by name, in ``--list-scenarios`` order.
SCENARIOS: Final[Mapping[str, Scenario]] = {
    s.name: s for s in (_CONFIGURED, *_TOKEN_SCENARIOS, *_SETTING_SCENARIOS, *_LOCAL_SCENARIOS)
}


def names() -> list[str]:
    """The scenario names, ``"configured"`` (every check passes) first."""
    return list(SCENARIOS)


def get(name: str) -> Scenario:
    """The scenario called ``name`` (:class:`~boxjwt.exceptions.ConfigurationError` if none)."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ConfigurationError(
            f"no preflight scenario {name!r}; choose from: {', '.join(SCENARIOS)}"
        ) from None


@contextlib.contextmanager
def emulate(name: str, directory: str | pathlib.Path | None = None) -> Iterator[ScenarioSetup]:
    """Scenario ``name`` on its own running emulator, the key file in ``directory`` (default: a
    temporary directory, removed afterwards); the emulator stops on exit."""
    from boxjwt.testing import BoxEmulator  # noqa: PLC0415 - boxjwt.testing imports this module

    scenario = get(name)
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="boxjwt-preflight-"))
        emu = stack.enter_context(BoxEmulator())
        yield scenario.build(emu, directory)
