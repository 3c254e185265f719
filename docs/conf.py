"""Sphinx configuration: furo theme, MyST markdown, API reference from the docstrings.

Built with warnings as errors and nitpicky cross-references (``nox -s docs``)::

    sphinx-build -W -n --keep-going -b html docs <outdir>

No extension here needs the network (no intersphinx): references to standard-library and
third-party types are listed in ``nitpick_ignore`` / ``nitpick_ignore_regex`` instead.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import boxjwt

project = "boxjwt"
author = "boxjwt developers"
copyright = "boxjwt developers"
release = boxjwt.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
# Every heading down to ### gets an anchor, so troubleshooting entries can be linked to.
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"boxjwt {release}"

# --------------------------------------------------------------------------- autodoc

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
# The official Box SDK is an optional extra (boxjwt[boxsdk]): the docs build without it.
autodoc_mock_imports = ["box_sdk_gen"]
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# --------------------------------------------------------------------------- cross-references

nitpicky = True
# Types from the standard library and third-party packages (no intersphinx: no network).
nitpick_ignore_regex = [
    (r"py:.*", r".*collections\.abc\..*"),
    (r"py:.*", r"(collections\.abc|contextlib|enum|typing|types|os|pathlib|random|time)\..*"),
    (r"py:.*", r"(requests|urllib3|redis|httpx|h11|cryptography|box_sdk_gen)(\..*)?"),
    (r"py:.*", r"(tenacity|attrs|pytest)(\..*)?"),
    (r"py:class", r"(Callable|Iterator|Iterable|Mapping|Sequence|Any|Final|Literal)(\[.*)?"),
    (r"py:class", r"(RSAPrivateKey|RSAPublicKey|rsa\.RSAPrivateKey|PreparedRequest)"),
    (r"py:class", r"(NetworkSession|BoxClient|BaseUrls|_SDKAccessToken|Authentication)"),
    (r"py:class", r"(Path|PathLike|Random|Lock|datetime)"),
    (r"py:class", r"(threading\.)?Event"),
    # Private names (modules starting with "_") that public docstrings mention: they have no
    # page of their own. Public re-exports are resolved by _resolve_public_name below.
    (r"py:.*", r"boxjwt(\.[a-z]+)*\._.*"),
    # Helpers of the public API that are not exported (see the reference's notes on them).
    (r"py:.*", r"(RetryEvent|UserRef|report_schema|SCHEMA_VERSION|DEFAULT_RETRY|T|KeyFormat)"),
]
nitpick_ignore = [
    ("py:func", "time.sleep"),
    # EmulatedKeyFile's instance attributes have no doc comments, so autodoc lists none.
    *(
        ("py:attr", name)
        for name in (
            "config",
            "json",
            "path",
            "pem",
            "pem_path",
            "passphrase",
            "private_key",
            "kid",
            "app",
            "key_format",
            "separate_pem",
            "EmulatedKeyFile.pem",
        )
    ),
]

# Packages whose ``__all__`` names are documented under the package (boxjwt.KeyFile, not
# boxjwt._keyfile.KeyFile). A name exported by several is documented under the first listed.
_PUBLIC_PACKAGES = (
    "boxjwt.exceptions",
    "boxjwt",
    "boxjwt.checkusers",
    "boxjwt.stores",
    "boxjwt.testing",
    "boxjwt.integrations.boxsdk",
)


def _public_names() -> dict[str, str]:
    """Every spelling of a public class or function -> the name it is documented under.

    ``boxjwt._keyfile.KeyFile`` (how type hints spell it) -> ``boxjwt.KeyFile``, and
    ``boxjwt.BoxJWTError`` (a re-export) -> ``boxjwt.exceptions.BoxJWTError``.
    """
    documented: dict[int, str] = {}
    names: dict[str, str] = {}
    for package_name in _PUBLIC_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ImportError:  # pragma: no cover - an optional extra missing
            continue
        for name in getattr(package, "__all__", ()):
            obj = getattr(package, name, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            target = documented.setdefault(id(obj), f"{package_name}.{name}")
            names[f"{obj.__module__}.{obj.__qualname__}"] = target
            names[f"{package_name}.{name}"] = target
    return names


_PUBLIC = _public_names()
#: Every public name, as documented: ``boxjwt.KeyFile``, ``boxjwt.exceptions.APIError``...
_DOCUMENTED = frozenset(_PUBLIC.values())


def _resolve_public_name(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve ``boxjwt._keyfile.KeyFile`` (as type hints spell it) to ``boxjwt.KeyFile``."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    public = _PUBLIC.get(target)
    if public == target:
        return None  # documented under this very name: a genuinely missing reference
    if public is None:
        # a member of a re-exported class: boxjwt._keyfile.KeyFile.from_file
        owner, _, member = target.rpartition(".")
        if owner in _PUBLIC:
            public = f"{_PUBLIC[owner]}.{member}"
    if public is None and "." not in target:
        # a bare name in a docstring of a re-exported object: try the public packages
        for package_name in _PUBLIC_PACKAGES:
            if f"{package_name}.{target}" in _DOCUMENTED:
                public = f"{package_name}.{target}"
                break
    if public is None:
        return None
    domain = env.get_domain("py")
    new_node = node.deepcopy()
    new_node["reftarget"] = public
    resolved = domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], public, new_node, contnode
    )
    if resolved is None:
        resolved = domain.resolve_any_xref(
            env, node["refdoc"], app.builder, public, new_node, contnode
        )
        resolved = resolved[0][1] if resolved else None
    return resolved


def _no_inline_attribute_types(  # noqa: PLR0917 - Sphinx's callback signature
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Stop napoleon reading ``"Box's ID: the ..."`` on a property as a type annotation.

    Our docstrings are reStructuredText; napoleon is enabled for Google-style sections
    (``Args:``, ``Returns:``). For attributes and properties it also treats a first line of
    the form ``X: Y`` as ``type: description``. A leading empty comment (``..``), which renders
    as nothing, takes that first line's place.
    """
    del app, name, obj, options
    if what in ("attribute", "property", "data") and lines and ":" in lines[0]:
        lines[0:0] = ["..", ""]


