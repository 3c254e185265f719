"""Up-front validation of URLs, Box IDs and timeouts (boxjwt._validate), through the public API.

Every hostile or mistyped value is a ConfigurationError raised before any request, never a
ValueError from urllib.parse or int->str, and never a URL's credentials repeated back.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import boxjwt
from boxjwt import AsUserSession, BoxAuth, JWTAuthenticator, KeyFile
from boxjwt._validate import (
    MAX_ID_DIGITS,
    describe,
    is_loopback_host,
    validate_number,
    validate_timeout,
    validate_url,
    validate_user_id,
)
from boxjwt.exceptions import BoxJWTError, ConfigurationError
from boxjwt.testing import BoxEmulator

pytestmark = pytest.mark.shared_emulator  # one emulator for the module (tests/conftest.py)


@pytest.fixture
def auth(keyfile: KeyFile, emu: BoxEmulator) -> Iterator[JWTAuthenticator]:
    with JWTAuthenticator(keyfile, base_url=emu.base_url) as authenticator:
        yield authenticator


# --------------------------------------------------------------------------- base URLs


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://localhost:1/",
        "http://LOCALHOST",
        "http://[::1]:9000",
        "https://api.box.com",
        "https://API.box.com.",
        "https://proxy.example/box/",
        "https://10.0.0.1:443",
        "https://[2001:db8::1]:8443",
        "https://box_emulator:8443",
        "  https://api.box.com/  ",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert validate_url("base_url", url) == url.strip().rstrip("/")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://api.box.com", "plain http:// to a host that is not this machine"),
        ("http://10.0.0.5:8080", "plain http://"),
        ("http://127.0.0.1.evil.example", "plain http://"),
        ("http://[::2]", "plain http://"),
        ("http://[::1", "not a valid URL"),
        ("https://api.box.com:99999", "not a valid URL"),
        ("https://api.box.com:0", "empty or zero port"),
        ("https://api.box.com:", "empty or zero port"),
        ("https://api.box.com:http", "not a valid URL"),
        ("https://api.box.com\\@evil.example", "backslash"),
        ("https://api.box.com/\\x", "backslash"),
        ("https://api.box.com/a b", "character ' '"),
        ("https://api.box.com/\x00", "character"),
        ("https://api.box.com/\x7f", "character"),
        ("https://api.bóx.com", "ASCII"),
        ("https://api.box.com/#frag", "fragment"),
        ("https://api.box.com/?", "query string"),
        ("https://", "http\\(s\\) URL"),
        ("https://-bad.example", "no valid host"),
        ("https://a%62.example", "no valid host"),
        ("https://[::zz]", "not a valid URL|no valid host"),
        ("https://[v1.fe]", "no valid host"),  # IPvFuture: urllib accepts it, urllib3 not
        ("https://:443", "no valid host"),
        ("https://" + "a" * 3000 + ".example", "characters long"),
        ("file:///etc/passwd", "http\\(s\\) URL"),
    ],
)
def test_refused_urls(url: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        validate_url("base_url", url)


def test_userinfo_is_refused_and_never_repeated(keyfile: KeyFile) -> None:
    for url in (
        "https://user:hunter2-pass@api.box.com",
        "https://hunter2-pass@127.0.0.1:1/x",
        "http://user:hunter2-pass@localhost",
    ):
        with pytest.raises(ConfigurationError, match="user name or password") as info:
            JWTAuthenticator(keyfile, base_url=url)
        assert "hunter2-pass" not in str(info.value)
        assert "***@" in str(info.value)
    with pytest.raises(ConfigurationError) as bad:
        JWTAuthenticator(keyfile, base_url="http://user:hunter2-pass@[::1")
    assert "hunter2-pass" not in str(bad.value)


def test_plain_http_to_a_remote_host_is_refused_everywhere(keyfile: KeyFile) -> None:
    with pytest.raises(ConfigurationError, match="unencrypted"):
        JWTAuthenticator(keyfile, base_url="http://box.internal:8080")
    with pytest.raises(ConfigurationError, match="upload_url"):
        JWTAuthenticator(keyfile, upload_url="http://upload.box.com/api/2.0")


def test_malformed_base_url_is_a_configuration_error(keyfile: KeyFile) -> None:
    """Regression: ``http://[::1`` used to escape as a bare ValueError from urllib.parse."""
    with pytest.raises(ConfigurationError, match="not a valid URL"):
        JWTAuthenticator(keyfile, base_url="http://[::1")
    with pytest.raises(ConfigurationError, match="not a valid URL"):
        JWTAuthenticator(keyfile, base_url="https://api.box.com:99999")


