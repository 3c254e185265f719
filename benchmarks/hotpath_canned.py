"""The Python work of one call, without a network: an in-memory adapter answers 200.

    python benchmarks/hotpath_canned.py OP N KEY_JSON

runs ``OP`` (``fixed``, ``floor``, ``floor_as``, ``cached``, ``as_user``, ``user_token``; see
``benchmarks/hotpath.py``) ``N`` times after 50 warm-up calls, every token already cached,
``trust_env`` off. Timings on a shared machine are noisy; instruction counts are not: run it
under ``valgrind --tool=callgrind`` with ``N`` = 0 and 300 and divide the difference by 300
(the same key file each time: its decryption is part of the constant)::

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \\
        python benchmarks/hotpath_canned.py cached 300 key.json
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from typing import Any

import requests
import requests.adapters
from urllib3 import HTTPResponse

import boxjwt
from boxjwt._token import AccessToken, subject_key

BASE = "http://127.0.0.1:9"
ME = "/2.0/users/me"
TIMEOUT = (10.0, 60.0)


class Canned(requests.adapters.BaseAdapter):
    """Answers every request ``200 {"id":"1"}`` at once."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        raw = HTTPResponse(
            body=io.BytesIO(b'{"id":"1"}'),
            headers={"Content-Type": "application/json", "Content-Length": "10"},
            status=200,
            preload_content=False,
            decode_content=False,
        )
        response = requests.adapters.HTTPAdapter.build_response(self, request, raw)  # type: ignore[arg-type]
        _ = response.content
        return response

    def close(self) -> None:
        """Nothing to close."""


def operations(key_path: str) -> dict[str, Callable[[], object]]:
    keyfile = boxjwt.KeyFile.from_file(key_path)
    auth = boxjwt.JWTAuthenticator(keyfile, base_url=BASE)
    now = time.time()
    users = [str(1000 + n) for n in range(20)]
    for subject_type, subject_id in [("enterprise", keyfile.enterprise_id)] + [
        ("user", u) for u in users
    ]:
        token = AccessToken(
            value="T" * 32,
            expires_at=now + 3600,
            issued_at=now,
            subject_type=subject_type,  # type: ignore[arg-type]
            subject_id=subject_id,
            client_id=keyfile.client_id,
        )
        auth.token_store.set(subject_key(keyfile.client_id, subject_type, subject_id), token)  # type: ignore[arg-type]
    far = boxjwt.RateLimit(1e9, 1.0, burst=1_000_000)
    limiter = boxjwt.RateLimiter(boxjwt.RatePolicy(general=far, upload=far, search=far))
    root = boxjwt.AsUserSession(auth, rate_limiter=limiter)
    token_root = boxjwt.AsUserSession(auth, mode="user_token", rate_limiter=limiter)
    fixed = requests.Session()
    fixed.headers["Authorization"] = "Bearer " + "T" * 32
    plain = requests.Session()
    for session in (root, token_root, fixed, plain):
        session.mount("http://", Canned())
        session.trust_env = False
    url = f"{BASE}{ME}"
    turn = [0]

    def user() -> str:
        turn[0] = (turn[0] + 1) % len(users)
        return users[turn[0]]

    def bearer() -> dict[str, str]:
        return {"Authorization": "Bearer " + "T" * 32}

    return {
        "fixed": lambda: fixed.get(url, timeout=TIMEOUT),
        "floor": lambda: plain.get(url, headers=bearer(), timeout=TIMEOUT),
        "floor_as": lambda: plain.get(
            url, headers={**bearer(), "As-User": user()}, timeout=TIMEOUT
        ),
        "cached": lambda: root.get(ME),
        "as_user": lambda: root.for_user(user()).get(ME),
        "user_token": lambda: token_root.for_user(user()).get(ME),
    }


def main() -> None:
    name, count, key_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    operation = operations(key_path)[name]
    for _ in range(50):
        operation()
    for _ in range(count):
        operation()


if __name__ == "__main__":
    main()