#: Classes built only through named constructors: their generated ``__init__`` (with private
#: fields) is not a signature users should call.
_NO_CONSTRUCTOR_SIGNATURE = frozenset({"boxjwt.KeyFile"})
# Default values whose repr is not Python (``<built-in function sleep>``) make Sphinx give up
# parsing a signature and print it raw; attrs factories show as ``NOTHING``.
_FUNCTION_REPR = re.compile(r"<(?:built-in )?function ([\w.]+)(?: at 0x[0-9a-f]+)?>")
_TIME_FUNCTIONS = frozenset({"sleep", "time", "monotonic"})


def _function_name(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"time.{name}" if name in _TIME_FUNCTIONS else name


def _tidy_signature(  # noqa: PLR0917 - Sphinx's callback signature
    app: Any,
    what: str,
    name: str,
    obj: Any,
    options: Any,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str, str | None] | None:
    """Hide KeyFile's generated constructor; make every default value readable Python."""
    del app, obj, options
    if what == "class" and name in _NO_CONSTRUCTOR_SIGNATURE:
        return "", return_annotation
    if signature is None:
        return None
    tidy = _FUNCTION_REPR.sub(_function_name, signature)
    tidy = tidy.replace("= NOTHING", "= ...").replace("=<factory>", "=...")
    return tidy, return_annotation


def setup(app: Any) -> dict[str, Any]:
    """Register the hooks above."""
    app.connect("missing-reference", _resolve_public_name)
    app.connect("autodoc-process-signature", _tidy_signature)
    # Before napoleon (priority 500): lower priorities run first.
    app.connect("autodoc-process-docstring", _no_inline_attribute_types, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
