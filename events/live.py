"""Telling connected readers that an event's posts changed. The database stays the truth:
a reader that misses a notice finds the change through its cursor."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def event_group(event_id: int) -> str:
    return f"event-{event_id}"


def announce_event_change(event_id: int, change_seq: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(event_group(event_id), {"type": "event.changed", "change_seq": change_seq})
    except Exception:  # a broker hiccup must not undo a committed publish; the cursor catches up
        logger.exception("could not announce change %s of event %s", change_seq, event_id)
