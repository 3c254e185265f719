"""Scopes: the app's console scopes, the OAuth scopes its tokens carry, what downscoping keeps.

The Developer Console scopes are modelled under short names (:data:`ALL_SCOPES`). A token of
an app carries Box's OAuth scope strings for them (:data:`TOKEN_SCOPES`, the mapping is
*(unconfirmed)* beyond Box's documented names), and any of those may be requested in a token
exchange (downscoping); a scope the subject token does not carry is refused. A downscoped
token reaches an endpoint when one of its scopes satisfies the endpoint's console scope
(:data:`SATISFIES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = ["ALL_SCOPES", "SATISFIES", "TOKEN_SCOPES", "api_scopes", "token_scopes"]

ALL_SCOPES: Final[frozenset[str]] = frozenset(
    {"read", "write", "manage_users", "manage_groups", "manage_enterprise_properties"}
)
"""The application scopes the emulator models (Developer Console names, snake_case)."""

TOKEN_SCOPES: Final[dict[str, frozenset[str]]] = {
    "read": frozenset(
        {
            "root_readonly",
            "item_read",
            "item_preview",
            "item_download",
            "item_comment",
            "base_explorer",
            "base_picker",
            "base_preview",
            "base_sidebar",
            "annotation_view_self",
            "annotation_view_all",
            "ai.readwrite",
        }
    ),
    "write": frozenset(
        {
            "root_readwrite",
            "item_upload",
            "base_upload",
            "item_rename",
            "item_delete",
            "item_share",
            "annotation_edit",
        }
    ),
    "manage_users": frozenset({"manage_managed_users", "manage_app_users"}),
    "manage_groups": frozenset({"manage_groups"}),
    "manage_enterprise_properties": frozenset({"manage_enterprise_properties", "admin_readwrite"}),
}
"""The OAuth scopes a token carries for each console scope (besides the console name itself)."""

SATISFIES: Final[dict[str, frozenset[str]]] = {
    "read": frozenset(
        {
            "read",
            "root_readonly",
            "root_readwrite",
            "item_read",
            "item_preview",
            "item_download",
            "base_explorer",
            "base_picker",
            "base_preview",
            "base_sidebar",
        }
    ),
    "write": frozenset({"write", "root_readwrite", "item_upload", "base_upload"}),
    "manage_users": frozenset({"manage_users", "manage_managed_users", "manage_app_users"}),
    "manage_groups": frozenset({"manage_groups"}),
    "manage_enterprise_properties": frozenset({"manage_enterprise_properties", "admin_readwrite"}),
}
"""Which downscoped scopes let a token reach endpoints needing each console scope."""


def token_scopes(app_scopes: Iterable[str]) -> frozenset[str]:
    """Every OAuth scope a (not downscoped) token of an app with ``app_scopes`` carries."""
    held: set[str] = set()
    for scope in app_scopes:
        held.add(scope)
        held |= TOKEN_SCOPES.get(scope, frozenset())
    return frozenset(held)


def api_scopes(app_scopes: frozenset[str], restricted: frozenset[str] | None) -> frozenset[str]:
    """The console scopes a token acts with: the app's, narrowed by a downscope."""
    if restricted is None:
        return app_scopes
    return frozenset(s for s in app_scopes if restricted & SATISFIES.get(s, frozenset()))
