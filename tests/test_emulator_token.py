"""The emulator's token endpoint against box-facts.md §3: raw HTTP, hand-built JWTs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import requests

from boxjwt.testing import (
    BoxEmulator,
    EmulatedKeyFile,
    FakeClock,
    OAuthAnswer,
    generate_rsa_key,
)
from emulator_support import (
    JWT_GRANT,
    OMIT,
    box_date,
    make_jwt,
    post_token,
    token_form,
    user_token_response,
)

E_UNAUTHORIZED = "This app is not authorized by the enterprise admin"
E_CLIENT = "The client credentials are invalid"
E_KID = "'kid' invalid, unable to lookup correct key"
E_SIGNATURE = (
    'Signature verification error. The public key identified by "kid" must correspond to the '
    "private key used for signing."
)
E_ISS = "Please check the 'iss' claim."
E_SUB = "Please check the 'sub' claim. The 'sub' specified is invalid."
E_EXP_PASSED = "Current date/time MUST be before the expiration date/time listed in the 'exp' claim"
E_EXP_FAR = (
    "Please check the 'exp' claim. The 'exp' value exceeds the maximum value of 60 seconds "
    "beyond the issue time."
)
E_EXP_INT = "Please check the 'exp' claim. Should be an integer"
E_JTI_REUSED = "Please check the 'jti' claim. A unique 'jti' value is required."
E_USER_TOKEN = "Cannot obtain user token based on the enterprise configuration for your app"
E_GRANT_UNAUTHORIZED = "The grant type is unauthorized for this client_id"
E_NO_KEY = "This app is not configured properly. No public key(s) added"
E_GRANT_TYPE = "Invalid grant_type parameter or parameter missing"


def assert_refusal(
    response: requests.Response, emu: BoxEmulator, error: str, description: str
) -> None:
    """400, Box's exact body (with ``\\/`` escapes), the emulator-clock Date, and, like Box's
    token-endpoint errors, no ``box-request-id``."""
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}
    assert response.text == json.dumps({"error": error, "error_description": description}).replace(
        "/", "\\/"
    )
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Date"] == box_date(emu)
    assert "box-request-id" not in response.headers


# --------------------------------------------------------------------------- success


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_enterprise_token_success_shape(emu: BoxEmulator, ekf: EmulatedKeyFile, alg: str) -> None:
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, alg=alg)))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "restricted_to", "token_type"}
    assert len(body["access_token"]) == 32
    assert body["access_token"].isalnum()
    assert 3646 <= body["expires_in"] <= 4175  # Box's observed range
    assert body["expires_in"] <= emu.token_expires_in
    assert body["restricted_to"] == []
    assert body["token_type"] == "bearer"
    assert response.headers["Date"] == box_date(emu)
    assert emu.live_tokens == 1


def test_expires_in_is_configurable(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    emu.token_expires_in = 5
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu)))
    assert response.json()["expires_in"] == 5


def test_each_token_is_new_and_older_ones_stay_valid(
    emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    first = post_token(emu, token_form(ekf, make_jwt(ekf, emu))).json()["access_token"]
    second = post_token(emu, token_form(ekf, make_jwt(ekf, emu))).json()["access_token"]
    assert first != second
    assert emu.live_token(first) is not None
    assert emu.live_token(second) is not None


def test_kid_may_be_omitted_when_the_app_has_one_key(
    emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, kid=OMIT)))
    assert response.status_code == 200


def test_exp_exactly_60_seconds_ahead_is_accepted(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, exp=int(emu.now()) + 60)))
    assert response.status_code == 200


def test_iat_and_nbf_are_optional_and_ignored(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    now = int(emu.now())
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, iat=now, nbf=now)))
    assert response.status_code == 200


def test_user_token_for_a_managed_user(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    user = emu.managed_users[0]
    response = user_token_response(emu, ekf, user.id)
    assert response.status_code == 200
    token = emu.live_token(response.json()["access_token"])
    assert token is not None
    assert token.subject_type == "user"
    assert token.owner is user


def test_user_token_for_own_app_user_under_app_only(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(access_level="app_only")
    response = user_token_response(emu, ekf, ekf.app.app_users[0].id)
    assert response.status_code == 200


def test_user_token_for_an_admin_under_app_enterprise(
    emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    assert user_token_response(emu, ekf, emu.admin.id).status_code == 200


# --------------------------------------------------------------------------- box-facts §3 rows


Case = Callable[[BoxEmulator, EmulatedKeyFile, FakeClock], dict[str, Any]]


def _disabled(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    ekf.app.disable()
    return token_form(ekf, make_jwt(ekf, emu))


def _never_authorized(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    other = emu.make_keyfile(authorized=False)
    return token_form(other, make_jwt(other, emu))


def _wrong_secret(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    return token_form(ekf, make_jwt(ekf, emu), client_secret="x" * 32)


def _missing_secret(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    return token_form(ekf, make_jwt(ekf, emu), client_secret=OMIT)


def _unknown_client(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    return token_form(ekf, make_jwt(ekf, emu), client_id="a" * 32)


def _reset_secret(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    form = token_form(ekf, make_jwt(ekf, emu))
    ekf.app.reset_client_secret()
    return form


def _unknown_kid(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    return token_form(ekf, make_jwt(ekf, emu, kid="zzzz9999"))


def _deleted_kid(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    ekf.app.add_public_key()
    assert ekf.kid is not None
    ekf.app.remove_public_key(ekf.kid)
    return token_form(ekf, make_jwt(ekf, emu))


def _no_kid_two_keys(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    ekf.app.add_public_key()
    return token_form(ekf, make_jwt(ekf, emu, kid=OMIT))


def _wrong_key(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    return token_form(ekf, make_jwt(ekf, emu, key=generate_rsa_key(cached=True)))


def _other_apps_key(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    other = emu.make_keyfile()
    return token_form(ekf, make_jwt(ekf, emu, key=other.private_key))


def _wrong_iss(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    return token_form(ekf, make_jwt(ekf, emu, iss="someone-else"))


def _sub(value: Any, sub_type: str = "enterprise") -> Case:
    def case(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
        sub = value(emu) if callable(value) else value
        return token_form(ekf, make_jwt(ekf, emu, sub=sub, box_sub_type=sub_type))

    return case


def _exp(delta: Any) -> Case:
    def case(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
        exp = delta(emu) if callable(delta) else int(emu.now()) + delta
        return token_form(ekf, make_jwt(ekf, emu, exp=exp))

    return case


def _reused_jti(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    first = post_token(emu, token_form(ekf, make_jwt(ekf, emu, jti="j" * 20)))
    assert first.status_code == 200
    return token_form(ekf, make_jwt(ekf, emu, jti="j" * 20))


def _user_tokens_off(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    ekf.app.configure(user_tokens=False)
    ekf.app.reauthorize()
    return token_form(ekf, make_jwt(ekf, emu, sub=emu.managed_users[0].id, box_sub_type="user"))


def _app_only_managed(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    other = emu.make_keyfile(access_level="app_only")
    return token_form(other, make_jwt(other, emu, sub=emu.managed_users[0].id, box_sub_type="user"))


def _app_only_other_app_user(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock
) -> dict[str, Any]:
    other = emu.make_keyfile(access_level="app_only")
    return token_form(other, make_jwt(other, emu, sub=ekf.app.app_users[0].id, box_sub_type="user"))


def _sub_is_service_account(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock
) -> dict[str, Any]:
    sa = ekf.app.service_account.id
    return token_form(ekf, make_jwt(ekf, emu, sub=sa, box_sub_type="user"))


def _oauth_app(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    other = emu.make_keyfile(auth="oauth")
    return token_form(other, make_jwt(other, emu))


def _ccg_app(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    other = emu.make_keyfile(auth="ccg")
    return token_form(other, make_jwt(ekf, emu, iss=other.client_id))


def _no_public_key(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    assert ekf.kid is not None
    ekf.app.remove_public_key(ekf.kid)
    return token_form(ekf, make_jwt(ekf, emu))


def _no_grant_type(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    return token_form(ekf, make_jwt(ekf, emu), grant_type=OMIT)


def _bad_grant_type(emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock) -> dict[str, Any]:
    return token_form(ekf, make_jwt(ekf, emu), grant_type="password")


ROWS: list[tuple[str, Case, str, str]] = [
    ("app disabled", _disabled, "unauthorized_client", E_UNAUTHORIZED),
    ("app never authorized", _never_authorized, "unauthorized_client", E_UNAUTHORIZED),
    ("wrong client secret", _wrong_secret, "invalid_client", E_CLIENT),
    ("missing client secret", _missing_secret, "invalid_client", E_CLIENT),
    ("unknown client id", _unknown_client, "invalid_client", E_CLIENT),
    ("client secret was reset", _reset_secret, "invalid_client", E_CLIENT),
    ("unknown kid", _unknown_kid, "invalid_grant", E_KID),
    ("key pair deleted", _deleted_kid, "invalid_grant", E_KID),
    ("no kid and two keys", _no_kid_two_keys, "invalid_grant", E_KID),
    ("key does not match kid", _wrong_key, "invalid_grant", E_SIGNATURE),
    ("another app's key", _other_apps_key, "invalid_grant", E_SIGNATURE),
    ("iss mismatch", _wrong_iss, "invalid_grant", E_ISS),
    ("wrong enterprise id", _sub("12345"), "invalid_grant", E_SUB),
    ("zero enterprise id", _sub("0"), "invalid_grant", E_SUB),
    ("integer enterprise id", _sub(lambda e: int(e.enterprise_id)), "invalid_grant", E_SUB),
    ("empty enterprise id", _sub(""), "invalid_grant", E_SUB),
    ("user not in enterprise", _sub("999", "user"), "invalid_grant", E_SUB),
    ("integer user id", _sub(lambda e: int(e.managed_users[0].id), "user"), "invalid_grant", E_SUB),
    ("exp passed", _exp(-1), "invalid_grant", E_EXP_PASSED),
    ("exp is now", _exp(0), "invalid_grant", E_EXP_PASSED),
    ("exp 61 s ahead", _exp(61), "invalid_grant", E_EXP_FAR),
    ("exp an hour ahead", _exp(3600), "invalid_grant", E_EXP_FAR),
    ("exp a float", _exp(lambda e: e.now() + 30.5), "invalid_grant", E_EXP_INT),
    ("exp a string", _exp(lambda e: str(int(e.now()) + 30)), "invalid_grant", E_EXP_INT),
    ("exp a boolean", _exp(lambda e: True), "invalid_grant", E_EXP_INT),
    ("exp missing", _exp(lambda e: OMIT), "invalid_grant", E_EXP_INT),
    ("jti reused", _reused_jti, "invalid_grant", E_JTI_REUSED),
    ("user tokens off", _user_tokens_off, "invalid_request", E_USER_TOKEN),
    ("app only, managed user", _app_only_managed, "invalid_request", E_USER_TOKEN),
    ("app only, other app's user", _app_only_other_app_user, "invalid_request", E_USER_TOKEN),
    ("sub is the service account", _sub_is_service_account, "invalid_request", E_USER_TOKEN),
    ("OAuth 2.0 app", _oauth_app, "invalid_request", E_GRANT_UNAUTHORIZED),
    ("CCG app", _ccg_app, "invalid_request", E_GRANT_UNAUTHORIZED),
    ("no public key", _no_public_key, "invalid_grant", E_NO_KEY),
    ("grant_type missing", _no_grant_type, "invalid_request", E_GRANT_TYPE),
    ("grant_type unknown", _bad_grant_type, "invalid_request", E_GRANT_TYPE),
]


@pytest.mark.parametrize(
    ("case", "error", "description"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_box_facts_rows(  # noqa: PLR0917 - fixtures and parameters
    emu: BoxEmulator,
    ekf: EmulatedKeyFile,
    clock: FakeClock,
    case: Case,
    error: str,
    description: str,
) -> None:
    form = case(emu, ekf, clock)
    assert_refusal(post_token(emu, form), emu, error, description)


def test_followed_redirect_turns_into_a_get(emu: BoxEmulator) -> None:
    response = requests.get(emu.token_url, timeout=10)
    assert_refusal(response, emu, "invalid_request", E_GRANT_TYPE)


# --------------------------------------------------------------------------- the rest of the checks


def _raw_jwt(header: dict[str, Any], claims: dict[str, Any]) -> str:
    import base64

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}.c2ln"


@pytest.mark.parametrize(
    "assertion",
    [
        "",
        "not-a-jwt",
        "a.b",
        "!!!.???.***",
        "W10.W10.c2ln",  # JSON arrays, not objects
        "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",  # claims are not JSON
        "eyJhbGciOiJSUzI1NiJ9.e30.c",  # signature is not base64url
        "\u00e9yJ.e30.c2ln",  # not ASCII
    ],
)
def test_undecodable_assertion(emu: BoxEmulator, ekf: EmulatedKeyFile, assertion: str) -> None:
    response = post_token(emu, token_form(ekf, assertion))
    assert_refusal(
        response, emu, "invalid_request", "Invalid assertion parameter or parameter missing"
    )


def test_missing_assertion(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    response = post_token(emu, token_form(ekf, OMIT))
    assert_refusal(
        response, emu, "invalid_request", "Invalid assertion parameter or parameter missing"
    )


@pytest.mark.parametrize("alg", ["HS256", "none", "ES256", "PS256", None])
def test_disallowed_alg(emu: BoxEmulator, ekf: EmulatedKeyFile, alg: str | None) -> None:
    header = {"kid": ekf.kid} if alg is None else {"alg": alg, "kid": ekf.kid}
    assertion = _raw_jwt(header, {"iss": ekf.client_id})
    response = post_token(emu, token_form(ekf, assertion))
    assert_refusal(response, emu, "invalid_grant", "Algorithm not allowed")


def test_non_string_kid(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    assertion = _raw_jwt({"alg": "RS256", "kid": 12345678}, {"iss": ekf.client_id})
    response = post_token(emu, token_form(ekf, assertion))
    assert_refusal(response, emu, "invalid_grant", E_KID)


@pytest.mark.parametrize(
    "aud", ["https://api.box.com/oauth2/token/", "http://api.box.com/oauth2/token", OMIT]
)
def test_wrong_aud(emu: BoxEmulator, ekf: EmulatedKeyFile, aud: Any) -> None:
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, aud=aud)))
    assert_refusal(response, emu, "invalid_grant", "Please check the 'aud' claim.")


def test_accepted_audiences_is_configurable(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    emu.accepted_audiences.add(emu.token_url)
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, aud=emu.token_url)))
    assert response.status_code == 200


@pytest.mark.parametrize("jti", ["j" * 15, "j" * 129, 1234567890123456789, OMIT])
def test_bad_jti(emu: BoxEmulator, ekf: EmulatedKeyFile, jti: Any) -> None:
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, jti=jti)))
    assert_refusal(response, emu, "invalid_grant", "Please check the 'jti' claim.")


@pytest.mark.parametrize("jti", ["j" * 16, "j" * 128])
def test_jti_length_bounds_are_inclusive(emu: BoxEmulator, ekf: EmulatedKeyFile, jti: str) -> None:
    assert post_token(emu, token_form(ekf, make_jwt(ekf, emu, jti=jti))).status_code == 200


def test_jti_is_forgotten_after_its_exp(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock
) -> None:
    assert post_token(emu, token_form(ekf, make_jwt(ekf, emu, jti="k" * 20))).status_code == 200
    clock.advance(31)
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, jti="k" * 20)))
    assert response.status_code == 200


def test_jti_is_consumed_even_when_a_later_check_fails(
    emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    ekf.app.disable()
    first = post_token(emu, token_form(ekf, make_jwt(ekf, emu, jti="m" * 20)))
    assert first.json()["error"] == "unauthorized_client"
    ekf.app.enable()
    second = post_token(emu, token_form(ekf, make_jwt(ekf, emu, jti="m" * 20)))
    assert_refusal(second, emu, "invalid_grant", E_JTI_REUSED)


@pytest.mark.parametrize("sub_type", ["admin", "", None, OMIT])
def test_bad_box_sub_type(emu: BoxEmulator, ekf: EmulatedKeyFile, sub_type: Any) -> None:
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, box_sub_type=sub_type)))
    assert_refusal(response, emu, "invalid_grant", "Please check the 'box_sub_type' claim.")


def test_user_sub_and_disabled_app(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    ekf.app.disable()
    response = user_token_response(emu, ekf, emu.managed_users[0].id)
    assert_refusal(response, emu, "unauthorized_client", E_UNAUTHORIZED)


# --------------------------------------------------------------------------- check order


def test_order_secret_before_assertion(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    form = token_form(ekf, "garbage", client_secret="wrong")
    assert post_token(emu, form).json()["error"] == "invalid_client"


def test_order_grant_type_before_assertion(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    other = emu.make_keyfile(auth="oauth")
    form = token_form(other, "garbage")
    assert post_token(emu, form).json()["error_description"] == E_GRANT_UNAUTHORIZED


def test_order_kid_before_exp(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    assertion = make_jwt(ekf, emu, kid="nope", exp=int(emu.now()) - 100)
    assert post_token(emu, token_form(ekf, assertion)).json()["error_description"] == E_KID


def test_order_signature_before_iss_is_not_it(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    """iss is checked before the key (Box needs the app to find the key), so a wrong iss wins."""
    assertion = make_jwt(ekf, emu, iss="x", key=generate_rsa_key(cached=True))
    assert post_token(emu, token_form(ekf, assertion)).json()["error_description"] == E_ISS


def test_order_exp_before_sub(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    assertion = make_jwt(ekf, emu, sub="0", exp=int(emu.now()) + 3600)
    assert post_token(emu, token_form(ekf, assertion)).json()["error_description"] == E_EXP_FAR


def test_order_sub_before_authorization(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    ekf.app.disable()
    assertion = make_jwt(ekf, emu, sub="0")
    assert post_token(emu, token_form(ekf, assertion)).json()["error_description"] == E_SUB


# --------------------------------------------------------------------------- clock


def test_date_header_follows_clock_and_offset(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock
) -> None:
    emu.clock_offset = 90.0
    response = post_token(emu, token_form(ekf, "x", grant_type="nope"))
    from email.utils import parsedate_to_datetime

    assert parsedate_to_datetime(response.headers["Date"]).timestamp() == int(clock() + 90)


def test_box_clock_ahead_makes_local_exp_stale(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock
) -> None:
    emu.clock_offset = 120.0
    local_exp = int(clock()) + 30
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, exp=local_exp)))
    assert_refusal(response, emu, "invalid_grant", E_EXP_PASSED)
    # Rebuilding with Box's Date as "now" succeeds, as box-facts §4 recommends.
    from email.utils import parsedate_to_datetime

    box_now = int(parsedate_to_datetime(response.headers["Date"]).timestamp())
    retry = post_token(emu, token_form(ekf, make_jwt(ekf, emu, exp=box_now + 30)))
    assert retry.status_code == 200


def test_box_clock_behind_makes_local_exp_too_far(
    emu: BoxEmulator, ekf: EmulatedKeyFile, clock: FakeClock
) -> None:
    emu.clock_offset = -120.0
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu, exp=int(clock()) + 30)))
    assert_refusal(response, emu, "invalid_grant", E_EXP_FAR)


def test_real_clock_by_default() -> None:
    import time

    with BoxEmulator() as emu:
        assert abs(emu.now() - time.time()) < 5


# --------------------------------------------------------------------------- other grants


def _exchange(emu: BoxEmulator, **fields: Any) -> requests.Response:
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "scope": "item_preview root_readonly",
    }
    form.update(fields)
    return post_token(emu, {k: v for k, v in form.items() if v is not OMIT})


def test_downscope_with_resource(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    parent = emu.issue_token()
    response = _exchange(emu, subject_token=parent, resource=f"{emu.api_url}/folders/123")
    assert response.status_code == 200
    body = response.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["token_type"] == "bearer"
    assert 3646 <= body["expires_in"] <= 4175
    assert body["restricted_to"] == [
        {"scope": "item_preview", "object": {"type": "folder", "id": "123"}},
        {"scope": "root_readonly", "object": {"type": "folder", "id": "123"}},
    ]
    child = emu.live_token(body["access_token"])
    assert child is not None
    assert child.restricted_scopes == {"item_preview", "root_readonly"}
    assert child.owner is ekf.app.service_account


def test_downscope_of_a_downscoped_token_keeps_only_its_scopes(
    emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    first = _exchange(emu, subject_token=emu.issue_token()).json()["access_token"]
    second = _exchange(emu, subject_token=first, scope="root_readonly")
    token = emu.live_token(second.json()["access_token"])
    assert token is not None
    assert token.restricted_scopes == {"root_readonly"}
    assert second.json()["restricted_to"] == []
    wider = _exchange(emu, subject_token=first, scope="root_readonly item_upload")
    assert_refusal(wider, emu, "invalid_scope", 'Unsupported "scope": item_upload')


def test_downscope_to_a_scope_the_app_lacks_is_refused(emu: BoxEmulator) -> None:
    reader = emu.make_keyfile(scopes={"read"})
    parent = emu.issue_token(reader.app)
    refused = _exchange(emu, subject_token=parent, scope="item_preview item_upload base_upload")
    assert_refusal(refused, emu, "invalid_scope", 'Unsupported "scope": item_upload base_upload')
    assert _exchange(emu, subject_token=parent, scope="item_preview").status_code == 200


@pytest.mark.parametrize(
    "scope", ["manage_groups", "manage_managed_users", "admin_readwrite", "root_readwrite", "read"]
)
def test_any_of_the_apps_scopes_may_be_requested(
    emu: BoxEmulator, ekf: EmulatedKeyFile, scope: str
) -> None:
    response = _exchange(emu, subject_token=emu.issue_token(), scope=scope)
    assert response.status_code == 200, response.text


def test_downscope_refusal_wording_is_configurable(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    emu.answers = replace(
        emu.answers, scope_not_held=OAuthAnswer("invalid_request", "Bad {value}", status=401)
    )
    response = _exchange(emu, subject_token=emu.issue_token(), scope="fly")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_request", "error_description": "Bad fly"}


def test_downscoped_token_keeps_the_settings_of_its_subject_token(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile()
    parent = emu.issue_token(ekf.app)
    ekf.app.configure(scopes={"write"})
    ekf.app.reauthorize()
    child = _exchange(emu, subject_token=parent, scope="item_preview").json()["access_token"]
    token = emu.live_token(child)
    assert token is not None
    assert "read" in token.settings.scopes


@pytest.mark.parametrize(
    ("fields", "error", "description"),
    [
        ({"subject_token": "nope"}, "invalid_grant", "The subject_token provided is invalid"),
        (
            {"subject_token_type": "urn:x"},
            "invalid_request",
            "Invalid subject_token_type parameter or parameter missing",
        ),
        ({"scope": " "}, "invalid_request", "Invalid scope parameter or parameter missing"),
        ({"scope": "item_preview fly"}, "invalid_scope", 'Unsupported "scope": fly'),
        ({"resource": "https://example.com/x"}, "invalid_request", "Invalid resource parameter"),
    ],
)
def test_downscope_refusals(
    emu: BoxEmulator, ekf: EmulatedKeyFile, fields: dict[str, str], error: str, description: str
) -> None:
    fields = {"subject_token": emu.issue_token(), **fields}
    assert_refusal(_exchange(emu, **fields), emu, error, description)


def _ccg(emu: BoxEmulator, ekf: EmulatedKeyFile, **fields: Any) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": ekf.client_id,
        "client_secret": ekf.app.client_secret,
        "box_subject_type": "enterprise",
        "box_subject_id": emu.enterprise_id,
    }
    form.update(fields)
    return post_token(emu, {k: v for k, v in form.items() if v is not OMIT})


def test_ccg_grant(emu: BoxEmulator) -> None:
    ccg = emu.make_keyfile(auth="ccg")
    assert "appAuth" not in ccg.config["boxAppSettings"]
    response = _ccg(emu, ccg)
    assert response.status_code == 200
    user = emu.managed_users[0]
    response = _ccg(emu, ccg, box_subject_type="user", box_subject_id=user.id)
    token = emu.live_token(response.json()["access_token"])
    assert token is not None
    assert token.owner is user
    assert emu.token_requests(subject_type="user", subject_id=user.id) == 1


def test_ccg_refusals(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    ccg = emu.make_keyfile(auth="ccg")
    response = _ccg(emu, ccg, box_subject_type=OMIT)
    assert_refusal(
        response,
        emu,
        "invalid_grant",
        "Please check the 'box_subject_type' and 'box_subject_id' parameters.",
    )
    assert_refusal(_ccg(emu, ekf), emu, "invalid_request", E_GRANT_UNAUTHORIZED)
    assert_refusal(_ccg(emu, ccg, client_secret="x"), emu, "invalid_client", E_CLIENT)


# --------------------------------------------------------------------------- revoke


def _revoke(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str, **fields: Any) -> requests.Response:
    form = {"client_id": ekf.client_id, "client_secret": ekf.app.client_secret, "token": token}
    form.update(fields)
    return requests.post(f"{emu.base_url}/oauth2/revoke", data=form, timeout=10)


def test_revoke(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    token = emu.issue_token()
    response = _revoke(emu, ekf, token)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["Date"] == box_date(emu)
    assert emu.live_token(token) is None
    assert _revoke(emu, ekf, "unknown").status_code == 200


def test_revoke_needs_client_credentials(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    token = emu.issue_token()
    assert_refusal(_revoke(emu, ekf, token, client_secret="no"), emu, "invalid_client", E_CLIENT)
    assert emu.live_token(token) is not None


def test_revoke_ignores_other_apps_tokens(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    other = emu.make_keyfile()
    token = emu.issue_token(other.app)
    assert _revoke(emu, ekf, token).status_code == 200
    assert emu.live_token(token) is not None


def test_token_request_is_logged_with_subject(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    user = emu.managed_users[0]
    user_token_response(emu, ekf, user.id)
    post_token(emu, token_form(ekf, make_jwt(ekf, emu)))
    post_token(emu, token_form(ekf, "garbage"))
    assert emu.token_requests() == 3
    assert emu.token_requests(subject_type="user", subject_id=user.id) == 1
    assert emu.token_requests(subject_type="enterprise", subject_id=emu.enterprise_id) == 1
    assert emu.token_requests(status=400) == 1
    assert emu.token_requests(client_id=ekf.client_id) == 3
    (record,) = emu.records(status=400)
    assert record.grant_type == JWT_GRANT
    assert record.subject_type is None
    assert record.error == "invalid_request"
