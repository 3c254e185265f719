"""boxjwt.integrations.boxsdk: the official Box SDK (box_sdk_gen) on boxjwt's tokens.

Every test drives a real ``box_sdk_gen.BoxClient`` over HTTP against the emulator. Skipped when
the SDK is not installed, unless ``BOXJWT_REQUIRE_BOXSDK=1`` (the nox ``boxsdk`` session), which
turns the missing SDK into a failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

if os.environ.get("BOXJWT_REQUIRE_BOXSDK") == "1":
    import box_sdk_gen
else:
    box_sdk_gen = pytest.importorskip("box_sdk_gen")

from box_sdk_gen import (
    BaseUrls,
    BoxAPIError,
    BoxClient,
    BoxDeveloperTokenAuth,
    BoxJWTAuth,
    BoxRetryStrategy,
    JWTConfig,
    NetworkSession,
)
from box_sdk_gen.managers.uploads import PreflightFileUploadCheckParent
from box_sdk_gen.networking.auth import Authentication
from box_sdk_gen.schemas.access_token import AccessToken as SDKAccessToken
from box_sdk_gen.schemas.resource_scope import ResourceScopeScopeField

import boxjwt
from boxjwt.exceptions import (
    ConfigurationError,
    InvalidClientCredentialsError,
    UserTokenNotAllowedError,
)
from boxjwt.integrations.boxsdk import BoxSDKAccessToken, BoxSDKAuth, box_client
from boxjwt.testing import BoxEmulator, EmulatedKeyFile
from recording_server import Answer, RecordingServer

THREADS = 32
INVALID_TOKEN_HEADER = (
    'Bearer realm="Service", error="invalid_token", '
    'error_description="The access token provided is invalid."'
)


# --------------------------------------------------------------------------- helpers


def _no_sleep(seconds: float) -> None:
    """The authenticator's sleeper: tests never sleep."""


def no_sleep_session(base_url: str | None = None) -> Any:
    """A NetworkSession whose SDK retries (e.g. after a 401) wait 0 s; optionally rerouted."""
    session = NetworkSession(retry_strategy=BoxRetryStrategy(retry_base_interval=0))
    if base_url is not None:
        session = session.with_custom_base_urls(
            BaseUrls(base_url=base_url, upload_url=f"{base_url}/api")
        )
    return session


def run_threads(count: int, work: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``work`` in ``count`` threads released together; (results, errors)."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def target() -> None:
        barrier.wait()
        try:
            result = work()
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(result)

    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def exchanges(emu: BoxEmulator) -> int:
    """Successful token-exchange (downscope) grants so far."""
    grant = "urn:ietf:params:oauth:grant-type:token-exchange"
    return sum(r.grant_type == grant for r in emu.records("POST", "/oauth2/token", status=200))


def sdk_jwt_client(emu: BoxEmulator, ekf: EmulatedKeyFile) -> Any:
    """A BoxClient on the SDK's own BoxJWTAuth, pointed at the emulator."""
    auth = BoxJWTAuth(config=JWTConfig.from_config_json_string(ekf.json))
    return BoxClient(auth=auth, network_session=no_sleep_session(emu.base_url))


@pytest.fixture
def authenticator(
    box_emulator: BoxEmulator, box_keyfile: boxjwt.KeyFile
) -> Iterator[boxjwt.JWTAuthenticator]:
    with boxjwt.JWTAuthenticator(
        box_keyfile, base_url=box_emulator.base_url, sleep=_no_sleep
    ) as auth:
        yield auth


@pytest.fixture
def sdk_auth(authenticator: boxjwt.JWTAuthenticator) -> BoxSDKAuth:
    return BoxSDKAuth(authenticator)


@pytest.fixture
def client(sdk_auth: BoxSDKAuth, box_emulator: BoxEmulator) -> Any:
    """``BoxClient(auth=BoxSDKAuth(auth))`` with the SDK's base URLs pointed at the emulator."""
    return BoxClient(auth=sdk_auth, network_session=no_sleep_session(box_emulator.base_url))


@pytest.fixture
def user_id(box_emulator: BoxEmulator) -> str:
    return box_emulator.managed_users[0].id


# --------------------------------------------------------------------------- construction


def test_is_the_sdks_authentication(sdk_auth: BoxSDKAuth, authenticator: Any) -> None:
    assert isinstance(sdk_auth, Authentication)
    assert sdk_auth.authenticator is authenticator
    assert sdk_auth.user_id is None
    assert sdk_auth.subject_type == "enterprise"
    assert sdk_auth.subject_id == authenticator.enterprise_id


def test_user_subject_attributes(authenticator: Any) -> None:
    sdk_auth = BoxSDKAuth(authenticator, user_id=12345)  # type: ignore[arg-type]
    assert sdk_auth.user_id == "12345"
    assert sdk_auth.subject_type == "user"
    assert sdk_auth.subject_id == "12345"


def test_needs_a_jwt_authenticator() -> None:
    with pytest.raises(ConfigurationError, match="JWTAuthenticator"):
        BoxSDKAuth(object())  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "abc", "12 3", -1, True, None, 1.5])
