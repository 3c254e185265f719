"""The shape of boxjwt.testing: layers without an import cycle, small modules and functions."""

from __future__ import annotations

import ast
import pathlib
from typing import Final

import boxjwt.testing

PACKAGE: Final = pathlib.Path(boxjwt.testing.__file__).parent
MAX_MODULE_LINES: Final = 600
MAX_FUNCTION_LINES: Final = 60


def _modules() -> dict[str, ast.Module]:
    return {
        path.stem: ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(PACKAGE.glob("*.py"))
    }


def _imports(tree: ast.Module) -> set[str]:
    """Modules of boxjwt.testing this one imports, at any level (TYPE_CHECKING included)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "boxjwt.testing":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("boxjwt.testing."):
                found.add(node.module.rsplit(".", 1)[1])
    return found


def test_no_import_cycle_in_boxjwt_testing() -> None:
    modules = _modules()
    graph = {name: _imports(tree) & set(modules) for name, tree in modules.items()}
    graph.pop("__init__")  # the facade re-exports everything and nothing imports it back
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for imported in sorted(graph.get(name, set())):
            visit(imported, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())
    # the state and the handlers never reach up to the facade
    below = {name for name in graph if name.startswith("_")} - {"_emulator"}
    assert not [name for name in below if "_emulator" in graph[name]]


def test_modules_and_functions_are_small() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") <= MAX_MODULE_LINES, f"{path.name} is too long"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = node.body
                start = body[1].lineno if ast.get_docstring(node) and len(body) > 1 else node.lineno
                length = (node.end_lineno or node.lineno) - start + 1
                assert length <= MAX_FUNCTION_LINES, f"{path.name}:{node.name} is {length} lines"
