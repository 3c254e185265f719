"""The hot path's shortcuts give what the general code gives: paths resolved without parsing,
Box origins recognised by prefix, cheap copies of requests and headers, the rate limiter's
full-rate path (see tests/test_session.py and tests/test_ratelimit.py for the behaviour)."""

from __future__ import annotations

import pytest
import requests

from boxjwt import AsUserSession, JWTAuthenticator, KeyFile, RateLimit, RateLimiter, RatePolicy
from boxjwt._routing import box_heads, origin, resolve_box_url
from boxjwt._session import _copy, _copy_headers
from boxjwt.testing import FakeClock

BASE = "http://127.0.0.1:8080"
UPLOAD = "http://127.0.0.1:8080/api/2.0"
ORIGINS = frozenset(o for o in (origin(BASE), origin(UPLOAD)) if o is not None)

PATHS = [
    "/2.0/users/me",
    "/2.0/folders/0?fields=id,name#top",
    "/api/2.0",
    "/api/2.0?x=1",
    "/api/2.0#frag",
    "/api/2.0/files/content",
    "/api/2.0x/files",
    "/api/2.",
    "/",
]


@pytest.mark.parametrize("path", PATHS)
def test_a_path_resolves_as_the_parsing_route_resolves_it(path: str) -> None:
    fast = resolve_box_url(path, BASE, UPLOAD, ORIGINS)
    # a tab anywhere sends the same path down the parsing route (urlsplit drops tabs)
    slow = resolve_box_url(path + "\t", BASE, UPLOAD, ORIGINS)
    assert (slow[0].replace("\t", ""), slow[1]) == fast
    assert fast[1]


def test_box_heads_are_the_origins_of_base_and_upload_urls() -> None:
    assert box_heads(BASE, UPLOAD) == ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/")
    assert box_heads("https://api.box.com", "https://upload.box.com/api/2.0") == (
        "https://api.box.com/",
        "https://upload.box.com/",
    )


def test_the_request_copy_is_shallow_and_keeps_subclasses() -> None:
    class Mine(requests.Request):
        pass

    original = requests.Request("GET", "/2.0/users/me", headers={"X": "1"})
    copied = _copy(original)
    assert type(copied) is requests.Request
    assert copied is not original
    assert copied.__dict__ == original.__dict__
    copied.url = "elsewhere"
    assert original.url == "/2.0/users/me"
    subclassed = _copy(Mine("GET", "/x"))
    assert type(subclassed) is Mine


def test_header_copies_are_independent(keyfile: KeyFile, clock: FakeClock) -> None:
    session = requests.Session()
    copied = _copy_headers(session.headers)
    copied["X-New"] = "1"
    assert "X-New" not in session.headers
    assert copied["user-agent"] == session.headers["User-Agent"]
    plain = {"X-Plain": "1"}
    assert _copy_headers(plain) == plain
    assert _copy_headers(plain) is not plain
    root = AsUserSession(JWTAuthenticator(keyfile, clock=clock))
    root.headers = plain  # type: ignore[assignment]  # a dict of the caller's: copied as is
    sibling = root.for_user("123")
    assert sibling.headers == plain
    assert sibling.headers is not plain


def test_search_with_its_enterprise_limits_after_429s() -> None:
    """The slow path of the schedule (a rate lowered by 429s) keeps the enterprise limits."""
    now = [0.0]
    limiter = RateLimiter(
        RatePolicy(search=RateLimit(100, 1.0), enterprise_search=RateLimit(1, 1.0)),
        clock=lambda: now[0],
        sleep=lambda seconds: None,
    )
    limiter.on_429("u1", "search", 0)
    limiter.on_429("u1", "search", 0)  # a second fresh 429: the rate is lowered
    assert limiter.rate_factor("u1", "search") < 1.0
    first = limiter.reserve("u1", "search", enterprise="e")
    second = limiter.reserve("u2", "search", enterprise="e")
    assert first.delay == 0.0
    assert second.delay == pytest.approx(1.0)  # the enterprise's 1 per second
