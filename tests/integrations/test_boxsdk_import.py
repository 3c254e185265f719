"""boxjwt never imports the Box SDK unless boxjwt.integrations.boxsdk is imported.

These tests run with or without the SDK installed.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


def test_importing_boxjwt_does_not_import_the_sdk() -> None:
    code = (
        "import sys\n"
        "import boxjwt, boxjwt.exceptions, boxjwt.integrations, boxjwt.testing\n"
        "import boxjwt.testing.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('box_sdk_gen', 'boxsdk')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_a_missing_sdk_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail as if the SDK were not installed.
    monkeypatch.setitem(sys.modules, "box_sdk_gen.client", None)  # type: ignore[arg-type]
    monkeypatch.delitem(sys.modules, "boxjwt.integrations.boxsdk", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'boxjwt\[boxsdk\]'") as caught:
        importlib.import_module("boxjwt.integrations.boxsdk")
    assert isinstance(caught.value.__cause__, ImportError)
    assert "boxjwt.integrations.boxsdk" not in sys.modules
