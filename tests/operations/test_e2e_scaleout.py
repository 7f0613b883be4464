"""The scale-out topology as a newsroom runs it: two Daphne processes, a Celery worker and one beat
against PostgreSQL and Redis. A journalist streams through process 1 while a reader watches through
process 2; process 1 is killed mid-stream and the studio resumes the same session through process 2."""

from __future__ import annotations

import json
import time
from itertools import pairwise
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from django.conf import settings
from django.db import connection

from publishing.models import Batch, Post
from tests.support.emulators.deepgram import EmulatorThread, silence, word_audio
from tests.support.factories import live_event
from tests.support.netclients import ReaderSocket, StudioSocket
from tests.support.processes import start_beat, start_daphne, start_worker, wait_until
from transcription.models import Segment, StreamSession

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("orm_beside_event_loop", "fresh_roles"),
]

SOON = 60.0  # s: a functional bound on a busy machine, not a speed claim


def utterance(n: int) -> bytes:
    """Three words the Deepgram emulator hears as word{10n+1..10n+3}, then a pause that ends the utterance."""
    return word_audio([10 * n + 1, 10 * n + 2, 10 * n + 3], word_seconds=0.4) + silence(1.0)


def words_of(n: int) -> list[str]:
    return [f"word{10 * n + k}" for k in (1, 2, 3)]


def test_two_daphnes_a_worker_and_one_beat_survive_losing_the_streaming_process(journalist):
    assert connection.vendor == "postgresql" and settings.REDIS_URL, "the scale-out topology needs both servers"
    event = live_event(
        journalist, title="Council budget", slug="council-budget", batch_interval_seconds=5, auto_publish=True
    )
    with EmulatorThread() as deepgram:
        env = {
            "BATCH_TICK_SECONDS": "1",
            "HOLD_DRAFTS_UNDER_WORDS": "1",  # a dozen spoken words make each post here
            "BATCH_MIN_WORDS": "1",
            "DEEPGRAM_API_KEY": deepgram.script.api_key,
            "DEEPGRAM_URL": deepgram.url,
        }
        first, first_port = start_daphne(**env)
        second, second_port = start_daphne(**env)
        others = [start_worker(**env), start_beat(**env)]
        try:
            one, two = f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{second_port}"
            reader = ReaderSocket(two, event.slug)

            studio = StudioSocket(one, event.slug, journalist)
            ready = studio.start()
            assert ready["type"] == "ready" and ready["provider"] == "deepgram", ready
            session_id = ready["session"]
            for n in range(4):
                studio.stream(utterance(n))
            studio.wait_for(lambda m: len(studio.finals()) >= 4, timeout=SOON)

            # The worker drafts, beat batched, and the post reaches the reader on the *other* process.
            deadline = time.monotonic() + SOON
            while not reader.post_ids():  # the microphone stays open meanwhile
                studio.stream(silence(1.0))
                assert time.monotonic() < deadline, "no post reached the reader through process 2"
            before_kill = {m["segment"]: m["text"] for m in studio.finals()}

            studio.stream(word_audio([41, 42], word_seconds=0.4))  # mid-utterance...
            first.kill()  # ...process 1 dies: no goodbye to anyone
            studio.wait_closed(timeout=SOON)

            resumed = StudioSocket(two, event.slug, journalist)
            again = resumed.start(session=session_id)
            assert again["type"] == "ready" and again["session"] == session_id and again["resumed"] is True, again
            for n in range(5, 8):
                resumed.stream(utterance(n))
            resumed.wait_for(lambda m: len(resumed.finals()) >= 3, timeout=SOON)
            resumed.ws.send('{"type": "stop"}')
            resumed.wait_for(lambda m: m["type"] == "stopped", timeout=SOON)

            # Nothing process 1 had stored is lost; the session continues in stream time.
            stored = {s.pk: s.text for s in Segment.objects.filter(pk__in=before_kill)}
            assert stored == before_kill
            segments = list(Segment.objects.filter(session_id=session_id).order_by("sequence"))
            assert [s.sequence for s in segments] == list(range(len(segments)))
            assert all(a.start <= b.start and a.end <= b.end for a, b in pairwise(segments))
            heard = " ".join(s.text for s in segments).split()
            for n in (0, 1, 2, 3, 5, 6, 7):
                for word in words_of(n):
                    assert heard.count(word) == 1, (word, heard)
            session = StreamSession.objects.get(pk=session_id)
            assert session.status == StreamSession.Status.ENDED and session.reconnects >= 1
            assert {m["segment"] for m in resumed.finals()} <= {s.pk for s in segments}

            # Every segment batched once, every batch one post, every post seen by the reader on process 2.
            wait_until(
                lambda: not Segment.objects.unbatched().filter(event=event).exists()
                and not Batch.objects.filter(event=event).exclude(status=Batch.Status.DRAFTED).exists(),
                SOON,
                second,
                *others,
                what="every segment batched and drafted",
            )
            posts = set(Post.objects.filter(event=event, status=Post.Status.PUBLISHED).values_list("pk", flat=True))
            assert len(posts) == Batch.objects.filter(event=event).count() >= 2
            reader.wait_for_posts(posts, timeout=SOON)

            # A reader without a socket (or a CDN in front of many) gets the same from the cursor endpoint.
            url = f"{two}/events/{event.slug}/posts.json?after=0"
            with urlopen(url, timeout=10) as response:
                answer, etag = json.load(response), response.headers["ETag"]
                assert "public" in response.headers["Cache-Control"] and etag
            assert {post["id"] for post in answer["posts"]} == posts
            with pytest.raises(HTTPError) as not_modified:
                urlopen(Request(url, headers={"If-None-Match": etag}), timeout=10)
            assert not_modified.value.code == 304
            reader.close()
            resumed.close()
        finally:
            for process in [first, second, *others]:
                process.stop()
        for process in [second, *others]:
            process.assert_no_traceback()
