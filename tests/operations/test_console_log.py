"""What the processes print at INFO: a real worker and beat nothing per tick while there is nothing to do, one line
for a drafted batch and one for its post going live; the web process one line as a stream starts and one as it stops."""

import logging
import re
import time

import pytest

from publishing.models import Post
from tests.support import factories
from tests.support.drafting import SENTENCES, add_segments
from tests.support.emulators.studio import Studio
from tests.support.processes import empty_broker_queue, start_beat, start_worker, wait_until

IDLE_SECONDS = 12
TICK = "1"  # twelve ticks of the beat, and one publishing of due posts, while idle


def info_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(r"\bINFO\b", line)]


def shape(line: str) -> str:
    """The line without its time, ids and numbers: a line logged at every tick has one shape."""
    line = re.sub(r"^\[?\d{4}-\d\d-\d\d[ T][\d:,.]+:?", "", line)
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d+(\.\d+)?", "#", line)


@pytest.fixture
def worker_and_beat():
    empty_broker_queue()
    processes = [start_worker(BATCH_TICK_SECONDS=TICK), start_beat(BATCH_TICK_SECONDS=TICK)]
    yield processes
    for process in processes:
        process.stop()
    for process in processes:
        process.assert_no_traceback()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_console_shows_what_happened_not_each_tick(journalist, worker_and_beat):
    worker, beat = worker_and_beat
    wait_until(lambda: " ready." in worker.output() and "beat: Starting" in beat.output(), 60, worker, beat)
    started = {process: len(process.output()) for process in worker_and_beat}
    time.sleep(IDLE_SECONDS)
    idle = [line for process in worker_and_beat for line in info_lines(process.output()[started[process] :])]
    assert idle == [], "\n".join(idle)
    shapes = [shape(line) for process in worker_and_beat for line in info_lines(process.output())]
    assert sorted({s for s in shapes if shapes.count(s) > 1}) == []

    event = factories.live_event(journalist, title="Keynote", slug="keynote", auto_publish=True)
    add_segments(event, SENTENCES)
    wait_until(lambda: Post.objects.filter(event=event, status=Post.Status.PUBLISHED).exists(), 60, worker, beat)
    post = Post.objects.get(event=event)
    time.sleep(2)  # a tick or two more: still nothing per tick
    told = [line for process in worker_and_beat for line in info_lines(process.output()[started[process] :])]
    assert len(told) == 2, "\n".join(told)
    assert re.search(rf"batch {post.batch_id} drafted on keynote: post {post.pk}, \d+ words", told[0])
    assert told[1].endswith(f"post {post.pk} published on keynote")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles", "media")
async def test_a_stream_logs_one_line_as_it_starts_and_one_as_it_stops(deepgram, event, journalist, caplog):
    caplog.set_level(logging.INFO)
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    session = (await studio.start())["session"]
    await studio.stop()
    await studio.disconnect()
    told = [r.getMessage() for r in caplog.records if r.name.startswith("transcription") and r.levelno == logging.INFO]
    assert told == [
        f"session {session}: stream started on keynote (deepgram)",
        f"session {session}: stream ended on keynote",
    ]
