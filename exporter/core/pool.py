"""Long-lived worker threads for a source's parallel calls.

A pool per refresh starts new threads every time; every new thread that makes an HTTPS call
costs memory and, through libuuid's per-thread clock file behind `uuid.uuid1()`, a file
descriptor that is never closed. So each source keeps one pool for the life of the process,
created on first use and sized by the source's option.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from exporter.core import deadline

P = ParamSpec("P")
R = TypeVar("R")


class SourcePool:
    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._size = 0

    def submit(self, size: int, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Run `fn` on one of `size` workers, within the caller's refresh deadline."""
        return self._executor_for(max(1, size)).submit(deadline.carry(fn), *args, **kwargs)

    def _executor_for(self, size: int) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None or size != self._size:
                old = self._executor
                self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix=self._name)
                self._size = size
                _start_every_worker(self._executor, size)
                if old is not None:  # the option changed (tests, reload): let the old one drain
                    old.shutdown(wait=False)
            return self._executor

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def _start_every_worker(executor: ThreadPoolExecutor, size: int) -> None:
    """Start all `size` workers now: an executor starts them lazily, one more whenever no worker
    is idle, so a later, busier refresh would start threads (and their fds) long after the first."""
    barrier = threading.Barrier(size + 1, timeout=10.0)
    for _ in range(size):
        executor.submit(barrier.wait)
    # A worker that could not start in time starts lazily later instead.
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
