"""Issue 16: the near cache of RedisTokenStore, against a real redis-server and the emulator.

Each "process" is an authenticator with its own store, near cache and Redis client (a
:class:`~redis_worker.CountingRedis` counting the commands it sends); the real multi-process
version is in test_redis_acceptance.py. Counts only: Redis commands, token requests, statuses.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
import redis
from cryptography.fernet import Fernet
from redis.backoff import NoBackoff
from redis.retry import Retry

from boxjwt import AccessToken, AsUserSession, JWTAuthenticator, KeyFile, RateLimiter
from boxjwt._token import subject_key
from boxjwt.exceptions import ConfigurationError, TokenStoreFallbackWarning
from boxjwt.stores import RedisTokenStore
from boxjwt.testing import BoxEmulator, EmulatedUser, FakeClock
from redis_server import RedisServer
from redis_worker import CountingRedis

pytestmark = [pytest.mark.redis, pytest.mark.shared_emulator]

ME = "/2.0/users/me"


@pytest.fixture
def connect(
    redis_server: RedisServer, client: redis.Redis
) -> Iterator[Callable[[], CountingRedis]]:
    """Counting clients of the (flushed) test Redis, closed afterwards."""
    made: list[CountingRedis] = []

    def factory() -> CountingRedis:
        conn = CountingRedis(
            host="127.0.0.1",
            port=redis_server.port,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 0),  # fail fast, as the docs recommend
        )
        made.append(conn)
        return conn

    yield factory
    for conn in made:
        conn.close()


@attrs.define
class Process:
    """One simulated process: its authenticator, store and counting Redis client."""

    auth: JWTAuthenticator
    store: RedisTokenStore
    redis: CountingRedis

    def commands(self) -> dict[str, int]:
        """The Redis commands sent since the last call, by name (then counting afresh)."""
        counts = dict(self.redis.commands)
        self.redis.commands.clear()
        return counts

    def session(self, user: str | None = None) -> AsUserSession:
        mode = "as_user" if user is None else "user_token"
        return AsUserSession(self.auth, user, mode=mode, rate_limiter=RateLimiter.disabled())


@pytest.fixture
def process(
    keyfile: KeyFile, emu: BoxEmulator, clock: FakeClock, connect: Callable[[], CountingRedis]
) -> Iterator[Callable[..., Process]]:
    made: list[JWTAuthenticator] = []

    def factory(*, auth_margin: float = 300.0, **options: Any) -> Process:
        conn = connect()
        store = RedisTokenStore(conn, clock=clock, sleep=clock.sleep, **options)
        auth = JWTAuthenticator(
            keyfile,
            base_url=emu.base_url,
            token_store=store,
            refresh_margin=auth_margin,
            clock=clock,
            sleep=clock.sleep,
        )
        made.append(auth)
        return Process(auth, store, conn)

    yield factory
    for auth in made:
        auth.close()


def get_ok(box: AsUserSession, acting: str | None = None) -> None:
    response = box.get(ME)
    assert response.status_code == 200
    if acting is not None:
        assert response.json()["id"] == acting


# ---------------------------------------------------------------------------- steady state


def test_1000_cached_token_calls_make_no_redis_round_trip_after_the_first(
    emu: BoxEmulator, user: EmulatedUser, process: Callable[..., Process]
) -> None:
    """Issue 16 acceptance: 1,000 cached-token calls (the token lookup every API call makes),
    then 100 real API calls, make 0 Redis reads after the first."""
    worker = process()
    with worker.session(user.id) as box:
        get_ok(box, user.id)  # the exchange (lock, SET, unlock)
        assert emu.token_requests() == 1
        worker.commands()
        token = worker.auth.user_token(user.id)
        assert worker.commands() == {"GET": 1}  # the first cached call reads the record, once
        for _ in range(1000):
            assert worker.auth.user_token(user.id) is token
        for _ in range(100):
            get_ok(box)
    assert worker.commands() == {}
    assert emu.token_requests() == 1
    assert emu.count("GET", ME, status=200) == 101

    other = process()  # another process: one read of the shared token, then none
    for _ in range(100):
        assert other.auth.user_token(user.id) == worker.auth.user_token(user.id)
    assert other.commands() == {"GET": 1}
    assert worker.commands() == {}
    assert emu.token_requests() == 1


def test_without_the_near_cache_every_call_reads_redis(
    emu: BoxEmulator, user: EmulatedUser, process: Callable[..., Process]
) -> None:
    worker = process(near_cache=False)
    assert worker.store.near_cache is False
    token = worker.auth.user_token(user.id)
    worker.commands()
    for _ in range(50):
        assert worker.auth.user_token(user.id) == token
    assert worker.commands() == {"GET": 50}
    assert worker.auth.invalidate(token) is True  # compare-and-delete, as with it
    assert worker.auth.invalidate(token) is False
    assert emu.token_requests() == 1


def test_the_service_account_token_is_near_cached_too(
    emu: BoxEmulator, user: EmulatedUser, process: Callable[..., Process]
) -> None:
    worker = process()
    with worker.session() as service:
        get_ok(service)
        get_ok(service)
        worker.commands()
        with service.for_user(user.id) as as_user:
            for _ in range(20):
                get_ok(as_user, user.id)  # As-User calls use the service account's token
    assert worker.commands() == {}
    assert emu.token_requests() == 1


# ---------------------------------------------------------------------------- lifetime, bound


def test_a_near_copy_lasts_until_the_refresh_point_and_never_past_expiry(
    emu: BoxEmulator, user: EmulatedUser, clock: FakeClock, process: Callable[..., Process]
) -> None:
    worker, reader = process(), process(refresh_margin=0.0)
    first = worker.auth.user_token(user.id)
    key = subject_key(worker.auth.client_id, "user", user.id)
    assert worker.store.get(key) == first
    worker.commands()
    clock.advance(first.expires_in(clock()) - 301)  # just before the refresh point
    assert worker.auth.user_token(user.id) == first
    assert worker.commands() == {}
    clock.advance(2)  # past it: the copy is gone, the authenticator refreshes
    second = worker.auth.user_token(user.id)
    assert second != first
    assert emu.token_requests() == 2
    assert "GET" in worker.commands()

    # a store with refresh_margin 0 keeps its copy until expiry, not a moment longer
    assert reader.store.get(key) == second  # read once: near-cached
    reader.commands()
    clock.advance(second.expires_in(clock()) - 0.5)
    assert reader.store.get(key) == second
    assert reader.commands() == {}
    clock.advance(0.5)
    reader.store.get(key)
    assert reader.commands() == {"GET": 1}


def test_the_near_cache_is_bounded_and_keeps_the_service_account_apart(
    emu: BoxEmulator, process: Callable[..., Process]
) -> None:
    worker = process(near_cache_size=2)
    users = [emu.add_user(f"Bounded {n}").id for n in range(3)]
    worker.auth.enterprise_token()
    for user in users:
        worker.auth.user_token(user)
    for user in users:  # reads: the near cache keeps the last two users
        worker.auth.user_token(user)
    worker.auth.enterprise_token()
    worker.commands()
    worker.auth.enterprise_token()  # never evicted by users
    worker.auth.user_token(users[2])
    worker.auth.user_token(users[1])
    assert worker.commands() == {}
    worker.auth.user_token(users[0])  # the least recently used one was dropped
    assert worker.commands() == {"GET": 1}
    assert emu.token_requests() == 4


@pytest.mark.parametrize("size", [0, -1, True, 1.5, "10"])
def test_an_invalid_near_cache_size_is_refused(
    connect: Callable[[], CountingRedis], size: Any
) -> None:
    with pytest.raises(ConfigurationError, match="near_cache_size must be an integer >= 1"):
        RedisTokenStore(connect(), near_cache_size=size)


# ---------------------------------------------------------------------------- refused records


def _copy_of_another_subject(store: RedisTokenStore, conn: redis.Redis, key: str) -> None:
    other = subject_key("cid", "user", "7")
    store.set(other, make_token("7"))
    raw = conn.get(store.token_key(other))
    assert raw is not None
    conn.set(store.token_key(key), raw, px=60_000)


def _record(raw: bytes) -> Callable[[RedisTokenStore, redis.Redis, str], None]:
    def write(store: RedisTokenStore, conn: redis.Redis, key: str) -> None:
        conn.set(store.token_key(key), raw, px=60_000)

    return write


def _other_fernet_key(store: RedisTokenStore, conn: redis.Redis, key: str) -> None:
    RedisTokenStore(conn, encryption_key=Fernet.generate_key()).set(key, make_token())


def _wrong_type(store: RedisTokenStore, conn: redis.Redis, key: str) -> None:
    conn.rpush(store.token_key(key), b"not a token")


def _infinite_expiry(store: RedisTokenStore, conn: redis.Redis, key: str) -> None:
    store.set(key, attrs.evolve(make_token(), expires_at=float("inf")))


def _labelled_for_another_subject(store: RedisTokenStore, conn: redis.Redis, key: str) -> None:
    """Bound to ``key`` but for another subject: the authenticator would refuse it."""
    forged = attrs.evolve(make_token("7"), client_id="cid")
    conn.set(store.token_key(key), forged.to_json(key=key), px=60_000)


def make_token(subject_id: str = "42", lifetime: float = 4100.0) -> AccessToken:
    now = FakeClock().now
    return AccessToken(
        value="tok_" + subject_id * 8,
        expires_at=now + lifetime,
        issued_at=now,
        subject_type="user",
        subject_id=subject_id,
    )


@pytest.mark.parametrize(
    "damage",
    [
        _record(b"not json"),
        _record(b'{"value": "x"}'),
        _copy_of_another_subject,
        _other_fernet_key,
        _wrong_type,
        _infinite_expiry,
        _labelled_for_another_subject,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_record_refused_from_redis_is_never_near_cached(
    connect: Callable[[], CountingRedis],
    clock: FakeClock,
    damage: Callable[[RedisTokenStore, redis.Redis, str], None],
) -> None:
    conn = connect()
    store = RedisTokenStore(conn, clock=FakeClock())
    key = subject_key("cid", "user", "42")
    damage(store, conn, key)
    conn.commands.clear()
    for _ in range(3):
        token = store.get(key)
        assert token is None or token.subject_id == "7"  # the forged one: the caller refuses it
    assert conn.commands == {"GET": 3}  # read (and refused) every time, never kept


def test_a_forged_record_never_reaches_the_api_and_is_replaced_once(
    emu: BoxEmulator, user: EmulatedUser, process: Callable[..., Process], client: redis.Redis
) -> None:
    """A record labelled for another subject (bound to this key): refused by the authenticator,
    never near-cached, replaced by one exchange; then the near cache serves the new token."""
    worker = process()
    service = worker.auth.enterprise_token()
    key = subject_key(worker.auth.client_id, "user", user.id)
    client.set(worker.store.token_key(key), service.to_json(key=key), px=60_000)
    with worker.session(user.id) as box:
        for _ in range(5):
            get_ok(box, user.id)
    assert emu.token_requests(subject_type="user", subject_id=user.id) == 1
    worker.commands()
    assert worker.auth.user_token(user.id).subject_id == user.id
    assert worker.commands() == {}


# ---------------------------------------------------------------------------- invalidation


def test_invalidate_drops_the_local_copy_and_compare_and_deletes_in_redis(
    emu: BoxEmulator, user: EmulatedUser, process: Callable[..., Process], client: redis.Redis
) -> None:
    a, b = process(), process()
    old = a.auth.user_token(user.id)
    assert a.auth.user_token(user.id) == old  # both near-cache it
    assert b.auth.user_token(user.id) == old
    b.commands()
    record = a.store.token_key(subject_key(a.auth.client_id, "user", user.id))

    assert a.auth.invalidate(old) is True
    assert not client.exists(record)  # gone from Redis...
    a.commands()
    assert b.auth.user_token(user.id) == old  # ...but b keeps its copy until its own 401
    assert b.commands() == {}
    new = a.auth.user_token(user.id)
    assert new != old
    assert emu.token_requests() == 2

    b.commands()
    assert b.auth.invalidate(old) is True  # b drops its copy...
    assert client.exists(record)  # ...and the compare-and-delete leaves a's new token
    assert b.auth.user_token(user.id) == new
    assert b.commands() == {"GET": 2}  # the compare in delete, then the new record
    assert emu.token_requests() == 2
    assert b.auth.invalidate(old) is False  # nothing of it left anywhere
    assert b.auth.user_token(user.id) == new


def test_a_401_in_one_process_costs_one_exchange_fleet_wide(
    emu: BoxEmulator, user: EmulatedUser, process: Callable[..., Process]
) -> None:
    """Issue 16 acceptance (in one interpreter; test_redis_acceptance.py has real processes)."""
    fleet = [process() for _ in range(4)]
    boxes = [worker.session(user.id) for worker in fleet]
    for box in boxes:
        get_ok(box, user.id)
        get_ok(box, user.id)
    assert emu.token_requests() == 1

    emu.revoke_all_tokens()  # Box no longer accepts the token every process holds
    get_ok(boxes[0], user.id)  # 401, invalidate, one exchange, resend
    assert emu.token_requests() == 2
    for box in boxes[1:]:  # each meets its own 401, drops its copy, reads the new token
        get_ok(box, user.id)
    assert emu.token_requests() == 2
    assert emu.count("GET", ME, status=401) == 4

    emu.revoke_all_tokens()  # now every process at once, from several threads each
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(fleet) * 4)

    def call(worker: Process) -> None:
        try:
            with worker.session(user.id) as box:
                barrier.wait()
                for _ in range(3):
                    get_ok(box, user.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(w,)) for w in fleet for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert emu.token_requests() == 3
    for box in boxes:
        box.close()


def test_a_read_racing_an_invalidation_does_not_bring_the_token_back(
    emu: BoxEmulator,
    user: EmulatedUser,
    process: Callable[..., Process],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker = process()
    old = worker.auth.user_token(user.id)
    key = subject_key(worker.auth.client_id, "user", user.id)
    real_get = worker.redis.get

    def racing(meanwhile: Callable[[], object]) -> Callable[[Any], Any]:
        def get(name: Any) -> Any:
            raw = real_get(name)  # the record read is on its way back...
            monkeypatch.setattr(worker.redis, "get", real_get)
            meanwhile()  # ...while another thread changes it
            return raw

        return get

    monkeypatch.setattr(worker.redis, "get", racing(lambda: worker.store.delete(key, only_if=old)))
    assert worker.store.get(key) == old  # this caller got it before the invalidation
    monkeypatch.undo()
    assert worker.store.get(key) is None  # but it was not kept

    new = worker.auth.user_token(user.id)

    monkeypatch.setattr(worker.redis, "get", racing(lambda: worker.store.set(key, old)))
    assert worker.store.get(key) == new
    monkeypatch.undo()
    assert worker.store.get(key) == old


def test_the_refresh_lock_rereads_redis_when_the_margins_differ(
    emu: BoxEmulator, user: EmulatedUser, clock: FakeClock, process: Callable[..., Process]
) -> None:
    """An authenticator refreshing earlier than its store's margin (600 s vs 300 s) finds the
    token another process already refreshed, rather than its own stale near copy."""
    a, b = process(auth_margin=600.0), process(auth_margin=600.0)
    first = a.auth.user_token(user.id)
    assert a.auth.user_token(user.id) == b.auth.user_token(user.id) == first  # near-cached
    clock.advance(first.expires_in(clock()) - 500)  # stale for the authenticators only
    second = a.auth.user_token(user.id)
    assert second != first
    assert b.auth.user_token(user.id) == second
    assert emu.token_requests() == 2


# ---------------------------------------------------------------------------- threads, outage


def test_many_threads_many_users_one_exchange_each(
    emu: BoxEmulator, process: Callable[..., Process]
) -> None:
    worker = process()
    users = [emu.add_user(f"Threaded {n}").id for n in range(10)]
    seen: dict[str, set[str]] = {u: set() for u in users}
    mutex = threading.Lock()
    barrier = threading.Barrier(16)

    def run(offset: int) -> None:
        barrier.wait()
        for i in range(60):
            u = users[(offset + i) % len(users)]
            value = worker.auth.user_token(u).value.reveal()
            with mutex:
                seen[u].add(value)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(len(values) == 1 for values in seen.values())
    assert all(emu.token_requests(subject_type="user", subject_id=u) == 1 for u in users)
    for u in users:
        worker.auth.user_token(u)
    worker.commands()
    for u in users * 5:
        worker.auth.user_token(u)
    assert worker.commands() == {}


def test_near_copies_are_served_through_a_redis_outage(
    emu: BoxEmulator,
    redis_server: RedisServer,
    process: Callable[..., Process],
) -> None:
    worker = process(retry_interval=10)
    cached, missing = emu.managed_users[0].id, emu.managed_users[1].id
    token = worker.auth.user_token(cached)
    worker.auth.user_token(cached)  # near-cached
    redis_server.stop()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(10):
            assert worker.auth.user_token(cached) == token  # no Redis needed
        assert not worker.store.degraded
        assert record == []
        assert worker.auth.user_token(missing).subject_id == missing  # Redis down: fallback
        assert worker.store.degraded
        assert len([w for w in record if w.category is TokenStoreFallbackWarning]) == 1
        assert worker.auth.invalidate(token) is True  # a 401 meanwhile: the copy is dropped
        replacement = worker.auth.user_token(cached)  # a local exchange, kept locally
    assert replacement != token
    assert (
        worker.store.local_fallback.get(subject_key(worker.auth.client_id, "user", cached))
        == replacement
    )
    assert emu.token_requests() == 3
    redis_server.start()
