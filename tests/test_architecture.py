"""The layering of docs/architecture.md, checked: the core moves no bytes and needs no transport."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import boxjwt

ROOT = Path(boxjwt.__file__).parent

#: The core of docs/architecture.md: decisions only, shared by every transport.
CORE = (
    "_answers",
    "_assertion",
    "_attempts",
    "_classify",
    "_files",
    "_http",
    "_kdf",
    "_keyfile",
    "_private_key",
    "_ratelimit",
    "_ratepolicy",
    "_remedies",
    "_retry",
    "_routing",
    "_scrub",
    "_secret",
    "_store",
    "_token",
    "_validate",
    "exceptions",
)
#: Within the core, the modules that decide and describe errors and retries: they need nothing
#: but each other (no key file, no clock, no store).
ERRORS_AND_RETRIES = ("_answers", "_classify", "_http", "_remedies", "_retry", "exceptions")
TRANSPORTS = {"requests", "urllib3", "httpx", "anyio", "redis", "aiohttp"}


def _imports(module: str) -> set[str]:
    path = ROOT / module
    files = sorted(path.glob("*.py")) if path.is_dir() else [ROOT / f"{module}.py"]
    found: set[str] = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_transport_and_only_the_core(module: str) -> None:
    imported = _imports(module)
    assert not {name for name in imported if name.split(".")[0] in TRANSPORTS}
    ours = {name.split(".")[1] for name in imported if name.startswith("boxjwt.")}
    assert ours <= set(CORE), ours - set(CORE)


@pytest.mark.parametrize("module", ERRORS_AND_RETRIES)
def test_error_and_retry_logic_needs_only_itself(module: str) -> None:
    ours = {name.split(".")[1] for name in _imports(module) if name.startswith("boxjwt.")}
    assert ours <= set(ERRORS_AND_RETRIES), ours - set(ERRORS_AND_RETRIES)


def test_core_list_covers_every_transport_free_module() -> None:
    """A new module that needs no transport is either core (add it above) or says why not."""
    listed = set(CORE)
    transports = {"_auth", "_authenticator", "_bounded", "_errors", "_session", "_token_endpoint"}
    other = {"__init__", "__main__"}
    modules = {p.stem for p in ROOT.glob("_*.py")} - other
    for module in sorted(modules - listed - transports):
        # The command line is a user of the library, not a layer of it.
        assert module.startswith("_cli"), f"{module}: add it to CORE or to the transports"


def test_importing_boxjwt_loads_neither_the_emulator_nor_optional_transports() -> None:
    code = (
        "import sys, boxjwt\n"
        "loaded = [m for m in ('boxjwt.testing', 'httpx', 'redis') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
