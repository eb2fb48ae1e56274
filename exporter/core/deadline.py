"""The time a refresh has left, visible to every Azure call it makes.

The scheduler sets the deadline of each refresh; the retry policy in `exporter.azure.retry`
and the plain-HTTP fetches read it, so no single call (a long Retry-After, a server that
accepts a connection and never answers) can outlive its source's timeout. It is a context
variable because azure-core policies only see the request; `carry` hands it to worker threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_DEADLINE: ContextVar[float | None] = ContextVar("exporter_refresh_deadline", default=None)


def current() -> float | None:
    """The `time.monotonic()` instant the running refresh must be done by, if any."""
    return _DEADLINE.get()


def remaining() -> float | None:
    """Seconds left before the deadline (never negative), or None outside a refresh."""
    deadline = _DEADLINE.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def bounded(seconds: float) -> float:
    """`seconds`, shortened to the time left when a deadline is set."""
    left = remaining()
    return seconds if left is None else min(seconds, left)


@contextmanager
def scope(deadline: float | None) -> Iterator[None]:
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def carry(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn` bound to the caller's deadline, for running on another thread."""
    deadline = _DEADLINE.get()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with scope(deadline):
            return fn(*args, **kwargs)

    return run
