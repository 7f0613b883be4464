"""gc_tuning: what the process loads at start-up is frozen out of the cyclic collector, full passes are
rarer, and no pass runs during a push; off, Python's defaults."""

import contextlib
import gc
from collections.abc import Iterator

from server import active

_collector_pauses = 0


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Holds Python's cyclic garbage collector off while a push runs (when gc_tuning is on).

    A push allocates a few short-lived objects per reader; with the collector on, those still
    pending at a collection get promoted, and the promotions trigger full collections, which walk
    every object of every connected reader and stall the readers not yet served. Paused, they die
    young and the collector finds little after the push.
    """
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
    """Freezes what is loaded by now and makes full collections rarer; False when gc_tuning is off.

    A full pass of the cyclic collector stops every socket of the process while it walks every
    object. What is loaded at start-up lives as long as the process: frozen, it is not walked.
    Thousands of open reader sockets are long-lived too, so full passes come after 1000 younger
    ones, not 10.
    """
    if not active("gc_tuning"):
        return False
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)
    return True
