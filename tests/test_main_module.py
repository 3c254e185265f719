"""``python -m boxjwt`` is the ``boxjwt`` command."""

from __future__ import annotations

import pathlib
import runpy
import sys

import pytest

import boxjwt


def test_python_dash_m_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["python -m boxjwt", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(
            str(pathlib.Path(boxjwt.__file__).with_name("__main__.py")), run_name="__main__"
        )
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "preflight" in out
    assert "emulator" in out
