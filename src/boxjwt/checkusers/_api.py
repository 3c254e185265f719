"""``check_users()``: check every user of a migration plan, read-only, before it runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Final

from boxjwt._authenticator import JWTAuthenticator
from boxjwt._retry import RetryPolicy
from boxjwt._scrub import scrubbed
from boxjwt._validate import validate_timeout
from boxjwt.checkusers._client import UsersClient
from boxjwt.checkusers._model import ALL_USERS, AllUsersMarker, UserCheckReport
from boxjwt.checkusers._pool import Pool
from boxjwt.checkusers._resolve import distinct
from boxjwt.checkusers._run import Progress, Run
from boxjwt.exceptions import ConfigurationError

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_TIMEOUT", "check_users"]

_log = logging.getLogger("boxjwt.check_users")

#: Users checked at a time (threads; each makes one request at a time).
DEFAULT_CONCURRENCY: Final = 8
#: ``(connect, read)`` seconds for each request.
DEFAULT_TIMEOUT: Final = (10.0, 30.0)
#: The most threads ``concurrency=`` may ask for.
MAX_CONCURRENCY: Final = 64


def _check_args(
    auth: object, concurrency: object, retry: object, progress: object, stop: object
) -> None:
    if not isinstance(auth, JWTAuthenticator):
        raise ConfigurationError(
            f"check_users() takes a boxjwt.JWTAuthenticator, not {type(auth).__name__}"
        )
    if (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not 1 <= concurrency <= MAX_CONCURRENCY
    ):
        raise ConfigurationError(f"concurrency= must be an integer from 1 to {MAX_CONCURRENCY}")
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError("retry= must be a boxjwt.RetryPolicy (or None)")
    if progress is not None and not callable(progress):
        raise ConfigurationError("progress= must be a callable (done, total) or None")
    if stop is not None and not isinstance(stop, threading.Event):
        raise ConfigurationError("stop= must be a threading.Event or None")


@scrubbed
def check_users(
    auth: JWTAuthenticator,
    users: Iterable[str | int] | AllUsersMarker,
    *,
    user_tokens: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> UserCheckReport:
    """Check whether the app can act as each user of a plan; return a :class:`UserCheckReport`.

    ``users`` is an iterable of Box user IDs (digits, ``str`` or ``int``) and logins, or
    :data:`boxjwt.ALL_USERS` for every managed user and app user of the enterprise. Each
    distinct user is resolved (found or not; ID, login, status, role, managed / app user /
    external) and, when it belongs to the enterprise, checked with a read-only As-User call
    (``GET /2.0/users/me``); ``user_tokens=True`` also asks Box for the user's own token. Every
    verdict carries its reason and the fix in words.

    Read-only (``GET`` requests, and token requests); at most two requests per user (one to
    resolve it, fewer when a listing of the enterprise resolves many; one As-User call), one
    more with ``user_tokens``; ``concurrency`` users at a time; every API call paced by the
    authenticator's :class:`~boxjwt.RateLimiter` (as :class:`~boxjwt.AsUserSession` does) and
    retried within ``retry`` (default: the authenticator's policy). Duplicates are checked once
    and listed in ``also_asked``. ``progress(done, total)`` is called after each user (total
    None while the listing is read). Setting ``stop`` ends the run early: the users not checked
    by then are reported ``not_checked`` and ``report.complete`` is False.

    Raises :class:`~boxjwt.exceptions.ConfigurationError` for invalid arguments, and the error
    of a refusal that concerns every user rather than one: the service account's token
    (:class:`~boxjwt.exceptions.TokenExchangeError`), the "Manage users" scope
    (:class:`~boxjwt.exceptions.InsufficientScopeError`), Box not answering the listing
    (:class:`~boxjwt.exceptions.TransportError`). ``boxjwt.preflight`` explains those.
    """
    _check_args(auth, concurrency, retry, progress, stop)
    if not isinstance(user_tokens, bool):
        raise ConfigurationError("user_tokens= must be True or False")
    validate_timeout(timeout)
    every = users is ALL_USERS
    entries = None if users is ALL_USERS else distinct(users)
    auth.enterprise_token()  # an app-level refusal: raise it once, before any thread starts
    stop = stop if stop is not None else threading.Event()
    client = UsersClient(
        auth, timeout=timeout, retry=retry, workers=concurrency, user_tokens=user_tokens
    )
    run = Run(client, enterprise_id=auth.enterprise_id, user_tokens=user_tokens, progress=progress)
    try:
        with Pool(concurrency, stop) as pool:
            checks = run.all_users(pool) if entries is None else run.listed(pool, entries)
    finally:
        client.close()
    report = UserCheckReport(
        users=tuple(checks),
        base_url=auth.base_url,
        enterprise_id=auth.enterprise_id,
        all_users=every,
        user_tokens=user_tokens,
        complete=not stop.is_set(),
        request_count=client.api.answers,
        token_request_count=client.tokens.answers,
        rate_limited=client.api.rate_limited + client.tokens.rate_limited,
    )
    _log.info(
        "check_users: %d user(s), %d not ready (%d requests)",
        len(report.users),
        len(report.not_ready),
        report.request_count,
    )
    return report
