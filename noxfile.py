"""Every check CI runs. ``nox`` runs the default set (the README's test command)."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import tomllib

import nox

ROOT = pathlib.Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
if os.environ.get("CI"):
    # CI uses the interpreters on PATH (.ci/run puts pyenv's 3.11, 3.12 and 3.13 there) and fails
    # when one is missing rather than downloading one.
    nox.options.download_python = "never"
nox.options.sessions = [
    "lint",
    "typing",
    "tests",
    "lowest",
    "packaging",
    "docs",
    "bench_quick",
]

# Every Python the package claims (its trove classifiers): the test suite runs on each of them.
PYTHONS = nox.project.python_versions(PYPROJECT)
# The oldest claimed Python (the floor users get): sessions that need just one interpreter run on
# it, and so does the coverage-gated test run.
PYTHON = PYTHONS[0]


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typing(session: nox.Session) -> None:
    """mypy --strict over the package and the public-API typing test, for every claimed Python.

    One environment checks each version with ``--python-version``: mypy then reads the standard
    library's stubs and every ``sys.version_info`` check as that version would (the installed
    dependencies are the same for all three). Ruff needs no such loop: its rules do not depend on
    the interpreter it runs on.
    """
    session.install("-e", ".[redis,async]", *_group("typing"))
    for version in PYTHONS:
        session.run("mypy", "--python-version", version, "src", "tests/typing")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite on every claimed Python, the official SDK included; lists the slowest tests.

    On the oldest Python under branch coverage (95% gate) and, in CI, with the ``ci`` Hypothesis
    profile (1,000 examples per property); on the others without coverage (it would only measure
    the same lines again), with the ``dev`` profile (100 examples: enough to catch what differs
    between interpreters) and a pytest-xdist worker per core: that keeps CI well under 20 minutes
    on 2 cores, since much of the suite waits on sockets and scaled clocks. With boxsdk
    installed, tests/integrations (our adapter) and tests/fidelity (the SDK's own JWT auth against
    the emulator) run too; the environment variables turn a skip into a failure.
    """
    session.install("-e", ".[redis,boxsdk,async]", *_group("test"))
    coverage = []
    parallel = ["-n", "auto"]  # pytest-xdist: a worker per core
    profile = "dev"
    if session.python == PYTHON:
        profile = "ci" if os.environ.get("CI") else "dev"
        session.run("coverage", "erase")
        parallel = []  # the reference run: one process, as a user's pytest runs it
        coverage = [
            "--cov=boxjwt",
            "--cov-branch",
            "--cov-report=term-missing:skip-covered",
            "--cov-fail-under=95",
        ]
    session.run(
        "pytest",
        *coverage,
        *parallel,
        "--durations=15",
        *session.posargs,
        env={
            "HYPOTHESIS_PROFILE": profile,
            "BOXJWT_REQUIRE_BOXSDK": "1",
            "BOXJWT_FIDELITY": "1",
        },
    )


def _lower_bounds() -> list[str]:
    """``name==version`` for every ``>=`` lower bound of the runtime dependencies and of the
    extras the tests use (``async``: httpx)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    pins = []
    for req in [*project["dependencies"], *project["optional-dependencies"]["async"]]:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,;\s]*)\s*", req)
        if not m:
            raise RuntimeError(f"dependency without a plain lower bound: {req!r}")
        pins.append(f"{m.group(1)}=={m.group(2)}")
    return pins


@nox.session(python=PYTHON)
def lowest(session: nox.Session) -> None:
    """The test suite against the lowest dependency versions pyproject.toml admits."""
    pins = _lower_bounds()
    constraints = pathlib.Path(session.create_tmp()) / "lowest.txt"
    constraints.write_text("\n".join(pins) + "\n")
    session.install("-e", ".[redis,async]", *_group("test"), "-c", str(constraints))
    session.run(
        "python",
        "-c",
        "import cryptography, jwt, requests, attrs, tenacity, httpx; "
        "print('lowest:', cryptography.__version__, jwt.__version__, "
        "requests.__version__, attrs.__version__, httpx.__version__)",
    )
    session.run(
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        "-n",
        "auto",
        *session.posargs,
        env={"HYPOTHESIS_PROFILE": "dev"},
    )


@nox.session(python=PYTHON)
def packaging(session: nox.Session) -> None:
    """Build the sdist and wheel and check both."""
    session.install(*_group("packaging"))
    dist = pathlib.Path(session.create_tmp()) / "dist"
    session.run("python", "-m", "build", "--installer=uv", "--outdir", str(dist))
    files = sorted(str(p) for p in dist.iterdir())
    session.run("twine", "check", "--strict", *files)
    session.run("check-wheel-contents", *[f for f in files if f.endswith(".whl")])


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation (Sphinx, furo, MyST) with every warning an error.

    The examples in the pages are executed by tests/test_docs.py in the ``tests`` session.
    """
    session.install(".[redis,async]", *_group("docs"))
    html = pathlib.Path(session.create_tmp()) / "html"
    shutil.rmtree(html, ignore_errors=True)  # a fresh build: Sphinx warns only for what it reads
    session.run("sphinx-build", "-W", "-n", "--keep-going", "-b", "html", "docs", str(html))


# One venv per official SDK for the benchmarks (benchmarks/run.py finds them here too).
BENCH_SDKS = {"boxsdk3": "boxsdk[jwt]>=3.9,<4", "boxsdk10": "boxsdk[jwt]>=10,<11"}


def _bench(
    session: nox.Session,
    *args: str,
    rate_args: tuple[str, ...] = (),
    async_args: tuple[str, ...] = (),
) -> None:
    """Install boxjwt here, make/refresh the SDK venvs, run benchmarks/run.py, then
    benchmarks/rate_limits.py (pacing against the emulator's rate limits) and
    benchmarks/async_vs_threads.py (boxjwt.aio against 32 threads)."""
    session.install("-e", ".[async]")
    if shutil.which("uv") is None:
        session.install("uv")
    pythons = []
    for name, requirement in BENCH_SDKS.items():
        venv = ROOT / ".nox" / f"bench-{name}"
        python = venv / "bin" / "python"
        if not python.exists():
            session.run("uv", "venv", "-q", "--python", PYTHON, str(venv), external=True)
        session.run(
            "uv", "pip", "install", "-q", "--python", str(python), requirement, external=True
        )
        pythons += [f"--python-{name}", str(python)]
    session.run("python", "benchmarks/run.py", *pythons, *args, *session.posargs)
    session.install("redis")  # the fleet's shared limiter
    session.run("python", "benchmarks/rate_limits.py", *pythons, *rate_args)
    # boxjwt.aio against the threaded session; after run.py, which rewrites the rest of the page
    session.run("python", "benchmarks/async_vs_threads.py", *async_args)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Full benchmark vs boxsdk 3.x, boxsdk 10.x and a raw floor; writes docs/performance.md."""
    _bench(
        session,
        "--docs",
        "--command",
        "nox -s bench",
        rate_args=("--docs", "--check", "--command", "nox -s bench"),
        async_args=("--docs", "--check", "--strict", "--command", "nox -s bench"),
    )


@nox.session(python=PYTHON)
def bench_quick(session: nox.Session) -> None:
    """The benchmark harness with small sizes; fails unless boxjwt's token counts are exact."""
    _bench(
        session,
        "--quick",
        "--command",
        "nox -s bench_quick",
        rate_args=("--quick", "--check"),
        async_args=("--quick", "--check"),
    )
