"""boxjwt.aio's connection pool (httpcore's, with a one-pass assignment step), over real HTTP."""

from __future__ import annotations

import asyncio

import httpcore
import httpx
import pytest

from aio_support import ME
from boxjwt.aio import DEFAULT_LIMITS, AsyncAsUserSession
from boxjwt.aio._pool import LeanPool, lean_transport
from boxjwt.testing import BoxEmulator
from recording_server import RecordingServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _pool(client: httpx.AsyncClient) -> object:
    return client._transport._pool  # type: ignore[attr-defined]


async def test_the_default_session_client_uses_the_lean_pool(emu: BoxEmulator) -> None:
    from aio_support import make_auth
    from boxjwt.testing import FakeClock

    auth = make_auth(emu.make_keyfile().load(), emu, FakeClock())
    async with auth, AsyncAsUserSession(auth) as s:
        assert isinstance(_pool(s.client), LeanPool)
        assert (await s.get(ME)).is_success


async def test_many_tasks_stay_within_the_pool_and_reuse_its_connections(
    emu: BoxEmulator,
) -> None:
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(transport=lean_transport(limits)) as client:
        before = emu.connections_accepted
        responses = await asyncio.gather(*(client.get(emu.base_url + ME) for _ in range(100)))
        assert {r.status_code for r in responses} == {401}  # no token: Box's answer, still HTTP
        assert emu.connections_accepted - before <= 8
        again = emu.connections_accepted
        await asyncio.gather(*(client.get(emu.base_url + ME) for _ in range(50)))
        assert emu.connections_accepted == again  # all reused


async def test_surplus_idle_connections_are_closed(emu: BoxEmulator) -> None:
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=2)
    async with httpx.AsyncClient(transport=lean_transport(limits)) as client:
        emu.latency = 0.01
        await asyncio.gather(*(client.get(emu.base_url + ME) for _ in range(16)))
        emu.latency = 0.0
        await client.get(emu.base_url + ME)  # an event of the pool: surplus idle ones go
        pool = _pool(client)
        assert isinstance(pool, LeanPool)
        assert len(pool.connections) <= 3


async def test_a_connection_the_server_closed_is_replaced_not_used(emu: BoxEmulator) -> None:
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    async with httpx.AsyncClient(transport=lean_transport(limits)) as client:
        await client.get(emu.base_url + ME)
        before = emu.connections_accepted
        emu._server.close_connections()  # type: ignore[union-attr] - Box dropped it while idle
        await asyncio.sleep(0.05)
        response = await client.post(emu.base_url + "/2.0/folders", json={})  # not replayable
        assert response.status_code == 404  # answered (no such route), not a broken pipe
        assert emu.connections_accepted == before + 1


async def test_a_full_pool_makes_room_for_another_origin(emu: BoxEmulator) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with RecordingServer() as other:
        async with httpx.AsyncClient(transport=lean_transport(limits)) as client:
            await client.get(emu.base_url + ME)  # the one connection, now idle
            assert (await client.get(other.url + "/x")).status_code == 200
            pool = _pool(client)
            assert isinstance(pool, LeanPool)
            assert len(pool.connections) == 1
            # and a full, busy pool makes a request to another origin wait for a free slot
            emu.latency = 0.05
            slow = asyncio.create_task(client.get(emu.base_url + ME))
            await asyncio.sleep(0.01)
            assert (await client.get(other.url + "/y")).status_code == 200
            assert (await slow).status_code == 401


def test_other_pools_are_left_alone() -> None:
    proxied = lean_transport(DEFAULT_LIMITS, proxy="http://127.0.0.1:9")
    assert type(proxied._pool) is httpcore.AsyncHTTPProxy  # type: ignore[attr-defined]
