"""The content of the emulated enterprise (files, groups) and small value helpers."""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

__all__ = [
    "ALNUM",
    "ALNUM_LOWER",
    "EmulatedFile",
    "EmulatedGroup",
    "iso_time",
    "random_string",
]

ALNUM_LOWER: Final = string.ascii_lowercase + string.digits
ALNUM: Final = string.ascii_letters + string.digits


def random_string(length: int, alphabet: str = ALNUM) -> str:
    """``length`` characters from ``alphabet``, from a CSPRNG."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def iso_time(timestamp: float) -> str:
    """Box's timestamp format: ``2026-01-01T00:00:00-00:00``."""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%S-00:00")


@dataclass(eq=False)
class EmulatedFile:
    """A file in a root folder. ``owner_id=None``: present in every user's root folder."""

    id: str
    name: str
    content: bytes
    owner_id: str | None = None
    parent_id: str = "0"
    created_at: str = "2024-01-01T00:00:00-00:00"

    def to_json(self, fields: list[str] | None = None) -> dict[str, Any]:
        """The Box file object (``fields`` as for users)."""
        full: dict[str, Any] = {
            "type": "file",
            "id": self.id,
            "etag": "0",
            "sequence_id": "0",
            "name": self.name,
            "size": len(self.content),
            "sha1": _sha1(self.content),
            "created_at": self.created_at,
            "modified_at": self.created_at,
            "parent": {"type": "folder", "id": self.parent_id, "name": "All Files"},
            "item_status": "active",
            "file_version": {"type": "file_version", "id": self.id, "sha1": _sha1(self.content)},
        }
        if fields is None:
            return full
        out = {"type": "file", "id": self.id, "etag": "0"}
        out.update({k: full[k] for k in fields if k in full})
        return out


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


@dataclass(eq=False)
class EmulatedGroup:
    """A group of the enterprise."""

    id: str
    name: str

    def to_json(self) -> dict[str, str]:
        """The Box mini group object."""
        return {"type": "group", "id": self.id, "name": self.name, "group_type": "managed_group"}
