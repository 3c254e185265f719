"""The pytest plugin: fixtures, and registration through the ``pytest11`` entry point."""

from __future__ import annotations

import stat
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import requests

import boxjwt
from boxjwt.testing import BoxEmulator, EmulatedKeyFile


def test_box_emulator_fixture(box_emulator: BoxEmulator) -> None:
    assert box_emulator.running
    response = requests.get(f"{box_emulator.base_url}/2.0/users/me", timeout=5)
    assert response.status_code == 401


def test_box_keyfile_fixture(
    box_emulator: BoxEmulator, box_emulated_keyfile: EmulatedKeyFile, box_keyfile: boxjwt.KeyFile
) -> None:
    assert box_emulated_keyfile.path is not None
    assert box_emulated_keyfile.path.name == "box_config.json"
    assert stat.S_IMODE(box_emulated_keyfile.path.stat().st_mode) == 0o600
    assert box_keyfile.client_id == box_emulator.app.client_id
    assert box_keyfile.enterprise_id == box_emulator.enterprise_id
    assert box_keyfile.path == box_emulated_keyfile.path


def test_entry_point_is_registered() -> None:
    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "boxjwt"]
    assert plugin.value == "boxjwt.testing.pytest_plugin"


def test_plugin_loads_from_the_entry_point(tmp_path: Path) -> None:
    # An ini file of its own, so that this project's addopts ("-p no:boxjwt") cannot apply even
    # when the temp dir lies inside the checkout (nox points TMPDIR there).
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_user.py").write_text(
        "def test_it(box_emulator, box_keyfile):\n"
        "    assert box_keyfile.client_id == box_emulator.app.client_id\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
