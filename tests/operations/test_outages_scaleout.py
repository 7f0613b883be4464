"""Outage drills on the scale-out topology: a Daphne, a Celery worker with beat, the Deepgram emulator,
a journalist streaming through the studio socket and a reader following the event. Mid-stream, the
PostgreSQL server is stopped and started again (a fast shutdown, as a failover or a minor-version
restart does), or the Redis server is killed and restarted.

Each drill runs its own servers (a PostgreSQL cluster made with initdb in a temporary folder, a
redis-server), on free ports: the servers the rest of the suite uses are never touched."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import psycopg
import pytest

from publishing.models import Batch, Post
from tests.support.emulators.deepgram import EmulatorThread, silence, word_audio
from tests.support.netclients import ReaderSocket, StudioSocket
from tests.support.processes import (
    ROOT,
    Process,
    child_env,
    free_port,
    prepare_data_dir,
    start_beat,
    start_daphne,
    start_worker,
    wait_for_port,
    wait_until,
)

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

SOON = 60.0  # s: a functional bound on a busy machine, not a speed claim
UTTERANCES = 36  # about 0.9 s each: a 32 s stream
OUTAGE_FROM, OUTAGE_UNTIL = 9, 18  # the server is down while these utterances are spoken (about 8 s)
SLUG = "outage-drill"

SEED = f"""
from django.contrib.auth.models import Group, User
from events.roles import JOURNALISTS, create_roles
from tests.support.emulators.studio import session_cookie
from tests.support.factories import live_event

create_roles()
user = User.objects.create_user("jo", password="jo-password-123")
user.groups.add(Group.objects.get(name=JOURNALISTS))
live_event(user, title="Outage drill", slug="{SLUG}", batch_interval_seconds=5, auto_publish=True)
print(session_cookie(user))
"""


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, trust auth, on a free loopback port."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        assert found, "initdb not found under /usr/lib/postgresql/*/bin: install postgresql (scripts/test.sh does)"
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="lb-outage-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE liveblog")

    def url(self, name: str = "liveblog") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, program: str, *args: str) -> None:
        command = _as_postgres([str(self.bin / program), *args])
        subprocess.run(command, check=True, capture_output=True, cwd=self.dir, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    def __init__(self):
        self.port = free_port()
        self.process: Process | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = Process("redis", args, dict(os.environ))
        wait_for_port(self.port, process=self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()


def utterance(n: int) -> bytes:
    """One word the Deepgram emulator hears as `word<n>`, then a pause that makes it a final."""
    return word_audio([n]) + silence(0.5)


def health(base: str) -> int:
    try:
        with urlopen(f"{base}/healthz", timeout=15) as response:
            return response.status
    except HTTPError as error:
        return error.code


def page_status(base: str) -> int:
    try:
        with urlopen(f"{base}/events/{SLUG}/", timeout=15) as response:
            return response.status
    except HTTPError as error:
        return error.code


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


class Newsroom:
    """What the drill reads back from the private database."""

    def __init__(self, url: str):
        self.url = url

    def rows(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()

    def segments(self, session_id: int) -> list[tuple[int, str, int | None]]:
        return self.rows(
            "SELECT sequence, text, batch_id FROM transcription_segment WHERE session_id = %s ORDER BY sequence",
            session_id,
        )

    def all_drafted(self) -> bool:
        [(unbatched, undrafted, unpublished)] = self.rows(
            "SELECT (SELECT count(*) FROM transcription_segment WHERE batch_id IS NULL),"
            " (SELECT count(*) FROM publishing_batch WHERE status <> %s),"
            " (SELECT count(*) FROM publishing_post WHERE status <> %s)",
            Batch.Status.DRAFTED,
            Post.Status.PUBLISHED,
        )
        return unbatched == undrafted == unpublished == 0

    def published_posts(self) -> dict[int, int]:
        """Each published post's batch."""
        return dict(self.rows("SELECT id, batch_id FROM publishing_post WHERE status = %s", Post.Status.PUBLISHED))

    def batches(self) -> list[int]:
        return [row[0] for row in self.rows("SELECT id FROM publishing_batch")]


@pytest.fixture
def servers(tmp_path):
    postgres, redis = PrivatePostgres(), PrivateRedis()
    try:
        yield postgres, redis, tmp_path
    finally:
        if redis.process is not None:
            redis.process.stop()
        postgres.remove()


