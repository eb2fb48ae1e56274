"""Keeping the GIL available to scrapes while a refresh works through hundreds of thousands of objects.

A scrape gives up the GIL at every socket call and needs it back at once; a refresh thread that
holds it in one long C call delays every scrape in flight by that long. Two such C calls come
with a large refresh, and both are avoided here:

- Freeing a family of tens of thousands of samples is one cascade of deallocations that never
  lets go of the GIL (hundreds of milliseconds at 300k series, measured with py-spy --gil).
  `release` frees a family's samples in slices, and the interpreter can switch threads between
  slices.
- The cyclic garbage collector walks every young object each time it runs (up to ~60 ms per
  collection while a translate holds 300k fresh samples). `collection_paused` switches it off
  while a refresh translates and encodes: those objects hold no reference cycles, reference
  counting frees them, and collections resume once the last pause ends.
"""

from __future__ import annotations

import gc
import itertools
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from prometheus_client.metrics_core import Metric

T = TypeVar("T")

# Samples freed in one go: about a millisecond of deallocation.
RELEASE_SLICE = 2_000

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while any thread is inside this block."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


def release(family: Metric) -> None:
    """Free `family`'s samples a slice at a time (the family must not be used afterwards)."""
    samples = family.samples
    while samples:
        del samples[-RELEASE_SLICE:]
        GATE.checkpoint()


class ScrapeGate:
    """Lets long refresh loops step aside while a scrape is being served.

    With the GIL, a scrape competes with every busy refresh thread: each time it comes back from
    a socket call it waits a switch interval, and its own work runs at half speed. Refresh loops
    over large estates call `checkpoint()` every few hundred items (`paced`); while a scrape is
    in flight, the checkpoint blocks (without the GIL) until no scrape is, for at most MAX_WAIT.
    A refresh thread waits at most MAX_SHARE of any WINDOW, so under back-to-back scrapes a
    refresh still runs at least at half speed.

    A scrape has priority for its first PRIORITY seconds only (a 300k-series scrape takes a few
    milliseconds): a client that reads slowly, or never, does not slow refreshes down.

    A scrape is known as one only once the server has accepted it and read its request, which
    takes the event loop several turns at the GIL. So the loop also `touch`es the gate whenever
    its sockets have something to do: for TOUCH_HOLD after that, checkpoints wait as well.
    """

    MAX_WAIT = 0.05
    MAX_SHARE = 0.5
    WINDOW = 1.0
    TOUCH_HOLD = 0.01
    PRIORITY = 0.25

    def __init__(self) -> None:
        self._started: dict[int, float] = {}  # scrapes in flight: token -> when they started
        self._tokens = itertools.count()
        self._idle = threading.Condition(threading.Lock())
        self._waits = threading.local()  # per refresh thread: (window start, seconds waited)
        self._touched_until = 0.0

    def touch(self) -> None:
        """Network activity on the server: a request may be on its way."""
        self._touched_until = time.monotonic() + self.TOUCH_HOLD

    @contextmanager
    def scrape(self) -> Iterator[None]:
        token = next(self._tokens)
        with self._idle:
            self._started[token] = time.monotonic()
        try:
            yield
        finally:
            with self._idle:
                del self._started[token]
                if not self._started:
                    self._idle.notify_all()

    def _prioritised(self) -> bool:
        """A scrape in flight that still has priority (call with the lock held)."""
        oldest = time.monotonic() - self.PRIORITY
        return any(started > oldest for started in self._started.values())

    @property
    def active(self) -> int:
        return len(self._started)

    def _scraping(self) -> bool:
        # Unlocked: a stale answer only delays or skips one pause.
        return bool(self._started)

    def checkpoint(self) -> None:
        touched = self._touched_until
        if not self._scraping() and not touched:
            return
        now = time.monotonic()
        if not self._scraping() and now >= touched:
            return
        window_start, waited = getattr(self._waits, "value", (now, 0.0))
        if now - window_start >= self.WINDOW:
            window_start, waited = now, 0.0
        if waited >= self.MAX_SHARE * self.WINDOW:
            return  # this thread has given way enough for now
        if self._scraping():
            with self._idle:
                self._idle.wait_for(lambda: not self._prioritised(), timeout=self.MAX_WAIT)
        else:
            # The scrape may have ended since the first read, with the touch long expired.
            time.sleep(max(0.0, min(touched - now, self.MAX_WAIT)))
        self._waits.value = (window_start, waited + time.monotonic() - now)


# One per process: the HTTP server marks scrapes on it, every refresh loop checks it.
GATE = ScrapeGate()
# Items a paced loop handles between checkpoints, about half a millisecond of work: samples
# (encode, sanitise), and estate items (a scale set, machine, stamp or Resource Graph row, each
# parsed or translated into tens of samples).
PACE = 256
PACE_ITEMS = 8


def paced(items: Iterable[T], every: int = PACE, gate: ScrapeGate = GATE) -> Iterator[T]:
    """`items`, with a scrape checkpoint every `every` of them (for loops over an estate)."""
    for index, item in enumerate(items):
        if index % every == every - 1:
            gate.checkpoint()
        yield item
