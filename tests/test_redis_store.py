"""RedisTokenStore against a real redis-server: one process, injected clock and sleep."""

from __future__ import annotations

import importlib
import logging
import math
import secrets
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
import redis
from cryptography.fernet import Fernet

import boxjwt.stores
from boxjwt._store import MemoryTokenStore, TokenStore
from boxjwt._token import MAX_TOKEN_LIFETIME, AccessToken, subject_key
from boxjwt.exceptions import ConfigurationError, TokenStoreFallbackWarning
from boxjwt.stores import RedisTokenStore
from boxjwt.testing import FakeClock
from redis_server import RedisServer
from secret_scan import assert_no_secret_in_text

pytestmark = pytest.mark.redis

LOGGER = "boxjwt.stores.redis"
T0 = 1_700_000_000.0
KEY = subject_key("cid", "user", "42")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


ISSUED: list[str] = []


def make_token(
    subject_id: str = "42", *, lifetime: float = 4100.0, issued_at: float = T0
) -> AccessToken:
    value = "tok_" + secrets.token_urlsafe(24)
    ISSUED.append(value)
    return AccessToken(
        value=value,
        expires_at=issued_at + lifetime,
        issued_at=issued_at,
        subject_type="user",
        subject_id=subject_id,
    )


@pytest.fixture(autouse=True)
def _no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    ISSUED.clear()
    yield
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert_no_secret_in_text(text, ISSUED)  # no token value reached the logs


@pytest.fixture
def make_store(client: redis.Redis, clock: FakeClock) -> Callable[..., RedisTokenStore]:
    def factory(**options: Any) -> RedisTokenStore:
        options.setdefault("clock", clock)
        options.setdefault("sleep", clock.sleep)
        return RedisTokenStore(options.pop("client", client), **options)

    return factory


def assert_every_key_expires(conn: redis.Redis) -> list[bytes]:
    keys = sorted(conn.scan_iter())
    for key in keys:
        assert conn.pttl(key) > 0, f"{key!r} has no expiry"
    return keys


def warnings_of(record: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in record if issubclass(w.category, TokenStoreFallbackWarning)]


# ---------------------------------------------------------------------------- module surface


def test_importing_boxjwt_stores_does_not_import_redis() -> None:
    code = (
        "import sys, boxjwt.stores\n"
        "assert 'redis' not in sys.modules, 'redis imported eagerly'\n"
        "from boxjwt.stores import RedisTokenStore\n"
        "assert 'redis' in sys.modules\n"
        "print(RedisTokenStore.__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "RedisTokenStore"


def test_lazy_attribute_access() -> None:
    assert boxjwt.stores.RedisTokenStore is RedisTokenStore
    assert {"MemoryTokenStore", "RedisTokenStore", "TokenStore"} <= set(dir(boxjwt.stores))
    with pytest.raises(AttributeError, match="nope"):
        boxjwt.stores.nope  # noqa: B018


def test_lazy_attribute_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(vars(boxjwt.stores), "RedisTokenStore", raising=False)
    assert "RedisTokenStore" not in vars(boxjwt.stores)
    assert boxjwt.stores.RedisTokenStore is RedisTokenStore
    assert vars(boxjwt.stores)["RedisTokenStore"] is RedisTokenStore


def test_missing_redis_library_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "boxjwt.stores.redis")
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"pip install 'boxjwt\[redis\]'"):
        importlib.import_module("boxjwt.stores.redis")


