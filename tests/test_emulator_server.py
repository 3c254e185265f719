"""The emulator as a server: lifecycle, HTTP details, scripted faults, latency, the request log,
and 32 concurrent clients."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from boxjwt.testing import BoxEmulator, EmulatedKeyFile, FakeClock, Fault, FaultPlan
from emulator_support import api_get, enterprise_token, make_jwt, post_token, token_form


@pytest.fixture
def emu() -> Iterator[BoxEmulator]:
    with BoxEmulator() as emulator:
        yield emulator


@pytest.fixture
def token(emu: BoxEmulator, ekf: EmulatedKeyFile) -> str:
    return emu.issue_token()


# --------------------------------------------------------------------------- lifecycle


def test_start_stop_idempotent() -> None:
    emu = BoxEmulator()
    assert not emu.running
    assert "stopped" in repr(emu)
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.base_url
    assert emu.start() is emu
    assert emu.start() is emu
    assert emu.running
    assert emu.base_url.startswith("http://127.0.0.1:")
    assert emu.base_url in repr(emu)
    port = emu.port
    assert requests.get(f"{emu.base_url}/2.0/users/me", timeout=5).status_code == 401
    emu.stop()
    emu.stop()
    assert not emu.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/2.0/users/me", timeout=5)


def test_many_start_stop_cycles() -> None:
    for _ in range(10):
        with BoxEmulator() as emu:
            assert requests.get(f"{emu.base_url}/2.0/x", timeout=5).status_code == 404
        assert not emu.running


def test_urls(emu: BoxEmulator) -> None:
    assert emu.api_url == emu.base_url + "/2.0"
    assert emu.upload_url == emu.base_url + "/api"
    assert emu.token_url == emu.base_url + "/oauth2/token"


def test_stop_closes_kept_alive_connections(emu: BoxEmulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.request("GET", "/2.0/x")
    assert conn.getresponse().read()
    emu.stop()
    conn.request("GET", "/2.0/x")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    conn.close()


def test_fixed_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with BoxEmulator(port=port) as emu:
        assert emu.port == port
    with BoxEmulator(port=port) as again:  # SO_REUSEADDR: immediately reusable
        assert again.port == port


# --------------------------------------------------------------------------- HTTP details


def test_keep_alive_uses_one_connection(emu: BoxEmulator, token: str) -> None:
    with requests.Session() as session:
        for _ in range(20):
            response = session.get(
                f"{emu.api_url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
            )
            assert response.status_code == 200
            assert response.headers.get("Connection") is None
    assert emu.count("GET", "/2.0/users/me") == 20


def test_connection_close_is_honoured(emu: BoxEmulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.request("GET", "/2.0/x", headers={"Connection": "close"})
    response = conn.getresponse()
    assert response.getheader("Connection") == "close"
    response.read()
    conn.close()


def _raw(emu: BoxEmulator, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_chunked_request_body(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    form = token_form(ekf, make_jwt(ekf, emu))
    body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
    chunked = b""
    for i in range(0, len(body), 100):
        part = body[i : i + 100]
        chunked += f"{len(part):x};ext=1\r\n".encode() + part + b"\r\n"
    chunked += b"0\r\nX-Trailer: 1\r\n\r\n"
    answer = _raw(
        emu,
        b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunked,
    )
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'"token_type": "bearer"' in answer


@pytest.mark.parametrize(
    "head",
    [
        b"Content-Length: nope\r\n",
        b"Content-Length: -1\r\n",
        b"Transfer-Encoding: chunked\r\n",
    ],
)
def test_malformed_bodies_answer_400(emu: BoxEmulator, head: bytes) -> None:
    answer = _raw(emu, b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\n" + head + b"\r\nzz\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close" in answer


def test_non_utf8_form_is_just_invalid(emu: BoxEmulator) -> None:
    response = requests.post(emu.token_url, data=b"\xff\xfe", timeout=5)
    assert response.json()["error_description"] == (
        "Invalid grant_type parameter or parameter missing"
    )


# --------------------------------------------------------------------------- faults


def test_fault_429_on_token_endpoint(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    emu.faults.push("/oauth2/token", 429, retry_after=2)
    first = post_token(emu, token_form(ekf, make_jwt(ekf, emu)))
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "2"
    assert first.json() == {
        "error": "rate_limit_exceeded",
        "error_description": "Request rate limit exceeded, please try again later",
    }
    assert first.headers["Date"]
    second = post_token(emu, token_form(ekf, make_jwt(ekf, emu)))
    assert second.status_code == 200
    assert emu.token_requests() == 2
    assert emu.token_requests(status=429) == 1
    assert emu.records(status=429)[0].fault == "status"


def test_fault_429_on_api(emu: BoxEmulator, token: str) -> None:
    emu.faults.push("/2.0/users/me", 429, retry_after="5", count=2)
    assert emu.faults.pending() == 2
    assert emu.faults.pending("/2.0/users/me") == 2
    for _ in range(2):
        response = api_get(emu, "/2.0/users/me", token)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "5"
        body = response.json()
        assert body["code"] == "rate_limit_exceeded"
        assert body["message"] == "Request rate limit exceeded, please try again later"
        assert body["request_id"] == response.headers["box-request-id"]
    assert emu.faults.pending() == 0
    assert api_get(emu, "/2.0/users/me", token).status_code == 200


@pytest.mark.parametrize(
    ("status", "code"), [(500, "internal_server_error"), (502, "bad_gateway"), (503, "unavailable")]
)
def test_fault_5xx(emu: BoxEmulator, token: str, status: int, code: str) -> None:
    emu.faults.push("/2.0/folders/{id}", status)
    response = api_get(emu, "/2.0/folders/0", token)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert api_get(emu, "/2.0/folders/0", token).status_code == 200


def test_fault_5xx_on_token_endpoint_and_unknown_status(
    emu: BoxEmulator, ekf: EmulatedKeyFile
) -> None:
    emu.faults.push("/oauth2/token", 503)
    emu.faults.push("/oauth2/token", 418)
    assert post_token(emu, {}).json()["error"] == "unavailable"
    assert post_token(emu, {}).json() == {"error": "error", "error_description": "Error"}


def test_fault_202_with_retry_after(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    emu.faults.push("/oauth2/token", 202, retry_after=1)
    response = post_token(emu, token_form(ekf, make_jwt(ekf, emu)))
    assert response.status_code == 202
    assert response.content == b""
    assert response.headers["Retry-After"] == "1"


def test_fault_redirect(emu: BoxEmulator) -> None:
    emu.faults.push("/oauth2/token", 301, headers={"Location": "http://127.0.0.1:9/elsewhere"})
    response = post_token(emu, {"grant_type": "x"})
    assert response.status_code == 301
    assert response.headers["Location"] == "http://127.0.0.1:9/elsewhere"


def test_fault_drop(emu: BoxEmulator, token: str) -> None:
    emu.faults.push("*", drop=True)
    with pytest.raises(requests.ConnectionError):
        api_get(emu, "/2.0/users/me", token)
    assert api_get(emu, "/2.0/users/me", token).status_code == 200
    dropped, ok = emu.records(path="/2.0/users/me")
    assert dropped.status is None
    assert dropped.fault == "drop"
    assert dropped.response_headers == {}
    assert ok.status == 200


def test_fault_delay_then_normal_answer(emu: BoxEmulator, token: str) -> None:
    emu.faults.push("/2.0/users/me", delay=0.01)
    response = api_get(emu, "/2.0/users/me", token)
    assert response.status_code == 200
    assert emu.records()[0].fault == "delay"


def test_fault_delay_beyond_client_timeout(emu: BoxEmulator, token: str) -> None:
    emu.faults.push("/2.0/users/me", delay=0.3)
    with pytest.raises(requests.Timeout):
        requests.get(
            f"{emu.api_url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=0.05
        )


def test_fault_bodies(emu: BoxEmulator) -> None:
    emu.faults.push("/2.0/x", 500, body={"custom": True})
    emu.faults.push("/2.0/x", 502, body="<html>bad gateway</html>")
    emu.faults.push("/2.0/x", 503, body=b"\x00raw", headers={"Content-Type": "application/x-raw"})
    first = requests.get(f"{emu.api_url}/x", timeout=5)
    assert first.json() == {"custom": True}
    second = requests.get(f"{emu.api_url}/x", timeout=5)
    assert second.text == "<html>bad gateway</html>"
    assert second.headers["Content-Type"].startswith("text/plain")
    third = requests.get(f"{emu.api_url}/x", timeout=5)
    assert third.content == b"\x00raw"
    assert third.headers["Content-Type"] == "application/x-raw"


def test_fault_method_filter_and_order(emu: BoxEmulator, token: str) -> None:
    emu.faults.push("/2.0/groups", 500)
    emu.faults.push("/2.0/users/me", 500, method="post")
    emu.faults.push("/2.0/users/me", 503)
    assert api_get(emu, "/2.0/users/me", token).status_code == 503
    assert api_get(emu, "/2.0/users/me", token).status_code == 200
    assert emu.faults.pending() == 2
    assert emu.faults.pending("/2.0/groups") == 1
    emu.faults.clear()
    assert emu.faults.pending() == 0


def test_fault_validation() -> None:
    plan = FaultPlan()
    with pytest.raises(ValueError, match="count"):
        plan.push("*", 500, count=0)
    with pytest.raises(ValueError, match="needs a status"):
        plan.push("*")
    with pytest.raises(ValueError, match="invalid HTTP status"):
        plan.push("*", 99)
    assert Fault(status=500).kind == "status"
    assert Fault(drop=True).kind == "drop"
    assert Fault(delay=1.0).kind == "delay"


def test_global_latency(emu: BoxEmulator, token: str) -> None:
    emu.latency = 0.2
    with pytest.raises(requests.Timeout):
        requests.get(
            f"{emu.api_url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=0.05
        )
    emu.latency = 0.0
    assert api_get(emu, "/2.0/users/me", token).status_code == 200


# --------------------------------------------------------------------------- log


def test_log_redacts_and_keeps_no_body(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    token = enterprise_token(emu, ekf)
    api_get(emu, "/2.0/users/me", token, headers={"Cookie": "a=b"}, params={"fields": "id"})
    token_record, call = emu.request_log
    assert token_record.seq == 1
    assert call.seq == 2
    assert call.request_headers["authorization"] == "Bearer <redacted>"
    assert call.request_headers["cookie"] == "<redacted>"
    assert call.query == {"fields": "id"}
    assert call.endpoint == "/2.0/users/me"
    text = repr(emu.request_log)
    assert token not in text
    assert ekf.app.client_secret not in text
    assert ekf.passphrase is not None
    assert ekf.passphrase not in text


def test_counts_and_filters(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str) -> None:
    user = emu.managed_users[0]
    api_get(emu, "/2.0/users/me", token)
    api_get(emu, "/2.0/users/me", token, headers={"As-User": user.id})
    api_get(emu, "/2.0/folders/0", token)
    assert emu.count() == 3
    assert emu.count("get") == 3
    assert emu.count(path="/2.0/folders/0") == 1
    assert emu.count(path="/2.0/folders/{id}") == 1
    assert emu.count(endpoint="/2.0/users/me") == 2
    assert emu.count(as_user=user.id) == 1
    assert emu.count(client_id=ekf.client_id) == 3
    assert emu.count(subject_type="enterprise") == 3
    assert emu.count(subject_id=ekf.app.service_account.id) == 3
    assert emu.count("POST") == 0
    assert emu.token_requests() == 0
    emu.reset_log()
    assert emu.count() == 0
    assert emu.request_log == []


# --------------------------------------------------------------------------- concurrency


def test_32_concurrent_clients(emu: BoxEmulator, ekf: EmulatedKeyFile) -> None:
    barrier = threading.Barrier(32)

    def client(n: int) -> list[int]:
        statuses = []
        with requests.Session() as session:
            barrier.wait(timeout=10)
            form = token_form(ekf, make_jwt(ekf, emu))
            answer = session.post(emu.token_url, data=form, timeout=10)
            statuses.append(answer.status_code)
            token = answer.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(5):
                statuses.append(
                    session.get(f"{emu.api_url}/users/me", headers=headers, timeout=10).status_code
                )
        return statuses

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(client, range(32)))
    assert all(status == 200 for statuses in results for status in statuses)
    assert emu.token_requests(status=200) == 32
    assert emu.count("GET", "/2.0/users/me", status=200) == 32 * 5
    assert len({r.seq for r in emu.request_log}) == 32 * 6
    assert emu.live_tokens == 32


def test_settings_toggle_while_serving(emu: BoxEmulator, ekf: EmulatedKeyFile, token: str) -> None:
    stop = threading.Event()

    def toggler() -> None:
        while not stop.is_set():
            ekf.app.configure(scopes={"read"})
            ekf.app.reauthorize()
            ekf.app.configure(scopes={"read", "manage_users"})
            ekf.app.reauthorize()

    thread = threading.Thread(target=toggler)
    thread.start()
    try:
        statuses = {api_get(emu, "/2.0/users", token).status_code for _ in range(30)}
    finally:
        stop.set()
        thread.join()
    assert statuses <= {200, 403}
    assert json.loads(api_get(emu, "/2.0/users/me", token).text)["type"] == "user"


def test_connection_counters(emu: BoxEmulator, token: str) -> None:
    assert emu.connections_accepted == 0
    with requests.Session() as session:
        for _ in range(3):
            session.get(f"{emu.api_url}/users/me", headers={"Authorization": f"Bearer {token}"})
        assert emu.connections_accepted == 1
        assert emu.open_connections == 1
    stopped = BoxEmulator()
    assert stopped.connections_accepted == 0
    assert stopped.open_connections == 0


def test_unknown_status_reason(emu: BoxEmulator) -> None:
    emu.faults.push("/2.0/x", 599)
    answer = _raw(emu, b"GET /2.0/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 599 Unknown\r\n")


def test_client_reset_is_silent(emu: BoxEmulator, capfd: pytest.CaptureFixture[str]) -> None:
    import struct

    sock = socket.create_connection(("127.0.0.1", emu.port), timeout=5)
    sock.sendall(b"GET /2.0/x HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.recv(65536)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # RST while the server waits for the next request
    emu.stop()
    assert "Traceback" not in capfd.readouterr().err


def test_unexpected_server_error_is_printed(
    emu: BoxEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("emulator bug")

    assert emu._server is not None
    emu._server.dispatch = broken  # type: ignore[assignment]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{emu.api_url}/users/me", timeout=5)
    emu.stop()
    assert "RuntimeError: emulator bug" in capfd.readouterr().err


def test_knobs_read_back() -> None:
    clock, other = FakeClock(), FakeClock(0)
    emu = BoxEmulator(clock=clock, clock_offset=5, latency=0.25)
    assert emu.clock is clock
    assert emu.clock_offset == 5
    assert emu.latency == 0.25
    assert emu.allow_as_user_admins is False
    assert emu.download_url_template == "{base_url}/_emulator/download/{file_id}"
    emu.clock = other
    assert emu.now() == 5.0
