"""A value that never shows itself by accident."""

from __future__ import annotations

import hmac
from typing import Any, NoReturn

__all__ = ["Secret"]

_MASK = "**********"


class Secret:
    """Holds a secret string: ``repr``, ``str`` and every format spec show a mask.

    Call :meth:`reveal` at the one place the value is really needed. Equality with another
    ``Secret`` is constant-time; a ``Secret`` never equals a plain ``str`` (so a secret cannot be
    probed by comparison). Pickling is refused: use ``reveal()`` explicitly to persist.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        elif not isinstance(value, str):
            raise TypeError("Secret holds a str")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """Return the secret value. Keep the result out of logs and messages."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, format_spec: str) -> str:
        return format(_MASK, format_spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled; store secret.reveal() deliberately")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self
