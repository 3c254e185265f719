"""Secret: the value never shows by accident, and is there when asked for."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boxjwt import Secret


def test_reveal_returns_the_value() -> None:
    assert Secret("hunter2").reveal() == "hunter2"


def test_repr_str_and_format_are_masked() -> None:
    s = Secret("hunter2")
    shown = [repr(s), str(s), f"{s}", f"{s!r}", f"{s:>20}", "%s %r" % (s, s), format(s, "")]  # noqa: UP031
    assert all("hunter2" not in text for text in shown)
    assert str(s) == "**********"
    assert repr(s) == "Secret('**********')"
    assert f"{s:>12}" == "  **********"


def test_secret_of_secret_unwraps() -> None:
    assert Secret(Secret("x")).reveal() == "x"  # type: ignore[arg-type]


def test_only_str_is_accepted() -> None:
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_truthiness_follows_the_value() -> None:
    assert Secret("x")
    assert not Secret("")


def test_equality_is_between_secrets_only() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"  # a secret cannot be probed by comparing with a str
    assert hash(Secret("a")) == hash(Secret("a"))
    assert len({Secret("a"), Secret("a"), Secret("b")}) == 2


def test_immutable() -> None:
    s = Secret("a")
    with pytest.raises(AttributeError):
        s._value = "b"
    assert s.reveal() == "a"


def test_pickle_is_refused_but_copy_works() -> None:
    s = Secret("a")
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(s)
    assert copy.copy(s) is s
    assert copy.deepcopy({"k": s})["k"] is s


@given(st.text(min_size=1))
def test_no_value_ever_shows(text: str) -> None:
    value = "Zq9~" + text  # unique, so it cannot occur in a mask or a container's repr by chance
    s = Secret(value)
    for shown in (repr(s), str(s), f"{s}", f"{s:^40}", repr([s]), repr({"k": s})):
        assert value not in shown
    assert s.reveal() == value
