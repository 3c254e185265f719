"""A bounded thread pool fed from a lazy iterable: at most ``2 * workers`` tasks in flight.

The iterable is advanced in the calling thread only when there is room, so a listing paged
from Box is read as fast as the checks keep up with it, never all at once. ``stop`` (set by
the caller, e.g. on Ctrl-C) stops new tasks; those running finish. An exception from a task,
or a ``KeyboardInterrupt`` in the calling thread, cancels what has not started and propagates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["Pool"]

T = TypeVar("T")
R = TypeVar("R")


class Pool:
    """Runs tasks ``workers`` at a time (use as a context manager)."""

    def __init__(self, workers: int, stop: threading.Event) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="boxjwt-check-users")
        self._room = 2 * workers
        self.stop = stop

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._executor.shutdown(wait=exc_info[0] is None, cancel_futures=True)

    def run(self, items: Iterable[T], task: Callable[[T], R]) -> Iterator[tuple[T, R]]:
        """``(item, task(item))`` for each item, in completion order, until ``stop`` is set
        (items not started by then are not yielded)."""
        source = iter(items)
        pending: dict[Future[R], T] = {}
        more = True
        try:
            while True:
                while more and len(pending) < self._room and not self.stop.is_set():
                    try:
                        item = next(source)
                    except StopIteration:
                        more = False
                        break
                    pending[self._executor.submit(task, item)] = item
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        except BaseException:
            self.stop.set()
            for future in pending:
                future.cancel()
            raise
