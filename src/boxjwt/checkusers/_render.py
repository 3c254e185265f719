"""The report as text (a summary, then the users who are not ready, grouped by reason and fix)
and as CSV rows (one per user, for spreadsheets)."""

from __future__ import annotations

import textwrap
from typing import Final

from boxjwt.checkusers._model import Reason, UserCheck, UserCheckReport, Verdict

__all__ = ["CSV_COLUMNS", "csv_rows", "render_text"]

CSV_COLUMNS: Final = (
    "asked",
    "also_asked",
    "found",
    "id",
    "login",
    "status",
    "role",
    "kind",
    "ready",
    "as_user",
    "as_user_reason",
    "as_user_message",
    "as_user_fix",
    "user_token",
    "user_token_reason",
    "user_token_message",
    "user_token_fix",
    "request_id",
)
#: What each reason means, as the heading of its group (reasons whose cause is the same for
#: every user; the others show each user's own message).
_TITLES: Final = {
    Reason.NOT_FOUND: "Box knows no such user in this enterprise",
    Reason.INACTIVE: "the user is inactive, and Box does not act as inactive users",
    Reason.ADMIN: "the primary admin: Box refuses As-User to admins",
    Reason.COADMIN: "co-admins: Box refuses As-User to admins and co-admins",
    Reason.EXTERNAL: "not a member of this enterprise (external collaborators)",
    Reason.SERVICE_ACCOUNT: "the app's own service account",
    Reason.OTHER_APP_USER: "app users of another app",
    Reason.AS_USER_DISABLED: 'the app\'s "Make API calls using the as-user header" is off',
    Reason.USER_TOKENS_DISABLED: "Box issues no user tokens to this app for these users",
    Reason.NOT_CHECKED: "the run stopped before these users were checked",
}
#: Cells a spreadsheet would run as a formula get a leading apostrophe.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _wrap(text: str, indent: str, width: int) -> list[str]:
    return textwrap.wrap(
        text,
        width=max(width, len(indent) + 30),
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def _who(user: UserCheck) -> str:
    shown = str(user)
    if user.found and user.asked not in (user.id, user.login):
        shown += f" (asked as {user.asked!r})"
    return shown


Group = tuple[Reason, str, str]
"""(reason, "" or " (user token)", fix)."""


def _groups(report: UserCheckReport) -> dict[Group, list[tuple[UserCheck, Verdict]]]:
    groups: dict[Group, list[tuple[UserCheck, Verdict]]] = {}
    for user in report.not_ready:
        verdicts = [("", user.as_user)]
        if user.user_token is not None and user.user_token != user.as_user:
            verdicts.append((" (user token)", user.user_token))
        for what, verdict in verdicts:
            if not verdict.ready:
                groups.setdefault((verdict.reason, what, verdict.fix or ""), []).append(
                    (user, verdict)
                )
    return groups


def _group_lines(group: Group, members: list[tuple[UserCheck, Verdict]], width: int) -> list[str]:
    reason, what, fix = group
    title = _TITLES.get(reason)
    lines = ["", f"{reason}{what}: {len(members)} user(s)" + (f": {title}" if title else "")]
    lines.extend(_wrap(f"Fix: {fix}", "  ", width))  # every verdict not ready has one
    for user, verdict in members:
        if title is not None:
            lines.extend(_wrap(f"- {_who(user)}", "  ", width))
            continue
        lines.extend(_wrap(f"- {_who(user)}: {verdict.message}", "  ", width))
        if verdict.evidence is not None:
            lines.extend(_wrap(f"Box: {verdict.evidence}", "    ", width))
    return lines


def render_text(report: UserCheckReport, *, width: int = 100) -> str:
    """The summary (users per reason), then every user who is not ready with reason and fix."""
    what = "every user of the enterprise" if report.all_users else f"{len(report.users)} user(s)"
    checks = "As-User and user tokens" if report.user_tokens else "As-User"
    lines = [
        f"Box users check ({checks}) of {what}",
        f"  Box at {report.base_url}, enterprise {report.enterprise_id}",
    ]
    if report.duplicates:
        lines.append(f"  {report.duplicates} duplicate(s) in the input, each user checked once")
    lines.append("")
    counts = report.counts()
    label_width = max((len(k) for k in counts), default=5)
    for reason, count in counts.items():
        lines.append(f"  {reason:<{label_width}}  {count}")
    for group, members in _groups(report).items():
        lines.extend(_group_lines(group, members, width))
    lines.append("")
    not_ready = len(report.not_ready)
    verdict = "OK" if report.ok else "NOT READY"
    tail = f"{report.request_count} request(s) to Box"
    if report.token_request_count:
        tail += f" and {report.token_request_count} token request(s)"
    if report.rate_limited:
        tail += f", {report.rate_limited} rate-limited and retried"
    if not report.complete:
        lines.append("INTERRUPTED: the run stopped before every user was checked.")
    lines.append(
        f"{verdict}: {len(report.users) - not_ready} of {len(report.users)} user(s) ready, "
        f"{not_ready} not ready ({tail})"
    )
    return "\n".join(lines)


def _cell(value: object) -> str:
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _verdict_cells(verdict: Verdict | None) -> list[object]:
    if verdict is None:
        return [None, None, None, None]
    return [verdict.status, verdict.reason, verdict.message, verdict.fix]


def csv_rows(report: UserCheckReport) -> list[list[str]]:
    """:data:`CSV_COLUMNS`, then one row per user."""
    rows = [list(CSV_COLUMNS)]
    for user in report.users:
        evidence = user.as_user.evidence or (user.user_token and user.user_token.evidence)
        values: list[object] = [
            user.asked,
            ";".join(user.also_asked),
            user.found,
            user.id,
            user.login,
            user.status,
            user.role,
            user.kind,
            user.ready,
            *_verdict_cells(user.as_user),
            *_verdict_cells(user.user_token),
            evidence.request_id if evidence else None,
        ]
        rows.append([_cell(v) for v in values])
    return rows
