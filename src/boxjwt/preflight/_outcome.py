"""What one check returns: its finding, and what it learned for the checks after it."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from boxjwt.preflight._model import CheckEvidence, CheckId, CheckStatus
from boxjwt.preflight._users import BoxUser, ProbeUser, UserListing

__all__ = ["Learned", "Outcome", "failed", "passed", "skipped", "warned"]


@attrs.frozen(kw_only=True)
class Learned:
    """Facts a check found that later checks need (None: nothing learned)."""

    service_account: BoxUser | None = None
    listing: UserListing | None = None
    probe: ProbeUser | None = None


_NOTHING = Learned()


@attrs.frozen(kw_only=True)
class Outcome:
    """One check's finding; the runner adds the id and title to make a ``CheckResult``."""

    status: CheckStatus
    message: str
    remediation: str | None = None
    evidence: tuple[CheckEvidence, ...] = ()
    skipped_because: CheckId | None = None
    learned: Learned = _NOTHING

    @property
    def settled(self) -> bool:
        """True unless the check failed or was skipped (so checks that need it may run)."""
        return self.status in (CheckStatus.PASS, CheckStatus.WARN)


def passed(
    message: str, *, evidence: Iterable[CheckEvidence] = (), learned: Learned = _NOTHING
) -> Outcome:
    """A ``pass``."""
    return Outcome(
        status=CheckStatus.PASS, message=message, evidence=tuple(evidence), learned=learned
    )


def failed(
    message: str,
    remediation: str,
    *,
    evidence: Iterable[CheckEvidence] = (),
    learned: Learned = _NOTHING,
) -> Outcome:
    """A ``fail``, with what to do about it."""
    return Outcome(
        status=CheckStatus.FAIL,
        message=message,
        remediation=remediation,
        evidence=tuple(evidence),
        learned=learned,
    )


def warned(
    message: str,
    remediation: str,
    *,
    evidence: Iterable[CheckEvidence] = (),
    learned: Learned = _NOTHING,
) -> Outcome:
    """A ``warn``, with what to do about it."""
    return Outcome(
        status=CheckStatus.WARN,
        message=message,
        remediation=remediation,
        evidence=tuple(evidence),
        learned=learned,
    )


def skipped(message: str, because: CheckId | None = None) -> Outcome:
    """A ``skipped`` (``because``: the failed check that caused it)."""
    return Outcome(status=CheckStatus.SKIPPED, message=message, skipped_because=because)
