"""The studio's follow socket /ws/studio/<slug>/follow/: what the journalist's follow does, in the studio
protocol's messages (docs/studio-protocol.md, *Following a stream*). It only sends; the page asks by HTTP.

The follow's row and stored finals are the truth, read from the database; the follower's notices through the
channel layer (Redis) make them prompt and carry what is never stored: interim results and the relay's status."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import InMemoryChannelLayer

from newsroom.consumers import streaming_event
from server.limits import limit_messages
from server.shutdown import forget, restart_on_stop
from server.sockets import SocketClosed
from transcription.follow import follows, notices

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 256  # the page sends nothing
BAD_MESSAGE = 4400
POLL_SECONDS = 1.0  # embedded layer: the follower's changes are heard only by reading them
SAFETY_POLL_SECONDS = 5.0  # Redis: catches what no notice announced
FORWARDED = {"status", "speaker_named"}  # relay messages shown as they come; finals are read once stored


class FollowConsumer(AsyncWebsocketConsumer):
    watcher: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        event = await database_sync_to_async(streaming_event)(user, self.scope["url_route"]["kwargs"]["slug"])
        if event is None:
            await self.close()  # before accept: the handshake is refused with 403
            return
        limit_messages(self.base_send, MAX_MESSAGE_BYTES)  # before accept: no frame is read yet
        self.event_id, self.journalist_id = event.pk, user.pk
        self.group = notices.page_group(event.pk, user.pk)
        self.nudged = asyncio.Event()
        self.gone = asyncio.Event()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        local_only = isinstance(self.channel_layer, InMemoryChannelLayer)
        self.watcher = asyncio.create_task(self.watch(POLL_SECONDS if local_only else SAFETY_POLL_SECONDS))
        await restart_on_stop(self, self.base_send, self.gone)

    async def watch(self, every: float) -> None:
        seen = follows.Seen()
        while True:
            self.nudged.clear()
            try:
                messages, seen, more = await database_sync_to_async(follows.page_update)(
                    self.event_id, self.journalist_id, seen
                )
            except Exception:
                logger.exception("could not read the follow of event %s", self.event_id)
            else:
                for message in messages:
                    await self.send_json(message)
                if more:
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.nudged.wait(), every)

    async def follow_changed(self, message: dict) -> None:
        self.nudged.set()

    async def follow_relayed(self, notice: dict) -> None:
        message = notice.get("message") or {}
        kind = message.get("type")
        if kind == "transcript" and message.get("is_final"):
            self.nudged.set()  # stored: read with the others, in order
        elif kind == "transcript" or kind in FORWARDED:
            await self.send_json(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.close(code=BAD_MESSAGE)

    async def send_json(self, message: dict) -> None:
        with contextlib.suppress(SocketClosed):  # its disconnect follows
            await self.send(text_data=orjson.dumps(message).decode())

    async def disconnect(self, code: int) -> None:
        if self.watcher is None:
            return  # refused
        forget(self)
        self.gone.set()
        self.watcher.cancel()
        await self.channel_layer.group_discard(self.group, self.channel_name)
