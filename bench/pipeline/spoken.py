"""The speech-to-reader clock: from words spoken into the studio socket to their post arriving on a reader's socket.

Everything runs as deployed: a real Daphne serves the studio, the draft queue and the readers (speech recognized
by the Deepgram emulator), a real Celery worker drafts through the Mavera emulator, and beat runs the batching
tick. The journalists' audio goes at real-time pace, with its capture time as the studio page sends it (`clock`);
a post's spoken time is when its first words were said (`Post.spoken_from`). Two paths, an event each, at once:
* auto-published drafts: an event with auto-publish on, batched every `interval` seconds;
* flashed quotes: the journalist flashes a line as soon as it is stored; an editor with the draft queue open (its
  socket, then the page, as the browser fetches it) clicks its publish button 2 s after the quote appears there.
"""

import asyncio
import contextlib
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench import children, topology
from bench.fanout.stack import ROOT, Daphne, celery_worker, free_port, percentile, wait_port

EDITOR_SECONDS = 2.0  # from the quote appearing in the editor's queue to the click on publish
FLASH_EVERY = 2  # the journalist flashes every second line the speaker says
SPEAKER = "Jane Doe"
SENTENCE_WORDS = 8
# About 3 words a second: a 15 s interval holds settings.BATCH_MIN_WORDS (40), so each interval makes a post.
WORD_SECONDS, GAP_SECONDS, PAUSE_SECONDS = 0.15, 0.1, 0.6
CLOCK_EVERY_SECONDS = 10.0  # as the studio page sends `clock`
FRAME = 3200  # 100 ms of 16 kHz mono linear16
FRAME_SECONDS = 0.1
API_KEY = "bench-key"
START = {"type": "start", "encoding": "linear16", "sample_rate": 16000, "channels": 1}


@dataclass(frozen=True)
class Plan:
    """How many of each path's posts to time."""

    quotes: int
    drafts: int
    interval: int  # the auto-publishing event's batch_interval_seconds


@dataclass(frozen=True)
class Desk:
    """The two live events and the session cookies of who works them."""

    drafts_slug: str
    quotes_slug: str
    quotes_id: int
    drafts_journalist: str
    quotes_journalist: str
    editor: str


@dataclass(frozen=True)
class Clock:
    """Seconds from spoken to reader, per post."""

    quotes: list[float]
    drafts: list[float]


def newsroom(interval: int) -> Desk:
    """Two live events, each with a journalist of its own, and an editor."""
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from bench.pipeline.setup import live_event
    from events.roles import EDITORS, JOURNALISTS
    from tests.support.emulators.studio import session_cookie

    # Ids no other run used: a shared Redis keys leases and channel groups by them.
    drafts = live_event(
        topology.unique_slug("clock-drafts"),
        pk=random.randrange(10**6, 2**31),
        auto_publish=True,
        batch_interval_seconds=interval,
    )
    # No AI drafts on the quotes' event: its interval is the longest, and begins now.
    quotes = live_event(
        topology.unique_slug("clock-quotes"),
        pk=random.randrange(10**6, 2**31),
        diarize=True,
        batch_interval_seconds=3600,
        last_batched_at=timezone.now(),
    )
    cookies = []
    for event in (drafts, quotes):
        journalist = User.objects.create_user(topology.unique_slug("journalist"))
        journalist.groups.add(Group.objects.get(name=JOURNALISTS))
        event.journalists.add(journalist)
        cookies.append(session_cookie(journalist))
    editor = User.objects.create_user(topology.unique_slug("editor"), is_staff=True)
    editor.groups.add(Group.objects.get(name=EDITORS))
    return Desk(drafts.slug, quotes.slug, quotes.pk, *cookies, session_cookie(editor))


