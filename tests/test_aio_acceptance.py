"""Issue 19's acceptance list for boxjwt.aio, against the emulator over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from aio_support import ME, make_auth
from boxjwt import KeyFile, RateLimiter
from boxjwt.aio import AsyncAsUserSession, AsyncJWTAuthenticator
from boxjwt.aio._h11 import fast_client
from boxjwt.testing import BoxEmulator, FakeClock

if TYPE_CHECKING:
    import redis

pytestmark = pytest.mark.anyio

ROOT = "/2.0/folders/0"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_1000_users_from_200_tasks_share_one_pool_and_act_as_their_user(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    users = [emu.add_user(f"Migrated user {n}").id for n in range(1000)]
    pool = 16
    client = fast_client(httpx.Limits(max_connections=pool, max_keepalive_connections=pool))
    auth = make_auth(keyfile, emu, clock)
    async with auth, client, AsyncAsUserSession(auth, client=client) as root:
        assert (await root.get(ME)).is_success  # the enterprise token, one pooled connection
        before = emu.connections_accepted
        queue: asyncio.Queue[str] = asyncio.Queue()
        for user in users:
            queue.put_nowait(user)
        wrong: list[str] = []
        peak = 0

        async def worker() -> None:
            nonlocal peak
            while not queue.empty():
                user = queue.get_nowait()
                response = await root.for_user(user).get(ME, params={"fields": "id"})
                if response.json()["id"] != user:
                    wrong.append(user)
                peak = max(peak, emu.open_connections)

        await asyncio.gather(*(worker() for _ in range(200)))
        opened = emu.connections_accepted - before
    assert wrong == []
    assert {r.as_user for r in emu.records("GET", ME)} - {None} == set(users)
    assert opened + 1 <= pool  # + the warm-up's connection
    assert peak <= pool + 1  # + the authenticator's /oauth2 connection
    assert emu.token_requests() == 1  # As-User: one enterprise token for 1,000 users


async def test_a_401_storm_across_100_tasks_makes_one_new_token(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock
) -> None:
    auth = make_auth(keyfile, emu, clock)
    async with auth, AsyncAsUserSession(auth, rate_limiter=RateLimiter.disabled()) as s:
        await s.get(ME)
        emu.revoke_all_tokens()
        emu.latency = 0.01  # the rejected calls overlap
        responses = await asyncio.gather(*(s.get(ME) for _ in range(100)))
    assert [r.status_code for r in responses] == [200] * 100
    assert emu.token_requests() == 2  # the first token, then exactly one replacement
    assert clock.sleeps == []


class Stamps:
    """Send and answer times of every request, on the session's (scaled) clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.sent: list[tuple[str | None, float]] = []
        self.refused: list[float] = []

    async def on_request(self, request: httpx.Request) -> None:
        self.sent.append((request.headers.get("As-User"), self.clock()))

    async def on_response(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            self.refused.append(self.clock())


@pytest.mark.slow
async def test_a_429_with_retry_after_2_stops_that_user_for_2_s_and_no_other() -> None:
    """Box seconds run 10 times faster than real ones (the limiter's clock and the sleeps are
    scaled), so the 2 s pause takes 0.2 s; times are counted on that clock, per request."""
    scale = 10.0
    start = time.monotonic()

    def box_clock() -> float:
        return (time.monotonic() - start) * scale

    async def box_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / scale)

    with BoxEmulator() as emu:
        alice, bob = (u.id for u in emu.managed_users[:2])
        keyfile = emu.make_keyfile().load()
        auth = AsyncJWTAuthenticator(keyfile, base_url=emu.base_url, clock=None, sleep=box_sleep)
        stamps = Stamps(box_clock)
        client = httpx.AsyncClient(
            event_hooks={"request": [stamps.on_request], "response": [stamps.on_response]}
        )
        limiter = RateLimiter(clock=box_clock)
        async with auth, AsyncAsUserSession(auth, client=client, rate_limiter=limiter) as root:
            as_alice, as_bob = root.for_user(alice), root.for_user(bob)
            await as_alice.get(ME)
            await as_bob.get(ROOT)
            emu.faults.push(ME, 429, retry_after=2)  # alice's next call
            alice_done = asyncio.Event()

            async def alice_work() -> None:
                for _ in range(10):
                    assert (await as_alice.get(ME)).is_success

            async def bob_work() -> None:
                while not alice_done.is_set():  # bob keeps calling while alice is paused
                    assert (await as_bob.get(ROOT)).is_success

            async def alice_all() -> None:
                await asyncio.gather(*(alice_work() for _ in range(10)))
                alice_done.set()

            await asyncio.gather(alice_all(), *(bob_work() for _ in range(10)))
        await client.aclose()
    (refused,) = stamps.refused
    assert len(emu.records("GET", ME, status=429)) == 1
    alice_sent = [t for who, t in stamps.sent if who == alice]
    bob_sent = [t for who, t in stamps.sent if who == bob]
    assert [t for t in alice_sent if refused < t < refused + 2.0] == []  # nobody went
    assert any(t >= refused + 2.0 for t in alice_sent)  # then alice's tasks resumed
    assert len([t for t in bob_sent if refused < t < refused + 2.0]) > 3  # bob never paused


@pytest.mark.redis
async def test_two_authenticators_sharing_redis_make_one_exchange(
    emu: BoxEmulator, keyfile: KeyFile, clock: FakeClock, client: redis.Redis
) -> None:
    """Across processes (two authenticators stand in for two): the sync RedisTokenStore, run
    in worker threads, makes the refresh one per fleet."""
    from boxjwt.stores import RedisTokenStore

    emu.latency = 0.02
    auths = [make_auth(keyfile, emu, clock, token_store=RedisTokenStore(client)) for _ in range(2)]
    results: list[Any] = await asyncio.gather(
        *(auth.enterprise_token() for auth in auths for _ in range(50))
    )
    for auth in auths:
        await auth.aclose()
    assert len({t.value.reveal() for t in results}) == 1
    assert emu.token_requests() == 1
