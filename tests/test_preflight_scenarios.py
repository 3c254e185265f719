"""boxjwt.testing.scenarios: list, describe and build each misconfiguration, as users would."""

from __future__ import annotations

import pathlib

import pytest

import boxjwt
from boxjwt.exceptions import ConfigurationError
from boxjwt.preflight import CheckId, CheckStatus
from boxjwt.testing import BoxEmulator, scenarios


def test_list_and_describe() -> None:
    names = scenarios.names()
    assert names[0] == "configured"
    assert len(names) == len(set(names)) == len(scenarios.SCENARIOS)
    scenario = scenarios.get("as-user-off")
    assert scenario.name == "as-user-off"
    assert "as-user header" in scenario.description
    assert scenario.expected == {CheckId.FEATURE_AS_USER: CheckStatus.FAIL}
    assert scenario.exit_code == 1
    assert scenarios.get("configured").exit_code == 0
    assert scenarios.get("wrong-passphrase").exit_code == 2  # a key-file error
    assert "as-user-off" in repr(scenario)


def test_unknown_scenario_names_the_choices() -> None:
    with pytest.raises(ConfigurationError, match="no preflight scenario 'nope'; choose from: conf"):
        scenarios.get("nope")


def test_build_on_your_own_emulator(tmp_path: pathlib.Path) -> None:
    with BoxEmulator() as emu:
        setup = scenarios.get("no-read").build(emu, tmp_path)
        assert setup.path == tmp_path / "key.json"
        assert setup.keyfile.path == setup.path
        assert setup.emulator is emu
        report = setup.preflight(concurrency=1)
        assert {c.id: c.status for c in report.checks if not c.passed} == {
            CheckId.SCOPE_READ: CheckStatus.FAIL
        }
        # the key file works for the user's own code too
        auth = boxjwt.JWTAuthenticator(setup.keyfile.load(), base_url=emu.base_url)
        assert auth.enterprise_token()


def test_emulate_runs_its_own_emulator(tmp_path: pathlib.Path) -> None:
    with scenarios.emulate("unencrypted-key", tmp_path) as setup:
        assert setup.path.parent == tmp_path
        report = setup.preflight()
        base_url = setup.emulator.base_url
        assert report.base_url == base_url
    assert report.warnings[0].id == CheckId.KEYFILE_PASSPHRASE
    with scenarios.emulate("configured") as setup:
        temporary = setup.path
        assert temporary.exists()
    assert not temporary.exists()  # the temporary directory is gone with the emulator
