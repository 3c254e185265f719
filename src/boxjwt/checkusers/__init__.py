"""check_users(): can the app act as each user of a migration plan? Read-only, before it runs.

``boxjwt.preflight`` checks the app with one probe user; a migration of thousands of users fails
on the users preflight never saw: inactive accounts, admins and co-admins (Box refuses As-User
to them), logins not in the enterprise, external collaborators, app users of other apps.
:func:`check_users` resolves each user of the plan and asks Box, read-only, whether the app may
act as them (and, if asked, whether it may get their own token), with the reason and the fix
for every user who is not ready.

The package: ``_model`` (the report and its JSON schema), ``_verdicts`` (what Box's answers
mean, pure), ``_resolve`` (the input made distinct; listing and look-ups), ``_client`` (requests
through the caller's authenticator, session and rate limiter), ``_pool`` (a bounded thread
pool fed lazily), ``_run`` (one run), ``_render`` (text and CSV), ``_api``
(:func:`check_users`).
"""

from __future__ import annotations

from boxjwt.checkusers._api import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, check_users
from boxjwt.checkusers._model import (
    ALL_USERS,
    SCHEMA_VERSION,
    AllUsers,
    Reason,
    UserCheck,
    UserCheckReport,
    UserKind,
    Verdict,
    VerdictStatus,
    report_schema,
)
from boxjwt.checkusers._render import CSV_COLUMNS, csv_rows, render_text

__all__ = [
    "ALL_USERS",
    "CSV_COLUMNS",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_TIMEOUT",
    "SCHEMA_VERSION",
    "AllUsers",
    "Reason",
    "UserCheck",
    "UserCheckReport",
    "UserKind",
    "Verdict",
    "VerdictStatus",
    "check_users",
    "csv_rows",
    "render_text",
    "report_schema",
]
