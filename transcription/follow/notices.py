"""Channel-layer notices between the studio and the followers: prompt wake-ups only, the rows are the truth.

Under Redis they cross processes; the in-memory layer reaches only its own, so both ends also poll."""

from __future__ import annotations

import contextlib
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

FOLLOWERS = "stream-follows"  # every follower process: a follow was requested or asked to stop
CHANGED = "follows.changed"
PAGE_CHANGED = "follow.changed"  # to a page: the follow's row or its transcript changed
RELAYED = "follow.relayed"  # to a page: a relay message (interim, status), {"message": {...}}


def page_group(event_id: int, journalist_id: int) -> str:
    """The studio pages of one journalist on one event."""
    return f"follow-{event_id}-{journalist_id}"


async def tell_followers() -> None:
    await _send(FOLLOWERS, {"type": CHANGED})


async def tell_page(event_id: int, journalist_id: int, message: dict | None = None) -> None:
    """The follow changed (no message), or a relay message for the page to show as it is."""
    notice = {"type": PAGE_CHANGED} if message is None else {"type": RELAYED, "message": message}
    await _send(page_group(event_id, journalist_id), notice)


def announce(event_id: int, journalist_id: int) -> None:
    """From a request: the followers and the journalist's pages hear of a change (call it on commit)."""
    async_to_sync(_announce)(event_id, journalist_id)


async def _announce(event_id: int, journalist_id: int) -> None:
    await tell_followers()
    await tell_page(event_id, journalist_id)


async def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    with contextlib.suppress(Exception):  # the layer is away: the other end's poll hears of it
        await layer.group_send(group, message)
