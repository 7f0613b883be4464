"""A resumed stream taking over from its session's relay in another web process (a dropped socket the
old process has not noticed yet, a load balancer's failover): that relay finishes first, so the new one
goes on from where its audio really ends. Design: docs/architecture.md, *Deploying during a live event*.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.layers import get_channel_layer

from transcription.speakers import names_group

logger = logging.getLogger(__name__)

DETACH = "studio.detach"  # to the session's group: {"reply_to": channel}
DETACHING = "studio.detaching"  # answered at once by a running relay
DETACHED = "studio.detached"  # once its finals are stored and its audio archived
ANSWER_SECONDS = 1.0  # a running relay answers within this; silence means its process is gone
FINISH_SECONDS = 15.0  # the most a resume waits for the old relay to finish


async def take_over(session_id: int) -> bool:
    """Ask the session's relay in another process to detach and wait until it has; False when none answered
    (or the channel layer is away), and the resume goes on from what the database and archive hold."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        reply_to = await layer.new_channel("handover.")
        await layer.group_send(names_group(session_id), {"type": DETACH, "reply_to": reply_to})
        answer = await asyncio.wait_for(layer.receive(reply_to), ANSWER_SECONDS)
        if answer.get("type") == DETACHING:
            answer = await asyncio.wait_for(layer.receive(reply_to), FINISH_SECONDS)
    except TimeoutError:
        return False
    except Exception:
        logger.warning("session %s: could not ask its relay elsewhere to finish", session_id, exc_info=True)
        return False
    return answer.get("type") == DETACHED


async def answer(reply_to: object, kind: str) -> None:
    """Tell a resuming relay how far this one has got (DETACHING, then DETACHED)."""
    layer = get_channel_layer()
    if layer is None or not isinstance(reply_to, str):
        return
    with contextlib.suppress(Exception):  # the resume goes on without it, after its wait
        await layer.send(reply_to, {"type": kind})
