"""boxjwt: Box.com JWT server authentication for migration software.

Public names are re-exported here; everything in a module whose name starts with ``_`` is private.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from boxjwt import exceptions
from boxjwt._secret import Secret
from boxjwt.exceptions import BoxJWTError

try:
    __version__ = version("boxjwt")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "BoxJWTError",
    "Secret",
    "__version__",
    "exceptions",
]
