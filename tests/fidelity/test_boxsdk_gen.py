"""Fidelity: the official Box SDK (boxsdk 10.x, ``box_sdk_gen``) against the emulator.

An independent client must work against the emulator exactly as against Box: obtain an
enterprise token from the key.json the emulator wrote, call ``/users/me``, act as a user with
As-User, obtain a user token, and get Box's refusals for a wrong client secret and an
unauthorized app. Run by ``nox -s fidelity`` (which installs boxsdk and sets
``BOXJWT_FIDELITY=1``); the main suite never collects this directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

box_sdk_gen = pytest.importorskip("box_sdk_gen")

from box_sdk_gen import BaseUrls, BoxClient, BoxJWTAuth, JWTConfig, NetworkSession  # noqa: E402
from box_sdk_gen.box.errors import BoxAPIError  # noqa: E402
from box_sdk_gen.networking.fetch_options import FetchOptions  # noqa: E402
from box_sdk_gen.networking.fetch_response import FetchResponse  # noqa: E402
from box_sdk_gen.networking.retries import BoxRetryStrategy  # noqa: E402

from boxjwt.testing import BoxEmulator, Budget, EmulatedKeyFile, RateLimits  # noqa: E402


@pytest.fixture
def emu() -> Iterator[BoxEmulator]:
    with BoxEmulator() as emulator:  # the real clock: the SDK uses time.time() for exp
        yield emulator


@pytest.fixture
def ekf(emu: BoxEmulator, tmp_path: Path) -> EmulatedKeyFile:
    return emu.make_keyfile(tmp_path / "config.json")


def _session(emu: BoxEmulator, retry: BoxRetryStrategy | None = None) -> NetworkSession:
    return NetworkSession(
        base_urls=BaseUrls(
            base_url=emu.base_url,
            upload_url=emu.upload_url,
            oauth_2_url=f"{emu.base_url}/api/oauth2",
        ),
        retry_strategy=retry,
    )


def _auth(ekf: EmulatedKeyFile) -> BoxJWTAuth:
    assert ekf.path is not None
    return BoxJWTAuth(config=JWTConfig.from_config_file(config_file_path=str(ekf.path)))


def _client(emu: BoxEmulator, auth: BoxJWTAuth) -> BoxClient:
    return BoxClient(auth=auth, network_session=_session(emu))


def test_enterprise_token_and_users_me(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    client = _client(emu, _auth(ekf))
    me = client.users.get_user_me()
    assert me.id == ekf.app.service_account.id
    assert me.login == ekf.app.service_account.login
    assert emu.token_requests(subject_type="enterprise", subject_id=emu.enterprise_id) == 1
    assert emu.token_requests(status=200) == 1
    client.users.get_user_me()
    assert emu.token_requests() == 1  # the SDK caches the token


def test_as_user(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    user = emu.managed_users[0]
    client = _client(emu, _auth(ekf)).with_as_user_header(user.id)
    assert client.users.get_user_me().id == user.id
    assert emu.count("GET", "/2.0/users/me", as_user=user.id, status=200) == 1


def test_as_user_refused_for_an_admin(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    client = _client(emu, _auth(ekf)).with_as_user_header(emu.admin.id)
    with pytest.raises(BoxAPIError) as info:
        client.users.get_user_me()
    assert info.value.response_info.status_code == 403
    assert info.value.response_info.code == "access_denied_insufficient_permissions"


def test_user_token(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    user = emu.managed_users[0]
    client = _client(emu, _auth(ekf).with_user_subject(user.id))
    assert client.users.get_user_me().id == user.id
    assert emu.token_requests(subject_type="user", subject_id=user.id, status=200) == 1


def test_wrong_client_secret(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    ekf.app.reset_client_secret()
    with pytest.raises(BoxAPIError) as info:
        _client(emu, _auth(ekf)).users.get_user_me()
    response = info.value.response_info
    assert response.status_code == 400
    assert response.body == {
        "error": "invalid_client",
        "error_description": "The client credentials are invalid",
    }
    assert emu.token_requests() == 1  # a 400 is not retried


def test_unauthorized_app(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    ekf.app.disable()
    with pytest.raises(BoxAPIError) as info:
        _client(emu, _auth(ekf)).users.get_user_me()
    response = info.value.response_info
    assert response.status_code == 400
    assert response.body == {
        "error": "unauthorized_client",
        "error_description": "This app is not authorized by the enterprise admin",
    }


def test_user_token_refused_when_the_feature_is_off(emu: BoxEmulator, tmp_path: Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "off.json", user_tokens=False)
    client = _client(emu, _auth(ekf).with_user_subject(emu.managed_users[0].id))
    with pytest.raises(BoxAPIError) as info:
        client.users.get_user_me()
    assert info.value.response_info.body == {
        "error": "invalid_request",
        "error_description": (
            "Cannot obtain user token based on the enterprise configuration for your app"
        ),
    }


def test_sdk_retries_the_emulators_429_and_401(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    client = _client(emu, _auth(ekf))
    client.users.get_user_me()
    emu.faults.push("/2.0/users/me", 429, retry_after=0)
    assert client.users.get_user_me().id == ekf.app.service_account.id
    assert emu.count("GET", "/2.0/users/me", status=429) == 1
    emu.revoke_all_tokens()
    assert client.users.get_user_me().id == ekf.app.service_account.id  # refreshed on 401
    assert emu.token_requests(status=200) == 2


class _ScaledRetry(BoxRetryStrategy):
    """The SDK's own strategy, its waits at the emulator's time scale (to record them)."""

    def __init__(self, emu: BoxEmulator) -> None:
        super().__init__()
        self.emu = emu
        self.told: list[float] = []

    def retry_after(
        self, fetch_options: FetchOptions, fetch_response: FetchResponse, attempt_number: int
    ) -> float:
        seconds = float(super().retry_after(fetch_options, fetch_response, attempt_number))
        self.told.append(seconds)
        return seconds / self.emu.time_scale


@pytest.fixture
def limited(emu: BoxEmulator) -> BoxEmulator:
    emu.rate_limits = RateLimits(general=(Budget(2, 60),), time_scale=60)  # 2 calls per second
    return emu


def test_sdk_sees_boxs_429_when_rate_limited(limited: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    client = BoxClient(
        auth=_auth(ekf), network_session=_session(limited, BoxRetryStrategy(max_attempts=1))
    )
    client.users.get_user_me()
    client.users.get_user_me()
    with pytest.raises(BoxAPIError) as info:
        client.users.get_user_me()
    response = info.value.response_info
    assert response.status_code == 429
    assert response.code == "rate_limit_exceeded"
    assert response.body is not None
    assert response.body["message"] == "Request rate limit exceeded, please try again later"
    assert response.request_id == response.headers["box-request-id"]
    # whole seconds; the SDK's error keeps the headers in a plain dict, so only Box's own
    # lower-case name finds them (the SDK's retry strategy looks them up case-insensitively)
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert "Retry-After" not in response.headers
    assert limited.rate_limited(ekf.app.service_account.id) == 1


def test_sdk_waits_out_the_429_as_told(limited: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    strategy = _ScaledRetry(limited)
    client = BoxClient(auth=_auth(ekf), network_session=_session(limited, strategy))
    for _ in range(3):
        assert client.users.get_user_me().id == ekf.app.service_account.id
    refused = limited.records("GET", "/2.0/users/me", status=429)
    assert len(refused) == limited.rate_limited() >= 1
    assert strategy.told == [float(r.response_headers["retry-after"]) for r in refused]
    assert limited.count("GET", "/2.0/users/me", status=200) == 3
