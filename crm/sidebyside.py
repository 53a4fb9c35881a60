"""Database work on several connections at once (PostgreSQL, outside a transaction).

One query uses one core; a run's largest queries (the feature aggregation, the
membership write) split into parts that other connections run beside each
other. Each thread has its own Django connection, closed when it ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection, connections

T = TypeVar("T")

#: Connections a run uses side by side: this machine kind has two cores.
SIDE_BY_SIDE_CONNECTIONS = 2


def can_run_side_by_side() -> bool:
    """Whether other connections see what this one sees: PostgreSQL, no open transaction."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def run_side_by_side(jobs: Sequence[Callable[[], T]],
                     workers: int = SIDE_BY_SIDE_CONNECTIONS) -> list[T]:
    """Run ``jobs`` on ``workers`` threads, each job on its thread's own connection.

    Returns the results in the jobs' order. The first error stops the threads from
    taking more jobs and is raised once they have all ended.
    """
    results: list[T | None] = [None] * len(jobs)
    errors: list[BaseException] = []
    claimed = iter(range(len(jobs)))
    lock = threading.Lock()

    def work() -> None:
        try:
            while not errors:
                with lock:
                    index = next(claimed, None)
                if index is None:
                    return
                results[index] = jobs[index]()
        except BaseException as error:  # noqa: BLE001 — raised again by the caller
            errors.append(error)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=work, name=f"side-by-side-{i}", daemon=True)
               for i in range(min(workers, len(jobs)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]
