"""``preflight()``: load the key file, run the checks, assemble the report."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Final

from boxjwt._http import PREFLIGHT_TIMEOUT
from boxjwt._keyfile import KeyFile
from boxjwt._retry import RetryPolicy
from boxjwt._scrub import scrubbed
from boxjwt._secret import Secret
from boxjwt._validate import describe, validate_timeout, validate_url, validate_user_id
from boxjwt.exceptions import ConfigurationError
from boxjwt.preflight._box import BoxContext
from boxjwt.preflight._client import BoxClient, Observer
from boxjwt.preflight._local import KeyFileArg, KeyLoad, load_keyfile
from boxjwt.preflight._model import CheckId, CheckResult, PreflightReport
from boxjwt.preflight._runner import run_checks
from boxjwt.preflight._specs import RunFacts, specs

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_RETRY", "DEFAULT_TIMEOUT", "preflight"]

_log = logging.getLogger("boxjwt.preflight")

#: ``(connect, read)`` seconds for each request: preflight must be quick.
DEFAULT_TIMEOUT: Final = PREFLIGHT_TIMEOUT
#: Transient failures (429, 5xx, connection errors) are retried once, briefly: preflight must
#: be quick.
DEFAULT_RETRY: Final = RetryPolicy(
    max_attempts=2, max_total_time=10.0, max_retry_after=5.0, backoff_base=0.5, backoff_max=2.0
)
#: The longest login accepted as ``probe_user`` (an email address is at most 254 characters).
MAX_LOGIN_LENGTH: Final = 320
#: Probes run at most this many at a time.
DEFAULT_CONCURRENCY: Final = 6


def _check_args(
    *,
    keyfile: object,
    base_url: object,
    probe_user: object,
    passphrase: object,
    private_key_path: object,
    concurrency: object,
    timeout: object,
    retry: object,
) -> tuple[str, str | None]:
    if not isinstance(keyfile, KeyFile | str | os.PathLike):
        raise ConfigurationError(
            "preflight() takes a boxjwt.KeyFile or the path of the key file, not "
            f"{type(keyfile).__name__}"
        )
    if isinstance(keyfile, KeyFile) and (passphrase is not None or private_key_path is not None):
        raise ConfigurationError(
            "passphrase= and private_key_path= apply to a key file path, not to a loaded KeyFile"
        )
    url = validate_url("base_url", base_url)
    validate_timeout(timeout)
    probe: str | None
    if probe_user is None:
        probe = None
    elif isinstance(probe_user, int) and not isinstance(probe_user, bool):
        probe = validate_user_id(probe_user)
    elif isinstance(probe_user, str) and probe_user.strip():
        probe = probe_user.strip()
        if probe.isdigit():
            probe = validate_user_id(probe)
        elif len(probe) > MAX_LOGIN_LENGTH:
            raise ConfigurationError(
                f"probe_user= is a Box user ID or a login (an email address of at most "
                f"{MAX_LOGIN_LENGTH} characters), not {describe(probe_user)}"
            )
    else:
        raise ConfigurationError(
            f"probe_user= is a Box user ID or login, not {describe(probe_user)}"
        )
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError("concurrency= must be an integer >= 1")
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError("retry= must be a boxjwt.RetryPolicy")
    return url, probe


@scrubbed
def preflight(
    keyfile_or_path: KeyFileArg,
    *,
    base_url: str = "https://api.box.com",
    probe_user: str | int | None = None,
    passphrase: str | bytes | Secret | None = None,
    private_key_path: str | os.PathLike[str] | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    clock: Callable[[], float] | None = None,
    retry: RetryPolicy | None = None,
) -> PreflightReport:
    """Check a Box JWT app's setup, setting by setting; return a :class:`PreflightReport`.

    ``keyfile_or_path`` is a :class:`boxjwt.KeyFile` or the path of the key file (``passphrase``
    and ``private_key_path`` then override the config's, as for :meth:`KeyFile.from_file`).
    ``base_url`` reroutes every request (e.g. to :class:`boxjwt.testing.BoxEmulator`).
    ``probe_user`` (a user ID or login) is the user the As-User and user-token checks act as;
    by default the first active, managed, non-admin user Box lists.

    Read-only on Box (``GET``/``OPTIONS`` besides the token requests), about 10 requests, the
    independent ones ``concurrency`` at a time. Each request has ``timeout``; transient
    failures (429, 5xx, connection errors) are retried by ``retry`` (default
    :data:`DEFAULT_RETRY`: once, briefly). ``clock`` (Unix seconds, default ``time.time``) is
    the local clock compared with Box's. A fresh, private token cache is used.

    Never raises for a failed check; raises :class:`boxjwt.exceptions.ConfigurationError`
    for invalid arguments.
    """
    url, probe = _check_args(
        keyfile=keyfile_or_path,
        base_url=base_url,
        probe_user=probe_user,
        passphrase=passphrase,
        private_key_path=private_key_path,
        concurrency=concurrency,
        timeout=timeout,
        retry=retry,
    )
    run_clock = clock if clock is not None else time.time
    observer = Observer(run_clock)
    load = load_keyfile(keyfile_or_path, passphrase, private_key_path)
    box = _connect(
        load,
        base_url=url,
        timeout=timeout,
        retry=retry if retry is not None else DEFAULT_RETRY,
        clock=run_clock,
        observer=observer,
    )
    facts = RunFacts(load=load, box=box, observer=observer, wanted_probe=probe)
    table = specs(probe_user_given=probe is not None)
    try:
        report = _report(run_checks(table, facts, concurrency=concurrency), url)
    finally:
        if box is not None:
            box.client.close()
    _log.info("preflight of %s: %s", report.source, _summary(report))
    return report


def _summary(report: PreflightReport) -> str:
    verdict = "ok" if report.ok else f"{len(report.failures)} check(s) failed"
    return f"{verdict} ({report.request_count} requests)"


def _connect(
    load: KeyLoad,
    *,
    base_url: str,
    timeout: float | tuple[float, float],
    retry: RetryPolicy,
    clock: Callable[[], float],
    observer: Observer,
) -> BoxContext | None:
    """The Box client of a key file that loaded (None for one that did not)."""
    if load.keyfile is None:
        return None
    client = BoxClient(
        load.keyfile,
        base_url=base_url,
        timeout=timeout,
        retry=retry,
        clock=clock,
        observer=observer,
    )
    return BoxContext(client=client, keyfile=load.keyfile, base_url=base_url)


def _report(facts: RunFacts, base_url: str) -> PreflightReport:
    titles = {spec.id: spec.title for spec in specs()}
    checks = tuple(
        CheckResult(
            id=cid,
            title=titles[cid],
            status=outcome.status,
            message=outcome.message,
            remediation=outcome.remediation,
            skipped_because=outcome.skipped_because,
            evidence=outcome.evidence,
        )
        for cid in CheckId
        for outcome in (facts.results[cid],)
    )
    kf = facts.load.keyfile
    return PreflightReport(
        checks=checks,
        base_url=base_url,
        source=facts.load.source,
        client_id=None if kf is None else kf.client_id,
        enterprise_id=None if kf is None else kf.enterprise_id,
        public_key_id=None if kf is None else kf.public_key_id,
        service_account=None if facts.service_account is None else facts.service_account.ref(),
        probe_user=None if facts.probe is None else facts.probe.user.ref(),
        clock_skew=facts.observer.skew(),
        request_count=facts.observer.request_count,
    )