@contextlib.contextmanager
def servers(env: dict[str, str], concurrency: int):
    """The Deepgram and Mavera emulators, Daphne, a Celery worker and beat; yields Daphne's origin."""
    from tests.support.emulators.mavera import MaveraEmulator

    quiet = {"cwd": ROOT, "stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
    port = free_port()
    with MaveraEmulator() as mavera:
        deepgram = children.spawn(
            [sys.executable, "-m", "tests.support.emulators.deepgram", "--port", str(port), "--api-key", API_KEY],
            env=env,
            **quiet,
        )
        started = [deepgram]
        try:
            wait_port(port, deepgram)
            env = {
                **env,
                "DEEPGRAM_API_KEY": API_KEY,
                "DEEPGRAM_URL": f"ws://127.0.0.1:{port}/v1/listen",
                "MAVERA_API_KEY": "mvra_live_bench",
                "MAVERA_BASE_URL": mavera.base_url,
            }
            daphne = Daphne(env)
            started.append(daphne.popen)
            started.append(celery_worker(env, concurrency))
            beat = [sys.executable, "-m", "celery", "-A", "liveblog_site", "beat", "--loglevel=WARNING"]
            started.append(children.spawn(beat, env=env, **quiet))
            yield daphne.origin
        finally:
            children.stop(*started, timeout=30)


# --- the journalist's studio socket ------------------------------------------------------------------


def sentence(first_word: int) -> bytes:
    """One line of speech the Deepgram emulator recognizes word by word, then the pause that ends it."""
    from tests.support.emulators.deepgram import silence, word_audio

    words = [(first_word + n) % 300 + 1 for n in range(SENTENCE_WORDS)]
    return word_audio(words, word_seconds=WORD_SECONDS, gap_seconds=GAP_SECONDS) + silence(PAUSE_SECONDS)


def socket_url(origin: str, path: str) -> str:
    return origin.replace("http://", "ws://", 1) + path


async def speak(socket: ClientConnection) -> None:
    """Live speech until cancelled: 100 ms frames at real-time pace, each sent once whole, with a `clock` saying
    when its first sample was captured before the first and then every 10 s of audio."""
    loop = asyncio.get_running_loop()
    audio, word, frame, clock_at = bytearray(), 0, 0, None
    began = loop.time()
    while True:
        if len(audio) < FRAME:
            audio += sentence(word)
            word += SENTENCE_WORDS
        await asyncio.sleep(max(0.0, began + (frame + 1) * FRAME_SECONDS - loop.time()))
        if clock_at is None or frame * FRAME_SECONDS - clock_at >= CLOCK_EVERY_SECONDS:
            await socket.send(json.dumps({"type": "clock", "captured_at": time.time() - FRAME_SECONDS}))
            clock_at = frame * FRAME_SECONDS
        await socket.send(bytes(audio[:FRAME]))
        del audio[:FRAME]
        frame += 1


async def next_of(socket: ClientConnection, kind: str) -> dict:
    while (message := json.loads(await socket.recv()))["type"] != kind:
        if message["type"] == "error":
            raise RuntimeError(f"the studio socket refused: {message}")
    return message


async def listen(socket: ClientConnection, finals: asyncio.Queue | None) -> None:
    """Every message read (a socket not read stops the server's sends); finals stored, to `finals`."""
    async for raw in socket:
        message = json.loads(raw)
        if message["type"] == "error":
            raise RuntimeError(f"the studio socket failed: {message}")
        if finals is not None and message["type"] == "transcript" and message["is_final"]:
            finals.put_nowait(message)


@contextlib.asynccontextmanager
async def streaming(origin: str, slug: str, cookie: str, finals: asyncio.Queue | None = None) -> AsyncIterator[None]:
    """A journalist speaking into the studio socket while the block runs (naming the speaker first when quoting);
    then `stop`, which stores every final."""
    headers = {"Origin": origin, "Cookie": f"sessionid={cookie}"}
    async with connect(socket_url(origin, f"/ws/studio/{slug}/"), additional_headers=headers) as socket:
        await socket.send(json.dumps(START))
        await next_of(socket, "ready")
        if finals is not None:
            await socket.send(json.dumps({"type": "name_speaker", "speaker": 0, "name": SPEAKER}))
            await next_of(socket, "speaker_named")
        speaking = asyncio.create_task(speak(socket))
        listening = asyncio.create_task(listen(socket, finals))
        try:
            yield
        finally:
            speaking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await speaking
            if not listening.done():
                await socket.send(json.dumps({"type": "stop"}))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(listening), 30)
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening


