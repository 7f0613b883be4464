"""gc_tuning: what the process loads at start-up is frozen out of the cyclic collector, full passes are
rarer, and no pass runs during a push; off, Python's defaults."""

import contextlib
import gc
from collections.abc import Iterator

from server import active

_collector_pauses = 0


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Holds Python's cyclic garbage collector off while a push runs (when gc_tuning is on)."""
    global _collector_pauses
    if not active("gc_tuning"):
        yield
        return
    _collector_pauses += 1
    gc.disable()
    try:
        yield
    finally:
        _collector_pauses -= 1
        if _collector_pauses == 0:
            gc.enable()


def tune_gc() -> bool:
    """Freezes what is loaded by now and makes full collections rarer; False when gc_tuning is off."""
    if not active("gc_tuning"):
        return False
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)
    return True