def test_rejects_bad_user_ids(authenticator: Any, bad: Any) -> None:
    if bad is None:  # None is the service account: valid
        assert BoxSDKAuth(authenticator, user_id=bad).user_id is None
        return
    with pytest.raises(ConfigurationError, match="user ID"):
        BoxSDKAuth(authenticator, user_id=bad)


def test_repr_names_the_subject_and_no_secret(
    sdk_auth: BoxSDKAuth, box_emulated_keyfile: EmulatedKeyFile, client: Any
) -> None:
    client.users.get_user_me()
    token = sdk_auth.token().value.reveal()
    text = repr(sdk_auth) + repr(sdk_auth.with_user_subject("42"))
    assert "BoxSDKAuth(client_id=" in text
    assert "subject_type='user', subject_id='42'" in text
    for secret in (token, box_emulated_keyfile.app.client_secret):
        assert secret not in text


def test_base_urls_follow_the_authenticator(sdk_auth: BoxSDKAuth, box_emulator: Any) -> None:
    urls = sdk_auth.base_urls()
    assert urls.base_url == box_emulator.base_url
    assert urls.upload_url == f"{box_emulator.base_url}/api"


def test_base_urls_default_to_box(box_keyfile: boxjwt.KeyFile) -> None:
    with boxjwt.JWTAuthenticator(box_keyfile) as auth:
        urls = BoxSDKAuth(auth).base_urls()
    default = BaseUrls()
    assert (urls.base_url, urls.upload_url) == (default.base_url, default.upload_url)
    assert urls.base_url == "https://api.box.com"
    assert urls.upload_url == "https://upload.box.com/api"


# --------------------------------------------------------------------------- the three identities


def test_service_account_through_boxclient(
    client: Any, box_emulator: BoxEmulator, box_emulated_keyfile: EmulatedKeyFile
) -> None:
    me = client.users.get_user_me()
    assert me.id == box_emulated_keyfile.app.service_account.id
    assert me.login.startswith("AutomationUser_")
    assert box_emulator.token_requests() == 1
    assert box_emulator.token_requests(subject_type="enterprise") == 1


def test_as_user_header_through_boxclient(
    client: Any, box_emulator: BoxEmulator, user_id: str
) -> None:
    as_user = client.with_as_user_header(user_id)
    assert as_user.users.get_user_me().id == user_id
    assert client.users.get_user_me().id == box_emulator.service_account.id  # unchanged
    # One enterprise token serves both clients; As-User needs no user token.
    assert box_emulator.token_requests() == 1
    assert box_emulator.token_requests(subject_type="user") == 0
    assert box_emulator.count("GET", "/2.0/users/me", as_user=user_id, status=200) == 1


def test_user_subject_through_boxclient(
    sdk_auth: BoxSDKAuth, box_emulator: BoxEmulator, user_id: str
) -> None:
    user_auth = sdk_auth.with_user_subject(user_id)
    assert isinstance(user_auth, BoxSDKAuth)
    assert user_auth.authenticator is sdk_auth.authenticator
    user_client = BoxClient(auth=user_auth, network_session=no_sleep_session(box_emulator.base_url))
    assert user_client.users.get_user_me().id == user_id
    assert user_client.users.get_user_me().id == user_id
    assert box_emulator.token_requests(subject_type="user", subject_id=user_id) == 1
    assert box_emulator.token_requests() == 1


