"""docs/integrations-boxsdk.md: its example runs, as written, against the emulator.

Every fenced ```` ```python ```` block of the page is executed in order, in one namespace
(line numbers in tracebacks are the page's). Blocks that must not run (the real-Box snippet)
use the ```` ```{code-block} python ```` directive instead. Skipped without the SDK unless
``BOXJWT_REQUIRE_BOXSDK=1``.
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import Any

import pytest

if os.environ.get("BOXJWT_REQUIRE_BOXSDK") == "1":
    import box_sdk_gen  # noqa: F401 - fail, do not skip, when the SDK is missing
else:
    pytest.importorskip("box_sdk_gen")

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "integrations-boxsdk.md"
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of each ```` ```python ```` block."""
    return [
        (text.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in _FENCE.finditer(text)
    ]


def test_the_page_has_runnable_blocks() -> None:
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    assert "BoxEmulator().start()" in blocks[0][1]
    assert "box.stop()" in blocks[-1][1]


def test_python_blocks_parses_line_numbers() -> None:
    lines = ["# t", "", "```python", "x = 1", "```", ""]
    lines += ["```{code-block} python", "no", "```", "```python", "y = 2", "```", ""]
    text = "\n".join(lines)
    assert python_blocks(text) == [(4, "x = 1\n"), (11, "y = 2\n")]


def test_the_example_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "integrations_boxsdk_md"}
    try:
        for line, code in python_blocks(DOC.read_text(encoding="utf-8")):
            compiled = compile("\n" * (line - 1) + code, str(DOC), "exec")
            exec(compiled, namespace)  # noqa: S102 - our own documentation
    finally:
        box = namespace.get("box")
        if box is not None and box.running:
            box.stop()
    assert not namespace["box"].running  # the page cleans up after itself
    out = capsys.readouterr().out
    assert "access_token='***'" in out
    assert namespace["small"].access_token not in out
    assert namespace["ids"] == [namespace["box"].service_account.id] * 32
