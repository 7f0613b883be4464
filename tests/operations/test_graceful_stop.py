"""A web process told to stop with SIGTERM (a deploy), on a real Daphne: it stops taking connections at
once, finishes the stream in progress (the speech provider finalises it, every final stored), closes the
studio, a reader and a draft queue with 1012 (service restart) and exits cleanly within its grace."""

import os
import signal
import socket
import time

import pytest

from tests.support.emulators.deepgram import EmulatorThread, Script, silence, word_audio
from tests.support.emulators.studio import session_cookie
from tests.support.netclients import ReaderSocket, Socket, StudioSocket
from tests.support.processes import start_daphne
from transcription.models import Segment, StreamSession

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles")]

SERVICE_RESTART = 1012


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except OSError:
        return True


def test_sigterm_finishes_the_stream_and_closes_every_socket_with_1012(event, journalist, editor, media):
    # The provider takes 2 s to finish its decode: the process is seen not listening while it drains.
    with EmulatorThread(Script(api_key="dg-test-key", finish_seconds=2.0)) as deepgram:
        env = {"DEEPGRAM_API_KEY": "dg-test-key", "DEEPGRAM_URL": deepgram.url, "MEDIA_ROOT": str(media)}
        daphne, port = start_daphne(SHUTDOWN_GRACE_SECONDS="8", **env)
        base = f"http://127.0.0.1:{port}"
        try:
            reader = ReaderSocket(base, event.slug)
            queue = Socket(
                base.replace("http://", "ws://") + f"/ws/queue/{event.pk}/", origin=base, cookie=session_cookie(editor)
            )
            queue.wait_for(lambda m: m["type"] == "queue")
            studio = StudioSocket(base, event.slug, journalist)
            ready = studio.start()
            audio = word_audio([1, 2, 3]) + silence(0.5) + word_audio([4, 5])  # still speaking at the SIGTERM
            studio.stream(audio, pace=2.0)
            studio.wait_for(lambda m: m["type"] == "transcript" and "word5" in m["text"])  # all of it received

            began = time.monotonic()
            os.killpg(daphne.popen.pid, signal.SIGTERM)
            deadline = began + 2.0
            while not refused(port):
                assert time.monotonic() < deadline, "still taking connections after SIGTERM"
                time.sleep(0.05)
            assert daphne.popen.poll() is None, "draining, not gone"
            assert studio.wait_closed(timeout=15) == SERVICE_RESTART
            assert reader.wait_closed(timeout=15) == SERVICE_RESTART
            assert queue.wait_closed(timeout=15) == SERVICE_RESTART
            assert daphne.popen.wait(timeout=15) == 0
            stopped_in = time.monotonic() - began
        finally:
            daphne.stop()

    finals = [m["text"] for m in studio.messages if m["type"] == "transcript" and m["is_final"]]
    assert " ".join(finals).split() == ["word1", "word2", "word3", "word4", "word5"], "the last words, finalised"
    assert deepgram.connections[0].closed_by_client
    last = studio.messages[-1]
    assert last == {"type": "ack", "stream_time": pytest.approx(len(audio) / 32000)}, last
    session = StreamSession.objects.get(pk=ready["session"])
    assert session.status == StreamSession.Status.PAUSED, "left open, to be resumed on another process"
    assert [s.text for s in Segment.objects.filter(session=session).order_by("sequence")] == finals
    assert session.audio_seconds == pytest.approx(len(audio) / 32000)
    assert "graceful stop done" in daphne.output(), daphne.output()[-3000:]
    daphne.assert_no_traceback()
    print(f"\ngraceful stop with a stream, a reader and a queue open: exited {stopped_in:.2f} s after SIGTERM")