@pytest.mark.filterwarnings("ignore:box_client:DeprecationWarning")  # the old spelling
def test_box_client_helper(authenticator: Any, box_emulator: BoxEmulator, user_id: str) -> None:
    client = box_client(authenticator)
    assert isinstance(client.auth, BoxSDKAuth)
    assert client.network_session.base_urls.base_url == box_emulator.base_url
    assert client.users.get_user_me().id == box_emulator.service_account.id
    as_user = box_client(authenticator, user_id=user_id)
    assert as_user.users.get_user_me().id == user_id


def test_box_client_keeps_the_network_session_settings(
    authenticator: Any, box_emulator: BoxEmulator
) -> None:
    session = no_sleep_session().with_additional_headers({"X-Migration": "wave-1"})
    client = box_client(authenticator, network_session=session)
    assert client.network_session.retry_strategy is session.retry_strategy
    assert client.network_session.base_urls.base_url == box_emulator.base_url
    client.users.get_user_me()
    [record] = box_emulator.records("GET", "/2.0/users/me")
    assert record.status == 200
    headers = {name.lower(): value for name, value in record.request_headers.items()}
    assert headers["x-migration"] == "wave-1"


def test_subjects_share_one_cache(authenticator: Any, box_emulator: BoxEmulator) -> None:
    first = box_client(authenticator)
    second = BoxClient(
        auth=BoxSDKAuth(authenticator).with_enterprise_subject(),
        network_session=no_sleep_session(box_emulator.base_url),
    )
    first.users.get_user_me()
    second.users.get_user_me()
    authenticator.enterprise_token()
    assert box_emulator.token_requests() == 1


def test_with_enterprise_subject(sdk_auth: BoxSDKAuth, user_id: str) -> None:
    user_auth = sdk_auth.with_user_subject(user_id)
    back = user_auth.with_enterprise_subject(sdk_auth.authenticator.enterprise_id)
    assert back.user_id is None
    assert back.authenticator is sdk_auth.authenticator
    assert user_auth.with_enterprise_subject().subject_type == "enterprise"


def test_with_enterprise_subject_of_another_enterprise(sdk_auth: BoxSDKAuth) -> None:
    with pytest.raises(ConfigurationError, match="serves enterprise"):
        sdk_auth.with_enterprise_subject("999")


def test_sdk_token_storage_is_refused(sdk_auth: BoxSDKAuth, user_id: str) -> None:
    storage = box_sdk_gen.InMemoryTokenStorage()
    with pytest.raises(ConfigurationError, match="token_store"):
        sdk_auth.with_user_subject(user_id, token_storage=storage)
    with pytest.raises(ConfigurationError, match="token_store"):
        sdk_auth.with_enterprise_subject(token_storage=storage)


# --------------------------------------------------------------------------- the interface


def test_retrieve_token_is_the_sdks_access_token(
    sdk_auth: BoxSDKAuth, box_emulator: BoxEmulator
) -> None:
    token = sdk_auth.retrieve_token()
    assert isinstance(token, SDKAccessToken)
    assert isinstance(token, BoxSDKAccessToken)
    ours = sdk_auth.token()
    assert token.access_token == ours.value.reveal()
    assert 0 < token.expires_in <= box_emulator.token_expires_in
    assert token.token_type == "bearer"
    assert token.restricted_to == []
    assert token.issued_token_type is None
    assert sdk_auth.retrieve_token().access_token == token.access_token
    assert box_emulator.token_requests() == 1


def test_sdk_token_repr_hides_the_value(sdk_auth: BoxSDKAuth) -> None:
    token = sdk_auth.retrieve_token()
    for text in (repr(token), str(token), f"{token}"):
        assert token.access_token not in text
        assert "access_token='***'" in text
    assert token.to_dict()["access_token"] == token.access_token  # the SDK's own serialisation


