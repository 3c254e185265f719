"""``boxjwt preflight``: exit codes, --json, colour rules, --emulator scenarios, no secrets."""

from __future__ import annotations

import io
import json
import os
import pathlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from boxjwt import _cli
from boxjwt._cli_preflight import _use_color
from boxjwt.exceptions import ConfigurationError
from boxjwt.preflight import CheckId, report_schema
from boxjwt.testing import BoxEmulator, EmulatedKeyFile
from boxjwt.testing.scenarios import SCENARIOS
from secret_scan import assert_no_secret_in_text, emulator_secrets


@pytest.fixture
def emu() -> Iterator[BoxEmulator]:
    with BoxEmulator() as emulator:
        yield emulator


@pytest.fixture
def ekf(emu: BoxEmulator, tmp_path: pathlib.Path) -> EmulatedKeyFile:
    return emu.make_keyfile(tmp_path / "key.json")


@pytest.fixture(autouse=True)
def _no_color_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = _cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def validate(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    jsonschema.Draft202012Validator(report_schema()).validate(doc)
    return doc


# --------------------------------------------------------------------------- real key files


def test_passing_app_exits_0(
    capsys: pytest.CaptureFixture[str], emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    code, out, err = run(capsys, "preflight", str(ekf.path), "--base-url", emu.base_url)
    assert code == 0
    assert "OK: 16 passed, 0 failed" in out
    assert "\x1b[" not in out  # not a TTY: no colour
    assert err == ""
    for check_id in CheckId:
        assert check_id in out
    assert_no_secret_in_text(out + err, emulator_secrets(emu, ekf))
    assert all(r.method in ("GET", "OPTIONS", "POST") for r in emu.request_log)
    assert len(emu.request_log) <= 15


def test_json_output_validates(
    capsys: pytest.CaptureFixture[str], emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    code, out, err = run(capsys, "preflight", str(ekf.path), "--json", "--base-url", emu.base_url)
    assert code == 0
    assert err == ""
    doc = validate(out)
    assert doc["ok"] is True
    assert doc["summary"] == {"pass": 16, "fail": 0, "warn": 0, "skipped": 0}
    assert doc["request_count"] == len(emu.request_log)
    assert_no_secret_in_text(out, emulator_secrets(emu, ekf))


def test_failed_check_exits_1_with_remediation(
    capsys: pytest.CaptureFixture[str], emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    ekf.app.configure(as_user=False)
    ekf.app.reauthorize()
    code, out, _ = run(capsys, "preflight", str(ekf.path), "--base-url", emu.base_url)
    assert code == 1
    assert "FAIL     feature.as_user" in out
    assert "Fix: Developer Console > your app > Configuration > Advanced Features" in out
    assert "Reauthorize App" in out
    assert "FAILED: 15 passed, 1 failed" in out

    code, out, _ = run(capsys, "preflight", str(ekf.path), "--json", "--base-url", emu.base_url)
    assert code == 1
    doc = validate(out)
    failed = [c["id"] for c in doc["checks"] if c["status"] == "fail"]
    assert failed == ["feature.as_user"]
    assert_no_secret_in_text(out, emulator_secrets(emu, ekf))


def test_token_failure_exits_1_without_secrets(
    capsys: pytest.CaptureFixture[str], emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    ekf.app.reset_client_secret()
    for extra in ((), ("--json",)):
        code, out, err = run(capsys, "preflight", str(ekf.path), "--base-url", emu.base_url, *extra)
        assert code == 1
        assert "invalid_client" in out
        assert_no_secret_in_text(out + err, emulator_secrets(emu, ekf))


def test_warnings_exit_0_unless_strict(
    capsys: pytest.CaptureFixture[str], emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    ekf.app.configure(scopes=ekf.app.settings.scopes - {"manage_groups"})
    ekf.app.reauthorize()
    code, out, _ = run(capsys, "preflight", str(ekf.path), "--base-url", emu.base_url)
    assert code == 0
    assert "warn     scope.manage_groups" in out
    code, _, _ = run(capsys, "preflight", str(ekf.path), "--strict", "--base-url", emu.base_url)
    assert code == 1


def test_probe_user_option(
    capsys: pytest.CaptureFixture[str], emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    user = emu.managed_users[1]
    code, out, _ = run(
        capsys,
        "preflight",
        str(ekf.path),
        "--probe-user",
        user.login,
        "--json",
        "--base-url",
        emu.base_url,
    )
    assert code == 0
    assert validate(out)["target"]["probe_user"] == {"id": user.id, "login": user.login}


def test_passphrase_env_and_private_key(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    emu: BoxEmulator,
    tmp_path: pathlib.Path,
) -> None:
    ekf = emu.make_keyfile(tmp_path / "hand.json", separate_pem=True)
    assert ekf.passphrase is not None
    assert ekf.pem_path is not None
    base = ("preflight", str(ekf.path), "--base-url", emu.base_url)

    code, out, err = run(capsys, *base, "--private-key", str(ekf.pem_path))
    assert code == 2  # encrypted key, no passphrase: a key-file error
    assert "key file error" in err
    assert "no passphrase" in err

    code, _, err = run(capsys, *base, "--passphrase-env", "BOXJWT_TEST_PASS")
    assert code == 2
    assert "BOXJWT_TEST_PASS is not set" in err

    monkeypatch.setenv("BOXJWT_TEST_PASS", ekf.passphrase)
    code, out, err = run(
        capsys, *base, "--private-key", str(ekf.pem_path), "--passphrase-env", "BOXJWT_TEST_PASS"
    )
    assert code == 0
    assert "OK:" in out
    assert_no_secret_in_text(out + err, emulator_secrets(emu, ekf))


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        ("missing", "nope.json"),
        ("not-json", "invalid JSON"),
        ("enterprise-0", "enterpriseID"),
        ("wrong-passphrase", "cannot be decrypted"),
    ],
)
def test_key_file_errors_exit_2(
    capsys: pytest.CaptureFixture[str],
    emu: BoxEmulator,
    tmp_path: pathlib.Path,
    setup: str,
    fragment: str,
) -> None:
    path = tmp_path / "nope.json"
    if setup == "not-json":
        path.write_text("{nope")
    elif setup == "enterprise-0":
        emu.make_keyfile(path, config_overrides={"enterpriseID": "0"})
    elif setup == "wrong-passphrase":
        emu.make_keyfile(
            path, config_overrides={"boxAppSettings": {"appAuth": {"passphrase": "wrong"}}}
        )
    code, out, err = run(capsys, "preflight", str(path), "--base-url", emu.base_url)
    assert code == 2
    assert err.startswith("boxjwt preflight: key file error: ")
    assert fragment in err
    assert "FAILED" in out  # the report is still printed
    assert emu.request_log == []  # Box was not contacted


def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    code, _, err = run(capsys, "preflight")
    assert code == 2
    assert "KEYFILE argument is required" in err
    code, _, err = run(capsys, "preflight", str(ekf.path), "--emulator")
    assert code == 2
    assert "not both" in err
    code, _, err = run(capsys, "preflight", str(ekf.path), "--scenario", "configured")
    assert code == 2
    assert "needs --emulator" in err
    code, _, err = run(capsys, "preflight", str(ekf.path), "--base-url", "ftp://box")
    assert code == 2
    assert "http(s) URL" in err
    code, _, err = run(capsys, "preflight", "--emulator", "--scenario", "no-such-thing")
    assert code == 2
    assert "invalid choice" in err
    code, _, err = run(capsys, "preflight", "--bogus")
    assert code == 2
    assert emu.request_log == []


@pytest.mark.parametrize(
    ("base_url", "fragment"),
    [
        ("http://[::1", "not a valid URL"),
        ("https://api.box.com:99999", "not a valid URL"),
        ("https://api.box.com\\@127.0.0.1", "backslash"),
        ("https://user:pw-hunter2@api.box.com", "user name or password"),
        ("http://box.internal", "unencrypted"),
    ],
)
def test_bad_base_url_exits_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str], ekf: EmulatedKeyFile, base_url: str, fragment: str
) -> None:
    """Regression: ``--base-url http://[::1`` escaped as a ValueError (traceback, exit 1)."""
    code, out, err = run(capsys, "preflight", str(ekf.path), "--base-url", base_url)
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err
    assert "pw-hunter2" not in out + err


def test_a_boxjwt_error_from_any_command_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last line of defence: a ConfigurationError a command did not catch is a usage error."""

    def explode(args: object) -> int:
        raise ConfigurationError("timeout must be a finite number")

    def add(subparsers: Any) -> None:
        subparsers.add_parser("explode").set_defaults(handler=explode)

    monkeypatch.setattr(_cli, "SUBCOMMANDS", [*_cli.SUBCOMMANDS, add])
    code, out, err = run(capsys, "explode")
    assert code == 2
    assert out == ""
    assert err == "boxjwt: error: timeout must be a finite number\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("where", ["KEYFILE", "--private-key"])
def test_a_fifo_as_key_file_exits_2_at_once(
    capsys: pytest.CaptureFixture[str],
    emu: BoxEmulator,
    ekf: EmulatedKeyFile,
    tmp_path: pathlib.Path,
    where: str,
) -> None:
    """Regression: ``boxjwt preflight FIFO`` (or ``--private-key FIFO``) blocked forever."""
    fifo = tmp_path / "key.pipe"
    os.mkfifo(fifo, 0o600)
    argv = (
        ["preflight", str(fifo)]
        if where == "KEYFILE"
        else ["preflight", str(ekf.path), "--private-key", str(fifo)]
    )
    codes: list[int] = []
    thread = threading.Thread(
        target=lambda: codes.append(_cli.main([*argv, "--base-url", emu.base_url])), daemon=True
    )
    thread.start()
    thread.join(30)  # a generous safety bound: it must not block at all
    if thread.is_alive():  # the old behaviour: unblock the reader before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail("boxjwt preflight blocked on a FIFO")
    _, err = capsys.readouterr()
    assert codes == [2]
    assert "named pipe (FIFO)" in err
    assert "only a regular file is read" in err
    assert emu.request_log == []


# --------------------------------------------------------------------------- colour


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_tty_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch, emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    ekf.app.configure(as_user=False)
    ekf.app.reauthorize()
    argv = ["preflight", str(ekf.path), "--base-url", emu.base_url]

    tty = FakeTTY()
    monkeypatch.setattr(sys, "stdout", tty)
    assert _cli.main(argv) == 1
    assert "\x1b[1;31mFAIL" in tty.getvalue()
    assert "\x1b[32mpass" in tty.getvalue()

    for value in ("1", ""):
        monkeypatch.setenv("NO_COLOR", value)
        plain = FakeTTY()
        monkeypatch.setattr(sys, "stdout", plain)
        assert _cli.main(argv) == 1
        assert "\x1b[" not in plain.getvalue()
        assert "FAIL     feature.as_user" in plain.getvalue()


def test_use_color_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _use_color(FakeTTY()) is True
    assert _use_color(io.StringIO()) is False
    assert _use_color(object()) is False  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "yes")
    assert _use_color(FakeTTY()) is False


# --------------------------------------------------------------------------- --emulator


def test_emulator_demo_prints_a_passing_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "preflight", "--emulator")
    assert code == 0, err
    assert "Scenario 'configured'" in out
    assert "OK: 16 passed, 0 failed, 0 warning(s), 0 skipped (10 request(s) to Box)" in out
    assert err == ""


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_emulator_scenario(capsys: pytest.CaptureFixture[str], name: str) -> None:
    scenario = SCENARIOS[name]
    code, out, err = run(capsys, "preflight", "--emulator", "--scenario", name, "--json")
    assert code == scenario.exit_code
    doc = validate(out)
    not_passing = {c["id"]: c["status"] for c in doc["checks"] if c["status"] != "pass"}
    assert not_passing == {str(k): str(v) for k, v in scenario.expected.items()}
    assert doc["request_count"] <= 15
    assert ("key file error" in err) is (code == 2)


def test_emulator_honours_probe_user(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "preflight", "--emulator", "--probe-user", "nobody@example.com", "--json"
    )
    assert code == 0
    doc = validate(out)
    assert doc["target"]["probe_user"] is None
    as_user = next(c for c in doc["checks"] if c["id"] == "feature.as_user")
    assert as_user["status"] == "skipped"
    assert "'nobody@example.com' was not found" in as_user["message"]


def test_list_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "preflight", "--list-scenarios")
    assert code == 0
    for name, scenario in SCENARIOS.items():
        assert f"  {name}" in out
        assert scenario.description in out
    assert {s.exit_code for s in SCENARIOS.values()} == {0, 1, 2}


def test_preflight_help_mentions_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "preflight", "--help")
    assert code == 0
    assert "--emulator" in out
    assert "NO_COLOR" in out
    assert "Exit status" in out


def test_python_dash_m_boxjwt_runs_the_demo() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    result = subprocess.run(
        [sys.executable, "-m", "boxjwt", "preflight", "--emulator"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "OK: 16 passed" in result.stdout
    assert result.stderr == ""
