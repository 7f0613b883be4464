"""Deploying during a live event, on the scale-out topology: two Daphne processes on PostgreSQL and Redis,
no proxy, the Deepgram emulator, and a journalist streaming the real recording through a client that
resumes as the studio page does (tests/support/resuming.py).

A rolling deploy sends SIGTERM to one web process, then to the other, each restarted at once: the client
hears 1012 and resumes on the other process; a Wi-Fi drop cuts the client's connection in the middle of a
frame while the server's side stays open. Either way every frame the client sent is archived exactly once
at its stream time, reaches the speech provider exactly once, and no final is stored twice."""

from __future__ import annotations

import os
import signal
import threading
import time
from itertools import pairwise

import pytest
from django.conf import settings
from django.db import connection

from tests.support.audio import REAL_RECORDING, wav_pcm
from tests.support.emulators.deepgram import EmulatorThread, Script
from tests.support.emulators.studio import FRAME, session_cookie
from tests.support.factories import live_event
from tests.support.processes import Process, start_daphne
from tests.support.resuming import BYTES_PER_SECOND, ResumingStudio, TcpRelay
from transcription.archive.audio import iter_session_pcm
from transcription.models import Segment, StreamSession

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("orm_beside_event_loop", "fresh_roles"),
]

SOON = 60.0  # s: a functional bound on a busy machine, not a speed claim


def forty_seconds_of_speech() -> bytes:
    """The real recording (28 s), then its start again: 40 s, whole 100 ms frames."""
    speech = wav_pcm(REAL_RECORDING)
    audio = (speech + speech)[: 40 * BYTES_PER_SECOND]
    return audio[: len(audio) - len(audio) % FRAME]


class WebProcess:
    """One Daphne on a fixed port that a deploy stops with SIGTERM and starts again."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.process, self.port = start_daphne(**env)
        self.stopped: list[Process] = []
        self.shutdown_seconds: list[float] = []
        self.restarted = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def deploy(self) -> None:
        """SIGTERM now; once the process has exited, start it again on the same port (in a thread)."""
        self.restarted.clear()
        old = self.process
        began = time.monotonic()
        os.killpg(old.popen.pid, signal.SIGTERM)

        def restart() -> None:
            old.popen.wait(timeout=SOON)
            self.shutdown_seconds.append(time.monotonic() - began)
            self.stopped.append(old)
            self.process, _ = start_daphne(self.port, **self.env)
            self.restarted.set()

        threading.Thread(target=restart, daemon=True).start()

    def all(self) -> list[Process]:
        return [*self.stopped, self.process]


def assert_every_frame_once(session_id: int, audio: bytes, deepgram) -> list[Segment]:
    """The archive holds exactly the audio sent, each sample at its stream time; the speech provider heard
    each byte once; the session's finals are stored once each, in order, none overlapping another."""
    archived = b"".join(iter_session_pcm(session_id))
    assert len(archived) == len(audio), f"archived {len(archived) / 32000:.3f} s of {len(audio) / 32000:.3f} s sent"
    assert archived == audio, "the archive differs from the audio sent: a frame lost, shifted or stored twice"
    assert deepgram.received_bytes == len(audio), "the speech provider heard a frame twice or not at all"
    session = StreamSession.objects.get(pk=session_id)
    assert session.audio_seconds == pytest.approx(len(audio) / BYTES_PER_SECOND, abs=1e-6)
    segments = list(Segment.objects.filter(session_id=session_id).order_by("sequence"))
    assert [s.sequence for s in segments] == list(range(len(segments)))
    assert all(a.end <= b.start for a, b in pairwise(segments)), "two finals cover the same audio"
    assert len({(s.text, s.start, s.end) for s in segments}) == len(segments)
    assert segments and segments[-1].end <= len(audio) / BYTES_PER_SECOND + 0.01
    return segments


