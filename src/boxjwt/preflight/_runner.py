"""The runner: order, parallel waves and skip propagation, all derived from the specs.

A :class:`CheckSpec` is data: an id, a title, the checks it ``requires`` (they must pass or warn),
the checks whose *failure* vetoes it (``vetoed_by``: a skip there does not), the checks it merely
runs ``after``, and the function. The function is split in two: ``context`` narrows the run's
facts to the frozen object the check needs, and ``check`` turns that into an :class:`Outcome`.

:func:`waves` groups the specs by depth (a spec runs one wave after the deepest spec it names);
:func:`run_checks` runs each wave, the checks that talk to Box in parallel, and records a skip,
naming the failed check at its root, for every spec whose prerequisite did not hold. A spec
without a title is an internal step (the probe-user choice): it appears in no report, and the
checks that need it inherit its reason when it is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, Self, TypeVar

import attrs

from boxjwt.preflight._model import CheckId, CheckStatus
from boxjwt.preflight._outcome import Outcome, skipped

__all__ = ["CheckSpec", "Facts", "run_checks", "waves"]


class Facts(Protocol):
    """What the runner needs of a run's (immutable) facts."""

    @property
    def results(self) -> Mapping[str, Outcome]:
        """The outcome of every spec run so far, by id."""

    def learn(self, key: str, outcome: Outcome) -> Self:
        """These facts plus ``outcome`` (as the result of ``key``) and what it learned."""


F = TypeVar("F", bound=Facts)
C = TypeVar("C")


@attrs.frozen(kw_only=True)
class CheckSpec(Generic[F, C]):
    """One check (or internal step) as data; see the module docstring."""

    id: str
    title: str
    context: Callable[[F], C]
    check: Callable[[C], Outcome]
    requires: tuple[str, ...] = ()
    vetoed_by: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    optional: bool = False
    #: True when the check sends requests (such checks of one wave run in parallel).
    network: bool = False

    @property
    def step(self) -> bool:
        """An internal step: no report row."""
        return not self.title

    @property
    def prerequisites(self) -> tuple[str, ...]:
        """Every spec that must have run before this one."""
        return self.requires + self.vetoed_by + self.after

    def run(self, facts: F) -> Outcome:
        """Narrow ``facts`` to this check's context, and run the check on it."""
        return self.check(self.context(facts))


def waves(specs: Sequence[CheckSpec[F, Any]]) -> list[list[CheckSpec[F, Any]]]:
    """The specs grouped in the waves they run in, each wave in the specs' order.

    Raises ``ValueError`` for a prerequisite that names no spec, or a cycle.
    """
    depth: dict[str, int] = {}
    pending = list(specs)
    while pending:
        ready = [s for s in pending if all(d in depth for d in s.prerequisites)]
        if not ready:
            names = ", ".join(s.id for s in pending)
            raise ValueError(f"unknown or circular prerequisites among: {names}")
        for spec in ready:
            depth[spec.id] = 1 + max((depth[d] for d in spec.prerequisites), default=-1)
        pending = [s for s in pending if s.id not in depth]
    result: list[list[CheckSpec[F, Any]]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for spec in specs:
        result[depth[spec.id]].append(spec)
    return result


def _skip(dep: CheckSpec[F, Any], prior: Outcome) -> Outcome:
    """The skip of a spec that needs ``dep``, which ended with ``prior``."""
    if dep.step:
        return skipped(prior.message, prior.skipped_because)
    root = prior.skipped_because or CheckId(dep.id)
    how = "failed" if prior.status is CheckStatus.FAIL else f"was skipped because {root} failed"
    return skipped(f"Not checked: it needs {dep.id}, which {how}.", root)


def _blocked(
    spec: CheckSpec[F, Any], results: Mapping[str, Outcome], by_id: Mapping[str, CheckSpec[F, Any]]
) -> Outcome | None:
    """The skip of ``spec`` when a prerequisite does not hold, else None."""
    for dep in spec.requires:
        if not results[dep].settled:
            return _skip(by_id[dep], results[dep])
    for dep in spec.vetoed_by:
        if results[dep].status is CheckStatus.FAIL:
            return _skip(by_id[dep], results[dep])
    return None


def _execute(ready: Sequence[CheckSpec[F, Any]], facts: F, concurrency: int) -> list[Outcome]:
    if concurrency <= 1 or sum(1 for s in ready if s.network) <= 1:
        return [spec.run(facts) for spec in ready]
    with ThreadPoolExecutor(
        max_workers=min(concurrency, len(ready)), thread_name_prefix="boxjwt-preflight"
    ) as pool:
        futures = [pool.submit(spec.run, facts) for spec in ready]
        return [future.result() for future in futures]  # re-raises programming errors


def run_checks(specs: Sequence[CheckSpec[F, Any]], facts: F, *, concurrency: int) -> F:
    """Run ``specs`` wave by wave on ``facts``; return the facts with every outcome added."""
    by_id = {spec.id: spec for spec in specs}
    for wave in waves(specs):
        ready = []
        for spec in wave:
            skip = _blocked(spec, facts.results, by_id)
            if skip is None:
                ready.append(spec)
            else:
                facts = facts.learn(spec.id, skip)
        for spec, outcome in zip(ready, _execute(ready, facts, concurrency), strict=True):
            facts = facts.learn(spec.id, outcome)
    return facts
