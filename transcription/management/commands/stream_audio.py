"""Stream an audio file or live URL to an event through the same relay, backend and storage as the studio.

A 16 kHz mono 16-bit WAV is read directly; anything else (MP3, a 48 kHz WAV, an RTMP or SIP feed that
ffmpeg can open) goes through ffmpeg. Audio goes out at real-time pace, or 1.25× with --fast. The relay
runs in this process, with no socket between it and the source, so no audio is ever in flight to send
again (docs/studio-protocol.md, *Resuming without loss*).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from events.models import Event
from events.roles import can_stream
from transcription.feed import FRAME_BYTES, Feed, read_frame
from transcription.models import StreamSession
from transcription.protocol import Start, StudioError
from transcription.relay import Relay
from transcription.speech.base import BYTES_PER_SECOND, SAMPLE_RATE

FAST_PACE = 1.25  # Deepgram's limit for audio sent faster than real time


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("event", help="slug of the event")
        parser.add_argument("source", help="a WAV file, any file ffmpeg reads, or a live URL (rtmp://, sip:, http://)")
        parser.add_argument("--as", dest="username", help="the journalist streaming (default: the first assigned)")
        parser.add_argument("--fast", action="store_true", help=f"send at {FAST_PACE}× real time")

    def handle(self, *args, event: str, source: str, username: str | None, fast: bool, **options) -> None:
        found = Event.objects.filter(slug=event).first()
        if found is None:
            raise CommandError(f"No event with the slug {event!r}.")
        user = self._journalist(found, username)
        failed = asyncio.run(self._stream(found, user.pk, source, FAST_PACE if fast else 1.0))
        if failed:
            raise CommandError(failed)

    def _journalist(self, event: Event, username: str | None):
        users = get_user_model().objects.filter(is_active=True)
        user = users.filter(username=username).first() if username else event.journalists.order_by("pk").first()
        if user is None:
            raise CommandError("No journalist: assign one to the event or pass --as <username>.")
        if not can_stream(user, event):
            raise CommandError(f"{user} is not a journalist assigned to {event}.")
        return user

    async def _stream(self, event: Event, user_id: int, source: str, pace: float) -> str:
        failure: list[StudioError] = []
        interrupted = asyncio.Event()

        async def show(message: dict) -> None:
            if message["type"] == "transcript" and message["is_final"]:
                self.stdout.write(f"[{message['start']:8.2f} – {message['end']:8.2f}] {message['text']}")
            elif message["type"] == "status":
                self.stderr.write(f"upstream {message['upstream']} ({message['provider']})")

        async def on_failure(error: StudioError) -> None:
            failure.append(error)
            interrupted.set()

        relay = Relay(event, user_id, show, on_failure=on_failure)
        loop = asyncio.get_running_loop()
        # Ctrl-C or SIGTERM (a supervisor stopping it) ends the stream as Stop does: every final stored.
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(stop_signal, interrupted.set)
        try:
            ready, *_ = await relay.start(Start())
        except StudioError as error:
            return error.message
        self.stderr.write(f"session {ready['session']} via {ready['provider']}")
        feed = Feed(relay, pace, live=not Path(source).is_file())
        async for frame in _frames(source):
            if interrupted.is_set():
                break
            await feed.send(frame)
        if failure:
            await relay.stop(StreamSession.Status.FAILED, error=failure[0].message)
            return failure[0].message
        await relay.stop()
        self.stderr.write(f"stopped: {feed.sent / BYTES_PER_SECOND:.1f} s of audio")
        return ""


async def _frames(source: str) -> AsyncIterator[bytes]:
    if Path(source).is_file() and _plain_wav(source):
        with wave.open(source) as wav:
            while frames := wav.readframes(FRAME_BYTES // 2):
                yield frames[: len(frames) - len(frames) % 2]
        return
    if shutil.which("ffmpeg") is None:
        raise CommandError("Only 16 kHz mono 16-bit WAV files can be read without ffmpeg; install ffmpeg.")
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-nostdin", "-loglevel", "error", "-i", source,
        "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        while chunk := await read_frame(process.stdout):
            yield chunk
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        if process.returncode not in (0, -9):
            print(f"ffmpeg exited with {process.returncode}", file=sys.stderr)


def _plain_wav(path: str) -> bool:
    try:
        with wave.open(path) as wav:
            return (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (SAMPLE_RATE, 1, 2)
    except (wave.Error, EOFError):
        return False
