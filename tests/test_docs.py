"""The documentation's examples run, and the reference pages are complete.

**How examples run.** Every fenced ```` ```python ```` block of ``docs/*.md`` is executed. The
blocks of one page run in order in one namespace (``__name__ == "__main__"``, tracebacks carry
the page's line numbers), in a fresh temporary directory holding ``key.json``: the config of a
fully configured app of a :class:`~boxjwt.testing.BoxEmulator`, exactly as Box downloads it.

The pages show the code users run against the real Box (``JWTAuthenticator(key_file)``, no
``base_url``), and it runs unchanged: the environment makes ``https://api.box.com`` and
``https://upload.box.com`` reach the emulator through ``HTTPS_PROXY`` (a local TLS-terminating
proxy, :mod:`docs_support`) and ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` (a CA generated for
the test), the standard settings of ``requests`` and ``httpx``. Nothing in boxjwt or
``requests`` is patched. ``BOXJWT_BASE_URL`` is also set to the emulator's URL, for pages
showing code that reads it (boxjwt itself does not).

Pages that say what they need ("Before you start") get it from :data:`PAGE_SETUP` (a separate
PEM, a Redis server...), and :data:`PAGE_CHECKS` asserts what a page claims (one token request
from 32 threads...) on the emulator's request log.

**Markers**, an HTML comment on the line before a fence, used sparingly:

- ``<!-- docs-test: skip -->``: do not run this ``python`` block (it needs your enterprise).
- ``<!-- docs-test: pytest -->``: the block is a pytest file; run it with pytest (in a
  subprocess, with boxjwt's plugin loaded through its entry point, as users get it).
- ``<!-- docs-test: processes N -->``: run the block as a script in N concurrent processes,
  then once more in the page's namespace (so later blocks can use its names).
- ``<!-- docs-test: run -->`` / ``<!-- docs-test: run exit=N -->`` before a ``console`` block:
  run its ``$ boxjwt ...`` commands (through :func:`boxjwt._cli.main`) and expect that exit
  status (default 0).

Blocks in other languages (``console``, ``text``, ``json``) and ```` ```{code-block} python ````
directives are not run. ``docs/integrations-boxsdk.md`` has its own runner
(``tests/integrations/test_boxsdk_docs.py``, it needs the official SDK).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import json
import logging
import os
import pathlib
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any, Final

import attrs
import pytest

import boxjwt
import boxjwt.aio
import boxjwt.exceptions
import boxjwt.stores
import boxjwt.testing
from boxjwt._cli import _build_parser, main
from boxjwt.testing import BoxEmulator, EmulatedKeyFile
from boxjwt.testing.scenarios import SCENARIOS
from docs_support import BoxHostsProxy, Certificates, make_certificates

ROOT: Final = pathlib.Path(__file__).resolve().parents[1]
DOCS: Final = ROOT / "docs"
#: Pages whose examples another test runs (page -> that test file).
TESTED_ELSEWHERE: Final = {"integrations-boxsdk.md": "tests/integrations/test_boxsdk_docs.py"}

_FENCE = re.compile(
    r"^(?P<fence>`{3,})(?P<info>[^`\n]*)\n(?P<code>.*?)^(?P=fence)[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
_MARKER = re.compile(r"^<!--\s*docs-test:\s*(?P<what>.*?)\s*-->$")
_KNOWN_MARKERS = re.compile(r"skip|pytest|processes [1-9][0-9]*|run( exit=[0-9]+)?")


# --------------------------------------------------------------------------- extraction


@attrs.frozen
class Block:
    """A fenced block: ``language`` (the info string), ``line`` (of its first code line),
    ``code`` and ``marker`` (the ``docs-test:`` comment before it, or None)."""

    language: str
    line: int
    code: str
    marker: str | None


def blocks(text: str) -> list[Block]:
    """Every fenced block of a MyST page, in order."""
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        marker = _MARKER.match(before)
        found.append(
            Block(
                language=match.group("info").strip(),
                line=text.count("\n", 0, match.start("code")) + 1,
                code=match.group("code"),
                marker=marker.group("what") if marker else None,
            )
        )
    return found


def pages() -> list[pathlib.Path]:
    return sorted(DOCS.glob("*.md"))


def runnable_pages() -> list[str]:
    return [
        page.name
        for page in pages()
        if page.name not in TESTED_ELSEWHERE
        and any(
            b.language == "python" and b.marker != "skip"
            for b in blocks(page.read_text(encoding="utf-8"))
        )
    ]


# --------------------------------------------------------------------------- the environment


@attrs.define
class DocEnv:
    """What a page runs in; page setups and checks receive it."""

    emulator: BoxEmulator
    keyfile: EmulatedKeyFile
    directory: pathlib.Path
    proxy: BoxHostsProxy
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest
    env: dict[str, str] = attrs.field(factory=dict)

    def setenv(self, name: str, value: str) -> None:
        self.monkeypatch.setenv(name, value)
        self.env[name] = value


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("docs-tls"))


_CLEARED_ENV: Final = (
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "CURL_CA_BUNDLE",
    "BOXJWT_KEYFILE",
    "BOXJWT_CONFIG",
    "BOXJWT_PASSPHRASE",
    "REDIS_URL",
    "TOKEN_ENCRYPTION_KEY",
)


@contextlib.contextmanager
def _process_state_restored() -> Iterator[None]:
    """Pages may call ``logging.basicConfig`` or set ``os.environ``: undo it afterwards."""
    root = logging.getLogger()
    boxjwt_logger = logging.getLogger("boxjwt")
    saved = (list(root.handlers), root.level, list(boxjwt_logger.handlers), boxjwt_logger.level)
    environ = dict(os.environ)
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        boxjwt_logger.handlers[:] = saved[2]
        boxjwt_logger.setLevel(saved[3])
        for name in set(os.environ) - set(environ):
            del os.environ[name]
        os.environ.update(environ)


@pytest.fixture
def doc_env(
    certificates: Certificates,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[DocEnv]:
    directory = tmp_path / "work"
    directory.mkdir()
    with (
        BoxEmulator() as emulator,
        BoxHostsProxy(("127.0.0.1", emulator.port), certificates) as proxy,
        _process_state_restored(),
    ):
        keyfile = emulator.make_keyfile(directory / "key.json")
        env = DocEnv(emulator, keyfile, directory, proxy, monkeypatch, request)
        for name in _CLEARED_ENV:
            monkeypatch.delenv(name, raising=False)
        env.setenv("HTTPS_PROXY", proxy.url)
        env.setenv("https_proxy", proxy.url)
        env.setenv("NO_PROXY", "127.0.0.1,localhost")
        env.setenv("no_proxy", "127.0.0.1,localhost")
        env.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_path))
        env.setenv("SSL_CERT_FILE", str(certificates.ca_path))  # the same, for httpx (boxjwt.aio)
        env.setenv("BOXJWT_BASE_URL", emulator.base_url)
        monkeypatch.chdir(directory)
        yield env
        assert proxy.refused == [], "a page asked the proxy for a host that is not Box's"


# --------------------------------------------------------------------------- page setups


def _separate_pem(env: DocEnv) -> None:
    """howto-separate-pem.md: a key pair made with openssl and added by hand."""
    made = env.emulator.make_keyfile(
        env.directory / "config.json",
        app=env.keyfile.app,
        key_format="traditional-aes256",
        separate_pem=True,
        pem_path=env.directory / "private.pem",
    )
    assert made.passphrase is not None
    env.setenv("BOXJWT_PASSPHRASE", made.passphrase)


def _secrets(env: DocEnv) -> None:
    """howto-secrets.md: the deployment exports BOXJWT_KEYFILE."""
    env.setenv("BOXJWT_KEYFILE", str(env.directory / "key.json"))


def _redis(env: DocEnv) -> None:
    """howto-redis.md: a Redis server at REDIS_URL and a shared encryption key."""
    from cryptography.fernet import Fernet

    server = env.request.getfixturevalue("redis_server")
    server.client().flushall()
    env.setenv("REDIS_URL", server.url)
    env.setenv("TOKEN_ENCRYPTION_KEY", Fernet.generate_key().decode())


PAGE_SETUP: Final[dict[str, Callable[[DocEnv], None]]] = {
    "howto-separate-pem.md": _separate_pem,
    "howto-secrets.md": _secrets,
    "howto-redis.md": _redis,
    "howto-rate-limits.md": _redis,
}


# --------------------------------------------------------------------------- page checks


def _went_to_box(env: DocEnv, namespace: dict[str, Any]) -> None:
    """The page's code reached "Box" through Box's real URLs (the proxy), not a base_url."""
    assert env.proxy.tunnels["api.box.com"] >= 1


def _one_enterprise_token(env: DocEnv, namespace: dict[str, Any]) -> None:
    assert env.emulator.token_requests(subject_type="enterprise", status=200) == 1


def _threads(env: DocEnv, namespace: dict[str, Any]) -> None:
    _went_to_box(env, namespace)
    _one_enterprise_token(env, namespace)


def _asyncio(env: DocEnv, namespace: dict[str, Any]) -> None:
    _went_to_box(env, namespace)
    # one per authenticator: the inventory of every user's root folder, then the sized client
    assert env.emulator.token_requests(subject_type="enterprise", status=200) == 2
    assert env.emulator.token_requests(subject_type="user") == 0


def _redis_fleet(env: DocEnv, namespace: dict[str, Any]) -> None:
    # the page's worker ran in 4 processes at once, then in this one: one exchange for all
    _one_enterprise_token(env, namespace)
    assert env.emulator.count("GET", "/2.0/users/me", status=200) == 5


PAGE_CHECKS: Final[dict[str, Callable[[DocEnv, dict[str, Any]], None]]] = {
    "tutorial.md": _went_to_box,
    "howto-as-user.md": _went_to_box,
    "howto-threads.md": _threads,
    "asyncio.md": _asyncio,
    "howto-redis.md": _redis_fleet,
    "howto-proxies-timeouts.md": _went_to_box,
}


# --------------------------------------------------------------------------- running


def _run_pytest_block(env: DocEnv, page: str, block: Block, index: int) -> None:
    name = f"test_{pathlib.Path(page).stem.replace('-', '_')}_{index}.py"
    path = env.directory / "pytest-blocks" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(block.code, encoding="utf-8")
    # An ini file of its own, as a user's project has: this checkout's pytest config (which
    # disables the plugin's entry point) must not apply even when the temp dir lies inside it.
    (path.parent / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            str(path),
        ],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert result.returncode == 0, f"{page}:{block.line}: pytest failed\n{result.stdout}"
    assert " passed" in result.stdout, result.stdout
    assert " skipped" not in result.stdout, result.stdout


def _run_processes(env: DocEnv, page: str, block: Block, count: int, index: int) -> None:
    script = env.directory / f"{pathlib.Path(page).stem}_{index}.py"
    script.write_text("\n" * (block.line - 1) + block.code, encoding="utf-8")
    workers = [
        subprocess.Popen(
            [sys.executable, str(script)],
            cwd=env.directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        for _ in range(count)
    ]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    for worker, output in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, f"{page}:{block.line}: a process failed\n{output}"


def _run_console(page: str, block: Block) -> None:
    marker = block.marker or "run"
    expected = int(marker.split("exit=", 1)[1]) if "exit=" in marker else 0
    commands = [line[2:] for line in block.code.splitlines() if line.startswith("$ boxjwt ")]
    assert commands, f"{page}:{block.line}: a 'run' console block without $ boxjwt commands"
    for command in commands:
        argv = shlex.split(command)[1:]
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = main(argv)
        assert status == expected, (
            f"{page}:{block.line}: `{command}` exited {status}\n{out.getvalue()}"
        )


def run_page(env: DocEnv, page: str) -> dict[str, Any]:
    path = DOCS / page
    setup = PAGE_SETUP.get(page)
    if setup is not None:
        setup(env)
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(path)}
    for index, block in enumerate(blocks(path.read_text(encoding="utf-8"))):
        if block.marker is not None:
            assert _KNOWN_MARKERS.fullmatch(block.marker), f"{page}:{block.line}: {block.marker}"
        if block.language == "console" and block.marker and block.marker.startswith("run"):
            _run_console(page, block)
            continue
        if block.language != "python" or block.marker == "skip":
            continue
        if block.marker == "pytest":
            _run_pytest_block(env, page, block, index)
        else:
            if block.marker and block.marker.startswith("processes "):
                _run_processes(env, page, block, int(block.marker.split()[1]), index)
            code = compile("\n" * (block.line - 1) + block.code, str(path), "exec")
            exec(code, namespace)  # noqa: S102 - our own documentation
    check = PAGE_CHECKS.get(page)
    if check is not None:
        check(env, namespace)
    return namespace


#: Pages that need a redis-server (marked ``redis``, like the other Redis tests).
NEEDS_REDIS: Final = frozenset({"howto-redis.md"})


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(page, marks=[pytest.mark.redis] if page in NEEDS_REDIS else [])
        for page in runnable_pages()
    ],
)
def test_page_examples_run(doc_env: DocEnv, page: str) -> None:
    namespace = run_page(doc_env, page)
    assert namespace["__name__"] == "__main__"


def test_console_blocks_marked_run_pass(doc_env: DocEnv) -> None:
    """`run` console blocks of pages without Python examples run too."""
    ran = 0
    with_python = set(runnable_pages())
    for path in pages():
        if path.name in with_python:
            continue  # their console blocks ran with their Python blocks
        for block in blocks(path.read_text(encoding="utf-8")):
            if block.language == "console" and (block.marker or "").startswith("run"):
                _run_console(path.name, block)
                ran += 1
    assert ran >= 1


# --------------------------------------------------------------------------- the harness itself


def test_blocks_parses_fences_markers_and_lines() -> None:
    text = textwrap.dedent(
        """\
        # t

        ```python
        a = 1
        ```
        <!-- docs-test: skip -->
        ```python
        b = 2
        ```

        ````{code-block} python
        ```python
        nested
        ```
        ````
        <!-- docs-test: run exit=1 -->
        ```console
        $ boxjwt preflight key.json
        ```
        """
    )
    found = blocks(text)
    assert [(b.language, b.line, b.marker) for b in found] == [
        ("python", 4, None),
        ("python", 8, "skip"),
        ("{code-block} python", 12, None),
        ("console", 18, "run exit=1"),
    ]
    assert found[0].code == "a = 1\n"


def test_every_page_with_python_is_run_somewhere() -> None:
    for path in pages():
        python = [b for b in blocks(path.read_text(encoding="utf-8")) if b.language == "python"]
        if path.name in TESTED_ELSEWHERE:
            runner = ROOT / TESTED_ELSEWHERE[path.name]
            assert runner.is_file()
            assert path.name in runner.read_text(encoding="utf-8")
        elif any(b.marker != "skip" for b in python):
            assert path.name in runnable_pages()
    skipped = [
        (path.name, b.line)
        for path in pages()
        for b in blocks(path.read_text(encoding="utf-8"))
        if b.marker == "skip"
    ]
    assert len(skipped) <= 2, f"docs-test: skip is for the rare exception: {skipped}"


def test_markers_are_known() -> None:
    for path in pages():
        for block in blocks(path.read_text(encoding="utf-8")):
            if block.marker is not None:
                assert _KNOWN_MARKERS.fullmatch(block.marker), (path.name, block.line)


# --------------------------------------------------------------------------- completeness


def _text(*names: str) -> str:
    return "\n".join((DOCS / name).read_text(encoding="utf-8") for name in names)


def test_troubleshooting_names_every_exception_class() -> None:
    page = _text("troubleshooting.md")
    missing = [
        name for name in boxjwt.exceptions.__all__ if not re.search(rf"\b{re.escape(name)}\b", page)
    ]
    assert missing == []
    classes = {
        name
        for name, obj in vars(boxjwt.exceptions).items()
        if isinstance(obj, type)
        and issubclass(obj, BaseException | Warning)
        and obj.__module__ == "boxjwt.exceptions"
    }
    assert classes == set(boxjwt.exceptions.__all__)


def test_troubleshooting_names_every_preflight_check() -> None:
    page = _text("troubleshooting.md")
    missing = [str(cid) for cid in boxjwt.CheckId if f"`{cid}`" not in page]
    assert missing == []


BOX_ERROR_TEXTS: Final = (
    # box-facts.md section 3: the token endpoint
    "This app is not authorized by the enterprise admin",
    "The client credentials are invalid",
    "'kid' invalid, unable to lookup correct key",
    'Signature verification error. The public key identified by "kid" must correspond to '
    "the private key used for signing.",
    "OpenSSL unable to verify data",
    "Please check the 'iss' claim.",
    "Please check the 'sub' claim. The 'sub' specified is invalid.",
    "Current date/time MUST be before the expiration date/time listed in the 'exp' claim",
    "Please check the 'exp' claim. The 'exp' value exceeds the maximum value of 60 seconds "
    "beyond the issue time.",
    "Please check the 'exp' claim. Should be an integer",
    "Please check the 'jti' claim. A unique 'jti' value is required.",
    "Cannot obtain user token based on the enterprise configuration for your app",
    "The grant type is unauthorized for this client_id",
    "This app is not configured properly. No public key(s) added",
    "Invalid grant_type parameter or parameter missing",
    "unauthorized_client",
    "invalid_client",
    "invalid_grant",
    "invalid_request",
    # section 5: the API
    "access_denied_insufficient_permissions",
    "Access denied - insufficient permission",
    "rate_limit_exceeded",
    "Request rate limit exceeded, please try again later",
    "not_found",
    "invalid_token",
    "The access token provided is invalid.",
    "expired_token",
    "insufficient_scope",
    "The request requires higher privileges than provided by the access token.",
)


def test_troubleshooting_quotes_every_box_error_verbatim() -> None:
    page = _text("troubleshooting.md")
    missing = [text for text in BOX_ERROR_TEXTS if text not in page]
    assert missing == []


def test_reference_documents_every_public_name() -> None:
    """Every name of ``boxjwt.__all__`` is named in the reference. In ``boxjwt.testing`` and
    ``boxjwt.exceptions``, ``automodule :members:`` documents the classes and functions; other
    values (constants, type aliases) need their own ``autodata``."""
    reference = _text("reference-api.md", "reference-exceptions.md")
    expected = [f"boxjwt.{name}" for name in boxjwt.__all__]
    # boxjwt.stores re-exports the in-memory store and the protocol (documented at the top).
    expected += [f"boxjwt.stores.{n}" for n in boxjwt.stores.__all__ if n not in boxjwt.__all__]
    expected += ["boxjwt.integrations.boxsdk"]
    expected += [f"boxjwt.aio.{name}" for name in boxjwt.aio.__all__]
    for module in (boxjwt.testing, boxjwt.exceptions):
        assert re.search(rf"automodule:: {module.__name__}\n   :members:", reference)
        expected += [
            f"{module.__name__}.{name}"
            for name in module.__all__
            if not inspect.isclass(getattr(module, name))
            and not inspect.isfunction(getattr(module, name))
        ]
    missing = [name for name in expected if not re.search(rf"{re.escape(name)}\b", reference)]
    assert missing == []


def test_cli_reference_lists_every_option_subcommand_and_scenario() -> None:
    page = _text("reference-cli.md")
    parser = _build_parser()
    subparsers = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    options = [s for a in parser._actions for s in a.option_strings]
    for name, subparser in subparsers.choices.items():
        assert f"boxjwt {name}" in page
        options += [s for a in subparser._actions for s in a.option_strings]
    missing = [option for option in options if f"`{option}" not in page]
    assert missing == []
    assert [name for name in SCENARIOS if f"`{name}`" not in page] == []
    for status in ("0", "1", "2"):
        assert f"`{status}`" in page


def test_preflight_json_reference_example_matches_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    page = _text("reference-preflight-json.md")
    assert "preflight-report.schema.json" in page
    examples = [b for b in blocks(page) if b.language == "json"]
    assert examples
    schema = json.loads(
        (ROOT / "src" / "boxjwt" / "preflight" / "preflight-report.schema.json").read_text(
            encoding="utf-8"
        )
    )
    for example in examples:
        jsonschema.validate(json.loads(example.code), schema)
