"""Issue 13 attacks on the Redis token store, end to end: emulator, authenticators, sessions.

A real redis-server and a real BoxEmulator; every assertion is about what the emulator saw (who
a call acted as, how many token requests) and what Redis holds.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator

import pytest
import redis
from cryptography.fernet import Fernet

from boxjwt import AsUserSession, JWTAuthenticator, KeyFile, RetryPolicy
from boxjwt._token import MAX_TOKEN_LIFETIME, subject_key
from boxjwt.exceptions import TokenStoreFallbackWarning
from boxjwt.stores import RedisTokenStore
from boxjwt.testing import BoxEmulator, EmulatedKeyFile

pytestmark = pytest.mark.redis

ME = "/2.0/users/me"


@pytest.fixture(scope="module")
def emu() -> Iterator[BoxEmulator]:
    # one fixed lifetime (the emulator draws each token's from Box's range by default)
    with BoxEmulator(managed_users=3, token_expires_in=4100) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def ekf(emu: BoxEmulator) -> EmulatedKeyFile:
    return emu.make_keyfile()


@pytest.fixture(scope="module")
def keyfile(ekf: EmulatedKeyFile) -> KeyFile:
    return ekf.load()


@pytest.fixture(autouse=True)
def _reset(emu: BoxEmulator) -> Iterator[None]:
    emu.faults.clear()
    emu.reset_log()
    yield
    emu.faults.clear()


def authenticator(
    keyfile: KeyFile, emu: BoxEmulator, conn: redis.Redis, key: bytes | None
) -> JWTAuthenticator:
    """One "process": its own authenticator and store on the shared Redis."""
    return JWTAuthenticator(
        keyfile,
        base_url=emu.base_url,
        token_store=RedisTokenStore(conn, encryption_key=key),
        retry=RetryPolicy(sleep=lambda _: None),  # retries without real waits
    )


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
def test_a_swapped_record_does_not_make_a_session_act_as_someone_else(
    emu: BoxEmulator,
    keyfile: KeyFile,
    client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
    *,
    encrypted: bool,
) -> None:
    """Issue 13 item 2: copy A's record (then the service account's) into B's key."""
    key = Fernet.generate_key() if encrypted else None
    a, b = emu.managed_users[0].id, emu.managed_users[1].id
    first = authenticator(keyfile, emu, client, key)
    store = first.token_store
    assert isinstance(store, RedisTokenStore)
    with AsUserSession(first, a, mode="user_token") as as_a:
        assert as_a.get(ME).json()["id"] == a
    with AsUserSession(first) as service:
        service_id = service.get(ME).json()["id"]
    key_a = store.token_key(subject_key(keyfile.client_id, "user", a))
    key_b = store.token_key(subject_key(keyfile.client_id, "user", b))
    key_e = store.token_key(subject_key(keyfile.client_id, "enterprise", keyfile.enterprise_id))
    assert emu.token_requests() == 2

    for source, n in ((key_a, 1), (key_e, 2)):
        record = client.get(source)
        assert record is not None
        client.set(key_b, record, px=client.pttl(source))  # the attacker's copy
        other = authenticator(keyfile, emu, client, key)  # another process, cold
        with AsUserSession(other, b, mode="user_token") as as_b:
            assert as_b.get(ME).json()["id"] == b  # never a, never the service account
        assert emu.token_requests(subject_type="user", subject_id=b) == n
        assert emu.count("GET", ME, status=200) == 2 + n
    assert service_id not in (a, b)
    assert emu.token_requests() == 4
    assert "bound to another subject" in caplog.text


def test_a_wrong_type_key_costs_that_subject_one_exchange_and_nothing_else(
    emu: BoxEmulator, keyfile: KeyFile, client: redis.Redis
) -> None:
    """Issue 13 item 11: WRONGTYPE on one subject's key; the fleet keeps sharing the rest."""
    a, b = emu.managed_users[0].id, emu.managed_users[1].id
    warm = authenticator(keyfile, emu, client, None)
    warm.user_token(b)
    store = warm.token_store
    assert isinstance(store, RedisTokenStore)
    client.sadd(store.token_key(subject_key(keyfile.client_id, "user", a)), "junk")
    cold = authenticator(keyfile, emu, client, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TokenStoreFallbackWarning)
        token_a = cold.user_token(a)
        cold.user_token(b)  # shared through Redis: no exchange
        assert cold.user_token(a) is not None
    assert token_a.subject_id == a
    assert not cold.token_store.degraded  # type: ignore[attr-defined]
    assert emu.token_requests(subject_type="user", subject_id=a) == 1
    assert emu.token_requests(subject_type="user", subject_id=b) == 1
    assert warm.user_token(a) == token_a  # the repaired record is shared again


def test_an_infinite_lifetime_from_the_server_does_not_break_the_store(
    emu: BoxEmulator, keyfile: KeyFile, client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13 item 9: ``expires_in: Infinity`` used to overflow the TTL (or degrade the store);
    ``1e300`` is believed for a day at most."""
    hostile = '{{"access_token": "{}", "expires_in": {}}}'
    emu.faults.push("/oauth2/token", 200, body=hostile.format(emu.issue_token(), "Infinity"))
    auth = authenticator(keyfile, emu, client, None)
    with caplog.at_level(logging.WARNING):
        token = auth.enterprise_token()  # refused, retried: a normal token
    assert token.lifetime == emu.token_expires_in
    assert emu.token_requests() == 2

    user = emu.managed_users[2].id
    emu.faults.push("/oauth2/token", 200, body=hostile.format(emu.issue_token(), "1e300"))
    assert auth.user_token(user).lifetime == MAX_TOKEN_LIFETIME
    store = auth.token_store
    assert isinstance(store, RedisTokenStore)
    ttl = client.pttl(store.token_key(subject_key(keyfile.client_id, "user", user)))
    assert 0 < ttl <= MAX_TOKEN_LIFETIME * 1000
    assert not store.degraded
    assert "unavailable" not in caplog.text
