"""The assertion: Box's claim rules (box-facts §2), checked by verifying real signatures."""

from __future__ import annotations

import math
import re

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from hypothesis import given
from hypothesis import strategies as st

from boxjwt._assertion import (
    ALGORITHMS,
    AUDIENCE,
    MAX_ASSERTION_LIFETIME,
    AssertionBuilder,
    assertion_claims,
    new_jti,
)
from boxjwt.exceptions import ConfigurationError
from boxjwt.testing._keys import generate_rsa_key

NOW = 1_767_225_600.25


@pytest.fixture(scope="module")
def key() -> RSAPrivateKey:
    return generate_rsa_key(cached=True)


def builder(key: RSAPrivateKey, **kwargs: object) -> AssertionBuilder:
    return AssertionBuilder(
        client_id="client-abc",
        public_key_id="kid123",
        private_key=lambda: key,
        **kwargs,  # type: ignore[arg-type]
    )


def decode(token: str, key: RSAPrivateKey, alg: str = "RS256") -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token,
        key.public_key(),
        algorithms=[alg],
        audience=AUDIENCE,
        options={"verify_exp": False},
    )
    return claims


def test_enterprise_assertion_has_exactly_boxs_claims(key: RSAPrivateKey) -> None:
    token = builder(key).build("enterprise", "1234567", NOW)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == "kid123"
    claims = decode(token, key)
    assert set(claims) == {"iss", "sub", "box_sub_type", "aud", "jti", "exp"}
    assert claims["iss"] == "client-abc"
    assert claims["sub"] == "1234567"
    assert claims["box_sub_type"] == "enterprise"
    assert claims["aud"] == "https://api.box.com/oauth2/token"
    assert claims["exp"] == math.floor(NOW + 30)
    assert isinstance(claims["exp"], int)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_the_assertion_is_byte_for_byte_what_pyjwt_signs(key: RSAPrivateKey, alg: str) -> None:
    """boxjwt signs without pyjwt's per-call key preparation; the JWS must not change."""
    b = builder(key, alg=alg, jti_factory=lambda: "j" * 43)
    claims = b.claims("user", "987", NOW)
    expected = jwt.encode(claims, key, algorithm=alg, headers={"kid": "kid123"})
    assert b.build("user", "987", NOW) == expected


def test_user_assertion(key: RSAPrivateKey) -> None:
    claims = decode(builder(key).build("user", "987", NOW), key)
    assert (claims["sub"], claims["box_sub_type"]) == ("987", "user")


@pytest.mark.parametrize("alg", [*ALGORITHMS, "rs384"])
def test_algorithm_is_selectable(key: RSAPrivateKey, alg: str) -> None:
    b = builder(key, alg=alg)
    assert b.alg == alg.upper()
    token = b.build("enterprise", "1", NOW)
    assert jwt.get_unverified_header(token)["alg"] == alg.upper()
    assert decode(token, key, alg.upper())["sub"] == "1"


@pytest.mark.parametrize("alg", ["HS256", "none", "ES256", "PS256", 256, None])
def test_other_algorithms_are_refused(key: RSAPrivateKey, alg: object) -> None:
    with pytest.raises(ConfigurationError, match="RS256, RS384, RS512"):
        builder(key, alg=alg)


@pytest.mark.parametrize("lifetime", [1, 10, 30.5, MAX_ASSERTION_LIFETIME])
def test_lifetime_is_configurable_up_to_60(key: RSAPrivateKey, lifetime: float) -> None:
    claims = decode(builder(key, lifetime=lifetime).build("enterprise", "1", NOW), key)
    assert claims["exp"] == math.floor(NOW + lifetime)
    assert claims["exp"] <= NOW + MAX_ASSERTION_LIFETIME


@pytest.mark.parametrize("lifetime", [0, 0.5, 61, 60.01, -30, True, "30", float("nan"), None])
def test_lifetime_over_60_or_invalid_is_refused(key: RSAPrivateKey, lifetime: object) -> None:
    with pytest.raises(ConfigurationError, match="assertion_lifetime"):
        builder(key, lifetime=lifetime)


def test_every_build_gets_a_fresh_jti_and_exp(key: RSAPrivateKey) -> None:
    b = builder(key)
    first = decode(b.build("enterprise", "1", NOW), key)
    second = decode(b.build("enterprise", "1", NOW + 100), key)
    assert first["jti"] != second["jti"]
    assert second["exp"] == math.floor(NOW + 100 + 30)


def test_jti_is_long_random_and_url_safe() -> None:
    jtis = {new_jti() for _ in range(2000)}
    assert len(jtis) == 2000
    for jti in list(jtis)[:50]:
        assert 32 <= len(jti) <= 128
        assert re.fullmatch(r"[A-Za-z0-9_-]+", jti)


def test_jti_factory_is_injectable(key: RSAPrivateKey) -> None:
    b = builder(key, jti_factory=lambda: "x" * 40)
    assert decode(b.build("enterprise", "1", NOW), key)["jti"] == "x" * 40


@given(now=st.floats(min_value=0, max_value=4e9), lifetime=st.integers(1, 60))
def test_exp_is_an_integer_never_more_than_lifetime_ahead(now: float, lifetime: int) -> None:
    claims = assertion_claims(
        client_id="c", subject_type="user", subject_id="5", now=now, lifetime=lifetime, jti="j"
    )
    assert isinstance(claims["exp"], int)
    assert now + lifetime - 1 < claims["exp"] <= now + lifetime


def test_builder_repr_shows_no_key(key: RSAPrivateKey) -> None:
    text = repr(builder(key))
    assert "client-abc" in text
    assert "private_key" not in text
    assert "RSAPrivateKey" not in text
