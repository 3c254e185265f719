"""One boxjwt version's overheads over a raw floor (run by benchmarks/compare_versions.py).

argv: key.json, base URL, an active user's ID, calls per measure. Prints one JSON line. Uses only
the public API that every version has, so that it runs against any installed boxjwt.
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization

import boxjwt

ME = "/2.0/users/me"
AUDIENCE = "https://api.box.com/oauth2/token"


def paired(ours: Callable[[], Any], floor: Callable[[], Any], n: int, block: int = 25) -> Any:
    """Median seconds of ``ours`` and ``floor``, run in alternating blocks after a warm-up."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(10):
        ours()
        floor()
    for i in range(0, n, block):
        pairs = ((ours, a), (floor, b)) if (i // block) % 2 == 0 else ((floor, b), (ours, a))
        for call, out in pairs:
            for _ in range(block):
                start = time.perf_counter()
                call()
                out.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def session_kwargs() -> dict[str, Any]:
    """Versions that pace get a limiter whose budgets are out of reach (overhead, not waits)."""
    if not hasattr(boxjwt, "RateLimiter"):
        return {}
    far = boxjwt.RateLimit(1e9, 1.0, burst=1_000_000)
    policy = boxjwt.RatePolicy(general=far, upload=far, search=far)
    return {"rate_limiter": boxjwt.RateLimiter(policy)}


def main() -> None:
    key, base, user, calls = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    keyfile = boxjwt.KeyFile.from_file(key)
    auth = boxjwt.JWTAuthenticator(keyfile, base_url=base)
    token = auth.enterprise_token().value.reveal()
    url = base + ME
    out: dict[str, float] = {}

    ours = boxjwt.AsUserSession(auth, **session_kwargs())
    fixed = requests.Session()
    fixed.headers["Authorization"] = "Bearer " + token
    o, f = paired(
        lambda: ours.get(ME).raise_for_status(),
        lambda: fixed.get(url, timeout=(10, 60)).raise_for_status(),
        calls,
    )
    out["cached_call_overhead_us"] = (o - f) * 1e6

    as_user = boxjwt.AsUserSession(auth, user_id=user, **session_kwargs())
    fixed_user = requests.Session()
    fixed_user.headers.update({"Authorization": "Bearer " + token, "As-User": user})
    o, f = paired(
        lambda: as_user.get(ME).raise_for_status(),
        lambda: fixed_user.get(url, timeout=(10, 60)).raise_for_status(),
        calls,
    )
    out["as_user_overhead_us"] = (o - f) * 1e6

    settings = json.loads(pathlib.Path(key).read_text(encoding="utf-8"))["boxAppSettings"]
    private_key = serialization.load_pem_private_key(
        settings["appAuth"]["privateKey"].encode(), settings["appAuth"]["passphrase"].encode()
    )

    def first_token() -> None:
        boxjwt.JWTAuthenticator(keyfile, base_url=base).enterprise_token()

    def floor_token() -> None:
        claims = {
            "iss": keyfile.client_id,
            "sub": keyfile.enterprise_id,
            "box_sub_type": "enterprise",
            "aud": AUDIENCE,
            "jti": uuid.uuid4().hex + uuid.uuid4().hex,
            "exp": int(time.time()) + 30,
        }
        assertion = jwt.encode(
            claims, private_key, algorithm="RS256", headers={"kid": keyfile.public_key_id}
        )
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion,
            "client_id": keyfile.client_id,
            "client_secret": keyfile.client_secret.reveal(),
        }
        with requests.Session() as raw:
            raw.post(base + "/oauth2/token", data=form, timeout=(10, 30)).raise_for_status()

    o, f = paired(first_token, floor_token, max(60, calls // 20), block=5)
    out["first_token_ms"] = o * 1e3
    out["first_token_ratio"] = o / f
    print(json.dumps(out))


if __name__ == "__main__":
    main()
