"""Retries and failures of the token exchange, against the emulator's real refusals and faults.

Every wait is recorded by the shared FakeClock's ``sleep`` (which advances the clock the
emulator also reads); nothing sleeps for real.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Callable
from typing import Any

import attrs
import pytest

import authenticator_support as support
from boxjwt import AccessToken, JWTAuthenticator, KeyFile
from boxjwt._assertion import new_jti
from boxjwt._token import MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME
from boxjwt.exceptions import (
    AppNotAuthorizedError,
    AssertionExpError,
    AssertionExpiredError,
    AssertionExpTooFarError,
    GrantTypeUnauthorizedError,
    InvalidClientCredentialsError,
    InvalidGrantTypeError,
    InvalidSubjectError,
    IssuerMismatchError,
    JTIReusedError,
    NoPublicKeyError,
    PublicKeyNotFoundError,
    SignatureMismatchError,
    TokenExchangeError,
    TokenRateLimitedError,
    TokenServerError,
    TransportError,
    UserTokenNotAllowedError,
)
from boxjwt.testing import BoxEmulator, FakeClock
from recording_server import RecordingServer

pytestmark = pytest.mark.shared_emulator  # one emulator for the module (tests/conftest.py)
make_auth = support.make_auth
B = support.expected_backoffs

EXPIRED = "Current date\\/time MUST be before the expiration date\\/time listed in the 'exp' claim"
JTI = "Please check the 'jti' claim. A unique 'jti' value is required."


def oauth_body(description: str, error: str = "invalid_grant") -> dict[str, str]:
    return {"error": error, "error_description": description}


def with_jtis(auth: JWTAuthenticator, *jtis: str) -> JWTAuthenticator:
    """Make the next assertions use ``jtis`` (then fresh random ones again)."""
    source = itertools.chain(jtis, iter(new_jti, None))
    auth._assertions = attrs.evolve(auth._assertions, jti_factory=lambda: next(source))
    return auth


# --------------------------------------------------------------------------- the fault matrix


def push(*args: Any, **kwargs: Any) -> Callable[[BoxEmulator], None]:
    return lambda emu: emu.faults.push("/oauth2/token", *args, **kwargs)


def skew(offset: float) -> Callable[[BoxEmulator], None]:
    def apply(emu: BoxEmulator) -> None:
        emu.clock_offset = offset

    return apply


MATRIX: list[tuple[str, Callable[[BoxEmulator], None], int, list[float]]] = [
    ("429 Retry-After 2", push(429, retry_after=2), 2, [2.0]),
    ("429 without Retry-After", push(429), 2, B(1)),
    ("429 Retry-After over the cap", push(429, retry_after=3600), 2, [60.0]),
    ("500", push(500), 2, B(1)),
    ("502", push(502), 2, B(1)),
    ("503", push(503), 2, B(1)),
    ("503 three times", push(503, count=3), 4, B(3)),
    ("503 Retry-After 4", push(503, retry_after=4), 2, [4.0]),
    ("202 Retry-After 1", push(202, retry_after=1), 2, [1.0]),
    ("dropped connection", push(drop=True), 2, B(1)),
    ("dropped twice", push(drop=True, count=2), 3, B(2)),
    ("clock 5 minutes behind", skew(+300), 2, []),
    ("clock 5 minutes ahead", skew(-300), 2, []),
]


@pytest.mark.parametrize(
    ("fault", "attempts", "waits"),
    [pytest.param(f, a, w, id=name) for name, f, a, w in MATRIX],
)
def test_fault_matrix(
    emu: BoxEmulator,
    keyfile: KeyFile,
    clock: FakeClock,
    *,
    fault: Callable[[BoxEmulator], None],
    attempts: int,
    waits: list[float],
) -> None:
    fault(emu)
    auth = make_auth(keyfile, emu, clock)
    token = auth.enterprise_token()
    assert isinstance(token, AccessToken)
    assert emu.token_requests() == attempts
    assert clock.sleeps == waits
    assert emu.live_token(token.value.reveal()) is not None


def test_replayed_jti_retries_once_with_a_fresh_one(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    reused = "r" * 43
    auth = with_jtis(make_auth(keyfile, emu, clock), reused, reused)
    first = auth.enterprise_token()  # Box now remembers the jti
    auth.invalidate(first)
    second = auth.enterprise_token()  # the same jti again: refused, then a fresh one
    assert second != first
    assert emu.token_requests() == 3
    assert emu.token_requests(status=400) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("offset", [+300.0, -300.0, +3600.0, -45.0])
def test_clock_offset_is_learned_and_remembered(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock, offset: float
) -> None:
    emu.clock_offset = offset
    auth = make_auth(keyfile, emu, clock)
    auth.enterprise_token()
    assert emu.token_requests() == 2
    assert abs(auth.clock_offset - offset) <= 1.0  # Date has 1 s resolution
    assert abs(auth.box_time() - emu.now()) <= 1.0
    # later assertions use Box's time from the start: one request each
    auth.user_token(emu.managed_users[0].id)
    assert emu.token_requests() == 3


def test_small_skew_needs_no_correction(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.clock_offset = 20.0  # exp = now + 30 is still within Box's window
    auth = make_auth(keyfile, emu, clock)
    auth.enterprise_token()
    assert (emu.token_requests(), auth.clock_offset) == (1, 0.0)


def test_skew_retry_happens_once(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    emu.faults.push("/oauth2/token", 400, body=oauth_body(EXPIRED), count=2)
    auth = make_auth(keyfile, emu, clock)
    with pytest.raises(AssertionExpiredError) as info:
        auth.enterprise_token()
    assert emu.token_requests() == 2
    assert info.value.retryable is False
    assert "NTP" in str(info.value)


def test_jti_retry_happens_once(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    emu.faults.push("/oauth2/token", 400, body=oauth_body(JTI), count=2)
    with pytest.raises(JTIReusedError):
        make_auth(keyfile, emu, clock).enterprise_token()
    assert emu.token_requests() == 2


def test_skew_jti_and_5xx_in_one_exchange(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 503)
    emu.faults.push("/oauth2/token", 400, body=oauth_body(JTI))
    emu.clock_offset = -300  # then the real exp check refuses once
    auth = make_auth(keyfile, emu, clock)
    auth.enterprise_token()
    assert emu.token_requests() == 4
    assert clock.sleeps == B(1)
    assert auth.clock_offset < -298


@pytest.mark.parametrize(
    "description",
    [
        "Please check the 'exp' claim.",  # Box's short form (box-java-sdk#404)
        'please check the "exp" claim',
        "Please check the 'exp' claim. Should be an integer",
    ],
)
def test_any_refusal_naming_exp_gets_one_skew_retry(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock, description: str
) -> None:
    emu.clock_offset = 300.0  # Box is 5 minutes ahead; it says so in the short form
    emu.faults.push("/oauth2/token", 400, body=oauth_body(description))
    auth = make_auth(keyfile, emu, clock)
    auth.enterprise_token()
    assert emu.token_requests() == 2
    assert abs(auth.clock_offset - 300.0) <= 1.0
    assert clock.sleeps == []


def test_short_exp_form_twice_is_raised(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 400, body=oauth_body("Please check the 'exp' claim."), count=2)
    with pytest.raises(AssertionExpError) as info:
        make_auth(keyfile, emu, clock).enterprise_token()
    assert type(info.value) is AssertionExpError
    assert emu.token_requests() == 2
    assert info.value.retryable is False
    assert "NTP" in str(info.value)


def test_too_far_twice_is_raised(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    too_far = (
        "Please check the 'exp' claim. The 'exp' value exceeds the maximum value of 60 seconds "
        "beyond the issue time."
    )
    emu.faults.push("/oauth2/token", 400, body=oauth_body(too_far), count=5)
    with pytest.raises(AssertionExpTooFarError):
        make_auth(keyfile, emu, clock).enterprise_token()
    assert emu.token_requests() == 2


def test_exp_error_without_a_date_header_keeps_the_offset(
    keyfile: KeyFile, caplog: pytest.LogCaptureFixture
) -> None:
    auth = JWTAuthenticator(keyfile)
    with caplog.at_level(logging.WARNING, logger="boxjwt"):
        auth._learn_offset(AssertionExpiredError("expired", headers={}))
    assert auth.clock_offset == 0.0
    assert "sent no Date header" in caplog.text


# --------------------------------------------------------------------------- permanent errors


@attrs.frozen
class Ctx:
    """What a permanent-error scenario builds on."""

    emu: BoxEmulator
    keyfile: KeyFile  # the module's shared, healthy key file
    clock: FakeClock

    def auth(self, kf: KeyFile | None = None) -> JWTAuthenticator:
        return make_auth(kf or self.keyfile, self.emu, self.clock)


def _kid_unknown(ctx: Ctx) -> JWTAuthenticator:
    overrides = {"boxAppSettings": {"appAuth": {"publicKeyID": "nosuchk1"}}}
    return ctx.auth(ctx.emu.make_keyfile(config_overrides=overrides).load())


def _wrong_private_key(ctx: Ctx) -> JWTAuthenticator:
    app = ctx.emu.create_app(public_keys=2)
    kid_a, kid_b = list(app.public_keys)
    overrides = {"boxAppSettings": {"appAuth": {"publicKeyID": kid_b}}}
    return ctx.auth(ctx.emu.make_keyfile(app=app, kid=kid_a, config_overrides=overrides).load())


def _no_public_key(ctx: Ctx) -> JWTAuthenticator:
    made = ctx.emu.make_keyfile()
    auth = ctx.auth(made.load())
    assert made.kid is not None
    made.app.remove_public_key(made.kid)
    return auth


def _secret_reset(ctx: Ctx) -> JWTAuthenticator:
    made = ctx.emu.make_keyfile()
    auth = ctx.auth(made.load())
    made.app.reset_client_secret()
    return auth


def _wrong_issuer(ctx: Ctx) -> JWTAuthenticator:
    auth = ctx.auth()
    auth._assertions = attrs.evolve(auth._assertions, client_id="someoneelse")
    return auth


def _app(**kwargs: Any) -> Callable[[Ctx], JWTAuthenticator]:
    return lambda ctx: ctx.auth(ctx.emu.make_keyfile(**kwargs).load())


def _shared(ctx: Ctx) -> JWTAuthenticator:
    return ctx.auth()


def _fault(description: str, error: str = "invalid_grant") -> Callable[[Ctx], JWTAuthenticator]:
    """Causes our client never produces (Box's answer is scripted instead)."""

    def make(ctx: Ctx) -> JWTAuthenticator:
        ctx.emu.faults.push("/oauth2/token", 400, body=oauth_body(description, error))
        return ctx.auth()

    return make


def enterprise(auth: JWTAuthenticator, emu: BoxEmulator) -> AccessToken:
    return auth.enterprise_token()


def managed_user(auth: JWTAuthenticator, emu: BoxEmulator) -> AccessToken:
    return auth.user_token(emu.managed_users[0].id)


def service_account(auth: JWTAuthenticator, emu: BoxEmulator) -> AccessToken:
    app = emu.app_by_client_id(auth.client_id)
    assert app is not None
    return auth.user_token(app.service_account.id)


def stranger(auth: JWTAuthenticator, emu: BoxEmulator) -> AccessToken:
    return auth.user_token("99999999999")


Setup = Callable[[Ctx], JWTAuthenticator]
Ask = Callable[[JWTAuthenticator, BoxEmulator], AccessToken]

PERMANENT: list[tuple[str, Setup, Ask, type[TokenExchangeError]]] = [
    ("app not authorized", _app(authorized=False), enterprise, AppNotAuthorizedError),
    ("client secret reset", _secret_reset, enterprise, InvalidClientCredentialsError),
    ("kid unknown", _kid_unknown, enterprise, PublicKeyNotFoundError),
    ("key does not match kid", _wrong_private_key, enterprise, SignatureMismatchError),
    ("no public key", _no_public_key, enterprise, NoPublicKeyError),
    ("iss mismatch", _wrong_issuer, enterprise, IssuerMismatchError),
    (
        "wrong enterprise ID",
        _app(config_overrides={"enterpriseID": "31415926"}),
        enterprise,
        InvalidSubjectError,
    ),
    ("user outside the enterprise", _shared, stranger, InvalidSubjectError),
    ("user tokens off", _app(user_tokens=False), managed_user, UserTokenNotAllowedError),
    (
        "App Access Only, managed user",
        _app(access_level="app_only"),
        managed_user,
        UserTokenNotAllowedError,
    ),
    ("user token for the service account", _shared, service_account, UserTokenNotAllowedError),
    ("not a JWT app", _app(auth="oauth"), enterprise, GrantTypeUnauthorizedError),
    (
        "wrong host",
        _fault("Invalid grant_type parameter or parameter missing", "invalid_request"),
        enterprise,
        InvalidGrantTypeError,
    ),
]


@pytest.mark.parametrize(
    ("setup", "ask", "expected"),
    [pytest.param(s, a, e, id=name) for name, s, a, e in PERMANENT],
)
def test_permanent_errors_after_exactly_one_request(
    emu: BoxEmulator,
    keyfile: KeyFile,
    clock: FakeClock,
    *,
    setup: Setup,
    ask: Ask,
    expected: type[TokenExchangeError],
) -> None:
    auth = setup(Ctx(emu, keyfile, clock))
    emu.reset_log()
    with pytest.raises(TokenExchangeError) as info:
        ask(auth, emu)
    err = info.value
    assert type(err) is expected
    assert emu.token_requests() == 1
    [record] = emu.records("POST", "/oauth2/token")
    assert err.status_code == 400
    assert err.request_id == record.request_id
    if record.fault is None:  # a real refusal (scripted ones are not analysed by the log)
        assert err.error == record.error
    assert err.error_description
    assert err.retryable is False
    assert expected.remedy
    assert expected.remedy in str(err)
    assert err.error_description.replace("\\/", "/") in str(err)
    assert clock.sleeps == []


def test_redirect_is_never_followed(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    with RecordingServer() as elsewhere:
        emu.faults.push("/oauth2/token", 302, headers={"Location": f"{elsewhere.url}/oauth2/token"})
        with pytest.raises(InvalidGrantTypeError) as info:
            make_auth(keyfile, emu, clock).enterprise_token()
        assert elsewhere.received == []
    assert emu.token_requests() == 1
    assert "127.0.0.1" in str(info.value)
    assert "never follows redirects" in str(info.value)


# --------------------------------------------------------------------------- retry budget


def test_503_forever_gives_up_after_max_attempts(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 503, count=1000)
    auth = make_auth(keyfile, emu, clock)
    start = clock()
    with pytest.raises(TokenServerError) as info:
        auth.enterprise_token()
    assert emu.token_requests() == 6  # 1 + Box SDKs' 5 retries
    assert clock.sleeps == B(5)
    assert clock() - start == pytest.approx(sum(B(5)))
    assert info.value.retryable is True  # transient, but the budget is spent
    assert info.value.status_code == 503


def test_503_forever_gives_up_within_the_time_budget(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 503, count=1000)
    policy = support.seeded_policy(max_attempts=50, max_total_time=20.0)
    auth = make_auth(keyfile, emu, clock, retry=policy)
    with pytest.raises(TokenServerError):
        auth.enterprise_token()
    waits: list[float] = []
    for w in B(50):
        if sum(waits) + w > 20.0:
            break
        waits.append(w)
    assert clock.sleeps == waits
    assert sum(clock.sleeps) <= 20.0
    assert emu.token_requests() == len(waits) + 1 < 50


def test_rate_limit_forever_respects_the_time_budget(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 429, retry_after=50, count=1000)
    with pytest.raises(TokenRateLimitedError) as info:
        make_auth(keyfile, emu, clock).enterprise_token()  # budget: 120 s
    assert clock.sleeps == [50.0, 50.0]
    assert emu.token_requests() == 3
    assert info.value.retry_after == 50.0


def test_connection_drops_forever(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    emu.faults.push("/oauth2/token", drop=True, count=1000)
    with pytest.raises(TransportError) as info:
        make_auth(keyfile, emu, clock).enterprise_token()
    assert emu.token_requests() == 6
    assert clock.sleeps == B(5)
    assert info.value.retryable is True


def test_retries_can_be_disabled(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    emu.faults.push("/oauth2/token", 503)
    policy = support.seeded_policy(max_attempts=1)
    with pytest.raises(TokenServerError):
        make_auth(keyfile, emu, clock, retry=policy).enterprise_token()
    assert (emu.token_requests(), clock.sleeps) == (1, [])


def test_revoke_and_downscope_retry_too(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock)
    token = auth.enterprise_token()
    emu.faults.push("/oauth2/token", 502)
    auth.downscope(token, ["item_preview"])
    emu.faults.push("/oauth2/revoke", 429, retry_after=1)
    auth.revoke(token)
    assert emu.count("POST", "/oauth2/revoke") == 2
    assert emu.token_requests() == 3
    assert clock.sleeps == [*B(1), 1.0]


# --------------------------------------------------------------------------- hostile expires_in
# Issue 13 item 9: a token answer's expires_in must be a finite number, and is clamped to
# [MIN_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME]. The answers are served verbatim by the emulator's
# fault plan, around a real token it minted.


def hostile_answer(emu: BoxEmulator, expires_in: str) -> bytes:
    token = emu.issue_token()
    return f'{{"access_token": "{token}", "expires_in": {expires_in}}}'.encode()


@pytest.mark.parametrize(
    "expires_in",
    ["Infinity", "-Infinity", "NaN", "1e400", "1" + "0" * 400, "-5", "0", '"3600"', "null"],
)
def test_a_lifetime_that_is_not_a_finite_positive_number_is_refused(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock, expires_in: str
) -> None:
    emu.faults.push("/oauth2/token", 200, body=hostile_answer(emu, expires_in))
    auth = make_auth(keyfile, emu, clock)
    token = auth.enterprise_token()  # the unreadable answer is retried like a 5xx
    assert token.lifetime == support.DEFAULT_EXPIRES_IN
    assert emu.token_requests() == 2
    assert clock.sleeps == B(1)


def test_a_refused_lifetime_is_a_token_server_error_without_the_token(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    body = hostile_answer(emu, "Infinity")
    emu.faults.push("/oauth2/token", 200, body=body)
    auth = make_auth(keyfile, emu, clock, retry=support.seeded_policy(max_attempts=1))
    with pytest.raises(TokenServerError, match="not a finite number") as info:
        auth.enterprise_token()
    value = json.loads(body.decode().replace("Infinity", "0"))["access_token"]
    assert value not in str(info.value)
    assert value not in (info.value.body or "")


@pytest.mark.parametrize(
    ("expires_in", "believed"),
    [
        ("1e300", MAX_TOKEN_LIFETIME),
        ("100000", MAX_TOKEN_LIFETIME),
        ("0.001", MIN_TOKEN_LIFETIME),
        ("1", MIN_TOKEN_LIFETIME),
        ("3600.5", 3600.5),
    ],
)
def test_a_lifetime_out_of_range_is_clamped(
    emu: BoxEmulator,
    keyfile: KeyFile,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    *,
    expires_in: str,
    believed: float,
) -> None:
    emu.faults.push("/oauth2/token", 200, body=hostile_answer(emu, expires_in))
    auth = make_auth(keyfile, emu, clock)
    with caplog.at_level(logging.WARNING, logger="boxjwt"):
        token = auth.enterprise_token()
    assert token.lifetime == believed
    assert emu.token_requests() == 1
    clamped = [r for r in caplog.records if "using" in r.getMessage()]
    assert len(clamped) == (0 if believed == 3600.5 else 1)


def test_a_tiny_lifetime_does_not_force_an_exchange_per_call(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 200, body=hostile_answer(emu, "0.001"), count=100)
    auth = make_auth(keyfile, emu, clock)
    for _ in range(100):  # 100 calls over 10 s
        auth.enterprise_token()
        clock.advance(0.1)
    # fresh for half of MIN_TOKEN_LIFETIME (the refresh margin is at most half a lifetime)
    assert emu.token_requests() == math.ceil(10 / (MIN_TOKEN_LIFETIME / 2))


def test_a_huge_lifetime_does_not_keep_a_token_forever(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 200, body=hostile_answer(emu, "1e300"))
    auth = make_auth(keyfile, emu, clock)
    first = auth.enterprise_token()
    clock.advance(MAX_TOKEN_LIFETIME)
    assert auth.enterprise_token() is not first
    assert emu.token_requests() == 2
