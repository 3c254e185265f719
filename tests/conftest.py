"""Shared test configuration.

Hypothesis profiles: ``ci`` (at least 1,000 examples per property) and ``dev`` (fewer, for quick
local runs), chosen by the ``HYPOTHESIS_PROFILE`` environment variable (``dev`` by default; the
nox ``tests`` session sets ``ci`` when ``$CI`` is set). Properties keep each example cheap.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# The boxjwt pytest plugin (box_emulator, box_keyfile fixtures), loaded here rather than through
# its entry point (pyproject passes "-p no:boxjwt") so that coverage sees boxjwt's imports.
pytest_plugins = ["boxjwt.testing.pytest_plugin"]

# tests/fidelity runs the emulator against the official Box SDK; only `nox -s fidelity` (which
# installs boxsdk and sets BOXJWT_FIDELITY=1) collects it.
collect_ignore = [] if os.environ.get("BOXJWT_FIDELITY") else ["fidelity"]
