"""Who is streaming to an event right now: one lease per journalist and event, in the shared cache.

The cache is Redis in the scale-out topology and a shared folder in the embedded one, so the lease
holds across Daphne processes. A lease lapses `LEASE_SECONDS` after its holder stops renewing it.
"""

from __future__ import annotations

from django.core.cache import cache

LEASE_SECONDS = 30


def _key(event_id: int, journalist_id: int) -> str:
    return f"studio-lease:{event_id}:{journalist_id}"


def acquire(event_id: int, journalist_id: int, holder: str, *, take_over: bool = False) -> bool:
    """Take the lease; a resume (`take_over`) wins over a holder that has not noticed its socket died."""
    if take_over:
        cache.set(_key(event_id, journalist_id), holder, LEASE_SECONDS)
        return True
    return (
        cache.add(_key(event_id, journalist_id), holder, LEASE_SECONDS)
        or cache.get(_key(event_id, journalist_id)) == holder
    )


def holder(event_id: int, journalist_id: int) -> str | None:
    """Who holds the lease now (a relay's holder id), if anyone."""
    return cache.get(_key(event_id, journalist_id))


def renew(event_id: int, journalist_id: int, holder: str) -> bool:
    """Extend the lease; False when someone else took it over."""
    key = _key(event_id, journalist_id)
    current = cache.get(key)
    if current not in (holder, None):
        return False
    # Touching only moves the expiry, which on the file cache skips the folder scan a `set` makes.
    if current is None or not cache.touch(key, LEASE_SECONDS):
        cache.set(key, holder, LEASE_SECONDS)
    return True


def release(event_id: int, journalist_id: int, holder: str) -> None:
    if cache.get(_key(event_id, journalist_id)) == holder:
        cache.delete(_key(event_id, journalist_id))