def test_retrieve_authorization_header(sdk_auth: BoxSDKAuth) -> None:
    header = sdk_auth.retrieve_authorization_header()
    assert header == f"Bearer {sdk_auth.retrieve_token().access_token}"


def test_refresh_token_replaces_the_current_token(
    sdk_auth: BoxSDKAuth, box_emulator: BoxEmulator
) -> None:
    first = sdk_auth.retrieve_token().access_token
    second = sdk_auth.refresh_token().access_token
    assert second != first
    assert sdk_auth.retrieve_token().access_token == second
    assert box_emulator.token_requests() == 2


def test_refresh_token_in_a_fresh_thread_drops_the_cached_token(
    authenticator: Any, box_emulator: BoxEmulator
) -> None:
    cached = authenticator.enterprise_token().value.reveal()
    sdk_auth = BoxSDKAuth(authenticator)  # this thread never used a token through it
    refreshed = sdk_auth.refresh_token().access_token
    assert refreshed != cached
    assert box_emulator.token_requests() == 2


def test_refresh_token_with_nothing_cached(sdk_auth: BoxSDKAuth, box_emulator: BoxEmulator) -> None:
    token = sdk_auth.refresh_token()
    assert token.access_token
    assert box_emulator.token_requests() == 1


def test_refresh_token_is_compare_and_swap(sdk_auth: BoxSDKAuth, box_emulator: BoxEmulator) -> None:
    seen: dict[str, str] = {}
    ready = threading.Event()
    go = threading.Event()

    def other_thread() -> None:
        seen["used"] = sdk_auth.retrieve_authorization_header()
        ready.set()
        go.wait()
        seen["refreshed"] = sdk_auth.refresh_token().access_token  # a 401 for the old token

    thread = threading.Thread(target=other_thread)
    thread.start()
    ready.wait()
    newer = sdk_auth.refresh_token().access_token  # this thread replaced it meanwhile
    go.set()
    thread.join()
    assert seen["used"] != f"Bearer {newer}"
    assert seen["refreshed"] == newer  # reused, not replaced again
    assert box_emulator.token_requests() == 2


def test_revoke_token(sdk_auth: BoxSDKAuth, client: Any, box_emulator: BoxEmulator) -> None:
    client.users.get_user_me()
    old_header = sdk_auth.retrieve_authorization_header()
    sdk_auth.revoke_token()
    assert box_emulator.count("POST", "/oauth2/revoke", status=200) == 1
    gone = requests.get(
        f"{box_emulator.api_url}/users/me", headers={"Authorization": old_header}, timeout=10
    )
    assert gone.status_code == 401
    # The next call makes a new token, once.
    assert client.users.get_user_me().id == box_emulator.service_account.id
    assert sdk_auth.retrieve_authorization_header() != old_header
    assert box_emulator.token_requests() == 2


def test_revoke_token_with_nothing_cached(sdk_auth: BoxSDKAuth, box_emulator: BoxEmulator) -> None:
    sdk_auth.revoke_token()
    assert box_emulator.count("POST", "/oauth2/revoke") == 0
    assert box_emulator.token_requests() == 0


def test_revoke_user_token(sdk_auth: BoxSDKAuth, box_emulator: BoxEmulator, user_id: str) -> None:
    enterprise = sdk_auth.retrieve_token().access_token
    user_auth = sdk_auth.with_user_subject(user_id)
    user_token = user_auth.retrieve_token().access_token
    user_auth.revoke_token()
    assert box_emulator.live_token(user_token) is None
    assert box_emulator.live_token(enterprise) is not None  # other subjects untouched
    assert sdk_auth.retrieve_token().access_token == enterprise


