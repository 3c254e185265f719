"""``boxjwt preflight``: check a key file's app against Box, or see what each mistake looks like.

::

    boxjwt preflight KEYFILE [--json] [--base-url URL] [--probe-user ID|LOGIN]
                             [--passphrase-env VAR] [--private-key PEM] [--strict]
    boxjwt preflight --emulator [--scenario NAME] [--json] [--strict]
    boxjwt preflight --list-scenarios

``--emulator`` runs the real preflight against the embedded :class:`~boxjwt.testing.BoxEmulator`
with a freshly generated key file; each scenario (:mod:`boxjwt.testing.scenarios`, imported only
for ``--emulator`` and ``--list-scenarios``) reproduces one misconfiguration an admin can make.

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
from typing import Any, Final, TextIO

from boxjwt._secret import Secret
from boxjwt.exceptions import ConfigurationError
from boxjwt.preflight import KEYFILE_CHECKS, PreflightReport, preflight, render_text

__all__ = ["add_preflight", "cmd_preflight"]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


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
    add_key_options(parser)
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
        metavar="NAME",
        help="with --emulator: the misconfiguration to reproduce (see --list-scenarios)",
    )
    parser.add_argument(
        "--list-scenarios", action="store_true", help="list the --emulator scenarios and exit"
    )
    parser.set_defaults(handler=cmd_preflight)


# --------------------------------------------------------------------------- running


def add_key_options(parser: argparse.ArgumentParser) -> None:
    """``--passphrase-env`` and ``--private-key``: how every subcommand that loads a key file
    is told where its secrets are."""
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


def env_passphrase(variable: str | None) -> Secret | None:
    """The passphrase in environment variable ``variable`` (``--passphrase-env``), if named."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ConfigurationError(f"environment variable {variable} is not set")
    return Secret(value)


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
    keyfile_failures = [c for c in report.failures if c.id in KEYFILE_CHECKS]
    if keyfile_failures:
        for check in keyfile_failures:
            print(f"boxjwt preflight: key file error: {check.message}", file=sys.stderr)
        return EXIT_USAGE
    if not report.ok or (strict and report.warnings):
        return EXIT_FAILED
    return EXIT_OK


def _list_scenarios() -> int:
    from boxjwt.testing import scenarios  # noqa: PLC0415 - only this option needs the emulator

    width = max(len(name) for name in scenarios.names())
    print("Scenarios for `boxjwt preflight --emulator --scenario NAME`:")
    for name in scenarios.names():
        print(f"  {name:<{width}}  {scenarios.get(name).description}")
    return EXIT_OK


def _run_emulator(args: argparse.Namespace) -> int:
    from boxjwt.testing import scenarios  # noqa: PLC0415 - only --emulator needs the emulator

    name = args.scenario or "configured"
    if name not in scenarios.names():
        return _usage_error(f"argument --scenario: invalid choice: {name!r} (see --list-scenarios)")
    with scenarios.emulate(name) as setup:
        overrides = {} if args.probe_user is None else {"probe_user": args.probe_user}
        report = setup.preflight(**overrides)
        intro = (
            f"Scenario {name!r}: {setup.scenario.description}\n"
            f"(the real checks, against a local Box emulator at {setup.emulator.base_url} and a "
            "generated key file)\n"
        )
        _print_report(report, args, intro)
    return _exit_code(report, args.strict)


def cmd_preflight(args: argparse.Namespace) -> int:  # noqa: PLR0911 - one early exit per usage error
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
    try:
        passphrase = env_passphrase(args.passphrase_env)
    except ConfigurationError as exc:
        return _usage_error(str(exc))
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
