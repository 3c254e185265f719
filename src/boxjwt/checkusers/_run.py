"""One check_users run: resolve the users, check each once, assemble the checks in order.

Per user: at most one request to resolve it (fewer when a listing resolves many), then, for a
user of the enterprise, one As-User call (``GET /2.0/users/me?fields=id`` with ``As-User``),
and with ``user_tokens`` one user-token request. Users outside the enterprise, unknown users
and the service account need no call: Box's description already decides. Duplicates (the
same ID or login twice, or an ID and a login of the same user) are checked once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from boxjwt.checkusers._client import UsersClient
from boxjwt.checkusers._model import UserCheck, UserKind, Verdict
from boxjwt.checkusers._pool import Pool
from boxjwt.checkusers._resolve import (
    LOOKUP_MAX,
    PAGE_SIZE,
    Entry,
    LookupFailedError,
    app_access_only,
    enterprise_size,
    listing,
    lookup,
    managed,
)
from boxjwt.checkusers._verdicts import (
    Resolved,
    as_user_verdict,
    external,
    lookup_failed,
    not_checked,
    not_found,
    service_account,
    user_token_refused,
    user_token_verdict_ok,
)
from boxjwt.exceptions import TokenExchangeError, TransportError
from boxjwt.preflight._client import token_evidence
from boxjwt.preflight._users import BoxUser

__all__ = ["Progress", "Run"]

Progress = Callable[[int, int | None], None]
"""``progress(done, total)``: users checked so far, and in all (None while unknown)."""

Outcome = Resolved | LookupFailedError | None
Verdicts = tuple[Verdict, Verdict | None]


class Run:
    """The state of one run (used from the calling thread; tasks run in the pool)."""

    def __init__(
        self,
        client: UsersClient,
        *,
        enterprise_id: str,
        user_tokens: bool,
        progress: Progress | None,
    ) -> None:
        self._client = client
        self._enterprise_id = enterprise_id
        self._user_tokens = user_tokens
        self._progress = progress
        self._done = 0
        self._total: int | None = None

    # ------------------------------------------------------------------ tasks (pool threads)

    def _lookup(self, entry: Entry) -> Outcome:
        try:
            return lookup(self._client, entry, self._enterprise_id)
        except LookupFailedError as failed:
            return failed

    def _without_call(self, user: Resolved) -> Verdicts:
        """The verdicts of a user Box's description decides (outside, the service account)."""
        verdict = external(user) if user.kind is UserKind.EXTERNAL else service_account(user)
        return verdict, verdict if self._user_tokens else None

    def _check(self, user: Resolved) -> Verdicts:
        """The verdicts of a resolved user (calls only for users of the enterprise)."""
        if not user.needs_call:
            return self._without_call(user)
        answer = self._client.call("/users/me", {"fields": "id"}, as_user=user.user.id)
        if isinstance(answer.error, TokenExchangeError):
            raise answer.error  # the service account's token: every other call fails too
        token = self._token_verdict(user) if self._user_tokens else None
        return as_user_verdict(user, answer), token

    def _token_verdict(self, user: Resolved) -> Verdict:
        try:
            self._client.user_token(user.user.id)
        except (TokenExchangeError, TransportError) as exc:
            subject = f"box_sub_type=user, sub={user.user.id}"
            return user_token_refused(user, exc, token_evidence(subject, exc))
        return user_token_verdict_ok(user)

    # ------------------------------------------------------------------ progress

    def _tick(self, count: int = 1) -> None:
        self._done += count
        if self._progress is not None:
            self._progress(self._done, self._total)

    # ------------------------------------------------------------------ every user

    def all_users(self, pool: Pool) -> list[UserCheck]:
        """Check every user the enterprise listing holds, in listing order."""
        seen: set[str] = set()
        members = False

        def listed() -> Iterator[tuple[int, Resolved]]:
            nonlocal members
            for page in listing(self._client):
                members = members or managed(page)
                for user in page:
                    if user.id not in seen and not user.is_service_account:
                        seen.add(user.id)
                        yield len(seen), Resolved(user)
                if pool.stop.is_set():
                    return
            if not members:
                raise app_access_only()

        checks: list[tuple[int, UserCheck]] = []
        for (index, user), (as_user, token) in pool.run(listed(), lambda i: self._check(i[1])):
            checks.append((index, _found(user, user.user.id, (), as_user, token)))
            self._tick()
        checks.sort(key=lambda pair: pair[0])
        return [check for _, check in checks]

    # ------------------------------------------------------------------ a list

    def listed(self, pool: Pool, entries: list[Entry]) -> list[UserCheck]:
        """Check the users of ``entries`` (distinct IDs and logins), in input order."""
        self._total = len(entries)
        outcomes = self._resolve(pool, entries)
        also = {e.key: list(e.also_asked) for e in entries}
        owner: dict[str, Entry] = {}  # resolved user ID -> the entry checked for it
        to_check: list[tuple[Entry, Resolved]] = []
        for entry in entries:
            outcome = outcomes.get(entry.key)
            if isinstance(outcome, Resolved):
                winner = owner.setdefault(outcome.user.id, entry)
                if winner is not entry:  # an ID and a login of the same user: checked once
                    also[winner.key] += [entry.asked, *also.pop(entry.key)]
                    self._tick()
                    continue
                if outcome.needs_call:
                    to_check.append((entry, outcome))
                    continue
            if entry.key in outcomes:
                self._tick()  # decided without a call
        verdicts: dict[str, Verdicts] = {}
        for (entry, _), result in pool.run(to_check, lambda pair: self._check(pair[1])):
            verdicts[entry.key] = result
            self._tick()
        return [
            self._assemble(entry, outcomes, tuple(also[entry.key]), verdicts)
            for entry in entries
            if entry.key in also
        ]

    def _resolve(self, pool: Pool, entries: list[Entry]) -> dict[str, Outcome]:
        """Each entry's outcome: from the listing when that is cheaper, else looked up."""
        outcomes: dict[str, Outcome] = {}
        pending = entries
        sized = len(entries) > LOOKUP_MAX
        if sized:
            size, first_page = enterprise_size(self._client)  # raises for App Access Only
            if size is not None and math.ceil(size / PAGE_SIZE) <= len(entries) // 2:
                self._from_listing(pool, entries, outcomes)
            else:  # looked up one by one, but not those the first page holds
                _match(first_page, {e.key for e in entries}, outcomes)
            pending = [e for e in entries if e.key not in outcomes]
        for entry, outcome in pool.run(pending, self._lookup):
            outcomes[entry.key] = outcome
        if not sized and None in outcomes.values() and not pool.stop.is_set():
            enterprise_size(self._client)  # not found, or not visible to App Access Only?
        return outcomes

    def _from_listing(self, pool: Pool, entries: list[Entry], outcomes: dict[str, Outcome]) -> None:
        wanted = {e.key for e in entries}
        for page in listing(self._client):
            _match(page, wanted, outcomes)
            if pool.stop.is_set() or len(outcomes) == len(wanted):
                return

    def _assemble(
        self,
        entry: Entry,
        outcomes: dict[str, Outcome],
        also: tuple[str, ...],
        verdicts: dict[str, Verdicts],
    ) -> UserCheck:
        """The check of one entry from what the run learned (not checked: the run stopped)."""
        tokens = self._user_tokens
        if entry.key not in outcomes:
            stopped = not_checked()
            return UserCheck(
                asked=entry.asked,
                also_asked=also,
                found=None,
                as_user=stopped,
                user_token=stopped if tokens else None,
            )
        outcome = outcomes[entry.key]
        if isinstance(outcome, Resolved):
            result = verdicts.get(entry.key)
            if result is None:
                stopped = not_checked()
                result = (
                    (stopped, stopped if tokens else None)
                    if outcome.needs_call
                    else self._without_call(outcome)
                )
            return _found(outcome, entry.asked, also, *result)
        if outcome is None:
            verdict, found = not_found(entry.asked), False
        else:
            verdict, found = lookup_failed(entry.asked, outcome.answer), None
        return UserCheck(
            asked=entry.asked,
            also_asked=also,
            found=found,
            as_user=verdict,
            user_token=verdict if tokens else None,
        )


def _match(users: list[BoxUser], wanted: set[str], outcomes: dict[str, Outcome]) -> None:
    """Record the users of a listing page that the plan names (by ID or login)."""
    for user in users:
        for key in (user.id, (user.login or "").lower()):
            if key in wanted:
                outcomes[key] = Resolved(user)


def _found(
    user: Resolved,
    asked: str,
    also: tuple[str, ...],
    as_user: Verdict,
    token: Verdict | None,
) -> UserCheck:
    u = user.user
    return UserCheck(
        asked=asked,
        also_asked=also,
        found=True,
        id=u.id,
        login=u.login,
        status=u.status,
        role=u.role,
        kind=user.kind,
        as_user=as_user,
        user_token=token,
    )
