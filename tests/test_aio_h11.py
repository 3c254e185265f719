"""boxjwt.aio's HTTP/1.1 transport (h11 on asyncio streams) over real sockets."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aio_support import ME, make_auth
from boxjwt.aio import DEFAULT_LIMITS, AsyncAsUserSession
from boxjwt.aio._h11 import H11Transport, fast_client
from boxjwt.testing import BoxEmulator, FakeClock
from recording_server import Answer, RecordingServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client_of(max_connections: int = 8, keepalive: int | None = None) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections if keepalive is None else keepalive,
    )
    return httpx.AsyncClient(transport=H11Transport(limits))


async def test_the_default_session_client_uses_it(emu: BoxEmulator) -> None:
    auth = make_auth(emu.make_keyfile().load(), emu, FakeClock())
    async with auth, AsyncAsUserSession(auth) as s:
        assert isinstance(s.client._transport, H11Transport)  # type: ignore[attr-defined]
        assert (await s.get(ME)).is_success


def test_proxied_origins_keep_httpx_transports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    client = fast_client(DEFAULT_LIMITS)
    chosen = client._transport_for_url(httpx.URL("https://api.box.com/2.0"))  # type: ignore[attr-defined]
    assert not isinstance(chosen, H11Transport)
    direct = client._transport_for_url(httpx.URL("http://127.0.0.1/2.0"))  # type: ignore[attr-defined]
    assert isinstance(direct, H11Transport)  # no proxy for http: the direct transport
    monkeypatch.delenv("HTTPS_PROXY")
    plain = fast_client(DEFAULT_LIMITS)
    assert isinstance(plain._transport_for_url(httpx.URL("https://x.test/")), H11Transport)  # type: ignore[attr-defined]


async def test_many_tasks_stay_within_the_pool_and_reuse_its_connections(
    emu: BoxEmulator,
) -> None:
    async with client_of(8) as client:
        before = emu.connections_accepted
        responses = await asyncio.gather(*(client.get(emu.base_url + ME) for _ in range(100)))
        assert {r.status_code for r in responses} == {401}  # no token: Box's answer, still HTTP
        assert emu.connections_accepted - before <= 8
        again = emu.connections_accepted
        await asyncio.gather(*(client.get(emu.base_url + ME) for _ in range(20)))
        assert emu.connections_accepted == again  # all reused


async def test_a_busy_full_pool_times_out_waiting(emu: BoxEmulator) -> None:
    async with client_of(1) as client:
        emu.faults.push(ME, delay=0.5)
        slow = asyncio.create_task(client.get(emu.base_url + ME))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await client.get(emu.base_url + ME, timeout=httpx.Timeout(5.0, pool=0.05))
        assert (await slow).status_code == 401
        assert (await client.get(emu.base_url + ME)).status_code == 401  # the slot came back


async def test_surplus_idle_connections_are_closed_and_a_full_pool_makes_room(
    emu: BoxEmulator,
) -> None:
    async with client_of(4, keepalive=1) as client:
        emu.latency = 0.02
        await asyncio.gather(*(client.get(emu.base_url + ME) for _ in range(4)))
        emu.latency = 0.0
        transport = client._transport  # type: ignore[attr-defined]
        assert transport._idle_count == 1
    with RecordingServer() as other:
        async with client_of(1) as client:
            await client.get(emu.base_url + ME)  # the one connection, now idle
            assert (await client.get(other.url + "/x")).status_code == 200  # replaces it


async def test_a_connection_the_server_closed_is_not_reused(emu: BoxEmulator) -> None:
    async with client_of(2) as client:
        await client.get(emu.base_url + ME)
        before = emu.connections_accepted
        emu._server.close_connections()  # type: ignore[union-attr] - Box dropped it while idle
        await asyncio.sleep(0.05)
        response = await client.post(emu.base_url + "/2.0/folders", json={})  # not replayable
        assert response.status_code == 404  # answered (no such route), not a broken pipe
        assert emu.connections_accepted == before + 1


async def test_an_expired_idle_connection_is_not_reused(emu: BoxEmulator) -> None:
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2, keepalive_expiry=0.0)
    async with httpx.AsyncClient(transport=H11Transport(limits)) as client:
        await client.get(emu.base_url + ME)
        before = emu.connections_accepted
        await client.get(emu.base_url + ME)
        assert emu.connections_accepted == before + 1


async def test_a_body_closed_early_closes_its_connection(emu: BoxEmulator) -> None:
    async with client_of(2) as client:
        async with client.stream("GET", emu.base_url + ME) as response:
            assert response.status_code == 401
        before = emu.connections_accepted
        await client.get(emu.base_url + ME)
        assert emu.connections_accepted == before + 1


async def test_failures_are_httpx_exceptions(emu: BoxEmulator) -> None:
    with BoxEmulator() as gone:
        dead = gone.base_url
    async with client_of(2) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(dead + ME)
        emu.faults.push(ME, delay=1.0)
        with pytest.raises(httpx.ReadTimeout):
            await client.get(emu.base_url + ME, timeout=0.1)
        with pytest.raises(httpx.UnsupportedProtocol):
            await client._transport.handle_async_request(  # type: ignore[attr-defined]
                httpx.Request("GET", "ftp://127.0.0.1/x")
            )
        with RecordingServer() as hostile:
            hostile.script(Answer(drop=True))
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(hostile.url + "/x")
    with pytest.raises(httpx.ConnectError, match="closed"):
        await client._transport.handle_async_request(  # type: ignore[attr-defined]
            httpx.Request("GET", emu.base_url + ME)
        )  # after aclose()


async def test_a_cancelled_request_gives_its_slot_back(emu: BoxEmulator) -> None:
    async with client_of(1) as client:
        emu.faults.push(ME, delay=2.0)
        task = asyncio.create_task(client.get(emu.base_url + ME))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client._transport._open == 0  # type: ignore[attr-defined]
        assert (await client.get(emu.base_url + ME)).status_code == 401


async def test_large_bodies_go_out_in_pieces(emu: BoxEmulator) -> None:
    async with client_of(2) as client:
        response = await client.post(emu.base_url + "/2.0/folders", content=b"x" * 300_000)
        assert response.status_code == 404


def _tls_pair(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = tmp / "cert.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pem, tmp / "key.pem")
    client = ssl.create_default_context(cafile=str(pem))
    return server, client


async def test_https_is_verified(tmp_path: Path) -> None:
    server_context, client_context = _tls_pair(tmp_path)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        trusted = H11Transport(DEFAULT_LIMITS, ssl_context=client_context)
        async with httpx.AsyncClient(transport=trusted) as client:
            assert (await client.get(f"https://127.0.0.1:{port}/")).text == "ok"
        async with httpx.AsyncClient(transport=H11Transport(DEFAULT_LIMITS)) as client:
            with pytest.raises(httpx.ConnectError):  # a certificate nobody vouches for
                await client.get(f"https://127.0.0.1:{port}/")


async def _serve_raw(answer: bytes) -> tuple[asyncio.Server, str]:
    """A server that reads a request head, then writes ``answer`` and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


async def test_hostile_and_odd_answers() -> None:
    cases = {
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok": "ok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc": httpx.RemoteProtocolError,
        b"this is not HTTP\r\n\r\n": httpx.RemoteProtocolError,
        b"": httpx.RemoteProtocolError,
    }
    async with client_of(2) as client:
        for answer, expected in cases.items():
            server, url = await _serve_raw(answer)
            async with server:
                if isinstance(expected, str):
                    assert (await client.get(url)).text == expected
                else:
                    with pytest.raises(expected):
                        await client.get(url)
        transport = client._transport  # type: ignore[attr-defined]
        assert transport._open == transport._idle_count == 1  # the sound one, kept alive