def test_downscope_token(sdk_auth: BoxSDKAuth, client: Any, box_emulator: BoxEmulator) -> None:
    item = box_emulator.add_file("report.pdf", b"%PDF-1.7")
    resource = f"{box_emulator.api_url}/files/{item.id}"
    full = sdk_auth.retrieve_token().access_token
    small = sdk_auth.downscope_token(["item_preview"], resource=resource)
    assert isinstance(small, BoxSDKAccessToken)
    assert small.access_token != full
    assert small.issued_token_type == "urn:ietf:params:oauth:token-type:access_token"
    [scope] = small.restricted_to
    assert scope.scope == ResourceScopeScopeField.ITEM_PREVIEW
    assert scope.object.id == item.id
    assert small.access_token not in repr(small)
    # The current token is unchanged and still cached; the downscoped one is not cached.
    assert sdk_auth.retrieve_token().access_token == full
    assert exchanges(box_emulator) == 1
    # The downscoped token reads the file through the SDK, but may not write.
    preview = BoxClient(
        auth=BoxDeveloperTokenAuth(token=small.access_token),
        network_session=no_sleep_session(box_emulator.base_url),
    )
    assert preview.files.get_file_by_id(item.id).name == "report.pdf"
    with pytest.raises(BoxAPIError) as denied:
        preview.uploads.preflight_file_upload_check(
            name="x.txt", size=1, parent=PreflightFileUploadCheckParent(id="0")
        )
    assert denied.value.response_info.status_code == 403


def test_downscope_token_scope_spellings(sdk_auth: BoxSDKAuth, box_emulator: BoxEmulator) -> None:
    item = box_emulator.add_file("notes.txt", b"hello")
    resource = f"{box_emulator.api_url}/files/{item.id}"
    by_enum = sdk_auth.downscope_token(
        [ResourceScopeScopeField.ITEM_PREVIEW, ResourceScopeScopeField.ITEM_DOWNLOAD],
        resource=resource,
    )
    by_text = sdk_auth.downscope_token("item_preview item_download", resource=resource)
    for token in (by_enum, by_text):
        assert sorted(s.scope for s in token.restricted_to) == ["item_download", "item_preview"]


def test_downscope_token_without_scopes(sdk_auth: BoxSDKAuth) -> None:
    with pytest.raises(ConfigurationError, match="scope"):
        sdk_auth.downscope_token([])


def test_downscope_token_for_a_shared_link(sdk_auth: BoxSDKAuth, box_emulator: BoxEmulator) -> None:
    small = sdk_auth.downscope_token(["item_preview"], shared_link="https://app.box.com/s/abcdef")
    assert small.issued_token_type == "urn:ietf:params:oauth:token-type:access_token"
    assert exchanges(box_emulator) == 1


# --------------------------------------------------------------------------- errors


def test_boxjwt_errors_pass_through_the_sdk(
    box_emulator: BoxEmulator, box_emulated_keyfile: EmulatedKeyFile, client: Any, user_id: str
) -> None:
    box_emulated_keyfile.app.configure(user_tokens=False)
    box_emulated_keyfile.app.reauthorize()
    user_client = BoxClient(
        auth=client.auth.with_user_subject(user_id),
        network_session=no_sleep_session(box_emulator.base_url),
    )
    with pytest.raises(UserTokenNotAllowedError) as caught:
        user_client.users.get_user_me()
    assert caught.value.remedy
    assert box_emulator.token_requests(subject_type="user") == 1  # permanent: not retried


def test_a_wrong_client_secret_is_precise(
    box_emulator: BoxEmulator, box_emulated_keyfile: EmulatedKeyFile, client: Any
) -> None:
    box_emulated_keyfile.app.reset_client_secret()
    with pytest.raises(InvalidClientCredentialsError):
        client.users.get_user_me()
    assert box_emulator.token_requests() == 1


# --------------------------------------------------------------------------- concurrency


def test_32_threads_one_boxclient_one_token_request(client: Any, box_emulator: BoxEmulator) -> None:
    results, errors = run_threads(THREADS, lambda: client.users.get_user_me().id)
    assert errors == []
    assert results == [box_emulator.service_account.id] * THREADS
    assert box_emulator.token_requests() == 1
    assert box_emulator.count("GET", "/2.0/users/me", status=200) == THREADS


