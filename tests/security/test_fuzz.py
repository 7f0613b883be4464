"""A fuzz run of the studio socket on a real Daphne: random and malformed frames in bulk, from many
sockets at once. The server stays up, logs no traceback, refuses each bad socket with the protocol's
error and close code (or 1009, unread, for a message over the socket's size limit), and writes no row
for a socket it refused."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.request import urlopen

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus

from publishing.models import Batch, Post
from tests.support.emulators.deepgram import EmulatorThread, silence, word_audio
from tests.support.emulators.studio import Studio
from tests.support.netclients import StudioSocket, refused_exchange
from tests.support.processes import start_daphne, wait_until
from transcription.models import Segment, StreamSession
from transcription.protocol import Close

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("orm_beside_event_loop", "fresh_roles"),
]

SEED = int(os.environ.get("FUZZ_SEED", "20261121"))
SOCKETS = 400  # never started: every one must be refused, none may write a row
STARTED_SOCKETS = 12  # started properly, then fed garbage
PROTOCOL_CLOSES = {int(code) for code in Close if code != Close.NORMAL}
MESSAGE_TOO_BIG = 1009  # the WebSocket layer's, before reading a message over STUDIO_MAX_MESSAGE_BYTES
FINISHED = (StreamSession.Status.FAILED, StreamSession.Status.ENDED)
# autobahn's words, logged through liveblog_site.asgi
ABORTED = r"peer tcp4:127\.0\.0\.1:(\d+) with abort=True: WebSocket closing handshake timeout"
VALID = {"type": "start", "encoding": "linear16", "sample_rate": 16000, "channels": 1}


def junk_value(rng: random.Random):
    return rng.choice(
        [None, True, False, 0, -1, 1.5, 10**30, "", "x" * rng.randint(1, 5000), [], {}, [1, 2], {"a": {"b": None}}]
    )


def bad_text(rng: random.Random, foreign_session: int) -> str:
    """A text frame no server should take as a valid first message."""
    kind = rng.randrange(12)
    if kind == 0:
        return "".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(0, 300)))
    if kind == 1:
        return "{" * rng.randint(1, 50) + "}" * rng.randint(0, 50)
    if kind == 2:
        return "[" * rng.choice([10, 1000, 100_000])  # deep nesting: a parser's recursion limit
    if kind == 3:
        return json.dumps({"type": junk_value(rng)})
    if kind == 4:
        return json.dumps({"type": rng.choice(["pause", "resume", "stop"])})  # controls before start
    if kind == 5:
        field = rng.choice(["encoding", "sample_rate", "channels"])
        return json.dumps({**VALID, field: junk_value(rng)})
    if kind == 6:
        return json.dumps({**VALID, "session": rng.choice([0, -5, "1", 1.0, True, [], 2**63, foreign_session])})
    if kind == 7:
        return json.dumps({**VALID, "dropped_seconds": rng.choice([-1, "1", None, 1e12, [], float("inf")])})
    if kind == 8:
        return json.dumps([VALID])
    if kind == 9:
        return json.dumps(rng.choice([None, 1, "start", True]))
    if kind == 10:
        return json.dumps({**VALID, "type": "START"})
    return "x" * rng.choice([70_000, 1_000_000])


def garbage_after_start(rng: random.Random, foreign_session: int) -> str:
    """Bad text for a started socket: anything but the controls a started stream rightly accepts."""
    while True:
        text = bad_text(rng, foreign_session)
        if '"type": "pause"' not in text and '"type": "resume"' not in text and '"type": "stop"' not in text:
            return text


def bad_audio(rng: random.Random) -> bytes:
    size = rng.choice([0, 1, 3, 3199, 3201, 65_538, 200_000, rng.randrange(1, 9000) | 1])  # odd, empty or oversize
    return rng.randbytes(size)


def over_the_size_limit(frame: str | bytes) -> bool:
    return len(frame.encode() if isinstance(frame, str) else frame) > settings.STUDIO_MAX_MESSAGE_BYTES


def test_the_studio_socket_survives_a_fuzz_run(event, journalist, other_journalist):
    rng = random.Random(SEED)
    foreign = StreamSession.objects.create(event=event, journalist=other_journalist, provider="deepgram").pk
    baseline = (StreamSession.objects.count(), Segment.objects.count(), Batch.objects.count(), Post.objects.count())
    with EmulatorThread() as deepgram:
        daphne, port = start_daphne(DEEPGRAM_API_KEY=deepgram.script.api_key, DEEPGRAM_URL=deepgram.url)
        base = f"http://127.0.0.1:{port}"
        try:
            began = time.monotonic()
            plans = []
            for _ in range(SOCKETS):
                frames: list[str | bytes] = []
                for _ in range(rng.randint(1, 4)):
                    frames.append(bad_text(rng, foreign) if rng.random() < 0.6 else bad_audio(rng))
                plans.append(frames)
            with ThreadPoolExecutor(max_workers=12) as pool:
                results = list(pool.map(lambda frames: refused_exchange(base, event.slug, journalist, frames), plans))
            codes = Counter(code for code, _, _ in results)
            # The only socket allowed to miss its error and close: one the server logged as aborted because
            # its closing handshake went left_without_close for autobahn's second, which under this load (12 senders
            # of frames up to 1 MB on two cores) can happen to the server's own queued frames too. It must
            # be rare, and it is still checked for rows and tracebacks below.
            server_log = daphne.output()
            aborted_ports = {int(port) for port in re.findall(ABORTED, server_log)}
            left_without_close = {port for code, _, port in results if code == 1006 and port in aborted_ports}
            assert len(left_without_close) <= SOCKETS // 100, left_without_close
            outside = [
                (code, [repr(frame)[:60] for frame in frames])
                for (code, _, port), frames in zip(results, plans, strict=True)
                if code not in PROTOCOL_CLOSES
                and port not in left_without_close
                and not (code == MESSAGE_TOO_BIG and any(map(over_the_size_limit, frames)))
            ]
            assert not outside, f"closes outside the protocol: {outside}\n{server_log[-3000:]}"
            for code, messages, _ in results:
                if code == 1006:
                    continue  # an aborted socket, counted above
                if code == MESSAGE_TOO_BIG:  # refused by the WebSocket layer: no error message of ours
                    assert not [m for m in messages if m["type"] == "ready"]
                    continue
                errors = [m for m in messages if m["type"] == "error"]
                assert len(errors) == 1 and errors[0]["message"], (code, messages)
                assert Close(code).name.lower() == errors[0]["code"]
                assert not [m for m in messages if m["type"] == "ready"]
            rows = (StreamSession.objects.count(), Segment.objects.count(), Batch.objects.count(), Post.objects.count())
            assert rows == baseline, "a refused socket wrote a row"

            # Started properly, then garbage: refused, the session marked failed, no segment from it.
            started, too_big = [], set()
            for _ in range(STARTED_SOCKETS):
                studio = StudioSocket(base, event.slug, journalist)
                ready = studio.start()
                assert ready["type"] == "ready", ready
                started.append(ready["session"])
                with contextlib.suppress(ConnectionClosed):
                    studio.ws.send(rng.choice([garbage_after_start(rng, foreign), bad_audio(rng), rng.randbytes(3)]))
                code = studio.wait_closed(timeout=30)
                assert code in PROTOCOL_CLOSES | {MESSAGE_TOO_BIG}
                # The server closes first and finishes the session after; the next start waits for that.
                # Refused unread (1009), the socket is gone as if dropped: its session is paused, to resume.
                if code == MESSAGE_TOO_BIG:
                    too_big.add(ready["session"])
                finished = (StreamSession.Status.PAUSED,) if code == MESSAGE_TOO_BIG else FINISHED
                wait_until(lambda sid=ready["session"], done=finished: StreamSession.objects.get(pk=sid).status in done)
            assert not Segment.objects.filter(session_id__in=started).exists()
            statuses = dict(StreamSession.objects.filter(pk__in=started).values_list("pk", "status"))
            assert {statuses[sid] for sid in started if sid not in too_big} <= set(FINISHED)
            assert {statuses[sid] for sid in too_big} <= {StreamSession.Status.PAUSED, StreamSession.Status.ENDED}

            # Handshakes without the right to stream never reach the consumer.
            for origin, user in (("https://evil.example", journalist), (base, other_journalist)):
                with pytest.raises(InvalidStatus):
                    StudioSocket(base, event.slug, user, origin=origin)
            fuzz_seconds = time.monotonic() - began

            # Still up, and still serving a well-behaved journalist.
            assert daphne.popen.poll() is None, "Daphne died"
            with urlopen(f"{base}/healthz", timeout=10) as response:
                assert response.status == 200
            studio = StudioSocket(base, event.slug, journalist)
            assert studio.start()["type"] == "ready"
            studio.stream(word_audio([7, 8, 9], word_seconds=0.3) + silence(1.0))
            final = studio.wait_for(lambda m: m["type"] == "transcript" and m["is_final"] and m["text"])
            assert final["text"] == "word7 word8 word9"
            studio.ws.send('{"type": "stop"}')
            assert studio.wait_closed() == Close.NORMAL
            assert Segment.objects.count() == 1
            print(
                f"fuzz: {SOCKETS} refused + {STARTED_SOCKETS} started sockets in {fuzz_seconds:.1f} s; closes {codes}; "
                f"closing handshakes the server aborted: {len(aborted_ports)}, "
                f"of which left without a close: {len(left_without_close)}"
            )
        finally:
            daphne.stop()
        daphne.assert_no_traceback()


# A fuzz finding pinned as a plain case, so a failure names the input. (The other, JSON nested past
# the parser's recursion limit, stays in the run above: in-process it takes pytest down with it.)


async def test_a_start_with_channels_true_is_refused(event, journalist):
    """JSON true is not the number 1 (Python's True == 1 lets it through a plain comparison)."""
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    answer = await studio.start(channels=True)
    assert answer["type"] == "error" and answer["code"] == "unsupported_format", answer
    assert await studio.wait_closed() == Close.UNSUPPORTED_FORMAT
    assert not await StreamSession.objects.filter(event=event).aexists()
