"""The draft queue's socket /ws/queue/<event_id>/, for staff who may change posts.

Its messages: docs/architecture.md, *The draft queue*.
"""

import asyncio
import contextlib
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import InMemoryChannelLayer

from events.models import Event
from publishing.models import Post
from publishing.queue.live import announce_queue_change, mark_editing, queue_group, queue_state
from server.limits import limit_messages
from server.shutdown import forget, restart_on_stop
from server.sockets import SocketClosed

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 256  # {"type": "editing", "post": N} is under 50
BAD_MESSAGE = 4400
EVENT_GONE = 4404
POLL_SECONDS = 1.0  # embedded layer: how other processes' changes (the worker's drafts) are heard
SAFETY_POLL_SECONDS = 5.0  # Redis: catches what no notice announced (a batch failing, drafting paused)


def may_watch(user, event_id: int) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm("publishing.change_post")
        and Event.objects.filter(pk=event_id).exists()
    )


def parse_editing(text: str | None) -> tuple[bool, int | None]:
    """(True, post id or None) for a well-formed {"type": "editing", "post": ...}, else (False, None)."""
    if text is None or len(text) > MAX_MESSAGE_BYTES:
        return False, None
    try:
        message = json.loads(text)
    except ValueError:
        return False, None
    if not isinstance(message, dict) or set(message) != {"type", "post"} or message["type"] != "editing":
        return False, None
    post = message["post"]
    if post is None:
        return True, None
    if not isinstance(post, int) or isinstance(post, bool) or post < 1:
        return False, None
    return True, post


def set_editing(event_id: int, user, post_id: int | None) -> bool:
    """Records `user` editing `post_id`; False for a post that is not the event's."""
    if post_id is not None and not Post.objects.filter(pk=post_id, event_id=event_id).exists():
        return False
    mark_editing(event_id, user, post_id)
    return True


class QueueConsumer(AsyncWebsocketConsumer):
    event_id: int
    editing: int | None = None
    watcher: asyncio.Task | None = None

    async def connect(self) -> None:
        self.event_id = self.scope["url_route"]["kwargs"]["event_id"]
        if not await database_sync_to_async(may_watch)(self.scope.get("user"), self.event_id):
            await self.close()  # before accept: the handshake is refused with 403
            return
        limit_messages(self.base_send, MAX_MESSAGE_BYTES)  # before accept: no frame is read yet
        self.nudged = asyncio.Event()
        await self.channel_layer.group_add(queue_group(self.event_id), self.channel_name)
        await self.accept()
        local_only = isinstance(self.channel_layer, InMemoryChannelLayer)
        self.watcher = asyncio.create_task(self.watch(POLL_SECONDS if local_only else SAFETY_POLL_SECONDS))
        self.gone = asyncio.Event()
        await restart_on_stop(self, self.base_send, self.gone)

    async def watch(self, every: float) -> None:
        sent = None
        while True:
            self.nudged.clear()
            try:
                state = await database_sync_to_async(queue_state)(self.event_id)
            except Exception:
                logger.exception("could not read the queue of event %s", self.event_id)
            else:
                if state is None:
                    await self.close(code=EVENT_GONE)
                    return
                if state.version != sent:
                    with contextlib.suppress(SocketClosed):  # its disconnect follows
                        await self.send(text_data=json.dumps(state.message()))
                    sent = state.version
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.nudged.wait(), every)

    async def queue_changed(self, message: dict) -> None:
        self.nudged.set()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        ok, post_id = parse_editing(text_data)
        if not ok or not await database_sync_to_async(set_editing)(self.event_id, self.scope["user"], post_id):
            await self.close(code=BAD_MESSAGE)
            return
        if post_id != self.editing:
            self.editing = post_id
            announce_queue_change(self.event_id)

    async def disconnect(self, code: int) -> None:
        if self.watcher is None:
            return  # refused
        forget(self)
        self.gone.set()
        self.watcher.cancel()
        await self.channel_layer.group_discard(queue_group(self.event_id), self.channel_name)
        if self.editing is not None:
            await database_sync_to_async(mark_editing)(self.event_id, self.scope["user"], None)
            announce_queue_change(self.event_id)