def test_32_threads_sdk_own_jwt_auth_for_comparison(
    box_emulator: BoxEmulator, box_emulated_keyfile: EmulatedKeyFile
) -> None:
    sdk_client = sdk_jwt_client(box_emulator, box_emulated_keyfile)
    results, errors = run_threads(THREADS, lambda: sdk_client.users.get_user_me().id)
    assert errors == []
    assert len(results) == THREADS
    sdk_requests = box_emulator.token_requests()
    print(f"\nSDK BoxJWTAuth, {THREADS} threads, cold: {sdk_requests} token requests")
    assert sdk_requests >= 1


def test_401_storm_makes_one_new_token_request(client: Any, box_emulator: BoxEmulator) -> None:
    client.users.get_user_me()
    box_emulator.revoke_all_tokens()
    results, errors = run_threads(THREADS, lambda: client.users.get_user_me().id)
    assert errors == []
    assert len(results) == THREADS
    # Threads that started late may already have found the new token: at least one got a 401.
    assert box_emulator.count("GET", "/2.0/users/me", status=401) >= 1
    assert box_emulator.count("GET", "/2.0/users/me", status=200) == THREADS + 1
    assert box_emulator.token_requests() == 2  # the first token, then exactly one replacement


def test_32_threads_as_users_share_one_enterprise_token(
    client: Any, box_emulator: BoxEmulator
) -> None:
    users = [u.id for u in box_emulator.managed_users if u.status == "active"]
    counter = iter(range(THREADS))
    lock = threading.Lock()

    def work() -> str:
        with lock:
            n = next(counter)
        target = users[n % len(users)]
        return str(client.with_as_user_header(target).users.get_user_me().id == target)

    results, errors = run_threads(THREADS, work)
    assert errors == []
    assert results == ["True"] * THREADS
    assert box_emulator.token_requests() == 1


# --------------------------------------------------------------------------- clock skew


@pytest.mark.parametrize("offset", [300.0, -300.0])
def test_clock_five_minutes_off(
    offset: float,
    box_emulator: BoxEmulator,
    box_emulated_keyfile: EmulatedKeyFile,
    client: Any,
    authenticator: Any,
) -> None:
    box_emulator.clock_offset = offset
    # The SDK's own JWT auth signs exp with the local clock and fails.
    with pytest.raises(BoxAPIError) as failed:
        sdk_jwt_client(box_emulator, box_emulated_keyfile).users.get_user_me()
    assert failed.value.response_info.status_code == 400
    assert failed.value.response_info.body["error"] == "invalid_grant"
    assert "exp" in failed.value.response_info.body["error_description"]
    # Ours learns Box's clock from the Date header and succeeds.
    assert client.users.get_user_me().id == box_emulator.service_account.id
    assert abs(authenticator.clock_offset - offset) < 30
    assert box_emulator.token_requests(status=200) == 1


# --------------------------------------------------------------------------- Box origins only


def redirected_file(box_emulator: BoxEmulator, foreign: RecordingServer) -> str:
    """A file of the first managed user whose download Box redirects to ``foreign``."""
    box_emulator.download_url_template = foreign.url + "/download/{file_id}"
    return box_emulator.add_file("report.pdf", b"%PDF", owner=box_emulator.managed_users[0]).id


@pytest.mark.parametrize("how", ["box_client", "BoxClient"])
def test_a_401_after_a_download_redirect_changes_nothing(
    authenticator: Any,
    box_emulator: BoxEmulator,
    foreign: RecordingServer,
    user_id: str,
    how: str,
) -> None:
    """Issue 13, item 1: Box answers 302 to another origin, which answers 401. No Box header
    reaches it, the token is not dropped, and no token request follows."""
    file_id = redirected_file(box_emulator, foreign)
    foreign.script(*[Answer(401, {"WWW-Authenticate": INVALID_TOKEN_HEADER}, b"")] * 10)
    if how == "box_client":
        base = box_client(authenticator, network_session=no_sleep_session())
    else:
        base = BoxClient(
            auth=BoxSDKAuth(authenticator),
            network_session=no_sleep_session(box_emulator.base_url),
        )
    client = base.with_as_user_header(user_id)
    assert client.users.get_user_me().id == user_id
    cached = authenticator.enterprise_token()
    with pytest.raises(BoxAPIError) as failed:
        client.downloads.download_file(file_id)
    assert failed.value.response_info.status_code == 401
    assert foreign.received  # the SDK went there (and retried: its own policy)
    for landed in foreign.received:
        assert "authorization" not in landed.headers
        assert "as-user" not in landed.headers
    assert authenticator.enterprise_token() is cached  # not dropped
    assert box_emulator.token_requests() == 1  # no new exchange


