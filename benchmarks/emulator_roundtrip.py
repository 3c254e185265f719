"""Keep-alive request round trip to the local Box emulator, and its start+stop time.

    .venv/bin/python benchmarks/emulator_roundtrip.py [N]

Prints the median and 99th percentile of N (default 2000) sequential ``GET /2.0/users/me``
round trips on one kept-alive connection, with ``http.client`` (the emulator's own cost) and
with a ``requests.Session`` (what boxjwt pays). The acceptance bar is "well under 2 ms".
"""

from __future__ import annotations

import http.client
import statistics
import sys
import time

import requests

from boxjwt.testing import BoxEmulator


def _summary(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return (
        f"{label:<22} median {statistics.median(ordered) * 1000:.3f} ms   "
        f"p99 {p99 * 1000:.3f} ms   (n={len(ordered)})"
    )


def main(n: int = 2000) -> None:
    starts = []
    for _ in range(20):
        t0 = time.perf_counter()
        BoxEmulator().start().stop()
        starts.append(time.perf_counter() - t0)
    print(_summary("start+stop", starts))

    with BoxEmulator() as emu:
        emu.make_keyfile()
        headers = {"Authorization": f"Bearer {emu.issue_token()}"}

        conn = http.client.HTTPConnection("127.0.0.1", emu.port)
        raw = []
        for _ in range(n):
            t0 = time.perf_counter()
            conn.request("GET", "/2.0/users/me", headers=headers)
            response = conn.getresponse()
            response.read()
            raw.append(time.perf_counter() - t0)
            assert response.status == 200
        conn.close()
        print(_summary("http.client keep-alive", raw))

        with requests.Session() as session:
            url = f"{emu.api_url}/users/me"
            samples = []
            for _ in range(n):
                t0 = time.perf_counter()
                answer = session.get(url, headers=headers, timeout=5)
                samples.append(time.perf_counter() - t0)
                assert answer.status_code == 200
        print(_summary("requests keep-alive", samples))
        assert emu.connections_accepted == 2  # both clients really kept their connection


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
