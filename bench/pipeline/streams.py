"""Live streams for the many-events benchmark: a process that stores each stream's finals at speaking pace,
as the web processes' store does (one committed insert per final), so the beat's tick runs beside real writes."""

import multiprocessing
import os
import time

from bench import children

WORDS_PER_FINAL = 10  # about 4 s of speech at 150 words a minute


def feed(sessions: list[tuple[int, int]], every: float, seconds: float, ready, stop) -> None:
    """In the child: a final for each (session id, event id) every `every` s, spread evenly, for `seconds` s."""
    children.in_child()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")
    import django

    django.setup()
    from bench.pipeline.setup import speech
    from transcription.models import Segment

    gap = every / max(len(sessions), 1)
    ready.set()
    began = time.monotonic()
    sequence = 1000  # after the segments each session was seeded with
    while time.monotonic() - began < seconds and not stop.is_set():
        for n, (session_id, event_id) in enumerate(sessions):
            due = began + (sequence - 1000) * every + n * gap
            time.sleep(max(0.0, due - time.monotonic()))
            if stop.is_set():
                return
            Segment.objects.create(
                session_id=session_id,
                event_id=event_id,
                sequence=sequence,
                text=speech(WORDS_PER_FINAL, sequence + n),
                start=sequence * every,
                end=(sequence + 1) * every,
            )
        sequence += 1


class Streams:
    """The feeding process, started and stopped with the bench (its own connection: spawned, not forked)."""

    def __init__(self, sessions: list[tuple[int, int]], every: float, seconds: float):
        context = multiprocessing.get_context("spawn")
        self.ready, self.stop_flag = context.Event(), context.Event()
        self.process = context.Process(
            target=feed, args=(sessions, every, seconds, self.ready, self.stop_flag), daemon=True
        )

    def __enter__(self) -> "Streams":
        self.process.start()
        children.track(self.process)
        if not self.ready.wait(120):
            raise RuntimeError("the streams' process did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.stop_flag.set()
        self.process.join(30)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
