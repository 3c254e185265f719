"""``boxjwt check-users``: can the app act as each user of the plan? Read-only, before it runs.

::

    boxjwt check-users KEYFILE (--users FILE | --all) [--json | --csv] [--user-tokens]
                       [--base-url URL] [--passphrase-env VAR] [--private-key PEM]
                       [--concurrency N]
    boxjwt check-users --emulator [--all] [--json | --csv] [--user-tokens]

``--emulator`` runs the real check against the embedded :class:`~boxjwt.testing.BoxEmulator`
with one user of each kind (:mod:`boxjwt.testing.user_cases`).

Exit codes: 0 every user ready; 1 some user not ready (or Box refused the app itself); 2 a
usage, user-list or key-file error; 130 interrupted (Ctrl-C: the partial report is printed).
Progress goes to stderr: a bar on a terminal, else a line every few seconds (none with
``--json``/``--csv``). Output never contains a secret.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import logging
import pathlib
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Final, TextIO

from boxjwt._authenticator import JWTAuthenticator
from boxjwt._cli_preflight import add_key_options, env_passphrase
from boxjwt._keyfile import KeyFile
from boxjwt.checkusers import ALL_USERS, UserCheckReport, check_users, render_text
from boxjwt.checkusers._model import AllUsersMarker
from boxjwt.checkusers._userlist import read_user_list
from boxjwt.exceptions import BoxJWTError, ConfigurationError, KeyFileError

__all__ = ["ProgressPrinter", "add_check_users", "cmd_check_users"]

EXIT_OK: Final = 0
EXIT_NOT_READY: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130
_PROG: Final = "boxjwt check-users"


def add_check_users(subparsers: Any) -> None:
    """Add the ``check-users`` subcommand to ``boxjwt``'s subparsers."""
    parser = subparsers.add_parser(
        "check-users",
        help="check that the app can act as each user of a migration plan",
        description=(
            "Check, read-only, whether the Box app behind KEYFILE can act as each user of a "
            "plan (As-User, and with --user-tokens the user's own token): inactive users, "
            "admins and co-admins, logins not in the enterprise, external collaborators. Each "
            "user who is not ready is listed with the reason and the fix."
        ),
        epilog=(
            "FILE: one user ID or login per line, or a CSV with a 'login' or 'id' column; '-' "
            "reads standard input. Exit status: 0 every user ready, 1 some user not ready, 2 a "
            "usage, user-list or key-file error, 130 interrupted (the partial report is printed)."
        ),
    )
    parser.add_argument(
        "keyfile", nargs="?", type=pathlib.Path, metavar="KEYFILE", help="the app's key.json"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--users", metavar="FILE", help="the plan's users ('-': standard input)")
    which.add_argument(
        "--all", action="store_true", help="every managed user and app user of the enterprise"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the report as JSON")
    output.add_argument("--csv", action="store_true", help="print one CSV row per user")
    parser.add_argument(
        "--user-tokens", action="store_true", help="also check that Box issues each user a token"
    )
    parser.add_argument(
        "--base-url", default="https://api.box.com", metavar="URL", help="Box's root URL"
    )
    add_key_options(parser)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="users checked at a time (default 8)",
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="check one user of each kind on a local Box emulator instead of KEYFILE",
    )
    parser.set_defaults(handler=cmd_check_users)


# --------------------------------------------------------------------------- progress


class ProgressPrinter:
    """``progress(done, total)`` for check_users: a bar redrawn in place on a terminal
    (``tty``), else (``plain``) a line every ``interval`` seconds; nothing for short runs."""

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool,
        plain: bool,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 5.0,
        delay: float = 1.0,
    ) -> None:
        self._stream = stream
        self._tty = tty
        self._plain = plain
        self._clock = clock
        self._interval = interval
        self._next = clock() + (delay if tty else interval)
        self._drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        now = self._clock()
        if now < self._next or not (self._tty or self._plain):
            return
        if self._tty:
            self._next = now + 0.1
            self._stream.write("\r" + _bar(done, total) + "\x1b[K")
            self._drawn = True
        else:
            self._next = now + self._interval
            of = f" of {total}" if total is not None else ""
            self._stream.write(f"{_PROG}: {done}{of} user(s) checked\n")
        self._stream.flush()

    def finish(self) -> None:
        """Clear the bar."""
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _bar(done: int, total: int | None, width: int = 30) -> str:
    if total is None or total <= 0:
        return f"checking users: {done} checked (reading the enterprise's list)"
    filled = min(width, width * done // total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} users checked"


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


@contextlib.contextmanager
def _ctrl_c_stops(stop: threading.Event) -> Iterator[None]:
    """The first Ctrl-C sets ``stop`` (the run ends after the users being checked and the
    partial report is printed); a second one interrupts at once. A process told to ignore
    Ctrl-C (``nohup``, a shell's background job) keeps ignoring it, as Python itself does."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        yield
        return

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print(
            f"\n{_PROG}: stopping after the users being checked (Ctrl-C again to abort)",
            file=sys.stderr,
            flush=True,
        )

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --------------------------------------------------------------------------- running


def _usage_error(message: str) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _print_report(report: UserCheckReport, args: argparse.Namespace, intro: str | None) -> None:
    if args.json:
        print(report.to_json())
    elif args.csv:
        csv.writer(sys.stdout, lineterminator="\n").writerows(report.csv_rows())
    else:
        if intro:
            print(intro)
        width = min(max(shutil.get_terminal_size((100, 24)).columns, 80), 120)
        print(render_text(report, width=width))
    sys.stdout.flush()


def _check(
    auth: JWTAuthenticator,
    users: list[str] | AllUsersMarker,
    args: argparse.Namespace,
    intro: str | None = None,
) -> int:
    machine = args.json or args.csv
    progress = ProgressPrinter(sys.stderr, tty=_isatty(sys.stderr), plain=not machine)
    stop = threading.Event()
    try:
        with _ctrl_c_stops(stop):
            report = check_users(
                auth,
                users,
                user_tokens=args.user_tokens,
                concurrency=args.concurrency,
                progress=progress,
                stop=stop,
            )
    except ConfigurationError as exc:  # pragma: no cover - the arguments were checked above
        return _usage_error(str(exc))
    except BoxJWTError as exc:
        fix = f"\n  Fix: {exc.remedy}" if exc.remedy else ""
        print(
            f"{_PROG}: Box refused the app itself, so no user could be checked: {exc}{fix}\n"
            "  `boxjwt preflight KEYFILE` checks the app's setup setting by setting.",
            file=sys.stderr,
        )
        return EXIT_NOT_READY
    finally:
        progress.finish()
    _print_report(report, args, intro)
    if not report.complete:
        return EXIT_INTERRUPTED
    return EXIT_OK if report.ok else EXIT_NOT_READY


def _run_emulator(args: argparse.Namespace) -> int:
    from boxjwt.testing import BoxEmulator, user_cases  # noqa: PLC0415 - only --emulator

    with BoxEmulator() as emu:
        ekf = emu.make_keyfile()
        cases = user_cases.add(emu)
        users: list[str] | AllUsersMarker = (
            ALL_USERS if args.all else [case.asked for case in cases]
        )
        plan = (
            "every user of the enterprise"
            if args.all
            else ("a plan naming " + ", ".join(case.name for case in cases))
        )
        intro = (
            f"Demo: the real check against a local Box emulator at {emu.base_url}, for {plan}.\n"
        )
        with JWTAuthenticator(ekf.load(), base_url=emu.base_url) as auth:
            return _check(auth, users, args, intro)


def _load(args: argparse.Namespace) -> JWTAuthenticator | int:
    try:
        keyfile = KeyFile.from_file(
            args.keyfile,
            passphrase=env_passphrase(args.passphrase_env),
            private_key_path=args.private_key,
        )
        return JWTAuthenticator(keyfile, base_url=args.base_url)
    except KeyFileError as exc:
        return _usage_error(f"key file error: {exc}")
    except ConfigurationError as exc:
        return _usage_error(str(exc))


def cmd_check_users(args: argparse.Namespace) -> int:  # noqa: PLR0911 - one exit per usage error
    """Run ``boxjwt check-users`` with parsed ``args``; return the exit code."""
    boxjwt_logger = logging.getLogger("boxjwt")
    if not boxjwt_logger.handlers:
        boxjwt_logger.addHandler(logging.NullHandler())  # the report says everything
    if not 1 <= args.concurrency <= 64:
        return _usage_error("--concurrency must be from 1 to 64")
    if args.emulator:
        if args.keyfile is not None or args.users is not None:
            return _usage_error("--emulator checks its own users: give no KEYFILE or --users")
        return _run_emulator(args)
    if args.keyfile is None:
        return _usage_error("the KEYFILE argument is required (or use --emulator)")
    if args.users is None and not args.all:
        return _usage_error("name the users: --users FILE ('-' for standard input) or --all")
    users: list[str] | AllUsersMarker = ALL_USERS
    if args.users is not None:
        try:
            users = read_user_list(args.users, stdin=sys.stdin.buffer)
        except ConfigurationError as exc:
            return _usage_error(str(exc))
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    with loaded as auth:
        return _check(auth, users, args)