def test_a_download_redirect_to_another_origin_carries_no_box_header(
    authenticator: Any, box_emulator: BoxEmulator, foreign: RecordingServer, user_id: str
) -> None:
    file_id = redirected_file(box_emulator, foreign)
    foreign.script(Answer(200, {"Content-Type": "application/pdf"}, b"%PDF"))
    client = box_client(authenticator, user_id=user_id, mode="as_user")
    assert client.downloads.download_file(file_id).read() == b"%PDF"
    boxed = box_emulator.records("GET", f"/2.0/files/{file_id}/content")[-1]
    assert boxed.as_user == user_id
    (landed,) = foreign.received
    assert "as-user" not in landed.headers
    assert "authorization" not in landed.headers


def test_a_401_from_box_itself_still_refreshes(
    authenticator: Any, box_emulator: BoxEmulator, user_id: str
) -> None:
    client = box_client(authenticator, network_session=no_sleep_session())
    client.users.get_user_me()
    box_emulator.revoke_all_tokens()
    assert client.users.get_user_me().id == box_emulator.service_account.id
    assert box_emulator.token_requests() == 2


def test_one_hook_per_sdk_session_for_every_authenticator(
    authenticator: Any, box_keyfile: boxjwt.KeyFile, box_emulator: BoxEmulator
) -> None:
    session = no_sleep_session(box_emulator.base_url)
    requests_session = session.network_client.requests_session
    before = list(requests_session.hooks["response"])
    BoxSDKAuth(authenticator).retrieve_authorization_header(network_session=session)
    BoxSDKAuth(authenticator).retrieve_authorization_header(network_session=session)
    with boxjwt.JWTAuthenticator(
        box_keyfile, base_url=f"http://localhost:{box_emulator.port}"
    ) as other:
        BoxSDKAuth(other).retrieve_authorization_header(network_session=session)
    added = [h for h in requests_session.hooks["response"] if h not in before]
    assert len(added) == 1
    origins = added[0].origins
    assert ("http", "127.0.0.1", box_emulator.port) in origins
    assert ("http", "localhost", box_emulator.port) in origins
    # a network client without a requests session (a custom one) gets no hook, and no error
    custom = session.with_network_client(object())
    assert BoxSDKAuth(authenticator).retrieve_authorization_header(network_session=custom)


def test_mode_spellings(authenticator: Any, box_emulator: BoxEmulator, user_id: str) -> None:
    assert BoxSDKAuth(authenticator).mode == "user_token"
    assert BoxSDKAuth(authenticator, mode="as_user").subject_type == "enterprise"
    with pytest.raises(ConfigurationError, match="with_as_user_header"):
        BoxSDKAuth(authenticator, user_id=user_id, mode="as_user")
    with pytest.raises(ConfigurationError, match="mode"):
        BoxSDKAuth(authenticator, mode="impersonate")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="mode"):
        box_client(authenticator, mode="impersonate")  # type: ignore[arg-type]
    own = box_client(authenticator, user_id=int(user_id), mode="user_token")
    assert own.auth.user_id == user_id
    assert own.users.get_user_me().id == user_id
    as_user = box_client(authenticator, user_id=user_id, mode="as_user")
    assert as_user.auth.user_id is None
    assert as_user.users.get_user_me().id == user_id
    with pytest.warns(DeprecationWarning, match="mode='user_token'") as caught:
        old = box_client(authenticator, user_id=user_id)
    assert caught[0].filename == __file__
    assert old.auth.user_id == user_id
    assert box_emulator.token_requests(subject_type="user") == 1
    assert box_emulator.token_requests(subject_type="enterprise") == 1