# --- the reader, the editor and the journalist's quotes ---------------------------------------------


@contextlib.asynccontextmanager
async def reading(origin: str, slug: str, arrived: dict[int, float]) -> AsyncIterator[None]:
    """A reader's socket open while the block runs: when each post first arrived on it, by post id."""

    async def read(socket: ClientConnection) -> None:
        async for raw in socket:
            now = time.time()
            for post in json.loads(raw).get("posts", []):
                arrived.setdefault(post["id"], now)

    async with connect(socket_url(origin, f"/ws/events/{slug}/"), additional_headers={"Origin": origin}) as socket:
        await socket.send(json.dumps({"type": "hello", "cursor": 0}))
        reader = asyncio.create_task(read(socket))
        try:
            yield
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


def browser(origin: str, cookie: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=origin, cookies={"sessionid": cookie}, headers={"Origin": origin}, timeout=30)


class Editor:
    """An editor with the event's draft queue open. Its socket says the queue changed; the page is then fetched, as
    the browser does, and a quote found on it is published with its button `EDITOR_SECONDS` later."""

    def __init__(self, http: httpx.AsyncClient, socket: ClientConnection, event_id: int):
        self.http, self.socket = http, socket
        self.page = f"/admin/publishing/post/queue/{event_id}/"
        self.notices = 0
        self.noticed = asyncio.Condition()

    async def watch(self) -> None:
        async for _message in self.socket:
            async with self.noticed:
                self.notices += 1
                self.noticed.notify_all()

    async def publish_when_queued(self, post_id: int, seen: int) -> None:
        """Publishes the post 2 s after the page shows it; `seen`: the notices before it was flashed."""
        while True:
            async with self.noticed:
                await self.noticed.wait_for(lambda seen=seen: self.notices > seen)
                seen = self.notices
            page = await self.http.get(self.page)
            page.raise_for_status()
            if f'id="post-{post_id}"' in page.text:
                break
        await asyncio.sleep(EDITOR_SECONDS)
        form = {"csrfmiddlewaretoken": self.http.cookies["csrftoken"], "op": "publish", "post": str(post_id)}
        answer = await self.http.post(self.page, data=form)
        if answer.status_code != 302:
            raise RuntimeError(f"the queue refused to publish post {post_id}: {answer.status_code}")


@contextlib.asynccontextmanager
async def queue_open(origin: str, desk: Desk) -> AsyncIterator[Editor]:
    async with browser(origin, desk.editor) as http:
        (await http.get(f"/admin/publishing/post/queue/{desk.quotes_id}/")).raise_for_status()  # its CSRF cookie
        url = socket_url(origin, f"/ws/queue/{desk.quotes_id}/")
        headers = {"Origin": origin, "Cookie": f"sessionid={desk.editor}"}
        async with connect(url, additional_headers=headers) as socket:
            editor = Editor(http, socket, desk.quotes_id)
            watching = asyncio.create_task(editor.watch())
            try:
                yield editor
            finally:
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching


async def flash(http: httpx.AsyncClient, slug: str, final: dict) -> int:
    """The studio's "Post quote" on one stored line: the new post's id."""
    answer = await http.post(
        f"/studio/{slug}/quotes/",
        data={"segment": str(final["segment"])},
        headers={"X-CSRFToken": http.cookies["csrftoken"]},
    )
    if answer.status_code != 201:
        raise RuntimeError(f"the studio refused the quote: {answer.status_code} {answer.text}")
    return answer.json()["post"]["id"]


async def until(check: Callable[[], bool], seconds: float, failure: str) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise SystemExit(failure)
        await asyncio.sleep(0.05)


# --- the two paths -------------------------------------------------------------------------------------


