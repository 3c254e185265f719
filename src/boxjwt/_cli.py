"""The ``boxjwt`` command line (also ``python -m boxjwt``).

Each subcommand is two functions: ``_add_<name>(subparsers)`` declares its arguments and sets
``handler=_cmd_<name>``, and ``_cmd_<name>(args) -> int`` runs it. To add a subcommand, write
both and append the ``_add_`` function to :data:`SUBCOMMANDS`.

Exit codes: 0 success; 1 a check failed; 2 a usage or key-file error (argparse's own usage
errors included). Output never contains a secret.
"""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from boxjwt._cli_check_users import add_check_users
from boxjwt._cli_preflight import add_preflight
from boxjwt.exceptions import ConfigurationError, KeyFileError

if TYPE_CHECKING:
    from boxjwt.testing import BoxEmulator

__all__ = ["SUBCOMMANDS", "console_main", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


# --------------------------------------------------------------------------- emulator


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port number (0-65535): {text!r}")
    return value


def _add_emulator(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="serve a local Box emulator until interrupted",
        description=(
            "Serve a local Box emulator (boxjwt.testing.BoxEmulator) on 127.0.0.1 with one fully "
            "configured JWT app, and write that app's key.json. Stop with Ctrl+C."
        ),
    )
    parser.add_argument(
        "--port", type=_port, default=0, help="TCP port to listen on (default: any free port)"
    )
    parser.add_argument(
        "--keyfile",
        type=pathlib.Path,
        metavar="PATH",
        help="where to write the app's key.json (default: a temporary directory, removed on exit)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing file at --keyfile"
    )
    parser.set_defaults(handler=_cmd_emulator)


def _wait_for_interrupt() -> None:
    """Block until Ctrl+C (KeyboardInterrupt) or SIGTERM."""
    threading.Event().wait()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt while serving (main thread only)."""

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_term)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)
    else:
        yield


def _print_emulator_banner(emu: BoxEmulator, path: pathlib.Path, temporary: bool) -> None:
    app = emu.app
    where = "a temporary directory, removed on exit" if temporary else "kept on exit"
    lines = [
        f"Box emulator listening on {emu.base_url}",
        f"  enterprise ID    {emu.enterprise_id}",
        f"  client ID        {app.client_id}",
        f"  public key ID    {app.kid}",
        f"  service account  {app.service_account.login}",
        f"Key file written to {path} ({where}; mode 0600)",
        "  Its private key is passphrase-protected; the passphrase is in the key file.",
        f"Point boxjwt at it with base_url={emu.base_url!r}. Press Ctrl+C to stop.",
    ]
    print("\n".join(lines), flush=True)


def _cmd_emulator(args: argparse.Namespace) -> int:
    from boxjwt.testing import BoxEmulator  # noqa: PLC0415 - only this subcommand needs it

    keyfile: pathlib.Path | None = args.keyfile
    if keyfile is not None:
        if keyfile.exists() and not args.overwrite:
            print(
                f"boxjwt emulator: {keyfile} exists; pass --overwrite to replace it",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if not keyfile.parent.is_dir():
            print(f"boxjwt emulator: no such directory: {keyfile.parent}", file=sys.stderr)
            return EXIT_USAGE
    try:
        emu = BoxEmulator(port=args.port).start()
    except OSError as exc:
        print(
            f"boxjwt emulator: cannot listen on port {args.port}: {exc.strerror}", file=sys.stderr
        )
        return EXIT_USAGE
    tempdir: pathlib.Path | None = None
    try:
        with _sigterm_as_interrupt():
            ekf = emu.make_keyfile()
            if keyfile is None:
                tempdir = pathlib.Path(tempfile.mkdtemp(prefix="boxjwt-emulator-"))
                keyfile = tempdir / f"{emu.enterprise_id}_{ekf.kid}_config.json"
            ekf.write(keyfile)
            _print_emulator_banner(emu, keyfile, tempdir is not None)
            _wait_for_interrupt()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
        if tempdir is not None:
            shutil.rmtree(tempdir, ignore_errors=True)
    print("Box emulator stopped.", flush=True)
    return EXIT_OK


# --------------------------------------------------------------------------- main

SUBCOMMANDS: list[Callable[[Any], None]] = [add_preflight, add_check_users, _add_emulator]
"""Functions that each add one subcommand to the ``boxjwt`` parser's subparsers."""


def _build_parser() -> argparse.ArgumentParser:
    from boxjwt import __version__  # noqa: PLC0415 - avoid a cycle through boxjwt/__init__

    parser = argparse.ArgumentParser(
        prog="boxjwt",
        description="Box.com JWT server authentication: tools for key files and a local Box.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``boxjwt`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage error (2) or --help/--version (0)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("boxjwt: error: a command is required", file=sys.stderr)
        return EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (ConfigurationError, KeyFileError) as exc:
        # Commands report these themselves; this is the last line of defence, so that a bad
        # option value is a usage error (exit 2), never a traceback (exit 1).
        print(f"boxjwt: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def console_main() -> None:
    """Entry point of the ``boxjwt`` console script."""
    sys.exit(main())
