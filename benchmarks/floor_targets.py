"""Issue 18's rows: boxjwt against the raw floor, paired, with each target and whether it holds.

The measures come from ``workers/targets.py`` (boxjwt's worker, the floor interleaved in the
same process); this module turns their runs into the page's table, its chart, and the count
checks (connections and token requests, never timings).
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Runs = Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]]

TIMES = "\u00d7"  # the multiplication sign

#: Connect latency of the first-call row (a TLS handshake), seconds.
CONNECT_LATENCY = 0.040
#: Added latency per request of the first-call row, seconds.
FIRST_CALL_LATENCY = 0.020


@dataclass(frozen=True)
class Target:
    """One row: a scenario, how it is shown, and its target."""

    key: str
    scenario: str
    latency: float
    label: str
    kind: str  # "ratio": boxjwt ÷ floor; "overhead": µs over a fixed-header session
    limit: float | None  # None: shown, no target
    short: str


TARGETS = (
    Target(
        "first_call",
        "first_call",
        FIRST_CALL_LATENCY,
        "First API call of a new process, its token included (key loaded; 20 ms per request "
        "+ 40 ms per new connection): time / sockets",
        "ratio",
        1.05,
        "First call, cold",
    ),
    Target(
        "first_token",
        "first_token",
        0.0,
        "First enterprise token of a fresh authenticator (key loaded, new connection)",
        "ratio",
        1.2,
        "First token",
    ),
    Target(
        "key_load",
        "key_load",
        0.0,
        "Key file read and private key decrypted (floor: json + load_pem_private_key)",
        "ratio",
        None,
        "Key decryption",
    ),
    Target(
        "cached_overhead",
        "cached_overhead",
        0.0,
        "Cached-token GET /2.0/users/me: overhead over a fixed-header requests.Session",
        "overhead",
        20e-6,
        "Cached call",
    ),
    Target(
        "as_user_overhead",
        "as_user_overhead",
        0.0,
        "As-User call (root.for_user(id).get, users cycling): overhead over the same session",
        "overhead",
        30e-6,
        "As-User call",
    ),
    Target(
        "users_pass2",
        "users_pass2",
        0.0,
        "{n} users' own tokens from 8 threads, second pass (0 token requests): wall",
        "ratio",
        1.15,
        "{n} users, pass 2",
    ),
)


def _ok(runs: Runs, target: Target) -> list[Mapping[str, Any]]:
    key = f"{target.scenario}@{target.latency:g}"
    return [r for r in runs.get(key, {}).get("boxjwt", []) if r.get("ok")]


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def aggregate(runs: Runs, target: Target) -> dict[str, Any] | None:
    """Medians over rounds: the two times, the ratio of each round, overheads, sockets."""
    found = _ok(runs, target)
    if not found:
        return None

    def each(pick: Callable[[Mapping[str, Any]], float]) -> float:
        return _median([pick(r) for r in found])

    out: dict[str, Any] = {
        "rounds": len(found),
        "ours": each(lambda r: r["result"]["time"]["median"]),
        "floor": each(lambda r: r["result"]["paired_floor"]["median"]),
        "ratio": each(
            lambda r: r["result"]["time"]["median"] / r["result"]["paired_floor"]["median"]
        ),
    }
    if target.kind == "overhead":
        out["over_ours"] = each(
            lambda r: r["result"]["time"]["median"] - r["result"]["fixed"]["median"]
        )
        out["over_floor"] = each(
            lambda r: r["result"]["paired_floor"]["median"] - r["result"]["fixed"]["median"]
        )
    if target.scenario == "first_call":
        out["sockets_ours"] = max(r["phases"]["ours_once"]["sockets"] for r in found)
        out["sockets_floor"] = max(r["phases"]["floor_once"]["sockets"] for r in found)
    if target.kind == "overhead":
        out["holds"] = None if target.limit is None else out["over_ours"] <= target.limit
    else:
        out["holds"] = None if target.limit is None else out["ratio"] <= target.limit
    return out


def _time(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.2f} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"


def _target_text(target: Target) -> str:
    if target.limit is None:
        return "—"
    if target.kind == "overhead":
        return f"≤ +{target.limit * 1e6:.0f} µs"
    return f"≤ {target.limit:.2f}{TIMES}"


def table(runs: Runs, users: int) -> tuple[str, list[tuple[Target, dict[str, Any]]]]:
    """The markdown table and the aggregated rows."""
    lines = [
        "| Measure | raw floor | boxjwt | boxjwt ÷ floor | overhead (floor / boxjwt) | target "
        "| holds |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = []
    for target in TARGETS:
        data = aggregate(runs, target)
        if data is None:
            continue
        rows.append((target, data))
        floor, ours = _time(data["floor"]), _time(data["ours"])
        if "sockets_ours" in data:
            floor += f" / {data['sockets_floor']}"
            ours += f" / {data['sockets_ours']}"
        overhead = "—"
        if target.kind == "overhead":
            overhead = f"{data['over_floor'] * 1e6:+.1f} µs / {data['over_ours'] * 1e6:+.1f} µs"
        holds = {None: "—", True: "**yes**", False: "**no**"}[data["holds"]]
        lines.append(
            f"| {target.label.format(n=f'{users:,}')} | {floor} | {ours} | "
            f"{data['ratio']:.3f}{TIMES} | {overhead} | {_target_text(target)} | {holds} |"
        )
    return "\n".join(lines) + "\n", rows


def summary(rows: Sequence[tuple[Target, dict[str, Any]]], users: int) -> str:
    """One line per target: holds or not, with the number."""
    out = []
    for target, data in rows:
        if target.limit is None:
            continue
        name = target.short.format(n=f"{users:,}")
        verdict = "holds" if data["holds"] else "does not hold"
        if target.kind == "overhead":
            have = f"{data['over_ours'] * 1e6:+.1f} µs (target ≤ +{target.limit * 1e6:.0f} µs)"
        else:
            have = f"{data['ratio']:.3f}{TIMES} (target ≤ {target.limit:.2f}{TIMES})"
        out.append(f"- {name}: **{verdict}**, {have} over {data['rounds']} rounds.")
    return "\n".join(out)


def svg(rows: Sequence[tuple[Target, dict[str, Any]]], users: int) -> str:
    """boxjwt ÷ floor per row (bars from 1) with each ratio target marked."""
    left, plot_w, bar, pitch, top = 230, 460, 16, 30, 50
    lo, hi = 0.9, max([1.3, *(d["ratio"] * 1.05 for _, d in rows)])
    width, height = left + plot_w + 80, top + pitch * len(rows) + 36

    def x(value: float) -> float:
        return left + (min(max(value, lo), hi) - lo) / (hi - lo) * plot_w

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">'
        "boxjwt ÷ raw floor, paired (issue 18); | marks the target</text>",
    ]
    for tick in (1.0, 1.1, 1.2, 1.3, 1.5, 2.0):
        if tick <= hi:
            out.append(
                f'<line x1="{x(tick):.1f}" y1="{top - 8}" x2="{x(tick):.1f}" '
                f'y2="{top + pitch * len(rows)}" stroke="#e2e8f0"/>'
                f'<text x="{x(tick):.1f}" y="{top + pitch * len(rows) + 16}" '
                f'text-anchor="middle" fill="#4a5568">{tick:g}{TIMES}</text>'
            )
    for index, (target, data) in enumerate(rows):
        y = top + index * pitch
        colour = {None: "#a0aec0", True: "#2b6cb0", False: "#c53030"}[data["holds"]]
        x1 = x(data["ratio"])
        out.append(
            f'<text x="{left - 8}" y="{y + bar - 3}" text-anchor="end">'
            f"{html.escape(target.short.format(n=f'{users:,}'))}</text>"
            f'<rect x="{x(1.0):.1f}" y="{y}" width="{max(x1 - x(1.0), 1.5):.1f}" '
            f'height="{bar}" fill="{colour}"/>'
            f'<text x="{x1 + 4:.1f}" y="{y + bar - 3}" font-size="11">'
            f"{data['ratio']:.3f}{TIMES}</text>"
        )
        if target.limit is not None and target.kind == "ratio":
            out.append(
                f'<line x1="{x(target.limit):.1f}" y1="{y - 3}" x2="{x(target.limit):.1f}" '
                f'y2="{y + bar + 3}" stroke="#1a202c" stroke-width="2"/>'
            )
    out.append(
        f'<line x1="{x(1.0):.1f}" y1="{top - 8}" x2="{x(1.0):.1f}" '
        f'y2="{top + pitch * len(rows)}" stroke="#1a202c"/>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def check(runs: Runs, users: int) -> list[str]:
    """Counts only: one socket for a cold first call, exact token requests."""
    problems = []
    for target in TARGETS:
        for run in _ok(runs, target):
            phases = run["phases"]
            if target.scenario == "first_call":
                for phase in ("ours_once", "floor_once"):
                    have = phases[phase]
                    if have["sockets"] != 1 or have["token_requests"] != 1:
                        problems.append(
                            f"first call ({phase}): {have['sockets']} sockets, "
                            f"{have['token_requests']} token requests (want 1 and 1)"
                        )
            elif target.kind == "overhead" and phases["run"]["token_requests"]:
                problems.append(f"{target.key}: token requests while every token was cached")
            elif target.scenario == "users_pass2":
                if phases["pass2"]["token_requests"]:
                    problems.append("users pass 2: token requests on the warm pass")
                if phases["pass1"]["token_requests"] != 2 * users:
                    problems.append(
                        f"users pass 1: {phases['pass1']['token_requests']} token requests "
                        f"for 2 x {users} users"
                    )
    return problems
