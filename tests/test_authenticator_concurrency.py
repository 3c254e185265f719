"""Single flight: many threads, one exchange per subject; subjects never wait on each other."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import requests

import authenticator_support as support
from boxjwt import AccessToken, BoxAuth, JWTAuthenticator, KeyFile, MemoryTokenStore
from boxjwt._token import subject_key
from boxjwt.exceptions import AppNotAuthorizedError, TokenServerError
from boxjwt.testing import BoxEmulator, FakeClock

pytestmark = pytest.mark.shared_emulator  # one emulator for the module (tests/conftest.py)
make_auth = support.make_auth


def all_at_once(n: int, fn: Callable[[int], AccessToken]) -> list[AccessToken]:
    """Run ``fn(i)`` in ``n`` threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def run(i: int) -> AccessToken:
        barrier.wait(timeout=30)
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_64_threads_cold_then_after_expiry_make_one_request_each_time(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.token_expires_in = 60
    emu.latency = 0.02  # keep the exchange in flight while the other threads arrive
    auth = make_auth(keyfile, emu, clock)
    tokens = all_at_once(64, lambda _: auth.enterprise_token())
    assert emu.token_requests() == 1
    assert len({id(t) for t in tokens}) == 1

    clock.advance(61)  # expired
    again = all_at_once(64, lambda _: auth.enterprise_token())
    assert emu.token_requests() == 2
    assert len({id(t) for t in again}) == 1
    assert again[0] != tokens[0]
    assert again[0].expires_at == clock() + 60


def test_500_users_from_16_threads(emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock) -> None:
    users = [emu.add_user(f"Migrated {n}").id for n in range(500)]
    auth = make_auth(keyfile, emu, clock)

    def fetch_all() -> list[AccessToken]:
        with ThreadPoolExecutor(16) as pool:
            # every user is asked for twice, by different threads, interleaved
            return list(pool.map(auth.user_token, users + users[::-1]))

    first = fetch_all()
    assert emu.token_requests(subject_type="user") == 500
    assert emu.token_requests() == 500
    assert {t.subject_id for t in first} == set(users)
    second = fetch_all()
    assert emu.token_requests() == 500  # asking again: 0 more
    assert [id(t) for t in second] == [id(t) for t in first]


def test_a_401_storm_makes_one_exchange(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock)
    box_auth = BoxAuth(auth)
    auth.enterprise_token()
    emu.revoke_all_tokens()

    def call(_: int) -> AccessToken:
        response = requests.get(f"{auth.api_url}/users/me", auth=box_auth, timeout=30)
        assert response.status_code == 200
        return auth.enterprise_token()

    tokens = all_at_once(32, call)
    assert emu.token_requests() == 2  # the first token, then exactly one replacement
    assert len({id(t) for t in tokens}) == 1


class GatedStore(MemoryTokenStore):
    """A store whose ``lock`` for one key blocks until released (a slow shared store)."""

    def __init__(self, gated_key: str) -> None:
        super().__init__()
        self.gated_key = gated_key
        self.entered = threading.Event()
        self.release = threading.Event()

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        if key == self.gated_key:
            self.entered.set()
            assert self.release.wait(timeout=30)
        yield


def test_subjects_never_wait_on_each_other(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    blocked_user, free_user = emu.managed_users[0].id, emu.managed_users[1].id
    store = GatedStore(f"{keyfile.client_id}:user:{blocked_user}")
    auth = make_auth(keyfile, emu, clock, token_store=store)
    with ThreadPoolExecutor(3) as pool:
        blocked = pool.submit(auth.user_token, blocked_user)
        assert store.entered.wait(timeout=30)
        # while that refresh is stuck, other subjects go straight through
        assert auth.user_token(free_user).subject_id == free_user
        assert auth.enterprise_token().subject_type == "enterprise"
        waiting = pool.submit(auth.user_token, blocked_user)  # same subject: must wait
        assert not blocked.done()
        assert not waiting.done()
        store.release.set()
        assert blocked.result(timeout=30) is waiting.result(timeout=30)
    assert emu.token_requests(subject_id=blocked_user) == 1


def test_per_subject_locks_do_not_accumulate(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock)
    for user in emu.managed_users[:5]:
        auth.user_token(user.id)
    gc.collect()
    assert len(auth._locks) == 0  # weakly held: gone once no thread uses them


def test_stale_token_is_served_while_refresh_fails_transiently(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock, retry=support.seeded_policy(max_attempts=2))
    current = auth.enterprise_token()
    clock.advance(support.DEFAULT_EXPIRES_IN - 100)  # inside the margin: refresh due
    emu.faults.push("/oauth2/token", 503, count=2)
    assert auth.enterprise_token() is current  # refresh failed: the valid token carries on
    assert emu.token_requests() == 3
    clock.advance(95)  # 5 s left: too close to expiry to keep using it
    emu.faults.push("/oauth2/token", 503, count=2)
    with pytest.raises(TokenServerError):
        auth.enterprise_token()
    assert auth.enterprise_token() is not current  # Box is back: a new token
    assert emu.token_requests() == 6


class PeerRefreshingStore(MemoryTokenStore):
    """A shared store where another process refreshes while we wait for its lock."""

    def __init__(self, peer: Callable[[], AccessToken]) -> None:
        super().__init__()
        self.peer = peer
        self.locks = 0

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        self.locks += 1
        self.set(key, self.peer())  # the other process got there first
        yield


def test_recheck_inside_the_store_lock(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    peer = make_auth(keyfile, emu, clock)
    store = PeerRefreshingStore(peer.enterprise_token)
    auth = make_auth(keyfile, emu, clock, token_store=store)
    token = auth.enterprise_token()
    assert token is peer.enterprise_token()  # ours made no exchange of its own
    assert (store.locks, emu.token_requests()) == (1, 1)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Block until ``predicate()`` holds (polled), failing after ``timeout`` seconds."""
    tick = threading.Event()
    for _ in range(int(timeout / 0.001)):
        if predicate():
            return
        tick.wait(0.001)
    raise AssertionError("condition never became true")


def pile_up(auth: JWTAuthenticator, store: GatedStore, n: int) -> list[Future[AccessToken]]:
    """``n`` threads ask for the enterprise token; the first one's exchange is held at the
    store lock until all the others wait for it, then released."""
    key = subject_key(auth.client_id, "enterprise", auth.enterprise_id)
    pool = ThreadPoolExecutor(n)
    futures = [pool.submit(auth.enterprise_token)]
    assert store.entered.wait(timeout=30)
    futures += [pool.submit(auth.enterprise_token) for _ in range(n - 1)]
    wait_until(lambda: auth._locks[key].waiting == n - 1)
    store.release.set()
    pool.shutdown(wait=True)
    return futures


def gated(
    auth_keyfile: KeyFile, emu: BoxEmulator, clock: FakeClock, **kw: Any
) -> tuple[JWTAuthenticator, GatedStore]:
    store = GatedStore(
        subject_key(auth_keyfile.client_id, "enterprise", auth_keyfile.enterprise_id)
    )
    return make_auth(auth_keyfile, emu, clock, token_store=store, **kw), store


def test_waiters_share_a_permanent_failure(emu: BoxEmulator, clock: FakeClock) -> None:
    disabled = emu.make_keyfile(authorized=False).load()
    auth, store = gated(disabled, emu, clock)
    futures = pile_up(auth, store, 8)
    errors = [f.exception() for f in futures]
    assert all(isinstance(e, AppNotAuthorizedError) for e in errors)
    assert len({id(e) for e in errors}) == 8  # each thread raises its own copy
    assert len({e.request_id for e in errors if isinstance(e, AppNotAuthorizedError)}) == 1
    assert emu.token_requests() == 1


def test_waiters_share_a_transient_failure_instead_of_repeating_it(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    emu.faults.push("/oauth2/token", 503, count=1000)
    auth, store = gated(keyfile, emu, clock, retry=support.seeded_policy(max_attempts=3))
    futures = pile_up(auth, store, 8)
    assert all(isinstance(f.exception(), TokenServerError) for f in futures)
    assert emu.token_requests() == 3  # one exchange's attempts, not 8 x 3
    assert clock.sleeps == support.expected_backoffs(2)
    emu.faults.clear()
    assert auth.enterprise_token().subject_type == "enterprise"  # later callers try afresh
    assert emu.token_requests() == 4


def test_waiters_get_the_stale_token_when_a_refresh_fails(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth, store = gated(keyfile, emu, clock, retry=support.seeded_policy(max_attempts=2))
    store.release.set()
    current = auth.enterprise_token()
    store.release.clear()
    store.entered.clear()
    clock.advance(support.DEFAULT_EXPIRES_IN - 100)  # refresh due, token still valid
    emu.faults.push("/oauth2/token", 503, count=1000)
    futures = pile_up(auth, store, 6)
    assert [f.result() for f in futures] == [current] * 6
    assert emu.token_requests() == 1 + 2