@given(st.text(max_size=60))
def test_any_text_is_a_url_or_a_configuration_error(text: str) -> None:
    for candidate in (text, f"https://{text}", f"http://127.0.0.1{text}"):
        with contextlib.suppress(ConfigurationError):
            validate_url("base_url", candidate)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("localhost.", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("[::1]", True),
        ("::1", True),
        ("128.0.0.1", False),
        ("localhost.example", False),
        ("", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


# --------------------------------------------------------------------------- user IDs


def test_user_ids_accepted() -> None:
    assert validate_user_id("12345") == "12345"
    assert validate_user_id(12345) == "12345"
    longest = "9" * MAX_ID_DIGITS
    assert validate_user_id(longest) == longest
    assert validate_user_id(int(longest)) == longest


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12a",
        "-5",
        " 1",
        "\u0661\u0662",  # Arabic-Indic digits: isdigit() but not ASCII
        "1" * (MAX_ID_DIGITS + 1),
        "1" * 100_000,
        0,
        -1,
        10**MAX_ID_DIGITS,
        10**5000,
        -(10**5000),
        True,
        None,
        1.0,
        b"123",
    ],
    ids=lambda value: type(value).__name__,
)
def test_user_ids_refused(value: object) -> None:
    with pytest.raises(ConfigurationError, match="Box user ID") as info:
        validate_user_id(value)
    assert len(str(info.value)) < 300


def test_huge_int_user_id_is_a_configuration_error(auth: JWTAuthenticator) -> None:
    """Regression: ``for_user(10**5000)`` raised ValueError (Python's int->str digit limit)."""
    with AsUserSession(auth) as root:
        with pytest.raises(ConfigurationError, match="more than 32 digits"):
            root.for_user(10**5000)
        with pytest.raises(ConfigurationError):
            AsUserSession(auth, 10**5000)
    with pytest.raises(ConfigurationError):
        BoxAuth(auth, 10**5000)
    with pytest.raises(ConfigurationError):
        BoxAuth(auth, as_user=10**5000)


def test_long_digit_string_user_id_is_refused_before_any_request(
    auth: JWTAuthenticator, emu: BoxEmulator
) -> None:
    """Regression: a 100,000-digit ID was accepted and went into the JWT and the logs."""
    before = len(emu.request_log)
    with pytest.raises(ConfigurationError) as info:
        auth.user_token("7" * 100_000)
    assert len(str(info.value)) < 300
    with pytest.raises(ConfigurationError):
        AsUserSession(auth).for_user("7" * (MAX_ID_DIGITS + 1))
    assert len(emu.request_log) == before


# --------------------------------------------------------------------------- numbers, timeouts


@pytest.mark.parametrize(
    "value",
    [math.inf, -math.inf, math.nan, 10**400, "1", None, True, (1,), [1, 2], (1, 2, 3)],
    ids=lambda value: type(value).__name__,
)
def test_refused_timeouts(value: object, keyfile: KeyFile) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        validate_timeout(value)
    with pytest.raises(ConfigurationError, match="timeout"):
        JWTAuthenticator(keyfile, timeout=value)  # type: ignore[arg-type]


def test_timeouts_accepted() -> None:
    assert validate_timeout(5) == 5.0
    assert validate_timeout((1, 2.5)) == (1.0, 2.5)
    assert validate_timeout(86_400) == 86_400.0
    with pytest.raises(ConfigurationError, match=r"<= 86400"):
        validate_timeout(86_401)
    with pytest.raises(ConfigurationError, match=r"read_timeout\[1\]"):
        validate_timeout((1, 0), "read_timeout")


def test_validate_number() -> None:
    assert validate_number("n", 3) == 3.0
    assert validate_number("n", 0) == 0.0
    with pytest.raises(ConfigurationError, match="n must be a finite number >= 1"):
        validate_number("n", 0, minimum=1)
    with pytest.raises(ConfigurationError, match="must be a number, not 'x'"):
        validate_number("n", "x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "None"),
        (True, "True"),
        (12, "12"),
        (1.5, "1.5"),
        ("ab", "'ab'"),
        (10**5000, "an integer of more than 32 digits"),
        ("x" * 100, "... (100 characters)"),
        (b"x", "a bytes"),
        (object(), "a object"),
    ],
    ids=lambda value: type(value).__name__,
)
def test_describe(value: Any, expected: str) -> None:
    assert expected in describe(value)


def test_every_refusal_is_a_boxjwt_error() -> None:
    assert issubclass(ConfigurationError, BoxJWTError)


@pytest.mark.parametrize(
    "probe_user",
    [10**5000, 0, "7" * 100_000, "7" * (MAX_ID_DIGITS + 1), "x" * 321 + "@example.com", 1.5],
    ids=["huge-int", "zero", "100000-digits", "33-digits", "long-login", "float"],
)
def test_preflight_probe_user_is_validated_up_front(
    keyfile: KeyFile, emu: BoxEmulator, probe_user: object
) -> None:
    """Regression: ``preflight(probe_user=10**5000)`` raised ValueError (int->str limit), and a
    100,000-digit probe user was accepted and sent to Box."""
    before = len(emu.request_log)
    with pytest.raises(ConfigurationError, match=r"probe_user|Box user ID") as info:
        boxjwt.preflight(keyfile, base_url=emu.base_url, probe_user=probe_user)
    assert len(str(info.value)) < 300
    assert len(emu.request_log) == before
