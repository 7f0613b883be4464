"""One journalist's stream: audio to the speech backend and the archive, finals stored, messages out.

Both the studio socket and `manage.py stream_audio` drive a Relay, so both check, archive and store alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from events.sentences import Sentence
from transcription import handover, leases, sessions, speakers, spoken
from transcription.archive.audio import SessionArchive
from transcription.models import StreamSession
from transcription.protocol import Close, RateGuard, Start, StudioError, check_frame
from transcription.signals import stream_ended, stream_failed
from transcription.speech.base import (
    BYTES_PER_SECOND,
    SpeechBackend,
    StreamOptions,
    Transcript,
    UpstreamFailed,
    UpstreamStatus,
    backend_class,
    language_refusal,
    open_backend,
)
from transcription.store.jobs import Call, SaveProgress
from transcription.store.queue import StoreQueue, close_connections
from transcription.store.writer import writer

logger = logging.getLogger(__name__)

Notify = Callable[[dict], Awaitable[None]]
# The relays of this process by session, so a resume waits for the dropped socket's relay to finish.
_RELAYS: dict[int, Relay] = {}
# The client hears at least once a second how far the audio it sent was received: in each transcript message,
# and in an `ack` when no transcript said it for this long.
ACK_EVERY_SECONDS = 0.9
PROGRESS_SECONDS = 10.0  # at most this long between saves of the figures and renewals of the lease (30 s)
FAILURE_CLOSE = {
    "upstream_refused": Close.UPSTREAM_REFUSED,
    "upstream_unavailable": Close.UPSTREAM_UNAVAILABLE,
}


class Relay:
    def __init__(
        self,
        event,
        journalist_id: int,
        notify: Notify,
        *,
        max_rate: float | None = 1.5,
        on_failure: Callable[[StudioError], Awaitable[None]] | None = None,
        on_taken_over: Callable[[], Awaitable[None]] | None = None,
    ):
        """`on_taken_over`: the session was resumed from another connection, so this relay finishes (its socket
        closes with 4010)."""
        self.event = event
        self.journalist_id = journalist_id
        self.notify = notify
        self.on_failure = on_failure
        self.on_taken_over = on_taken_over
        self.holder = uuid.uuid4().hex
        self.guard = RateGuard(max_rate) if max_rate else None
        self.session: sessions.Opened | None = None
        self.backend: SpeechBackend | None = None
        self.archive: SessionArchive | None = None
        self.base = 0.0
        self.received = 0
        self.held = 0.0  # where the session's audio the server held at the start ends, in stream time
        self._skip = 0  # bytes of resent audio still to come that the server already holds
        self._ack_due = 0.0
        self._handovers: set[asyncio.Task] = set()
        self.client_dropped = 0.0
        self.upstream = "connecting"
        self.paused = False
        self.finished = False
        self._pump: asyncio.Task | None = None
        self.speaker_names: dict[int, str] = {}
        self.labels = speakers.Labels()
        self.clock: spoken.SpokenClock | None = None
        self._names: asyncio.Task | None = None
        self._lease: asyncio.Task | None = None
        self._finishing: asyncio.Task | None = None
        self.storage = StoreQueue(max_seconds=settings.STUDIO_STORE_BACKLOG_SECONDS)
        self._unsent: deque[asyncio.Future] = deque()  # finals handed to the store, not yet sent, in order
        self._sender: asyncio.Task | None = None
        self._storage_watch: asyncio.Task | None = None
        self._overflow: asyncio.Task | None = None

    @property
    def session_id(self) -> int:
        assert self.session is not None
        return self.session.id

    async def start(self, start: Start) -> list[dict]:
        """Open or resume the session: `ready`, then any finals a resuming client missed."""
        options = StreamOptions.for_event(self.event)
        if not backend_class().understands(options):
            raise StudioError(Close.LANGUAGE_UNSUPPORTED, language_refusal(self.event))
        held_by = None
        if start.session is not None:
            # Before the lease and the session's running relay are touched: a colleague's session id
            # must not take over the lease or detach the owner's stream.
            await writer.call(sessions.check_resumable, start.session, self.event.id, self.journalist_id)
            held_by = await writer.call(leases.holder, self.event.id, self.journalist_id)
        taken = await writer.call(
            leases.acquire, self.event.id, self.journalist_id, self.holder, take_over=start.session is not None
        )
        if not taken:
            raise StudioError(
                Close.CONCURRENT_STREAM,
                _("You are already streaming to this event from another window or device. Stop that stream first."),
            )
        previous = _RELAYS.get(start.session) if start.session is not None else None
        if previous is not None:
            await previous.hand_over()  # its finals stored and its figures saved before this one goes on
        elif start.session is not None and held_by is not None:
            await handover.take_over(start.session)  # the same, from the process that still runs it
        backend = open_backend(options)
        try:
            self.session = await writer.call(
                sessions.open_session, self.event.id, self.journalist_id, backend.provider, resume=start.session
            )
        except StudioError:
            await writer.call(leases.release, self.event.id, self.journalist_id, self.holder)
            raise
        first_frame_at = 0.0
        if self.session.resumed:
            # A resuming client knows how much audio it sent before; frames lost in flight stay a gap.
            self.base, self.client_dropped, self.held = await SessionArchive.resume_point(self.session.id, start)
            first_frame_at = self.base
            if start.resend and start.stream_time is not None and start.stream_time < self.held:
                # It sends again what was not acknowledged: the part the server already holds is dropped.
                self._skip = round((self.held - start.stream_time) * BYTES_PER_SECOND / 2) * 2
                first_frame_at = self.base - self._skip / BYTES_PER_SECOND
        _RELAYS[self.session.id] = self
        self.clock = spoken.SpokenClock(self.session.started_at, self.session.last_spoken_at)
        self.next_audio_captured_at(start.captured_at)
        self.backend = backend
        self.archive = SessionArchive.open(self.session.id, at=self.base)
        await backend.start()
        missed = []
        if self.session.resumed:
            self.speaker_names = await writer.call(speakers.session_names, self.session.id)
            self.labels = speakers.Labels(await writer.call(speakers.first_free_label, self.session.id))
        if start.session is not None and start.last_sequence is not None:
            missed = await writer.call(sessions.finals_after, self.session.id, start.last_sequence)
        self._pump = asyncio.create_task(self._run_pump(), name=f"relay-pump-{self.session.id}")
        self._names = asyncio.create_task(self._follow_names(), name=f"relay-names-{self.session.id}")
        self._storage_watch = asyncio.create_task(self._follow_storage(), name=f"relay-storage-{self.session.id}")
        self._lease = asyncio.create_task(self._keep_lease(), name=f"relay-lease-{self.session.id}")
        ready = {
            "type": "ready",
            "session": self.session.id,
            "provider": backend.provider,
            "resumed": self.session.resumed,
            "stream_time": round(first_frame_at, 6),
            "received": round(self.held, 6),
        }
        how = "resumed" if self.session.resumed else "started"
        logger.info("session %s: stream %s on %s (%s)", self.session.id, how, self.event.slug, backend.provider)
        return [ready, *missed]

    async def audio(self, pcm: bytes) -> None:
        if self.backend is None or self.archive is None:
            raise StudioError(Close.AUDIO_BEFORE_START, _('Audio arrived before {"type": "start"}.'))
        check_frame(pcm, settings.STUDIO_MAX_FRAME_BYTES)
        if self.finished:
            return
        if self.guard is not None:
            self.guard.take(len(pcm) / BYTES_PER_SECOND)
        if self._skip:
            if len(pcm) <= self._skip:
                self._skip -= len(pcm)
                return
            pcm, self._skip = pcm[self._skip :], 0
        self.received += len(pcm)
        self.archive.write(pcm)
        await self.backend.send(pcm)
        if time.monotonic() >= self._ack_due:
            await self.send_ack()

    @property
    def position(self) -> float:
        """Stream time just after the last audio received."""
        return self.base + self.received / BYTES_PER_SECOND

    async def send_ack(self) -> None:
        """Tell the client how far the audio it sent has been received: it need not send that again."""
        self._ack_due = time.monotonic() + ACK_EVERY_SECONDS
        await self._notify({"type": "ack", "stream_time": round(self.position, 6)})

    def _with_received(self, message: dict) -> dict:
        """A transcript message that also says how far the audio was received, standing in for an `ack`."""
        self._ack_due = time.monotonic() + ACK_EVERY_SECONDS
        message["received"] = round(self.position, 6)
        return message

    async def pause(self) -> None:
        if self.backend is None or self.finished:
            return
        self.paused = True
        await self.backend.finalize()
        self._save_status(StreamSession.Status.PAUSED, together=True)
        await self._send_status()
        await self.send_ack()

    async def resume(self, captured_at: object = None) -> None:
        if self.backend is None or self.finished:
            return
        self.paused = False
        self.next_audio_captured_at(captured_at)
        self._save_status(StreamSession.Status.LIVE, together=True)
        await self._send_status()

    def next_audio_captured_at(self, captured_at: object) -> None:
        """The client's clock when the next audio frame was captured; a time that is none is ignored."""
        captured = spoken.captured_at(captured_at)
        if captured is not None and self.clock is not None:
            # Resent audio the server already holds is dropped: the mark is for the first sample kept.
            captured += timedelta(seconds=self._skip / BYTES_PER_SECOND)
            self.clock.mark(self.position, captured, timezone.now())

    async def stop(self, status: str = StreamSession.Status.ENDED, error: str = "") -> None:
        """Finish the session: every final result for the audio received is stored before this returns."""
        await self._finish(status, error)

    async def detach(self) -> None:
        """The socket went away without `stop`: store what is in flight, keep the session open to resume."""
        await self._finish(StreamSession.Status.PAUSED)

    async def save_progress(self) -> bool:
        """Queue a save of the session's figures and renew the lease; False when another connection took over.

        The lease is in the cache, so it is renewed at once even while the figures wait for the database."""
        if self.session is None or self.backend is None:
            return True
        self._save_figures()
        if self.finished:
            return True
        return await writer.call(leases.renew, self.event.id, self.journalist_id, self.holder)

    async def _keep_lease(self) -> None:
        """`save_progress` every 5-10 s until another connection takes the lease over: then this relay hands over."""
        while True:
            # Spread over time: streams started together (a newsroom going live at once) must not all
            # write at the same moment and hold up each other's finals on the writer thread.
            await asyncio.sleep(PROGRESS_SECONDS * random.uniform(0.5, 1.0))
            try:
                if not await self.save_progress():
                    break
            except Exception:  # the next try is 10 s away; the lease lasts 30 s
                logger.exception("session %s: could not save the stream's progress", self.session_id)
        logger.warning("session %s: its lease was taken over; finishing here", self.session_id)
        self._spawn(self.hand_over())  # it winds this relay down, this task included: so not awaited here

    async def _finish(self, status: str, error: str = "") -> None:
        """Wind down once; later callers (a resume waiting for this relay) wait for the same end."""
        if self.backend is None or self.archive is None:
            return
        if self._finishing is None:
            self.finished = True
            self._finishing = asyncio.create_task(self._wind_down(status, error))
        await asyncio.shield(self._finishing)

    async def _wind_down(self, status: str, error: str) -> None:
        assert self.backend is not None and self.archive is not None
        try:
            await self.backend.stop()
            if self._pump is not None:
                await self._pump
        finally:
            for task in (self._names, self._lease):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await self.archive.close()
            self._save_figures()
            self._save_status(status, error=error)
            if status != StreamSession.Status.PAUSED:
                self.storage.add(Call(functools.partial(_stream_ended, self.event.id, self.session_id)))
            # Past the queue's bound the database is given up on; the audio is archived.
            await self.storage.drain(timeout=settings.STUDIO_STORE_BACKLOG_SECONDS)
            if self._sender is not None:
                await self._sender
            if self._storage_watch is not None:
                self._storage_watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._storage_watch
            await writer.call(leases.release, self.event.id, self.journalist_id, self.holder)
            logger.info("session %s: stream %s on %s", self.session_id, status, self.event.slug)
            if _RELAYS.get(self.session_id) is self:
                del _RELAYS[self.session_id]
            if not _RELAYS:
                # No stream left in this process: let the writer's kept connection, and the loop's, go.
                await close_connections()

    def _save_status(self, status: str, *, error: str = "", together: bool = False) -> None:
        """Queue the session's status; `together`: a pause or resume, not the end that `stream_ended` follows."""
        save = functools.partial(sessions.set_status, self.session_id, status, error=error)
        self.storage.add(Call(save, together=together))

    def _save_figures(self) -> None:
        self.storage.add(SaveProgress(self.session_id, self._figures()), key="progress")

    async def _storage_overflowed(self) -> None:
        stopped = storage_stopped(self.storage.max_seconds)
        error = StudioError(Close.STORAGE_UNAVAILABLE, str(stopped))
        logger.error("session %s: storage unavailable past the bound, stopping the stream", self.session_id)
        # Stored with the finals once the database is back: the desk then hears why the stream stopped, each editor
        # in their own language.
        self.storage.add(
            Call(functools.partial(_stream_failed, self.event.id, self.session_id, stopped, reason="storage"))
        )
        if self.on_failure is not None:
            await self.on_failure(error)

    def _figures(self) -> dict:
        assert self.session is not None and self.backend is not None
        return {
            "audio_seconds": self.base + self.received / BYTES_PER_SECOND,
            "reconnects": self.session.reconnects + self.backend.reconnects,
            "dropped_audio_seconds": self.session.dropped_audio_seconds
            + self.client_dropped
            + self.backend.dropped_seconds,
            "request_ids": [*self.session.request_ids, *self.backend.request_ids],
        }

    async def _run_pump(self) -> None:
        assert self.backend is not None
        async for item in self.backend.events():
            if isinstance(item, Transcript):
                await self._transcript(item)
            elif isinstance(item, UpstreamStatus):
                self.upstream = item.state
                if item.state == "live":
                    self.labels.new_connection()
                if item.request_id:
                    self._save_figures()
                await self._send_status(detail=item.detail)
            elif isinstance(item, UpstreamFailed):
                error = StudioError(FAILURE_CLOSE.get(item.reason, Close.UPSTREAM_FAILED), str(item.message))
                logger.warning("session %s: upstream failed: %s", self.session_id, item.message)
                self.storage.add(Call(functools.partial(_stream_failed, self.event.id, self.session_id, item.message)))
                if self.on_failure is not None:
                    asyncio.create_task(self.on_failure(error))  # noqa: RUF006  (it stops this relay, so not awaited here)

    async def _transcript(self, result: Transcript) -> None:
        base = self.base
        start, end = round(result.start + base, 3), round(result.end + base, 3)
        if not result.is_final:
            # Interim results (several a second) are only shown: no words to shift, nothing stored.
            interim = {"type": "transcript", "is_final": False, "text": result.text, "start": start, "end": end}
            await self._notify(self._with_received(interim))
            return
        words = [{**w, "start": round(w["start"] + base, 3), "end": round(w["end"] + base, 3)} for w in result.words]
        result = self.labels.relabel(dataclasses.replace(result, start=start, end=end, words=words))
        assert self.clock is not None
        now = timezone.now()
        for part in speakers.split_by_speaker(result):
            first_word = part.words[0]["start"] if part.words else None
            spoken_at = self.clock.at(part.start, now, first_word=first_word)
            stored = self.storage.add_final(self.session_id, self.event.id, part, spoken_at)
            if stored.done() and not self._unsent:
                await self._send_final(stored)  # stored on the loop: sent without a turn of the loop
                continue
            self._unsent.append(stored)
            if self._sender is None or self._sender.done():
                self._sender = asyncio.create_task(self._send_in_order(), name=f"relay-finals-{self.session_id}")

    async def _send_in_order(self) -> None:
        """Each final the store still holds, sent once stored, in the order they were said."""
        while self._unsent:
            await asyncio.wait([self._unsent[0]])
            await self._send_final(self._unsent.popleft())

    async def _send_final(self, stored: asyncio.Future) -> None:
        if stored.cancelled() or stored.exception() is not None:
            return  # given up on or dropped: the store logged why
        await self._notify(self._with_received(sessions.final_message(stored.result(), self.speaker_names)))

    async def _follow_storage(self) -> None:
        """The journalist hears when storage is delayed, each final that joins the wait, and recovery."""
        while True:
            await self.storage.changed()
            if self.storage.overflowed and self._overflow is None:
                # It stops this relay, this task included: so not awaited here.
                self._overflow = asyncio.create_task(self._storage_overflowed())
            await self._send_status()

    async def name_speaker(self, label: object, name: object) -> dict:
        """Name one of this session's speakers (an empty name forgets it): the studio's answer."""
        try:
            label = speakers.check_label(label)
            stored = await writer.call(speakers.name_speaker, self.session_id, label, name)
        except speakers.BadSpeakerName as error:
            return {"type": "speaker_not_named", "speaker": label, "message": str(error)}
        if stored:
            self.speaker_names[label] = stored
        else:
            self.speaker_names.pop(label, None)
        with contextlib.suppress(Exception):  # the name is stored; a relay elsewhere reads it at its next resume
            await speakers.announce_names(self.session_id)
        return speakers.named_message(label, stored)

    async def _follow_names(self) -> None:
        """Names given elsewhere (the session's admin page, another process) reach the studio and later finals."""
        layer = get_channel_layer()
        if layer is None:
            return
        group, channel = speakers.names_group(self.session_id), await layer.new_channel()
        try:
            await layer.group_add(group, channel)
            while True:
                message = await layer.receive(channel)
                if message.get("type") == handover.DETACH:
                    self._spawn(self._hand_over(message.get("reply_to")))
                    continue
                await self._read_names()
        except Exception:  # the channel layer is away: names given elsewhere show from the next resume
            logger.warning("session %s: speaker names given elsewhere are not followed", self.session_id, exc_info=True)
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(group, channel)

    def _spawn(self, handing_over: Awaitable[None]) -> None:
        task = asyncio.ensure_future(handing_over)
        self._handovers.add(task)
        task.add_done_callback(self._handovers.discard)

    async def hand_over(self) -> None:
        """The session was resumed from another connection: this relay finishes (its socket told, 4010)."""
        if self.on_taken_over is not None:
            await self.on_taken_over()
        await self.detach()

    async def _hand_over(self, reply_to: object) -> None:
        """A resume in another process asked this relay to finish: it does, then says so."""
        await handover.answer(reply_to, handover.DETACHING)
        logger.info("session %s: resumed from another process; finishing here", self.session_id)
        try:
            await self.hand_over()
        finally:
            await handover.answer(reply_to, handover.DETACHED)

    async def _read_names(self) -> None:
        """The session's names read again; the studio hears of each that changed."""
        try:
            names = await writer.call(speakers.session_names, self.session_id)
        except Exception:  # the database is away: the next change or resume reads them
            logger.warning("session %s: could not read the speaker names", self.session_id, exc_info=True)
            return
        before, self.speaker_names = self.speaker_names, names
        for label in sorted(names.keys() | before.keys()):
            if names.get(label) != before.get(label):
                await self._notify(speakers.named_message(label, names.get(label, "")))

    async def _send_status(self, detail: str = "") -> None:
        assert self.backend is not None
        figures = self._figures()
        await self._notify(
            {
                "type": "status",
                "state": "paused" if self.paused else "live",
                "upstream": self.upstream,
                "provider": self.backend.provider,
                "reconnects": figures["reconnects"],
                "dropped_seconds": round(figures["dropped_audio_seconds"], 3),
                "audio_seconds": round(figures["audio_seconds"], 3),
                "storage": "delayed" if self.storage.delayed else "saved",
                "waiting": self.storage.waiting_finals,
                **({"detail": detail} if detail else {}),
            }
        )

    async def _notify(self, message: dict) -> None:
        # A closed socket must not stop the storing of results.
        with contextlib.suppress(Exception):
            await self.notify(message)


def _stream_ended(event_id: int, session_id: int) -> None:
    stream_ended.send(sender=Relay, event_id=event_id, session_id=session_id)


def storage_stopped(max_seconds: float) -> Sentence:
    """Why a stream stopped whose finals could not be stored for `max_seconds` of speech."""
    return Sentence.gettext(
        "The transcript could not be saved for over %(minutes)s minutes of speech, so the stream has stopped. "
        "Your audio is archived; the finals shown are saved once the database is back.",
        minutes=f"{max_seconds / 60:g}",
    )


def _stream_failed(event_id: int, session_id: int, message: str | Sentence, reason: str = "provider") -> None:
    stream_failed.send(sender=Relay, event_id=event_id, session_id=session_id, message=message, reason=reason)