def test_satisfies_the_protocol(make_store: Callable[..., RedisTokenStore]) -> None:
    store = make_store()
    assert isinstance(store, TokenStore)
    assert repr(store) == "RedisTokenStore(prefix='boxjwt', encrypted=False, degraded=False)"
    assert store.token_key(KEY) == "boxjwt:token:cid:user:42"
    assert store.lock_key(KEY) == "boxjwt:lock:cid:user:42"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"prefix": ""}, "prefix"),
        ({"lock_timeout": 0}, "lock_timeout"),
        ({"refresh_margin": -1}, "refresh_margin"),
        ({"wait_timeout": -1}, "wait_timeout"),
        ({"retry_interval": float("nan")}, "retry_interval"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"encryption_key": b"not a fernet key"}, "Fernet key"),
        ({"encryption_key": ["also-not-one"]}, "Fernet key"),
        ({"encryption_key": []}, "empty"),
    ],
)
def test_invalid_options(
    make_store: Callable[..., RedisTokenStore], options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        make_store(**options)
    assert "not a fernet key" not in str(info.value)


def test_defaults(client: redis.Redis) -> None:
    store = RedisTokenStore(client)
    assert store.lock_timeout == 20.0
    assert store.wait_timeout == 21.0
    assert store.refresh_margin == 300.0
    assert isinstance(store.local_fallback, MemoryTokenStore)
    assert not store.encrypted
    assert not store.degraded
    local = MemoryTokenStore()
    assert RedisTokenStore(client, local_fallback=local, wait_timeout=3).local_fallback is local


# ---------------------------------------------------------------------------- records and TTLs


def test_set_get_round_trip_with_ttl(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis
) -> None:
    store = make_store()
    token = make_token()
    assert store.get(KEY) is None
    store.set(KEY, token)
    assert store.get(KEY) == token
    assert make_store().get(KEY) == token  # another "process"
    ttl = client.pttl("boxjwt:token:cid:user:42")
    assert 4100_000 - 300_000 - 1000 < ttl <= 4100_000 - 300_000
    assert assert_every_key_expires(client) == [b"boxjwt:token:cid:user:42"]


def test_ttl_margin_is_bounded_and_floored(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis, clock: FakeClock
) -> None:
    store = make_store(prefix="p", refresh_margin=60)
    store.set("short", make_token(lifetime=100))  # margin bounded to 50 s
    store.set("late", make_token(lifetime=4100, issued_at=T0 - 4060))  # 40 s left < margin
    store.set("gone", make_token(lifetime=10, issued_at=T0 - 100))  # already expired
    assert 49_000 < client.pttl("p:token:short") <= 50_000
    assert 0 < client.pttl("p:token:late") <= 1000
    assert 0 < client.pttl("p:token:gone") <= 1000
    assert len(assert_every_key_expires(client)) == 3


def test_set_replaces(make_store: Callable[..., RedisTokenStore]) -> None:
    store = make_store()
    first, second = make_token(), make_token()
    store.set(KEY, first)
    store.set(KEY, second)
    assert store.get(KEY) == second


def test_prefixes_are_separate(make_store: Callable[..., RedisTokenStore]) -> None:
    a, b = make_store(prefix="a"), make_store(prefix="b")
    a.set(KEY, make_token())
    assert b.get(KEY) is None


def test_decode_responses_client(
    make_store: Callable[..., RedisTokenStore], redis_server: RedisServer
) -> None:
    conn = redis_server.client(decode_responses=True)
    store = make_store(client=conn, encryption_key=Fernet.generate_key())
    token = make_token()
    store.set(KEY, token)
    assert store.get(KEY) == token
    assert store.delete(KEY, only_if=token)
    with store.lock(KEY):
        assert conn.get(store.lock_key(KEY))
    assert conn.get(store.lock_key(KEY)) is None
    conn.close()


# ---------------------------------------------------------------------------- delete


def test_delete_unconditional(make_store: Callable[..., RedisTokenStore]) -> None:
    store = make_store()
    store.set(KEY, make_token())
    assert store.delete(KEY) is True
    assert store.delete(KEY) is False
    assert store.get(KEY) is None


def test_delete_only_if_is_compare_and_swap(make_store: Callable[..., RedisTokenStore]) -> None:
    store, other = make_store(), make_store()
    old, new = make_token(), make_token()
    assert store.delete(KEY, only_if=old) is False  # nothing stored
    other.set(KEY, new)
    assert store.delete(KEY, only_if=old) is False  # someone refreshed: keep theirs
    assert store.get(KEY) == new
    assert store.delete(KEY, only_if=new) is True
    assert other.get(KEY) is None


def test_delete_only_if_loses_a_race_safely(
    make_store: Callable[..., RedisTokenStore],
    client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, other = make_store(), make_store()
    old, new = make_token(), make_token()
    store.set(KEY, old)
    real_get = client.get

    def get_then_race(name: Any) -> Any:
        raw = real_get(name)
        other.set(KEY, new)  # another process refreshes between our read and our delete
        return raw

    monkeypatch.setattr(client, "get", get_then_race)
    assert store.delete(KEY, only_if=old) is False
    monkeypatch.undo()
    assert store.get(KEY) == new


# ---------------------------------------------------------------------------- locks


def test_lock_is_owned_and_expires(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis
) -> None:
    store = make_store(lock_timeout=7)
    lock_key = store.lock_key(KEY)
    with store.lock(KEY):
        owner = client.get(lock_key)
        assert owner
        assert len(owner) == 32
        assert 6000 < client.pttl(lock_key) <= 7000
        assert_every_key_expires(client)
    assert client.get(lock_key) is None
    with store.lock(KEY):
        assert client.get(lock_key) != owner  # a fresh random owner each time


def test_release_only_by_owner(
    make_store: Callable[..., RedisTokenStore],
    client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = make_store()
    lock_key = store.lock_key(KEY)
    with store.lock(KEY):
        # our lock expired and another process took it
        client.set(lock_key, b"someone-else", px=5000)
    assert client.get(lock_key) == b"someone-else"
    assert "expired before it was released" in caplog.text


def test_waiter_returns_when_another_process_stores_a_token(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis, clock: FakeClock
) -> None:
    token = make_token()

    def refresh_elsewhere(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 3:
            holder.set(KEY, token)

    holder, waiter = make_store(), make_store(sleep=refresh_elsewhere)
    with holder.lock(KEY):
        owner = client.get(holder.lock_key(KEY))
        with waiter.lock(KEY):
            assert client.get(waiter.lock_key(KEY)) == owner  # the waiter never took it
            assert waiter.get(KEY) == token
    assert len(clock.sleeps) == 3
    assert all(s == waiter.poll_interval for s in clock.sleeps)


def test_waiter_ignores_an_unchanged_stale_token_and_a_deletion(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis, clock: FakeClock
) -> None:
    stale, fresh = make_token(), make_token()

    def sequence(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 2:
            holder.delete(KEY)  # invalidated: keep waiting
        elif len(clock.sleeps) == 4:
            holder.set(KEY, fresh)

    holder, waiter = make_store(), make_store(sleep=sequence)
    holder.set(KEY, stale)  # present, but stale by the authenticator's own margin
    with holder.lock(KEY), waiter.lock(KEY):
        assert waiter.get(KEY) == fresh
    assert len(clock.sleeps) == 4


def test_waiter_takes_the_lock_when_released(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis, clock: FakeClock
) -> None:
    lock_key = make_store().lock_key(KEY)
    client.set(lock_key, b"dead-process", px=20_000)

    def expire(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 2:
            client.delete(lock_key)  # the dead holder's lock expires

    waiter = make_store(sleep=expire)
    with waiter.lock(KEY):
        owner = client.get(lock_key)
        assert owner not in (None, b"dead-process")
    assert client.get(lock_key) is None


def test_wait_is_bounded_by_time(
    make_store: Callable[..., RedisTokenStore],
    client: redis.Redis,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    waiter = make_store(wait_timeout=1.0, poll_interval=0.25)
    client.set(waiter.lock_key(KEY), b"slow-process", px=20_000)
    with waiter.lock(KEY):
        assert client.get(waiter.lock_key(KEY)) == b"slow-process"
    assert clock.sleeps == [0.25] * 4
    assert client.get(waiter.lock_key(KEY)) == b"slow-process"  # not released by the waiter
    assert "refreshing without it" in caplog.text


def test_wait_is_bounded_by_polls_when_the_clock_stands_still(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis, clock: FakeClock
) -> None:
    waiter = make_store(wait_timeout=1.0, poll_interval=0.25, sleep=clock.sleeps.append)
    client.set(waiter.lock_key(KEY), b"slow-process", px=20_000)
    with waiter.lock(KEY):
        pass
    assert len(clock.sleeps) == 4


def test_lock_released_when_the_body_raises(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis
) -> None:
    store = make_store()
    with pytest.raises(RuntimeError), store.lock(KEY):
        raise RuntimeError("exchange failed")
    assert client.get(store.lock_key(KEY)) is None


# ---------------------------------------------------------------------------- encryption


def test_encrypted_records_hold_no_plaintext(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis
) -> None:
    key = Fernet.generate_key()
    store = make_store(encryption_key=key)
    assert store.encrypted
    assert "encrypted=True" in repr(store)
    token = make_token()
    store.set(KEY, token)
    raw = client.get(store.token_key(KEY))
    assert raw
    assert token.value.reveal().encode() not in raw
    assert b"expires_at" not in raw
    assert store.get(KEY) == token
    assert make_store(encryption_key=key.decode()).get(KEY) == token  # str keys work too
    assert store.delete(KEY, only_if=token) is True
    assert_every_key_expires(client)


def test_wrong_or_missing_key_reads_as_missing(
    make_store: Callable[..., RedisTokenStore], caplog: pytest.LogCaptureFixture
) -> None:
    token = make_token()
    make_store(encryption_key=Fernet.generate_key()).set(KEY, token)
    assert make_store(encryption_key=Fernet.generate_key()).get(KEY) is None
    assert make_store().get(KEY) is None
    assert "damaged or encrypted with another key" in caplog.text
    plain = make_store()
    plain.set(KEY, token)
    assert make_store(encryption_key=Fernet.generate_key()).get(KEY) is None


def test_key_rotation(make_store: Callable[..., RedisTokenStore], client: redis.Redis) -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    token = make_token()
    make_store(encryption_key=old_key).set(KEY, token)
    rotated = make_store(encryption_key=[new_key, old_key])
    assert rotated.get(KEY) == token
    rotated.set(KEY, token)
    assert make_store(encryption_key=new_key).get(KEY) == token
    assert make_store(encryption_key=old_key).get(KEY) is None


# ---------------------------------------------------------------------------- damaged records


@pytest.mark.parametrize(
    "raw",
    [b"", b"\xff\xfe", b"not json", b"[]", b'{"value": "x"}', b'{"subject_type": "robot"}'],
)
def test_damaged_records_are_missing(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis, raw: bytes
) -> None:
    store = make_store()
    client.set(store.token_key(KEY), raw, ex=60)
    assert store.get(KEY) is None
    assert store.delete(KEY, only_if=make_token()) is False
    token = make_token()
    store.set(KEY, token)  # the next refresh replaces it
    assert store.get(KEY) == token


# ---------------------------------------------------------------------------- fallback


class FlakyRedis(redis.Redis):
    """A real client whose chosen commands fail as if the connection dropped."""

    fail: frozenset[str] = frozenset()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if str(args[0]).upper() in self.fail:
            raise redis.ConnectionError("injected failure")
        return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


@pytest.fixture
def flaky(redis_server: RedisServer, client: redis.Redis) -> Iterator[FlakyRedis]:
    conn = FlakyRedis(host="127.0.0.1", port=redis_server.port, socket_timeout=1.0)
    yield conn
    conn.close()


def test_fallback_when_redis_stops_and_recovery_when_it_is_back(
    redis_server: RedisServer,
    client: redis.Redis,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = RedisTokenStore(
        redis_server.client(), retry_interval=10, clock=clock, sleep=clock.sleep
    )
    before = make_token("1")
    store.set("k1", before)
    redis_server.stop()
    during = make_token("2")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert store.get("k1") is None  # Redis is gone: the local cache is empty
        assert store.degraded
        assert "degraded=True" in repr(store)
        store.set("k2", during)
        assert store.get("k2") == during
        with store.lock("k2"):
            assert store.get("k2") == during
        assert store.delete("k2", only_if=make_token()) is False
        store.set("k3", make_token("3"))
        assert store.delete("k3") is True
        clock.advance(11)  # probe: still down
        assert store.get("k2") == during
        assert store.degraded
    assert len(warnings_of(record)) == 1
    message = str(warnings_of(record)[0].message)
    assert "ConnectionError during get" in message
    assert "retrying every 10 s" in message
    unavailable = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and "unavailable" in r.getMessage()
    ]
    assert len(unavailable) == 1
    assert unavailable[0].levelno == logging.WARNING

    redis_server.start()  # empty: nothing was persisted
    shared = redis_server.client()
    clock.advance(5)  # before the next probe the local cache is still used
    assert store.get("k2") == during
    assert not shared.exists(store.token_key("k2"))
    clock.advance(6)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert store.get("k2") == during  # promoted into Redis
        assert "degraded=False" in repr(store)
    assert warnings_of(record) == []
    assert "is back" in caplog.text
    assert RedisTokenStore(shared, clock=clock).get("k2") == during
    assert len(store.local_fallback) == 0
    assert store.get("k1") is None
    assert_every_key_expires(shared)
    shared.close()


def test_promotion_keeps_a_token_stored_meanwhile(
    flaky: FlakyRedis, make_store: Callable[..., RedisTokenStore], clock: FakeClock
) -> None:
    store = make_store(client=flaky, retry_interval=1)
    mine, theirs = make_token(), make_token()
    flaky.fail = frozenset({"SET"})
    with pytest.warns(TokenStoreFallbackWarning):
        store.set(KEY, mine)
    flaky.fail = frozenset()
    clock.advance(2)
    assert store.get("other-subject") is None  # recovered; nothing local for this one
    assert store.local_fallback.get(KEY) == mine
    make_store().set(KEY, theirs)
    assert store.get(KEY) == theirs
    # a successful set drops any local copy
    assert len(store.local_fallback) == 1
    store.set(KEY, theirs)
    assert len(store.local_fallback) == 0


def test_promotion_failure_keeps_the_token_local(
    flaky: FlakyRedis, make_store: Callable[..., RedisTokenStore], clock: FakeClock
) -> None:
    store = make_store(client=flaky, retry_interval=1)
    token = make_token()
    flaky.fail = frozenset({"SET"})
    with pytest.warns(TokenStoreFallbackWarning):
        store.set(KEY, token)
    clock.advance(2)
    with pytest.warns(TokenStoreFallbackWarning):  # recovered on GET, failed again on SET
        assert store.get(KEY) == token
    assert store.degraded
    assert store.local_fallback.get(KEY) == token


def test_set_falls_back(flaky: FlakyRedis, make_store: Callable[..., RedisTokenStore]) -> None:
    store = make_store(client=flaky)
    token = make_token()
    flaky.fail = frozenset({"SET"})
    with pytest.warns(TokenStoreFallbackWarning, match="during set"):
        store.set(KEY, token)
    assert store.degraded
    assert store.get(KEY) == token


@pytest.mark.parametrize("command", ["DEL", "GET"])
def test_delete_falls_back(
    flaky: FlakyRedis, make_store: Callable[..., RedisTokenStore], command: str
) -> None:
    store = make_store(client=flaky)
    token = make_token()
    store.set(KEY, token)
    flaky.fail = frozenset({command})
    only_if = None if command == "DEL" else token
    with pytest.warns(TokenStoreFallbackWarning, match="during delete"):
        removed = store.delete(KEY, only_if=only_if)
    assert removed is False
    assert store.degraded


def test_lock_falls_back(
    flaky: FlakyRedis, make_store: Callable[..., RedisTokenStore], client: redis.Redis
) -> None:
    store = make_store(client=flaky)
    flaky.fail = frozenset({"EVALSHA"})
    lock = store.lock(KEY)
    with pytest.warns(TokenStoreFallbackWarning, match="during lock"):
        lock.__enter__()
    lock.__exit__(None, None, None)
    assert store.degraded
    assert not client.exists(store.lock_key(KEY))


def test_unlock_failure_falls_back(
    flaky: FlakyRedis, make_store: Callable[..., RedisTokenStore], client: redis.Redis
) -> None:
    store = make_store(client=flaky)
    lock = store.lock(KEY)
    lock.__enter__()
    assert client.exists(store.lock_key(KEY))
    flaky.fail = frozenset({"EVALSHA"})
    with pytest.warns(TokenStoreFallbackWarning, match="during unlock"):
        lock.__exit__(None, None, None)
    assert store.degraded
    assert client.pttl(store.lock_key(KEY)) > 0  # left to expire on its own


def test_one_warning_per_outage(
    flaky: FlakyRedis, make_store: Callable[..., RedisTokenStore], clock: FakeClock
) -> None:
    store = make_store(client=flaky, retry_interval=1)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(2):
            flaky.fail = frozenset({"GET"})
            for _ in range(5):
                store.get(KEY)
                clock.advance(2)
            flaky.fail = frozenset()
            clock.advance(2)
            store.get(KEY)
            assert not store.degraded
    assert len(warnings_of(record)) == 2


def test_scripts_reload_after_a_restart(
    redis_server: RedisServer, make_store: Callable[..., RedisTokenStore], clock: FakeClock
) -> None:
    conn = redis_server.client()
    store = make_store(client=conn)
    with store.lock(KEY):
        pass
    redis_server.restart()  # the script cache is gone: NOSCRIPT is handled by redis-py
    with store.lock(KEY):
        assert conn.exists(store.lock_key(KEY))
    assert not store.degraded
    conn.close()


# ---------------------------------------------------------------------------- issue 13 hardening


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_record_copied_under_another_subject_is_refused(
    make_store: Callable[..., RedisTokenStore],
    client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
    *,
    encrypted: bool,
) -> None:
    """Issue 13 item 2: each record names the key it was written for (authenticated when
    encrypted); a record under another key is a miss, logged once per subject."""
    store = make_store(encryption_key=Fernet.generate_key() if encrypted else None)
    key_a, key_b = subject_key("cid", "user", "1"), subject_key("cid", "user", "2")
    token_a = make_token("1")
    store.set(key_a, token_a)
    raw = client.get(store.token_key(key_a))
    assert raw is not None
    client.set(store.token_key(key_b), raw, px=60_000)
    assert store.get(key_b) is None
    assert store.get(key_b) is None
    assert store.delete(key_b, only_if=token_a) is False
    assert store.get(key_a) == token_a
    refused = [r for r in caplog.records if "bound to another subject" in r.getMessage()]
    assert [r.levelno for r in refused] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    token_b = make_token("2")
    store.set(key_b, token_b)  # the next refresh replaces it
    assert store.get(key_b) == token_b


def test_warn_once_memory_is_bounded(
    make_store: Callable[..., RedisTokenStore],
    client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("boxjwt.stores.redis._MAX_WARNED", 1)
    store = make_store()
    for key in ("a", "b", "a"):
        client.set(store.token_key(key), b"damaged", px=60_000)
        assert store.get(key) is None
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 3


def test_a_record_from_before_subject_binding_is_refused(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis
) -> None:
    store = make_store()
    client.set(store.token_key(KEY), make_token().to_json(), px=60_000)  # no key inside
    assert store.get(KEY) is None


def test_a_wrong_type_token_key_is_a_damaged_record_not_an_outage(
    make_store: Callable[..., RedisTokenStore],
    client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 13 item 11: WRONGTYPE concerns one subject; Redis keeps being used."""
    store = make_store()
    other = subject_key("cid", "user", "7")
    client.rpush(store.token_key(KEY), b"not a token")
    with warnings.catch_warnings():
        warnings.simplefilter("error", TokenStoreFallbackWarning)
        assert store.get(KEY) is None
        assert store.delete(KEY, only_if=make_token()) is False
        with store.lock(KEY):  # the lock script reads the token key too
            assert client.get(store.lock_key(KEY))
        token, others = make_token(), make_token("7")
        store.set(other, others)
        assert store.get(other) == others
        store.set(KEY, token)  # the next refresh replaces the damaged key
        assert store.get(KEY) == token
    assert not store.degraded
    assert client.get(store.token_key(other))  # really in Redis, not in the fallback
    assert len(store.local_fallback) == 0
    assert "WRONGTYPE" in caplog.text
    assert "unavailable" not in caplog.text


def test_a_wrong_type_lock_key_without_expiry_is_repaired(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis
) -> None:
    store = make_store(lock_timeout=3, wait_timeout=0, poll_interval=1)
    client.hset(store.lock_key(KEY), "owner", "nobody")
    with store.lock(KEY):
        pass
    assert 0 < client.pttl(store.lock_key(KEY)) <= 3000
    assert not store.degraded


def test_a_lock_without_expiry_is_given_one(
    make_store: Callable[..., RedisTokenStore],
    client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 13 item 11: a TTL-less lock (not written by boxjwt) no longer blocks forever."""
    store = make_store(lock_timeout=5, wait_timeout=1, poll_interval=0.5)
    lock_key = store.lock_key(KEY)
    client.set(lock_key, b"written-by-hand")  # no expiry
    assert client.pttl(lock_key) == -1
    with store.lock(KEY):
        assert client.get(lock_key) == b"written-by-hand"  # not ours: we waited, then went on
    assert 0 < client.pttl(lock_key) <= 5000
    with store.lock(KEY):  # the repair happens once
        pass
    repaired = [r for r in caplog.records if "had no expiry" in r.getMessage()]
    assert len(repaired) == 1
    assert repaired[0].levelno == logging.WARNING


def test_a_repaired_lock_expires_and_is_then_taken(
    redis_server: RedisServer, client: redis.Redis
) -> None:
    """The same on Redis's real clock: a short lock_timeout, real sleeps (counted, not timed)."""
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    store = RedisTokenStore(
        client, lock_timeout=0.2, wait_timeout=30, poll_interval=0.05, sleep=sleep
    )
    lock_key = store.lock_key(KEY)
    client.set(lock_key, b"written-by-hand")
    with store.lock(KEY):
        owner = client.get(lock_key)
        assert owner not in (None, b"written-by-hand")  # expired, then taken by us
    assert 0 < len(sleeps) < 30 / 0.05  # far fewer polls than the whole wait
    sleeps.clear()
    with store.lock(KEY):  # and the next refresh does not wait at all
        pass
    assert sleeps == []


def test_ttl_is_bounded_for_any_expiry(
    make_store: Callable[..., RedisTokenStore], client: redis.Redis
) -> None:
    """Issue 13 item 9: an absurd expiry neither overflows nor marks the store degraded."""
    store = make_store(prefix="p")
    far = attrs.evolve(make_token(), expires_at=T0 + 1e300)
    store.set("far", far)
    assert 0 < client.pttl("p:token:far") <= MAX_TOKEN_LIFETIME * 1000
    assert store.get("far") == far
    store.set("inf", attrs.evolve(make_token(), expires_at=math.inf))
    assert 0 < client.pttl("p:token:inf") <= MAX_TOKEN_LIFETIME * 1000
    assert store.get("inf") is None  # a record whose times are not finite is damaged
    store.set("nan", attrs.evolve(make_token(), expires_at=math.nan))
    assert 0 < client.pttl("p:token:nan") <= 1000
    assert store.get("nan") is None
    assert not store.degraded
