"""preflight(): check a Box JWT app's setup, setting by setting, and say what to fix.

No Box API reveals an app's settings, so every check infers one from Box's behaviour
(box-facts §6). :func:`preflight` runs the checks in dependency order, skips the checks whose
prerequisites failed (naming the failed one), attributes each refusal to the right setting, and
returns a :class:`PreflightReport`. It never raises for a failed check.

The checks, in report order (:class:`CheckId`; ids are stable, new ones may be added):

=============================== =============================================== ===============
id                              what it checks (probe)                          needs
=============================== =============================================== ===============
``keyfile.parse``               the file reads and is a JWT app config          --
``keyfile.decrypt``             the private key loads (passphrase right)        parse
``keyfile.passphrase``          the key is passphrase-protected (warn if not)   decrypt
``keyfile.permissions``         only the owner can read the file (warn if not)  --
``keyfile.enterprise_id``       ``enterpriseID`` is a plausible enterprise ID   parse
``clock.skew``                  Box's ``Date`` header vs the local clock        any answer
``token.enterprise``            ``POST /oauth2/token`` (enterprise subject)     decrypt, eid
``identity.service_account``    ``GET /2.0/users/me``: service account, ent.    token
``scope.manage_users``          ``GET /2.0/users``: "Manage users"              token
``access.enterprise``           managed users in that list: App + Enterprise    manage_users
``scope.read``                  ``GET /2.0/folders/0``: "Read all files..."     token
``scope.write``                 ``OPTIONS /2.0/files/content`` (creates nothing) token
``feature.as_user``             ``GET /2.0/users/me`` with ``As-User``          access
``feature.user_tokens``         a user token, then ``GET /2.0/users/me``        access
``scope.manage_groups``         ``GET /2.0/groups`` (optional: warns)           token
``scope.enterprise_properties`` ``GET /2.0/events?stream_type=admin_logs``      token
                                (optional: warns)
=============================== =============================================== ===============

The As-User and user-token checks need ``access.enterprise`` to choose a probe user; with
``probe_user=`` given they run unless it *failed* (a user list Box refused hides nothing).

A full run makes 10 requests (12 when the probe user must be looked up, or when a clock skew
costs each token exchange a retry): read-only (``GET``/``OPTIONS`` besides ``POST
/oauth2/token``), the independent probes in parallel.

The package: ``_model`` (the report and its JSON schema), ``_render`` (the table), ``_specs``
(the checks as data), ``_runner`` (order, waves and skips derived from the specs), ``_local``
(key file, permissions, clock), ``_box`` (token, identity, users, scopes), ``_probe`` (the probe
user, As-User, user tokens), ``_client`` (requests through boxjwt's own authenticator and
session), ``_texts`` (every remedy), ``_api`` (:func:`preflight`).

``boxjwt.preflight`` the attribute is the function (``boxjwt.preflight(...)``); import this
package's other names with ``from boxjwt.preflight import ...``.
"""

from __future__ import annotations

from boxjwt._remedies import REAUTHORIZE_HINT
from boxjwt.preflight._api import DEFAULT_CONCURRENCY, DEFAULT_RETRY, DEFAULT_TIMEOUT, preflight
from boxjwt.preflight._local import (
    CLOCK_FAIL_AHEAD_SECONDS,
    CLOCK_FAIL_BEHIND_SECONDS,
    CLOCK_WARN_SECONDS,
)
from boxjwt.preflight._model import (
    KEYFILE_CHECKS,
    SCHEMA_VERSION,
    CheckEvidence,
    CheckId,
    CheckResult,
    CheckStatus,
    PreflightReport,
    UserRef,
    report_schema,
)
from boxjwt.preflight._render import render_text

__all__ = [
    "CLOCK_FAIL_AHEAD_SECONDS",
    "CLOCK_FAIL_BEHIND_SECONDS",
    "CLOCK_WARN_SECONDS",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "KEYFILE_CHECKS",
    "REAUTHORIZE_HINT",
    "SCHEMA_VERSION",
    "CheckEvidence",
    "CheckId",
    "CheckResult",
    "CheckStatus",
    "PreflightReport",
    "UserRef",
    "preflight",
    "render_text",
    "report_schema",
]
