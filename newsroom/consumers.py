"""The studio socket /ws/studio/<slug>/: a thin consumer around a Relay (protocol in docs/studio-protocol.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext as _

from events.models import Event
from events.roles import can_stream
from newsroom import lifecycle, studio_feed
from server.frames import prepared_frame
from server.limits import limit_messages
from server.shutdown import close_for_restart, forget, on_stop, stopping
from server.sockets import SocketClosed
from server.writes import DaphneSocket, daphne_socket
from transcription.models import StreamSession
from transcription.protocol import Clock, Close, SpeakerNaming, Start, StudioError, parse_control
from transcription.relay import Relay

logger = logging.getLogger(__name__)


def streaming_event(user, slug: str) -> Event | None:
    """The event if `user` may stream to it (the microphone, or a followed stream), else None."""
    event = Event.objects.filter(slug=slug).first()
    if event is None or user is None or not can_stream(user, event):
        return None
    return event


class StudioConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = None  # nothing is sent to a studio socket through the layer
    event: Event
    relay: Relay | None = None
    closing = False
    socket: DaphneSocket | None = None
    gone: asyncio.Event | None = None  # set once the socket closes; None: refused or closed at once

    async def connect(self) -> None:
        user = self.scope.get("user")
        event = await database_sync_to_async(streaming_event)(user, self.scope["url_route"]["kwargs"]["slug"])
        if event is None:
            await self.close()  # before accept: the handshake is refused with 403
            return
        self.event = event
        limit_messages(self.base_send, settings.STUDIO_MAX_MESSAGE_BYTES)  # before accept: no frame is read yet
        await self.accept()
        if stopping():  # this process is going: the studio reconnects at once, to another
            await close_for_restart(self.base_send)
            return
        self.socket = daphne_socket(self.base_send)
        self.gone = asyncio.Event()
        on_stop(self, self.restart)
        await studio_feed.watch(event.id, self, staff=user.is_staff)

    async def __call__(self, scope, receive, send) -> None:
        # Channels' loop costs two hand-offs per audio frame (a task, a thread to close stale connections);
        # this consumer has no layer and its database calls look after their connections, so a plain loop does.
        self.scope = scope
        self.base_send = send
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.receive" and message.get("bytes") is not None:
                    await self.receive(bytes_data=message["bytes"])  # audio, nearly every message: no lookup
                    continue
                handler = getattr(self, get_handler_name(message), None)
                if handler is None:
                    raise ValueError(f"No handler for message type {message['type']}")
                await handler(message)
        except StopConsumer:
            pass

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        try:
            if bytes_data is not None:
                if self.relay is None:
                    raise StudioError(Close.AUDIO_BEFORE_START, _('Audio arrived before {"type": "start"}.'))
                await self.relay.audio(bytes_data)
                return
            kind, start = parse_control(text_data or "")
            if kind == "start":
                if self.relay is not None:
                    raise StudioError(Close.UNKNOWN_MESSAGE, _("This socket has already started a stream."))
                assert isinstance(start, Start)
                await self.make_live_if_scheduled(start)
                self.relay = Relay(
                    self.event,
                    self.scope["user"].pk,
                    self.send_json,
                    on_failure=self.fail,
                    on_taken_over=self.taken_over,
                )
                for message in await self.relay.start(start):
                    await self.send_json(message)
            elif self.relay is None:
                raise StudioError(Close.UNKNOWN_MESSAGE, _('"%(kind)s" before {"type": "start"}.') % {"kind": kind})
            elif kind == "pause":
                await self.relay.pause()
            elif kind == "resume":
                assert isinstance(start, Clock)
                await self.relay.resume(start.captured_at)
            elif kind == "clock":
                assert isinstance(start, Clock)
                self.relay.next_audio_captured_at(start.captured_at)
            elif kind == "name_speaker":
                assert isinstance(start, SpeakerNaming)
                await self.send_json(await self.relay.name_speaker(start.speaker, start.name))
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

    async def make_live_if_scheduled(self, start: Start) -> None:
        """A scheduled event goes live when a journalist allowed to stream it says so; else nothing streams."""
        await self.event.arefresh_from_db(fields=["status", "starts_at", "timezone"])
        if self.event.status != Event.Status.SCHEDULED:
            return
        if not start.go_live:
            question = await database_sync_to_async(lifecycle.go_live_question)(self.event)
            raise StudioError(
                Close.EVENT_NOT_LIVE,
                _("%(question)s Send go_live to make it live and stream.") % {"question": question},
            )
        await database_sync_to_async(self.event.go_live)(self.scope["user"])

    async def event_ended(self, ended_at: str) -> None:
        """The event ended while this socket was open: finish the stream (its finals stored), then say so."""
        if self.closing:
            return
        self.closing = True
        if self.relay is not None and self.relay.session is not None:
            await self.relay.stop()
        message = await database_sync_to_async(lifecycle.ended_message)()
        await self.send_json({"type": "event_ended", "ended_at": ended_at, "message": message})
        await self.close(int(Close.EVENT_ENDED))

    async def restart(self) -> None:
        """The process is stopping: finish the stream (its finals stored, the session left open), tell the
        client how far its audio was received, close with 1012 and return once the socket is closed."""
        if not self.closing:
            self.closing = True  # audio arriving from now on is not taken: the client sends it again
            if self.relay is not None and self.relay.session is not None:
                await self.relay.detach()
                await self.relay.send_ack()
            await close_for_restart(self.base_send)
        await self.gone.wait()

    async def taken_over(self) -> None:
        """The stream was resumed from another connection: finish what this one received, then say so."""
        if self.closing:
            return
        self.closing = True
        if self.relay is not None:
            await self.relay.detach()
        error = StudioError(Close.TAKEN_OVER, _("This stream was resumed from another connection."))
        await self.send_json(error.as_message())
        await self.close(int(error.close))

    async def event_gone(self) -> None:
        await self.fail(StudioError(Close.EVENT_ENDED, _("This event no longer exists.")))

    async def disconnect(self, code: int) -> None:
        if self.gone is not None:
            forget(self)
            self.gone.set()
            studio_feed.unwatch(self.event.id, self)
        if self.relay is not None:
            await self.relay.detach()

    async def send_json(self, message: dict) -> None:
        text = orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS).decode()
        if self.socket is not None and (frame := prepared_frame(text)) is not None:
            # Framed and written to Daphne's socket as the readers' pushes are, not through the ASGI
            # send; a socket no longer open takes nothing, as below.
            self.socket.write(frame)
            return
        # Nobody is left to read it; the socket's disconnect, which winds the relay down, follows.
        with contextlib.suppress(SocketClosed):
            await self.send(text_data=text)
