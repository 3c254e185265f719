"""``boxjwt preflight``: check a key file's app against Box, or see what each mistake looks like.

::

    boxjwt preflight KEYFILE [--json] [--base-url URL] [--probe-user ID|LOGIN]
                             [--passphrase-env VAR] [--private-key PEM] [--strict]
    boxjwt preflight --emulator [--scenario NAME] [--json] [--strict]
    boxjwt preflight --list-scenarios

``--emulator`` runs the real preflight against the embedded :class:`~boxjwt.testing.BoxEmulator`
with a freshly generated key file; each scenario (:data:`SCENARIOS`) reproduces one
misconfiguration an admin can make.

Exit codes: 0 no check failed (warnings allowed, unless ``--strict``); 1 a check failed;
2 a usage or key-file error (the message goes to stderr, never a secret).
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TextIO

import attrs

from boxjwt._preflight import (
    CheckId,
    CheckStatus,
    PreflightReport,
    preflight,
    render_text,
)
from boxjwt._secret import Secret
from boxjwt.exceptions import ConfigurationError

if TYPE_CHECKING:
    from boxjwt.testing import BoxEmulator

__all__ = ["SCENARIOS", "Scenario", "add_preflight", "cmd_preflight"]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2

#: A failure of one of these is a key-file error (exit 2), not a failed setup check.
KEYFILE_ERRORS: Final = frozenset(
    {CheckId.KEYFILE_PARSE, CheckId.KEYFILE_DECRYPT, CheckId.KEYFILE_ENTERPRISE_ID}
)


# --------------------------------------------------------------------------- scenarios


@attrs.frozen(kw_only=True)
class Scenario:
    """One emulated setup: ``setup(emulator, directory)`` writes its key file and returns the
    path. ``expected`` maps each check that does not pass to its status (the rest pass)."""

    name: str
    description: str
    setup: Callable[[BoxEmulator, pathlib.Path], pathlib.Path]
    expected: dict[CheckId, CheckStatus] = attrs.field(factory=dict)

    @property
    def exit_code(self) -> int:
        """What ``boxjwt preflight --emulator --scenario NAME`` exits with."""
        failed = {c for c, s in self.expected.items() if s is CheckStatus.FAIL}
        if failed & KEYFILE_ERRORS:
            return EXIT_USAGE
        return EXIT_FAILED if failed else EXIT_OK


def _keyfile(emu: BoxEmulator, directory: pathlib.Path, **kwargs: Any) -> pathlib.Path:
    ekf = emu.make_keyfile(directory / "key.json", **kwargs)
    assert ekf.path is not None  # noqa: S101 - written above
    return ekf.path


def _then(
    action: Callable[[BoxEmulator, Any], object], **kwargs: Any
) -> Callable[[BoxEmulator, pathlib.Path], pathlib.Path]:
    """A setup that writes a fully configured key file, then applies ``action(emu, ekf)``."""

    def setup(emu: BoxEmulator, directory: pathlib.Path) -> pathlib.Path:
        ekf = emu.make_keyfile(directory / "key.json", **kwargs)
        action(emu, ekf)
        assert ekf.path is not None  # noqa: S101
        return ekf.path

    return setup


def _settings(**settings: Any) -> Callable[[BoxEmulator, pathlib.Path], pathlib.Path]:
    """Console settings changed and the app re-authorized (so they are in effect)."""

    def action(emu: BoxEmulator, ekf: Any) -> None:
        ekf.app.configure(**settings)
        ekf.app.reauthorize()

    return _then(action)


def _without_scope(scope: str) -> Callable[[BoxEmulator, pathlib.Path], pathlib.Path]:
    def action(emu: BoxEmulator, ekf: Any) -> None:
        ekf.app.configure(scopes=ekf.app.settings.scopes - {scope})
        ekf.app.reauthorize()

    return _then(action)


def _pending(emu: BoxEmulator, ekf: Any) -> None:
    # As-User was off; the admin turned it on in the Developer Console but never re-authorized.
    ekf.app.configure(as_user=False)
    ekf.app.reauthorize()
    ekf.app.configure(as_user=True)


def _key_removed(emu: BoxEmulator, ekf: Any) -> None:
    ekf.app.add_public_key()  # the app keeps another key...
    ekf.app.remove_public_key(ekf.kid)  # ...but not the key file's


def _no_public_key(emu: BoxEmulator, ekf: Any) -> None:
    ekf.app.remove_public_key(ekf.kid)


def _wrong_key(emu: BoxEmulator, directory: pathlib.Path) -> pathlib.Path:
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


def _clock(offset: float) -> Callable[[BoxEmulator, Any], None]:
    def action(emu: BoxEmulator, ekf: Any) -> None:
        emu.clock_offset = offset

    return action


def _loose_permissions(emu: BoxEmulator, ekf: Any) -> None:
    ekf.path.chmod(0o644)


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


def _scenarios() -> dict[str, Scenario]:
    items = [
        Scenario(
            name="configured",
            description="A fully configured app, as the setup guide describes: every check passes.",
            setup=_keyfile,
        ),
        Scenario(
            name="not-authorized",
            description="The app was never authorized (or was disabled) in the Admin Console.",
            setup=_then(lambda emu, ekf: ekf.app.disable()),
            expected=_TOKEN_FAILS,
        ),
        Scenario(
            name="wrong-secret",
            description="The client secret was reset after the key file was downloaded.",
            setup=_then(lambda emu, ekf: ekf.app.reset_client_secret()),
            expected=_TOKEN_FAILS,
        ),
        Scenario(
            name="key-removed",
            description="The key file's key pair was deleted from the app (another key remains).",
            setup=_then(_key_removed),
            expected=_TOKEN_FAILS,
        ),
        Scenario(
            name="no-public-key",
            description="The app's only public key was deleted.",
            setup=_then(_no_public_key),
            expected=_TOKEN_FAILS,
        ),
        Scenario(
            name="wrong-key",
            description="The key file's private key does not match its publicKeyID.",
            setup=_wrong_key,
            expected=_TOKEN_FAILS,
        ),
        Scenario(
            name="wrong-enterprise",
            description="enterpriseID in the key file names another enterprise.",
            setup=lambda emu, d: _keyfile(emu, d, config_overrides={"enterpriseID": "12345"}),
            expected=_TOKEN_FAILS,
        ),
        Scenario(
            name="not-jwt-app",
            description="The credentials belong to an OAuth 2.0 (user authentication) app.",
            setup=lambda emu, d: _keyfile(emu, d, auth="oauth"),
            expected=_TOKEN_FAILS,
        ),
        Scenario(
            name="ccg-config",
            description="A Client Credentials Grant app's config (no appAuth): not a JWT app.",
            setup=lambda emu, d: _keyfile(emu, d, auth="ccg"),
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
            setup=lambda emu, d: _keyfile(
                emu,
                d,
                config_overrides={"boxAppSettings": {"appAuth": {"passphrase": "not-it"}}},
            ),
            expected={
                CheckId.KEYFILE_DECRYPT: _F,
                CheckId.KEYFILE_PASSPHRASE: _S,
                **_NO_BOX,
            },
        ),
        Scenario(
            name="app-access-only",
            description='App Access Level left at "App Access Only".',
            setup=_settings(access_level="app_only"),
            expected={CheckId.ACCESS_ENTERPRISE: _F, **_NO_PROBES},
        ),
        Scenario(
            name="as-user-off",
            description='"Make API calls using the as-user header" is off.',
            setup=_settings(as_user=False),
            expected={CheckId.FEATURE_AS_USER: _F},
        ),
        Scenario(
            name="user-tokens-off",
            description='"Generate user access tokens" is off.',
            setup=_settings(user_tokens=False),
            expected={CheckId.FEATURE_USER_TOKENS: _F},
        ),
        Scenario(
            name="no-manage-users",
            description='Scope "Manage users" is off.',
            setup=_without_scope("manage_users"),
            expected={
                CheckId.SCOPE_MANAGE_USERS: _F,
                CheckId.ACCESS_ENTERPRISE: _S,
                **_NO_PROBES,
            },
        ),
        Scenario(
            name="no-read",
            description='Scope "Read all files and folders stored in Box" is off.',
            setup=_without_scope("read"),
            expected={CheckId.SCOPE_READ: _F},
        ),
        Scenario(
            name="no-write",
            description='Scope "Write all files and folders stored in Box" is off.',
            setup=_without_scope("write"),
            expected={CheckId.SCOPE_WRITE: _F},
        ),
        Scenario(
            name="no-manage-groups",
            description='Optional scope "Manage groups" is off (a warning).',
            setup=_without_scope("manage_groups"),
            expected={CheckId.SCOPE_MANAGE_GROUPS: _W},
        ),
        Scenario(
            name="no-enterprise-properties",
            description='Optional scope "Manage enterprise properties" is off (a warning).',
            setup=_without_scope("manage_enterprise_properties"),
            expected={CheckId.SCOPE_ENTERPRISE_PROPERTIES: _W},
        ),
        Scenario(
            name="pending-reauthorization",
            description="As-User was enabled in the Developer Console, but the app was not "
            "re-authorized since, so Box still applies the old settings.",
            setup=_then(_pending),
            expected={CheckId.FEATURE_AS_USER: _F},
        ),
        Scenario(
            name="clock-behind",
            description="This machine's clock is 5 minutes behind Box's.",
            setup=_then(_clock(300.0)),
            expected={CheckId.CLOCK_SKEW: _F},
        ),
        Scenario(
            name="clock-ahead",
            description="This machine's clock is 5 minutes ahead of Box's.",
            setup=_then(_clock(-300.0)),
            expected={CheckId.CLOCK_SKEW: _F},
        ),
        Scenario(
            name="unencrypted-key",
            description="The private key is stored without a passphrase (a warning).",
            setup=lambda emu, d: _keyfile(emu, d, unencrypted=True),
            expected={CheckId.KEYFILE_PASSPHRASE: _W},
        ),
        Scenario(
            name="loose-permissions",
            description="The key file is readable by other users (a warning).",
            setup=_then(_loose_permissions),
            expected={CheckId.KEYFILE_PERMISSIONS: _W},
        ),
    ]
    return {s.name: s for s in items}


#: The ``--scenario`` names, in ``--list-scenarios`` order.
SCENARIOS: Final[dict[str, Scenario]] = _scenarios()


# --------------------------------------------------------------------------- argparse


def add_preflight(subparsers: Any) -> None:
    """Add the ``preflight`` subcommand to ``boxjwt``'s subparsers."""
    parser = subparsers.add_parser(
        "preflight",
        help="check a Box JWT app's setup, setting by setting",
        description=(
            "Check the Box app behind KEYFILE setting by setting (authorization, key pair, "
            "scopes, access level, As-User, user tokens, clock) and say what to fix. Read-only "
            "on Box. With --emulator, run the same checks against a local Box emulator to see "
            "what a passing setup, or each misconfiguration (--scenario), looks like."
        ),
        epilog=(
            "Exit status: 0 no check failed (warnings allowed), 1 a check failed, 2 a usage or "
            "key-file error. Colour only on a terminal, never when NO_COLOR is set."
        ),
    )
    parser.add_argument(
        "keyfile", nargs="?", type=pathlib.Path, metavar="KEYFILE", help="the app's key.json"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--base-url", default="https://api.box.com", metavar="URL", help="Box's root URL"
    )
    parser.add_argument(
        "--probe-user",
        metavar="ID|LOGIN",
        help="the managed user to test As-User and user tokens with (default: the first "
        "active managed non-admin user)",
    )
    parser.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="read the private key's passphrase from environment variable VAR",
    )
    parser.add_argument(
        "--private-key",
        type=pathlib.Path,
        metavar="PEM",
        help="the private key's PEM file, for a key pair added by hand",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 on warnings too (e.g. optional scopes)"
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="check a generated app on a local Box emulator instead of KEYFILE",
    )
    parser.add_argument(
        "--scenario",
        choices=list(SCENARIOS),
        metavar="NAME",
        help="with --emulator: the misconfiguration to reproduce (see --list-scenarios)",
    )
    parser.add_argument(
        "--list-scenarios", action="store_true", help="list the --emulator scenarios and exit"
    )
    parser.set_defaults(handler=cmd_preflight)


