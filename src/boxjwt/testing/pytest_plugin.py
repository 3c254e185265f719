"""pytest fixtures for code that talks to Box: a local emulator and a key file for it.

Registered automatically (``pytest11`` entry point ``boxjwt``) once boxjwt is installed;
disable with ``-p no:boxjwt``. Fixtures (all function-scoped, so every test gets a fresh Box):

``box_emulator``
    A started :class:`~boxjwt.testing.BoxEmulator` (real HTTP on ``127.0.0.1``, ephemeral
    port, real clock), stopped after the test. Point your code at ``box_emulator.base_url``.
``box_emulated_keyfile``
    An :class:`~boxjwt.testing.EmulatedKeyFile` for a fully configured app of
    ``box_emulator``, written to ``tmp_path / "box_config.json"`` (mode 0600). Toggle the
    app's settings through ``box_emulated_keyfile.app``.
``box_keyfile``
    The same key file loaded as a :class:`boxjwt.KeyFile`.

::

    def test_migration(box_emulator, box_keyfile):
        auth = boxjwt.JWTAuthenticator(box_keyfile, base_url=box_emulator.base_url)
        run_migration(auth)
        assert box_emulator.token_requests(subject_type="enterprise") == 1
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from boxjwt._keyfile import KeyFile
    from boxjwt.testing._emulator import BoxEmulator
    from boxjwt.testing._keyfiles import EmulatedKeyFile

__all__ = ["box_emulated_keyfile", "box_emulator", "box_keyfile"]


@pytest.fixture
def box_emulator() -> Iterator[BoxEmulator]:
    """A started :class:`~boxjwt.testing.BoxEmulator`, stopped after the test."""
    from boxjwt.testing._emulator import BoxEmulator  # noqa: PLC0415 - keep plugin import light

    with BoxEmulator() as emulator:
        yield emulator


@pytest.fixture
def box_emulated_keyfile(box_emulator: BoxEmulator, tmp_path: pathlib.Path) -> EmulatedKeyFile:
    """A fully configured app's key.json (Box's format), written under ``tmp_path``."""
    return box_emulator.make_keyfile(tmp_path / "box_config.json")


@pytest.fixture
def box_keyfile(box_emulated_keyfile: EmulatedKeyFile) -> KeyFile:
    """``box_emulated_keyfile`` loaded as a :class:`boxjwt.KeyFile`."""
    return box_emulated_keyfile.load()
