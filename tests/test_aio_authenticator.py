"""boxjwt.aio.AsyncJWTAuthenticator against the emulator over real HTTP (anyio's pytest plugin,
asyncio backend): single flight across tasks, expiry, skew, failures, cancellation, stores."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from aio_support import make_auth
from boxjwt import AccessToken, KeyFile, MemoryTokenStore, RetryPolicy
from boxjwt._token import subject_key
from boxjwt.aio import AsyncJWTAuthenticator
from boxjwt.exceptions import (
    AppNotAuthorizedError,
    ConfigurationError,
    InvalidGrantTypeError,
    TokenServerError,
    TransportError,
)
from boxjwt.testing import BoxEmulator, FakeClock

pytestmark = [pytest.mark.anyio, pytest.mark.shared_emulator]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_500_tasks_cold_then_after_expiry_make_one_request_each_time(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.token_expires_in = 60
    emu.latency = 0.02  # keep the exchange in flight while the other tasks arrive
    async with make_auth(keyfile, emu, clock) as auth:
        tokens = await asyncio.gather(*(auth.enterprise_token() for _ in range(500)))
        assert emu.token_requests() == 1
        assert len({id(t) for t in tokens}) == 1
        clock.advance(61)  # expired
        again = await asyncio.gather(*(auth.enterprise_token() for _ in range(500)))
        assert emu.token_requests() == 2
        assert len({id(t) for t in again}) == 1
        assert again[0] != tokens[0]
        assert again[0].expires_at == clock() + 60


async def test_refresh_before_expiry_and_subjects_apart(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.token_expires_in = 3600
    user = emu.managed_users[0].id
    async with make_auth(keyfile, emu, clock) as auth:
        first = await auth.enterprise_token()
        mine = await auth.user_token(user)
        assert (mine.subject_type, mine.subject_id) == ("user", user)
        assert await auth.token(user) is mine
        assert await auth.token() is first
        clock.advance(3600 - auth.core.refresh_margin + 1)  # inside the refresh margin
        assert await auth.enterprise_token() != first
        assert emu.token_requests() == 3


async def test_invalidate_is_compare_and_swap(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    async with make_auth(keyfile, emu, clock) as auth:
        old = await auth.enterprise_token()
        assert await auth.invalidate(old) is True
        new = await auth.enterprise_token()
        assert await auth.invalidate(old) is False  # another task already replaced it
        assert await auth.enterprise_token() is new
        with pytest.raises(ConfigurationError):
            await auth.invalidate("token")  # type: ignore[arg-type]


async def test_clock_skew_is_learned_and_retried_once(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.clock_offset = 600.0  # Box is 10 minutes ahead: our exp is already past
    async with make_auth(keyfile, emu, clock) as auth:
        await auth.enterprise_token()
        assert emu.token_requests() == 2
        assert abs(auth.clock_offset - 600.0) < 2
        assert clock.sleeps == []  # the skew retry is immediate


async def test_permanent_failure_is_one_request_and_shared_by_waiters(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push(
        "/oauth2/token",
        400,
        body={
            "error": "unauthorized_client",
            "error_description": "This app is not authorized by the enterprise admin",
        },
    )
    emu.latency = 0.02
    async with make_auth(keyfile, emu, clock) as auth:
        results = await asyncio.gather(
            *(auth.enterprise_token() for _ in range(20)), return_exceptions=True
        )
    assert all(isinstance(r, AppNotAuthorizedError) for r in results)
    assert emu.token_requests() == 1
    assert keyfile.client_secret.reveal() not in str(results[0])


async def test_transient_failures_are_retried_with_awaited_backoff(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 503, count=2)
    async with make_auth(keyfile, emu, clock) as auth:
        await auth.enterprise_token()
    assert emu.token_requests() == 3
    assert len(clock.sleeps) == 2


async def test_retries_are_bounded(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    emu.faults.push("/oauth2/token", 503, count=10)
    async with make_auth(keyfile, emu, clock, retry=RetryPolicy(max_attempts=3)) as auth:
        with pytest.raises(TokenServerError):
            await auth.enterprise_token()
    assert emu.token_requests() == 3


async def test_a_redirect_of_the_token_endpoint_is_never_followed(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 302, headers={"Location": "http://example.invalid/x"})
    async with make_auth(keyfile, emu, clock) as auth:
        with pytest.raises(InvalidGrantTypeError, match="never follows redirects"):
            await auth.enterprise_token()


async def test_an_oversized_token_answer_is_cut_and_refused(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 200, body=b"{" + b" " * 200_000 + b"}")
    async with make_auth(keyfile, emu, clock, retry=RetryPolicy(max_attempts=1)) as auth:
        with pytest.raises(TokenServerError, match="over 65536 bytes"):
            await auth.enterprise_token()


async def test_a_slow_answer_hits_the_deadline(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", delay=2.0)
    auth = make_auth(keyfile, emu, clock, deadline=0.2, retry=RetryPolicy(max_attempts=1))
    async with auth:
        with pytest.raises(TransportError, match=r"no complete answer within 0\.2 s") as caught:
            await auth.enterprise_token()
    assert caught.value.retryable


async def test_an_unreachable_box_is_a_transport_error(keyfile: KeyFile, clock: FakeClock) -> None:
    with BoxEmulator() as gone:
        url = gone.base_url
    auth = AsyncJWTAuthenticator(keyfile, base_url=url, retry=RetryPolicy(max_attempts=1))
    async with auth:
        with pytest.raises(TransportError) as caught:
            await auth.enterprise_token()
    assert caught.value.retryable
    assert caught.value.__context__ is None  # the httpx error (and its request) is dropped


async def test_a_cancelled_refresh_leaves_the_next_task_free_to_refresh(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    async with make_auth(keyfile, emu, clock) as auth:
        emu.faults.push("/oauth2/token", delay=5.0)  # the first exchange hangs
        holder = asyncio.create_task(auth.enterprise_token())
        while emu.faults.pending("/oauth2/token"):
            await asyncio.sleep(0.005)  # until the emulator has the hung request
        key = subject_key(keyfile.client_id, "enterprise", keyfile.enterprise_id)
        (lock,) = [v for (_, k), v in auth._locks.items() if k == key]
        assert lock.lock.locked()
        holder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await holder
        assert not lock.lock.locked()
        assert auth.token_store.get(key) is None  # nothing half-written
        token = await asyncio.wait_for(auth.enterprise_token(), timeout=4.0)  # not the hung one
        assert isinstance(token, AccessToken)
        assert emu.live_token(token.value.reveal()) is not None
        assert emu.token_requests() == 1  # this one; the hung one has not been answered yet


class SlowStore(MemoryTokenStore):
    """A store that is not the in-memory default (so it runs in threads), with a gated lock."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.held = 0
        self.calls: set[str] = set()

    def get(self, key: str) -> AccessToken | None:
        self.calls.add(threading.current_thread().name)
        return super().get(key)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        self.held += 1
        self.entered.set()
        assert self.release.wait(timeout=30)
        try:
            yield
        finally:
            self.held -= 1


