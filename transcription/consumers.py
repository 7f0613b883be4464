"""The studio socket /ws/studio/<slug>/: a thin consumer around a Relay (protocol in docs/studio-protocol.md)."""

from __future__ import annotations

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from events.models import Event
from events.roles import can_stream
from transcription import newsroom
from transcription.models import StreamSession
from transcription.protocol import Close, StudioError, parse_control
from transcription.relay import Relay

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0
PROGRESS_EVERY = 5  # polls: figures and the lease every 10 s (the lease lasts 30 s)


@database_sync_to_async
def _event_for(user, slug: str) -> Event | None:
    event = Event.objects.filter(slug=slug).first()
    if event is None or not can_stream(user, event):
        return None
    return event


class StudioConsumer(AsyncWebsocketConsumer):
    event: Event
    relay: Relay | None = None
    closing = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        event = await _event_for(user, self.scope["url_route"]["kwargs"]["slug"]) if user else None
        if event is None:
            await self.close()  # before accept: the handshake is refused with 403
            return
        self.event = event
        await self.accept()
        self.last_post_id = await database_sync_to_async(newsroom.latest_post_id)(event.id)
        self.poller = asyncio.create_task(self.poll())

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        try:
            if bytes_data is not None:
                if self.relay is None:
                    raise StudioError(Close.AUDIO_BEFORE_START, 'Audio arrived before {"type": "start"}.')
                await self.relay.audio(bytes_data)
                return
            kind, start = parse_control(text_data or "")
            if kind == "start":
                if self.relay is not None:
                    raise StudioError(Close.UNKNOWN_MESSAGE, "This socket has already started a stream.")
                assert start is not None
                self.relay = Relay(self.event, self.scope["user"].pk, self.send_json, on_failure=self.fail)
                for message in await self.relay.start(start):
                    await self.send_json(message)
            elif self.relay is None:
                raise StudioError(Close.UNKNOWN_MESSAGE, f'"{kind}" before {{"type": "start"}}.')
            elif kind == "pause":
                await self.relay.pause()
            elif kind == "resume":
                await self.relay.resume()
            elif kind == "stop":
                self.closing = True
                await self.relay.stop()
                await self.send_json({"type": "stopped", "session": self.relay.session_id})
                await self.close(int(Close.NORMAL))
        except StudioError as error:
            if self.relay is not None and self.relay.session is None:
                self.relay = None  # refused at start: nothing was opened
            await self.fail(error)

    async def fail(self, error: StudioError) -> None:
        if self.closing:
            return
        self.closing = True
        await self.send_json(error.as_message())
        await self.close(int(error.close))
        if self.relay is not None:
            await self.relay.stop(StreamSession.Status.FAILED, error=error.message)

    async def disconnect(self, code: int) -> None:
        poller = getattr(self, "poller", None)
        if poller is not None:
            poller.cancel()
        if self.relay is not None:
            await self.relay.detach()

    async def send_json(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message))

    async def poll(self) -> None:
        """Every few seconds: keep the lease and figures fresh, show the next batch and new drafts."""
        last_batch: dict | None = None
        polls = 0
        while True:
            polls += 1
            try:
                if polls % PROGRESS_EVERY == 0 and self.relay is not None and not await self.relay.save_progress():
                    await self.fail(StudioError(Close.TAKEN_OVER, "This stream was resumed from another connection."))
                    return
            except Exception:  # the next try is 10 s away; the lease lasts 30 s
                logger.exception("studio could not save the stream progress of event %s", self.event.id)
            try:
                found = await database_sync_to_async(newsroom.updates)(self.event.id, self.last_post_id)
            except Event.DoesNotExist:
                await self.fail(StudioError(Close.EVENT_ENDED, "This event no longer exists."))
                return
            except Exception:
                logger.exception("studio could not read the drafting state of event %s", self.event.id)
            else:
                self.last_post_id = found.last_post_id
                if found.batch != last_batch:
                    last_batch = found.batch
                    await self.send_json(found.batch)
                for draft in found.drafts:
                    await self.send_json({"type": "draft", "post": draft})
            await asyncio.sleep(POLL_SECONDS)
