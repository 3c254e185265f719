"""The report as an aligned, optionally coloured table (``str(report)``, the CLI's output)."""

from __future__ import annotations

import textwrap
from typing import Final

from boxjwt.preflight._model import CheckStatus, PreflightReport

__all__ = ["render_text"]

_COLORS: Final = {
    CheckStatus.PASS: "\x1b[32m",
    CheckStatus.FAIL: "\x1b[1;31m",
    CheckStatus.WARN: "\x1b[33m",
    CheckStatus.SKIPPED: "\x1b[2m",
}
_RESET: Final = "\x1b[0m"


def _wrap(text: str, indent: str, width: int, first: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        width=max(width, len(indent) + 30),
        initial_indent=indent + first,
        subsequent_indent=indent + " " * len(first),
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_text(report: PreflightReport, *, color: bool = False, width: int = 100) -> str:
    """The report as an aligned table: status, check id, title; under every check that did
    not pass, what was found, the fix and Box's answers. ``color`` adds ANSI colours."""
    lines = [f"Box JWT preflight of {report.source or 'the key file'}"]
    target = [f"Box at {report.base_url}"]
    if report.client_id:
        target.append(f"client ID {report.client_id}")
    if report.enterprise_id:
        target.append(f"enterprise {report.enterprise_id}")
    lines.append("  " + ", ".join(target))
    if report.service_account is not None:
        lines.append(f"  service account {report.service_account}")
    if report.probe_user is not None:
        lines.append(f"  probe user {report.probe_user}")
    lines.append("")
    id_width = max(len(str(c.id)) for c in report.checks) if report.checks else 5
    status_width = max(len(s.value) for s in CheckStatus)
    lines.append(f"  {'STATUS':<{status_width}}  {'CHECK':<{id_width}}  TITLE")
    indent = " " * (2 + status_width + 2)
    for check in report.checks:
        label = check.status.value.upper() if check.failed else check.status.value
        cell = f"{label:<{status_width}}"
        if color:
            cell = f"{_COLORS[check.status]}{cell}{_RESET}"
        lines.append(f"  {cell}  {check.id!s:<{id_width}}  {check.title}")
        if check.passed:
            continue
        lines.extend(_wrap(check.message, indent, width))
        if check.remediation and check.status in (CheckStatus.FAIL, CheckStatus.WARN):
            lines.extend(_wrap(check.remediation, indent, width, first="Fix: "))
        for evidence in check.evidence:
            lines.extend(_wrap(str(evidence), indent, width, first="Box: "))
    counts = report.counts()
    lines.append("")
    verdict = "OK" if report.ok else "FAILED"
    lines.append(
        f"{verdict}: {counts['pass']} passed, {counts['fail']} failed, {counts['warn']} "
        f"warning(s), {counts['skipped']} skipped ({report.request_count} request(s) to Box)"
    )
    return "\n".join(lines)
