"""``boxjwt check-users``: the user list, the outputs, exit codes, progress and Ctrl-C."""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import signal
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from boxjwt._cli import main
from boxjwt._cli_check_users import ProgressPrinter
from boxjwt.checkusers import CSV_COLUMNS, Reason, report_schema
from boxjwt.checkusers._userlist import MAX_USER_LIST_BYTES, read_user_list
from boxjwt.exceptions import ConfigurationError
from boxjwt.testing import BoxEmulator, user_cases
from secret_scan import assert_no_secret_in_text, emulator_secrets

pytestmark = pytest.mark.filterwarnings("ignore::boxjwt.exceptions.KeyFilePermissionWarning")


@pytest.fixture
def real_emu() -> Iterator[BoxEmulator]:
    """An emulator on the real clock (the CLI's authenticator uses the real clock)."""
    with BoxEmulator() as emulator:
        yield emulator


@pytest.fixture
def key_path(real_emu: BoxEmulator, tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "key.json"
    real_emu.make_keyfile(path)
    return path


def run(
    capsys: pytest.CaptureFixture[str], *argv: str, stdin: bytes | None = None
) -> tuple[int, str, str]:
    if stdin is not None:
        old = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
        try:
            status = main(["check-users", *argv])
        finally:
            sys.stdin = old
    else:
        status = main(["check-users", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def base(real_emu: BoxEmulator, key_path: pathlib.Path) -> list[str]:
    return [str(key_path), "--base-url", real_emu.base_url]


# --------------------------------------------------------------------------- the demo


def test_emulator_demo_shows_every_case(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "--emulator")
    assert status == 1
    for reason in ("not_found", "inactive", "admin", "coadmin", "external"):
        assert f"\n{reason}: 1 user(s)" in out
    assert "1 duplicate(s) in the input" in out
    assert "former.employee@" in out
    assert "NOT READY: 3 of 8 user(s) ready" in out
    assert err == ""


def test_emulator_demo_json_matches_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    status, out, _ = run(capsys, "--emulator", "--json", "--user-tokens")
    assert status == 1
    document = json.loads(out)
    jsonschema.validate(document, report_schema())
    assert document["target"]["user_tokens"] is True
    assert document["summary"]["duplicates"] == 1


def test_emulator_demo_all_users_as_csv(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--emulator", "--all", "--csv")
    assert status == 1
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    reasons = {row[CSV_COLUMNS.index("as_user_reason")] for row in rows[1:]}
    assert {"ok", "admin", "coadmin", "inactive"} <= reasons


# --------------------------------------------------------------------------- a key file


def test_users_file_all_ready_exits_0(
    capsys: pytest.CaptureFixture[str],
    real_emu: BoxEmulator,
    key_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    users = tmp_path / "users.txt"
    ready = [u for u in real_emu.managed_users if u.is_active]
    users.write_text("# the plan\n\n" + "\n".join(u.login for u in ready) + "\n")
    status, out, err = run(capsys, *base(real_emu, key_path), "--users", str(users))
    assert status == 0, out + err
    assert f"OK: {len(ready)} of {len(ready)} user(s) ready" in out


@pytest.mark.parametrize("column", ["id", "login", "both"])
def test_users_csv_with_a_known_column(
    capsys: pytest.CaptureFixture[str],
    real_emu: BoxEmulator,
    key_path: pathlib.Path,
    tmp_path: pathlib.Path,
    column: str,
) -> None:
    one, two = real_emu.managed_users[:2]
    header = {"id": "name;id", "login": "Login,dept", "both": "id\tlogin"}[column]
    rows = {
        "id": [f"One;{one.id}", f"Two;{two.id}"],
        "login": [f"{one.login},sales", f"{two.login},ops"],
        "both": [f"{one.id}\t{one.login}", f"\t{two.login}"],
    }[column]
    users = tmp_path / "users.csv"
    users.write_text("\n".join([header, *rows, ""]))
    status, out, _ = run(capsys, *base(real_emu, key_path), "--users", str(users), "--json")
    assert status == 0
    assert [u["id"] for u in json.loads(out)["users"]] == [one.id, two.id]


def test_users_from_stdin_with_some_not_ready_exits_1(
    capsys: pytest.CaptureFixture[str], real_emu: BoxEmulator, key_path: pathlib.Path
) -> None:
    text = f"{real_emu.admin.id}\n{real_emu.managed_users[0].login}\n".encode()
    status, out, _ = run(capsys, *base(real_emu, key_path), "--users", "-", stdin=text)
    assert status == 1
    assert "admin: 1 user(s)" in out


def test_all_with_user_tokens_and_no_secret_anywhere(
    capsys: pytest.CaptureFixture[str],
    real_emu: BoxEmulator,
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "key.json"
    ekf = real_emu.make_keyfile(path)
    user_cases.add(real_emu)
    outputs = []
    for fmt in ([], ["--json"], ["--csv"]):
        argv = [str(path), "--base-url", real_emu.base_url, "--all", "--user-tokens", *fmt]
        status, out, err = run(capsys, *argv)
        assert status == 1
        outputs += [out, err]
    assert_no_secret_in_text(outputs, emulator_secrets(real_emu, ekf))
    assert [r for r in real_emu.request_log if r.method not in ("GET", "POST")] == []
    assert {r.path for r in real_emu.request_log if r.method == "POST"} == {"/oauth2/token"}


def test_box_refusing_the_app_exits_1_with_the_fix(
    capsys: pytest.CaptureFixture[str], real_emu: BoxEmulator, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "key.json"
    ekf = real_emu.make_keyfile(path)
    ekf.app.disable()
    status, out, err = run(capsys, str(path), "--base-url", real_emu.base_url, "--all")
    assert status == 1
    assert out == ""
    assert "Box refused the app itself" in err
    assert "Fix: A Box admin must authorize the app" in err
    assert "boxjwt preflight KEYFILE" in err
    assert_no_secret_in_text(err, emulator_secrets(real_emu, ekf))


def test_passphrase_from_the_environment(
    capsys: pytest.CaptureFixture[str],
    real_emu: BoxEmulator,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "key.json"
    ekf = real_emu.make_keyfile(path)
    assert ekf.passphrase is not None
    monkeypatch.setenv("MY_PASSPHRASE", ekf.passphrase)
    argv = [
        str(path),
        "--base-url",
        real_emu.base_url,
        "--all",
        "--passphrase-env",
        "MY_PASSPHRASE",
    ]
    status, _, _ = run(capsys, *argv)
    assert status == 1  # the admin and co-admins
    monkeypatch.delenv("MY_PASSPHRASE")
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert "MY_PASSPHRASE is not set" in err


# --------------------------------------------------------------------------- bad input


def write(tmp_path: pathlib.Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("empty.txt", b"", "is empty"),
        ("blank.txt", b"\n  \n# only a comment\n", "is empty"),
        ("binary.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is binary"),
        ("latin1.txt", "jos\xe9@example.com\n".encode("latin-1"), "not UTF-8"),
        ("columns.csv", b"name,email\nJane,jane@example.com\n", "no 'login' or 'id' column"),
        ("bad-line.txt", b"jane@example.com\njane doe\n", "line 2: 'jane doe'"),
        ("empty-rows.csv", b"id,login\n,\n", "names no user"),
        (
            "many-bad.txt",
            b"\n".join([b"x"] * 7),
            "line 1: 'x'; line 2: 'x'; line 3: 'x'; line 4: 'x'; line 5: 'x' (and 2 more)",
        ),
    ],
)
def test_bad_user_lists_exit_2_with_a_clear_error(  # noqa: PLR0917 - fixtures and parameters
    capsys: pytest.CaptureFixture[str],
    real_emu: BoxEmulator,
    key_path: pathlib.Path,
    tmp_path: pathlib.Path,
    name: str,
    data: bytes,
    words: str,
) -> None:
    path = write(tmp_path, name, data)
    real_emu.reset_log()
    status, out, err = run(capsys, *base(real_emu, key_path), "--users", path)
    assert status == 2
    assert out == ""
    assert words in err
    assert err.startswith("boxjwt check-users: error: ")
    assert "Traceback" not in err
    assert real_emu.request_log == []


def test_a_1_gb_file_is_refused_without_reading_it(
    capsys: pytest.CaptureFixture[str],
    real_emu: BoxEmulator,
    key_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(1024**3)  # sparse: nothing is written (or read)
    status, _, err = run(capsys, *base(real_emu, key_path), "--users", str(huge))
    assert status == 2
    assert f"larger than {MAX_USER_LIST_BYTES} bytes" in err


def test_standard_input_is_read_within_the_limit() -> None:
    assert read_user_list("-", stdin=io.BytesIO(b"1\n2\n"), limit=10) == ["1", "2"]
    with pytest.raises(ConfigurationError, match="standard input is larger than 10 bytes"):
        read_user_list("-", stdin=io.BytesIO(b"12345\n" * 3), limit=10)
    with pytest.raises(ConfigurationError, match="not available"):
        read_user_list("-")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_or_directory_is_refused_without_blocking(tmp_path: pathlib.Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigurationError, match="named pipe"):
        read_user_list(fifo)
    with pytest.raises(ConfigurationError, match="a directory"):
        read_user_list(tmp_path)
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_user_list(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--users", "u.txt"], "the KEYFILE argument is required"),
        (["KEY"], "name the users"),
        (["--emulator", "KEY"], "give no KEYFILE or --users"),
        (["KEY", "--all", "--concurrency", "0"], "--concurrency must be from 1 to 64"),
        (["missing-key.json", "--all"], "key file error"),
        (["KEY", "--all", "--base-url", "ftp://box"], "base_url"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str],
    key_path: pathlib.Path,
    argv: list[str],
    words: str,
) -> None:
    argv = [str(key_path) if a == "KEY" else a for a in argv]
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert words in err
    assert "Traceback" not in err


def test_argparse_refuses_both_users_and_all(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "key.json", "--users", "u.txt", "--all")
    assert status == 2
    assert "not allowed with argument" in err


# --------------------------------------------------------------------------- progress, Ctrl-C


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_when_not_a_terminal() -> None:
    out, ticks = io.StringIO(), Ticks()
    printer = ProgressPrinter(out, tty=False, plain=True, clock=ticks, interval=5.0)
    printer(1, 10)
    ticks.now = 5.0
    printer(2, 10)
    printer(3, 10)
    ticks.now = 10.0
    printer(4, None)
    printer.finish()
    assert out.getvalue() == (
        "boxjwt check-users: 2 of 10 user(s) checked\nboxjwt check-users: 4 user(s) checked\n"
    )


def test_progress_bar_on_a_terminal_and_none_for_machine_output() -> None:
    out, ticks = io.StringIO(), Ticks()
    bar = ProgressPrinter(out, tty=True, plain=False, clock=ticks)
    bar(1, 4)
    ticks.now = 2.0
    bar(2, 4)
    bar(3, 4)  # within 0.1 s: not redrawn
    ticks.now = 3.0
    bar(3, None)
    bar.finish()
    text = out.getvalue()
    assert "[###############...............] 2/4 users checked" in text
    assert "3/4" not in text
    assert "reading the enterprise's list" in text
    assert text.endswith("\r\x1b[K")
    silent, ticks = io.StringIO(), Ticks()
    quiet = ProgressPrinter(silent, tty=False, plain=False, clock=ticks)
    ticks.now = 100.0
    quiet(1, 2)
    quiet.finish()
    assert silent.getvalue() == ""


@pytest.fixture
def sigint_handler(request: pytest.FixtureRequest) -> Iterator[None]:
    """The SIGINT disposition the process starts with (a terminal's Python: the default
    handler; ``nohup`` or a shell's background job: ignored), put back afterwards."""
    previous = signal.signal(signal.SIGINT, request.param)
    yield
    signal.signal(signal.SIGINT, previous)


def check_and_interrupt(
    capsys: pytest.CaptureFixture[str],
    emu: BoxEmulator,
    key_path: pathlib.Path,
    tmp_path: pathlib.Path,
    users: int,
) -> tuple[int, str, str]:
    """Runs check-users on ``users`` new users (5 ms per call, 2 at a time) and sends this
    process SIGINT once 5 users were checked; returns the CLI's status, stdout and stderr."""
    assert threading.current_thread() is threading.main_thread()
    plan = tmp_path / "plan.txt"
    plan.write_text("\n".join(u.id for u in emu.add_users(users)))
    emu.latency = 0.005

    def interrupt() -> None:
        deadline = time.monotonic() + 30
        while emu.count("GET", "/2.0/users/me") < 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)

    killer = threading.Thread(target=interrupt)
    killer.start()
    try:
        return run(
            capsys, *base(emu, key_path), "--users", str(plan), "--json", "--concurrency", "2"
        )
    finally:
        killer.join()


@pytest.mark.parametrize(
    "sigint_handler", [signal.default_int_handler], indirect=True, ids=["default"]
)
@pytest.mark.usefixtures("sigint_handler")
def test_ctrl_c_prints_the_partial_report(
    capsys: pytest.CaptureFixture[str],
    real_emu: BoxEmulator,
    key_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    status, out, err = check_and_interrupt(capsys, real_emu, key_path, tmp_path, users=300)
    assert status == 130
    assert "stopping after the users being checked" in err
    document = json.loads(out)
    assert document["complete"] is False
    reasons = document["summary"]["reasons"]
    assert reasons["ok"] >= 1
    assert reasons[str(Reason.NOT_CHECKED)] >= 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


@pytest.mark.parametrize("sigint_handler", [signal.SIG_IGN], indirect=True, ids=["ignored"])
@pytest.mark.usefixtures("sigint_handler")
def test_ctrl_c_ignored_by_the_process_does_not_stop_the_run(
    capsys: pytest.CaptureFixture[str],
    real_emu: BoxEmulator,
    key_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    """Under nohup or in a shell's background, SIGINT stays ignored: the run completes."""
    status, out, err = check_and_interrupt(capsys, real_emu, key_path, tmp_path, users=40)
    assert (status, err) == (0, "")
    document = json.loads(out)
    assert document["complete"] is True
    assert document["summary"]["reasons"] == {"ok": 40}
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_json_reference_example_matches_the_schema_and_lists_every_reason() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from docs_support import __file__ as support
    from test_docs import blocks

    page = pathlib.Path(support).parents[1] / "docs" / "reference-check-users-json.md"
    text = page.read_text(encoding="utf-8")
    assert "check-users-report.schema.json" in text
    examples = [b for b in blocks(text) if b.language == "json"]
    assert examples
    for example in examples:
        jsonschema.validate(json.loads(example.code), report_schema())
    assert [r for r in Reason if f"| `{r}` |" not in text] == []
    assert report_schema()["$defs"]["reason"]["enum"] == [str(r) for r in Reason]