# --------------------------------------------------------------------------- running


def _usage_error(message: str) -> int:
    print(f"boxjwt preflight: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") is not None:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def _print_report(report: PreflightReport, args: argparse.Namespace, intro: str | None) -> None:
    if args.json:
        print(report.to_json())
        return
    if intro:
        print(intro)
    width = min(max(shutil.get_terminal_size((100, 24)).columns, 80), 120)
    print(render_text(report, color=_use_color(sys.stdout), width=width))


def _exit_code(report: PreflightReport, strict: bool) -> int:
    keyfile_failures = [c for c in report.failures if c.id in KEYFILE_ERRORS]
    if keyfile_failures:
        for check in keyfile_failures:
            print(f"boxjwt preflight: key file error: {check.message}", file=sys.stderr)
        return EXIT_USAGE
    if not report.ok or (strict and report.warnings):
        return EXIT_FAILED
    return EXIT_OK


def _list_scenarios() -> int:
    width = max(len(name) for name in SCENARIOS)
    print("Scenarios for `boxjwt preflight --emulator --scenario NAME`:")
    for scenario in SCENARIOS.values():
        print(f"  {scenario.name:<{width}}  {scenario.description}")
    return EXIT_OK


def _run_emulator(args: argparse.Namespace) -> int:
    from boxjwt.testing import BoxEmulator  # noqa: PLC0415 - only --emulator needs it

    scenario = SCENARIOS[args.scenario or "configured"]
    with BoxEmulator() as emu, tempfile.TemporaryDirectory(prefix="boxjwt-preflight-") as tmp:
        path = scenario.setup(emu, pathlib.Path(tmp))
        report = preflight(path, base_url=emu.base_url)
        intro = (
            f"Scenario {scenario.name!r}: {scenario.description}\n"
            f"(the real checks, against a local Box emulator at {emu.base_url} and a generated "
            "key file)\n"
        )
        _print_report(report, args, intro)
    return _exit_code(report, args.strict)


