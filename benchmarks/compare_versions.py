"""Per-call overhead of boxjwt versions over the same raw floor, interleaved in one run.

    python benchmarks/compare_versions.py OLD=/path/to/old/venv/bin/python \
        NEW=.venv/bin/python [--rounds 4] [--calls 2000]

Each Python is a venv with one boxjwt version installed (e.g. ``git worktree add /tmp/v01 REV``
and ``uv venv`` + ``uv pip install -e /tmp/v01`` there). One emulator, this Python's, serves them
all. Each version runs in its own subprocess (workers/versions.py) and pairs each of its calls
with the same call made by a ``requests.Session`` with fixed headers, in alternating blocks, so
every overhead is measured under the same load; rounds alternate the versions' order. Reported:
medians over the rounds of the cached-call and As-User overheads (µs) and of the first
enterprise token's time and ratio to a hand-made exchange.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

from boxjwt.testing import BoxEmulator

WORKER = pathlib.Path(__file__).parent / "workers" / "versions.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="+", metavar="NAME=PYTHON")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    envs = [tuple(env.split("=", 1)) for env in args.envs]
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in envs}
    with tempfile.TemporaryDirectory() as tmp, BoxEmulator() as emu:
        ekf = emu.make_keyfile(pathlib.Path(tmp) / "key.json")
        user = next(u for u in emu.managed_users if u.status == "active").id
        for round_ in range(args.rounds):
            for name, python in envs if round_ % 2 == 0 else envs[::-1]:
                command = [python, str(WORKER), str(ekf.path), emu.base_url, user, str(args.calls)]
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode:
                    sys.exit(f"{name}: {done.stderr[-2000:]}")
                results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{f'median of {args.rounds} rounds':34}" + "".join(f"{n:>12}" for n, _ in envs))
    for measure in results[envs[0][0]][0]:
        cells = [statistics.median(r[measure] for r in results[name]) for name, _ in envs]
        print(f"{measure:34}" + "".join(f"{cell:12.3f}" for cell in cells))


if __name__ == "__main__":
    main()