async def test_other_stores_run_in_threads_and_a_cancelled_waiter_releases_their_lock(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    store = SlowStore()
    async with make_auth(keyfile, emu, clock, token_store=store) as auth:
        task = asyncio.create_task(auth.enterprise_token())
        await asyncio.to_thread(store.entered.wait, 30)
        task.cancel()  # while a worker thread waits for the store's lock
        with pytest.raises(asyncio.CancelledError):
            await task
        store.release.set()
        for _ in range(200):  # the thread takes the lock late; it is given back at once
            if store.held == 0:
                break
            await asyncio.sleep(0.01)
        assert store.held == 0
        token = await auth.enterprise_token()
        callers = set(store.calls)
        key = subject_key(keyfile.client_id, "enterprise", keyfile.enterprise_id)
        assert store.get(key) is token
        assert await auth.invalidate(token) is True  # compare-and-swap, in a worker thread
        assert store.get(key) is None
    assert callers
    assert threading.main_thread().name not in callers  # the loop's thread never blocked on it
    assert emu.token_requests() == 1


async def test_a_token_for_another_subject_in_the_store_is_refused(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    async with make_auth(keyfile, emu, clock) as auth:
        service = await auth.enterprise_token()
        user = emu.managed_users[0].id
        auth.token_store.set(subject_key(keyfile.client_id, "user", user), service)
        mine = await auth.user_token(user)
        assert mine.subject_id == user


def test_invalid_arguments(keyfile: KeyFile) -> None:
    with pytest.raises(ConfigurationError):
        AsyncJWTAuthenticator(keyfile, client=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncJWTAuthenticator(keyfile, sleep=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncJWTAuthenticator("key.json")  # type: ignore[arg-type]


async def test_properties_and_a_client_of_ones_own(emu: BoxEmulator, keyfile: KeyFile) -> None:
    async with httpx.AsyncClient() as client:
        auth = AsyncJWTAuthenticator(keyfile, base_url=emu.base_url, client=client)
        assert auth.client is client
        assert auth.keyfile is keyfile
        assert (auth.client_id, auth.enterprise_id) == (keyfile.client_id, keyfile.enterprise_id)
        assert auth.api_url == emu.base_url + "/2.0"
        assert auth.upload_url == emu.base_url + "/api/2.0"
        assert auth.sleep is asyncio.sleep
        assert "AsyncJWTAuthenticator(client_id=" in repr(auth)
        assert keyfile.client_secret.reveal() not in repr(auth)
        await auth.aclose()  # leaves a client passed in open
        assert not client.is_closed


def test_importing_boxjwt_does_not_import_httpx_but_boxjwt_aio_does() -> None:
    code = (
        "import sys, boxjwt\n"
        "assert 'httpx' not in sys.modules\n"
        "import boxjwt.aio\n"
        "assert 'httpx' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