async def quotes_path(origin: str, desk: Desk, count: int) -> dict[int, float]:
    """`count` quotes flashed and published from the queue: when each reached the reader."""
    arrived: dict[int, float] = {}
    finals: asyncio.Queue = asyncio.Queue()
    async with (
        browser(origin, desk.quotes_journalist) as http,
        queue_open(origin, desk) as editor,
        reading(origin, desk.quotes_slug, arrived),
        streaming(origin, desk.quotes_slug, desk.quotes_journalist, finals),
    ):
        (await http.get(f"/studio/{desk.quotes_slug}/")).raise_for_status()  # the studio page: its CSRF cookie
        flashed: list[int] = []
        editing: list[asyncio.Task] = []
        lines = 0
        while len(flashed) < count:
            final = await asyncio.wait_for(finals.get(), 30)
            lines += 1
            if lines % FLASH_EVERY:
                continue
            seen = editor.notices
            flashed.append(await flash(http, desk.quotes_slug, final))
            editing.append(asyncio.create_task(editor.publish_when_queued(flashed[-1], seen)))
        await asyncio.wait_for(asyncio.gather(*editing), 60)
        await until(lambda: set(flashed) <= set(arrived), 30, "a published quote never reached the reader")
    return {post_id: arrived[post_id] for post_id in flashed}


async def drafts_path(origin: str, desk: Desk, count: int, interval: int) -> dict[int, float]:
    """Speech until `count` auto-published drafts have reached the reader: when each did."""
    arrived: dict[int, float] = {}
    async with (
        reading(origin, desk.drafts_slug, arrived),
        streaming(origin, desk.drafts_slug, desk.drafts_journalist),
    ):
        seconds = 60 + count * (2 * interval + 30)
        failure = f"fewer than {count} auto-published drafts reached the reader in {seconds} s"
        await until(lambda: len(arrived) >= count, seconds, failure)
        first = sorted(arrived.items(), key=lambda item: item[1])[:count]
    return dict(first)


async def both_paths(origin: str, desk: Desk, plan: Plan) -> tuple[dict[int, float], dict[int, float]]:
    return await asyncio.gather(
        quotes_path(origin, desk, plan.quotes), drafts_path(origin, desk, plan.drafts, plan.interval)
    )


def spoken_to_reader(arrived: dict[int, float], kind: str) -> list[float]:
    """Seconds from each post's first words spoken to its arrival on the reader's socket."""
    from publishing.models import Post

    posts = Post.objects.filter(pk__in=arrived, kind=kind).values_list("pk", "spoken_from")
    times = [arrived[pk] - spoken.timestamp() for pk, spoken in posts if spoken is not None]
    if len(times) != len(arrived):
        raise SystemExit(f"{len(arrived) - len(times)} of {len(arrived)} posts have no spoken time or another kind")
    return times


def run_clock(env: dict[str, str], concurrency: int, plan: Plan) -> Clock:
    from publishing.models import Post

    desk = newsroom(plan.interval)
    with servers(env, concurrency) as origin:
        quoted, drafted = asyncio.run(both_paths(origin, desk, plan))
    return Clock(spoken_to_reader(quoted, Post.Kind.QUOTE), spoken_to_reader(drafted, Post.Kind.DRAFTED))


def report(clock: Clock, plan: Plan) -> None:
    quotes50, drafts50 = statistics.median(clock.quotes), statistics.median(clock.drafts)
    print(f"flashed quote: spoken → reader p50 {quotes50:.1f} s, p95 {percentile(clock.quotes, 95):.1f} s")
    print(f"auto-published draft: spoken → reader p50 {drafts50:.1f} s, p95 {percentile(clock.drafts, 95):.1f} s")
    drafts_target = plan.interval + 15
    print(
        f"targets (quotes: {len(clock.quotes)}, drafts: {len(clock.drafts)}, batch interval {plan.interval} s): "
        f"flashed quote p50 ≤ 10 s {'met' if quotes50 <= 10 else 'NOT met'}; "
        f"auto-published draft p50 ≤ {drafts_target} s {'met' if drafts50 <= drafts_target else 'NOT met'}"
    )