def cmd_preflight(args: argparse.Namespace) -> int:
    """Run ``boxjwt preflight`` with parsed ``args``; return the exit code."""
    boxjwt_logger = logging.getLogger("boxjwt")
    if not boxjwt_logger.handlers:
        # The report says everything; keep the library's log records off stderr.
        boxjwt_logger.addHandler(logging.NullHandler())
    if args.list_scenarios:
        return _list_scenarios()
    if args.emulator:
        if args.keyfile is not None:
            return _usage_error("give KEYFILE or --emulator, not both")
        return _run_emulator(args)
    if args.scenario is not None:
        return _usage_error("--scenario needs --emulator")
    if args.keyfile is None:
        return _usage_error("the KEYFILE argument is required (or use --emulator)")
    passphrase: Secret | None = None
    if args.passphrase_env is not None:
        value = os.environ.get(args.passphrase_env)
        if not value:
            return _usage_error(f"environment variable {args.passphrase_env} is not set")
        passphrase = Secret(value)
    try:
        report = preflight(
            args.keyfile,
            base_url=args.base_url,
            probe_user=args.probe_user,
            passphrase=passphrase,
            private_key_path=args.private_key,
        )
    except ConfigurationError as exc:
        return _usage_error(str(exc))
    _print_report(report, args, None)
    return _exit_code(report, args.strict)