def test_a_rolling_deploy_mid_stream_loses_no_frame_and_stores_none_twice(journalist, media):
    assert connection.vendor == "postgresql" and settings.REDIS_URL, "the scale-out topology needs both servers"
    event = live_event(journalist, title="Budget night", slug="budget-night")
    audio = forty_seconds_of_speech()
    # The provider takes a second to finish its decode at each stop: frames keep coming meanwhile.
    with EmulatorThread(Script(api_key="dg-test-key", finish_seconds=1.0)) as deepgram:
        env = {"DEEPGRAM_API_KEY": deepgram.script.api_key, "DEEPGRAM_URL": deepgram.url, "MEDIA_ROOT": str(media)}
        one, two = WebProcess(env), WebProcess(env)
        try:
            studio = ResumingStudio([one.url, two.url], event.slug, session_cookie(journalist))
            ready = studio.start()
            # SIGTERM to the process streaming at 10 s, then (the stream resumed on the other) to that one at 25 s.
            studio.stream(audio, at_seconds={10.0: one.deploy, 25.0: two.deploy})
            stopped = studio.stop(timeout=SOON)
            assert stopped["session"] == ready["session"]
            assert one.restarted.wait(SOON) and two.restarted.wait(SOON)

            assert studio.closes == [1012, 1012, 1000], studio.closes
            assert [r["base"] for r in studio.resumes] == [two.url, one.url]
            assert studio.acks > 0
            assert all(r["resent"] > 0 for r in studio.resumes), "frames that came during each stop went again"
            assert all(p.popen.returncode == 0 for p in [*one.stopped, *two.stopped]), "a graceful stop exits 0"
            segments = assert_every_frame_once(ready["session"], audio, deepgram)
            assert set(studio.finals) == {s.sequence for s in segments}, "the client heard every final once"
            session = StreamSession.objects.get(pk=ready["session"])
            assert session.status == StreamSession.Status.ENDED and session.reconnects == 2
            assert session.dropped_audio_seconds == 0.0
            shutdowns = ", ".join(f"{s:.2f} s" for s in one.shutdown_seconds + two.shutdown_seconds)
            resumed = ", ".join(f"{r['seconds']:.2f} s" for r in studio.resumes)
            resent = ", ".join(f"{r['resent'] / 32000:.1f} s" for r in studio.resumes)
            print(
                f"\nrolling deploy: {len(audio) / 32000:.1f} s streamed, 0 frames lost, 0 stored twice; "
                f"shutdown {shutdowns}; resumed in {resumed}; sent again {resent}; {len(segments)} finals"
            )
        finally:
            for web in (one, two):
                web.restarted.wait(SOON)
                web.process.stop()
        for process in [*one.all(), *two.all()]:
            process.assert_no_traceback()


def test_a_connection_cut_mid_frame_resumes_on_the_other_process_with_nothing_lost(journalist, media):
    """The client's connection stops passing anything half-way through a frame, and the server's side stays
    open (a Wi-Fi drop); the client resumes on the other process at once, which has the first process's relay
    finish before it goes on."""
    assert connection.vendor == "postgresql" and settings.REDIS_URL, "the scale-out topology needs both servers"
    event = live_event(journalist, title="Budget night", slug="budget-night")
    audio = forty_seconds_of_speech()[: 16 * BYTES_PER_SECOND]
    cut_at = 9 * BYTES_PER_SECOND
    with EmulatorThread() as deepgram:
        env = {"DEEPGRAM_API_KEY": deepgram.script.api_key, "DEEPGRAM_URL": deepgram.url, "MEDIA_ROOT": str(media)}
        first, first_port = start_daphne(**env)
        second, second_port = start_daphne(**env)
        wifi = TcpRelay(first_port)
        try:
            other = f"http://127.0.0.1:{second_port}"
            studio = ResumingStudio([wifi.url, other], event.slug, session_cookie(journalist))
            ready = studio.start()
            studio.stream(audio[:cut_at])
            studio.absorb()
            studio.send_half_a_frame(audio[cut_at : cut_at + FRAME])
            wifi.freeze()
            studio.wait_closed_and_resume()  # reset on the client's side: it resumes on process 2
            studio.stream(audio[cut_at + FRAME :])
            studio.stop(timeout=SOON)

            assert studio.closes[0] == 1006 and studio.closes[-1] == 1000, studio.closes
            assert studio.resumes[0]["base"] == other
            assert studio.resumes[0]["resent"] >= FRAME, "the half-sent frame went again"
            segments = assert_every_frame_once(ready["session"], audio, deepgram)
            assert set(studio.finals) == {s.sequence for s in segments}
            print(
                f"\ncut mid-frame: resumed on the other process in {studio.resumes[0]['seconds']:.2f} s, "
                f"{studio.resumes[0]['resent'] / 32000:.1f} s sent again, 0 frames lost, 0 stored twice"
            )
        finally:
            wifi.close()
            for process in (first, second):
                process.stop()
        for process in (first, second):
            process.assert_no_traceback()
