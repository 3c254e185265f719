"""``boxjwt emulator`` and the CLI skeleton (main(argv) -> int)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from boxjwt import _cli

URL = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
KEYFILE = re.compile(r"Key file written to (\S+) ")


def _serve_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> dict[str, object]:
    """Make the emulator subcommand check itself, then stop as if Ctrl+C was pressed."""
    seen: dict[str, object] = {}

    def fake_wait() -> None:
        out = capsys.readouterr().out
        seen["out"] = out
        url = URL.search(out)
        path = KEYFILE.search(out)
        assert url is not None
        assert path is not None
        seen["url"] = url.group(1)
        seen["path"] = Path(path.group(1))
        config = json.loads(Path(path.group(1)).read_text())
        seen["config"] = config
        seen["mode"] = stat.S_IMODE(Path(path.group(1)).stat().st_mode)
        seen["status"] = requests.get(f"{url.group(1)}/2.0/users/me", timeout=5).status_code
        raise KeyboardInterrupt

    monkeypatch.setattr(_cli, "_wait_for_interrupt", fake_wait)
    return seen


def test_emulator_default_keyfile_in_a_temporary_directory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = _serve_once(monkeypatch, capsys)
    assert _cli.main(["emulator"]) == 0
    out = str(seen["out"])
    config = seen["config"]
    assert isinstance(config, dict)
    path = seen["path"]
    assert isinstance(path, Path)
    kid = config["boxAppSettings"]["appAuth"]["publicKeyID"]
    assert path.name == f"{config['enterpriseID']}_{kid}_config.json"
    assert seen["mode"] == 0o600
    assert seen["status"] == 401
    assert "passphrase" in out
    assert config["boxAppSettings"]["appAuth"]["passphrase"] not in out
    assert config["boxAppSettings"]["clientSecret"] not in out
    assert "BEGIN" not in out
    assert not path.exists()  # the temporary directory is removed on exit
    assert "stopped" in capsys.readouterr().out


def test_emulator_keyfile_and_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = tmp_path / "key.json"
    seen = _serve_once(monkeypatch, capsys)
    assert _cli.main(["emulator", "--port", str(port), "--keyfile", str(target)]) == 0
    assert seen["url"] == f"http://127.0.0.1:{port}"
    assert seen["path"] == target
    assert target.exists()  # kept
    assert _cli.main(["emulator", "--keyfile", str(target)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    _serve_once(monkeypatch, capsys)
    assert _cli.main(["emulator", "--keyfile", str(target), "--overwrite"]) == 0


def test_emulator_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert _cli.main(["emulator", "--port", "http"]) == 2
    assert "not a TCP port" in capsys.readouterr().err
    assert _cli.main(["emulator", "--port", "70000"]) == 2
    assert _cli.main(["emulator", "--keyfile", str(tmp_path / "no" / "key.json")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_emulator_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert _cli.main(["emulator", "--port", str(port)]) == 2
    assert f"cannot listen on port {port}" in capsys.readouterr().err


def test_sigterm_stops_the_emulator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real wait: a SIGTERM, sent once the handler is installed, ends it."""
    before = signal.getsignal(signal.SIGTERM)
    real_banner = _cli._print_emulator_banner
    timers: list[threading.Timer] = []

    def banner(*args: object) -> None:
        real_banner(*args)  # type: ignore[arg-type]
        timers.append(threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGTERM)))
        timers[0].start()

    monkeypatch.setattr(_cli, "_print_emulator_banner", banner)
    assert _cli.main(["emulator"]) == 0
    timers[0].join()
    assert "stopped" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGTERM) is before


def test_not_in_the_main_thread(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def wait() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_cli, "_wait_for_interrupt", wait)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(_cli.main(["emulator"])))
    thread.start()
    thread.join()
    assert codes == [0]


def test_main_without_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main([]) == 2
    assert "a command is required" in capsys.readouterr().err
    assert _cli.main(["frobnicate"]) == 2


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("boxjwt ")
    assert _cli.main(["emulator", "--help"]) == 0
    assert "--keyfile" in capsys.readouterr().out


def test_console_main_exits_with_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["boxjwt"])
    with pytest.raises(SystemExit) as exc:
        _cli.console_main()
    assert exc.value.code == 2


def test_real_process_serves_until_interrupted(tmp_path: Path) -> None:
    target = tmp_path / "key.json"
    # `python -m boxjwt emulator`, with Ctrl-C's default disposition even when this test runs
    # where SIGINT is ignored (nohup, a shell's background job), which the child would inherit
    start = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'boxjwt'; runpy.run_module('boxjwt', run_name='__main__')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", start, "emulator", "--keyfile", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = URL.search(first)
        assert match is not None, first + (proc.stderr.read() if proc.stderr else "")
        for _ in range(7):
            proc.stdout.readline()
        config = json.loads(target.read_text())
        assert config["enterpriseID"].isdigit()
        response = requests.get(f"{match.group(1)}/2.0/users/me", timeout=5)
        assert response.status_code == 401
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "stopped" in out
