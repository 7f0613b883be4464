"""Scale-out: two Daphne processes on Redis and PostgreSQL. A post published in a third process
reaches readers on both through the Redis channel layer (no polling in this mode)."""

import json
import statistics
import threading
import time

import httpx
import pytest
import websockets.sync.client as ws_client
from django.conf import settings
from django.core.cache import cache

from publishing.models import Post
from tests.support.processes import start_daphne

pytestmark = [pytest.mark.scaleout, pytest.mark.django_db(transaction=True)]

READERS_PER_SERVER = 10
POSTS = 5


class Listener(threading.Thread):
    """One reader socket; remembers when each post id first arrived."""

    def __init__(self, url: str, origin: str, cursor: int):
        super().__init__(daemon=True)
        self.socket = ws_client.connect(url, origin=origin)
        self.socket.send(json.dumps({"type": "hello", "cursor": cursor}))
        self.arrivals: dict[int, float] = {}
        self.seen: list[int] = []

    def run(self) -> None:
        try:
            for text in self.socket:
                now = time.monotonic()
                for post in json.loads(text)["posts"]:
                    self.seen.append(post["id"])
                    self.arrivals.setdefault(post["id"], now)
        except Exception:  # closed at the end of the test
            return


def test_a_post_reaches_readers_on_every_process_through_redis(event):
    assert settings.REDIS_URL and "Redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"]
    cache.clear()
    servers = [start_daphne() for _ in range(2)]
    listeners: list[Listener] = []
    try:
        for _, port in servers:
            for _ in range(READERS_PER_SERVER):
                listener = Listener(
                    f"ws://127.0.0.1:{port}/ws/events/{event.slug}/", f"http://127.0.0.1:{port}", event.change_seq
                )
                listener.start()
                listeners.append(listener)
        time.sleep(1)  # every reader has said hello and joined its server's group

        latencies = []
        for n in range(POSTS):
            post = Post.objects.create(event=event, body=f"Scale-out update {n}.")
            published = time.monotonic()
            post.publish()  # this test process is neither server: the notice goes through Redis
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not all(post.pk in item.arrivals for item in listeners):
                time.sleep(0.005)
            assert all(post.pk in item.arrivals for item in listeners), f"post {n} did not reach every reader"
            latencies.append(max(item.arrivals[post.pk] for item in listeners) - published)

        for listener in listeners:
            assert len(listener.seen) == len(set(listener.seen)) == POSTS  # each post once
        p50 = statistics.median(latencies)
        print(f"last-reader latency over Redis, 2 servers × {READERS_PER_SERVER} readers: p50 {p50:.3f} s")
    finally:
        for listener in listeners:
            listener.socket.close()
        for process, _ in servers:
            process.stop()
            process.assert_no_traceback()


def test_every_process_serves_the_new_page_after_a_change_made_elsewhere(event):
    cache.clear()
    post = Post.objects.create(event=event, body="Original words.")
    post.publish()
    servers = [start_daphne() for _ in range(2)]
    try:
        pages = [f"http://127.0.0.1:{port}/events/{event.slug}/" for _, port in servers]
        for url in pages * 2:  # the second round from each process's memory
            assert "Original words." in httpx.get(url).text
        post.edit(None, headline="", body="Corrected words.")  # this process is neither server
        for url in pages:
            html = httpx.get(url).text
            assert "Corrected words." in html and "Original words." not in html
    finally:
        for process, _ in servers:
            process.stop()
            process.assert_no_traceback()