@pytest.mark.parametrize("outage", ["postgresql", "redis"])
def test_a_server_restart_mid_stream_loses_no_final_and_no_post(servers, outage):
    postgres, redis, data_dir = servers
    with EmulatorThread() as deepgram:
        env = {
            "DATABASE_URL": postgres.url(),
            "REDIS_URL": redis.url,
            # The drill's own audio archive and files: its session ids are those of its own database.
            "LIVEBLOG_DATA_DIR": str(data_dir),
            "BATCH_TICK_SECONDS": "1",
            "HOLD_DRAFTS_UNDER_WORDS": "0",  # a batch of this drill's one-word utterances is short
            "BATCH_MIN_WORDS": "0",
            "DEEPGRAM_API_KEY": deepgram.script.api_key,
            "DEEPGRAM_URL": deepgram.url,
        }
        prepare_data_dir(child_env(**env))
        manage(child_env(**env), "migrate", "--noinput")
        cookie = manage(child_env(**env), "shell", "-c", SEED).strip().splitlines()[-1]
        daphne, port = start_daphne(**env)
        others = [start_worker(**env), start_beat(**env)]
        newsroom = Newsroom(postgres.url())
        figures = {"sent": UTTERANCES}
        try:
            base = f"http://127.0.0.1:{port}"
            assert health(base) == 200
            reader = ReaderSocket(base, SLUG)
            assert page_status(base) == 200
            studio = StudioSocket(base, SLUG, cookie=cookie)
            ready = studio.start()
            assert ready["type"] == "ready" and ready["provider"] == "deepgram", ready
            session_id = ready["session"]

            for n in range(1, UTTERANCES + 1):
                if n == OUTAGE_FROM:
                    if outage == "postgresql":
                        postgres.stop()
                        figures["cached page during outage"] = page_status(base)
                        assert figures["cached page during outage"] == 200, "a cached reader page is still served"
                    else:
                        redis.kill()
                if n == OUTAGE_UNTIL:
                    if outage == "postgresql":
                        # The studio was told, and the load balancer sees the database gone.
                        delayed = studio.wait_for(lambda m: m["type"] == "status" and m["storage"] == "delayed")
                        figures["waiting at first delayed status"] = delayed["waiting"]
                        assert health(base) == 503
                        figures["stored during outage"] = len(studio.finals()) - (OUTAGE_FROM - 1)
                        postgres.start()
                    else:
                        redis.start()
                studio.stream(utterance(n))
                assert not studio.closed, f"the studio socket closed at utterance {n}: {studio.messages[-5:]}"

            studio.wait_for(lambda m: len(studio.finals()) >= UTTERANCES, timeout=SOON)
            studio.ws.send('{"type": "stop"}')
            studio.wait_for(lambda m: m["type"] == "stopped", timeout=SOON)
            assert studio.wait_closed(SOON) == 1000

            # Every word stored once, in order, and each final shown to the journalist only as stored.
            segments = newsroom.segments(session_id)
            figures["stored"] = len(segments)
            assert [s[0] for s in segments] == list(range(len(segments)))
            assert [s[1] for s in segments] == [f"word{n}" for n in range(1, UTTERANCES + 1)]
            assert [m["sequence"] for m in studio.finals()] == list(range(UTTERANCES))
            states = [m["storage"] for m in studio.messages if m["type"] == "status"]
            told = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
            assert told == (["saved", "delayed", "saved"] if outage == "postgresql" else ["saved"]), told

            # Beat batched every segment once, the worker drafted each batch once, all published and seen.
            wait_until(lambda: newsroom.all_drafted(), SOON, daphne, *others, what="every segment drafted")
            posts = newsroom.published_posts()
            assert sorted(posts.values()) == sorted(newsroom.batches()), "one post per batch"
            assert {s[2] for s in segments} <= set(posts.values())
            figures["published"] = sum(1 for s in segments if s[2] in set(posts.values()))
            figures["posts"] = len(posts)
            reader.wait_for_posts(set(posts), timeout=SOON)
            assert not reader.closed, "the reader's socket stayed open"
            assert health(base) == 200
            print(f"\noutage drill ({outage}): {figures}")
            assert figures["published"] == figures["stored"] == figures["sent"]
            reader.close()
        finally:
            for process in [daphne, *others]:
                process.stop()
