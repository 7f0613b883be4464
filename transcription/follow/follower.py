"""The follower process (`manage.py follow_streams`): claims the follows journalists ask for and runs each on its
event loop, ffmpeg into a Relay as the studio socket drives one, until stopped, failed or handed back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import shutil
import socket
import time

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from transcription.feed import Feed
from transcription.follow import addresses, follows, notices
from transcription.follow.proxy import GuardedProxy, allowed_by_settings
from transcription.follow.source import Connection, child_env, ffmpeg_args
from transcription.models import StreamFollow, StreamSession
from transcription.protocol import Start, StudioError
from transcription.relay import Relay

logger = logging.getLogger(__name__)

Status = StreamFollow.Status
PACE = 1.25  # a backlog (a live playlist's first segments) goes to the recognizer at most this fast, as the studio's
BACKOFF_MAX_SECONDS = 30.0


def backoff(attempt: int) -> float:
    """Seconds before try `attempt` + 1: from STREAM_FOLLOW_BACKOFF_SECONDS doubling to 30 s, with jitter."""
    base = min(BACKOFF_MAX_SECONDS, settings.STREAM_FOLLOW_BACKOFF_SECONDS * 2 ** (attempt - 1))
    return base * random.uniform(0.75, 1.0)


class Follower:
    def __init__(self, name: str = ""):
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:100]
        self.running: dict[int, Following] = {}
        self.proxy = GuardedProxy(allowed_by_settings(settings.STREAM_FOLLOW_ALLOW_PRIVATE))
        self.nudged = asyncio.Event()
        self._renewed = 0.0

    async def run(self, stopping: asyncio.Event) -> None:
        """Claim and run follows until `stopping` is set; then hand every one back for a follower to resume."""
        await self.proxy.start()
        listener = asyncio.create_task(self._listen(), name="follower-notices")
        logger.info("follower %s: ready", self.name)
        if shutil.which("ffmpeg") is None:
            logger.error("follower %s: ffmpeg is not installed: every follow will fail", self.name)
        try:
            while not stopping.is_set():
                self.nudged.clear()
                try:
                    await self._tick()
                except Exception:  # the database is away: the next tick tries again
                    logger.exception("follower %s: could not check the follows", self.name)
                waits = [asyncio.ensure_future(stopping.wait()), asyncio.ensure_future(self.nudged.wait())]
                await asyncio.wait(waits, timeout=settings.STREAM_FOLLOW_POLL_SECONDS, return_when="FIRST_COMPLETED")
                for waiting in waits:
                    waiting.cancel()
        finally:
            listener.cancel()
            await asyncio.gather(*(following.leave() for following in list(self.running.values())))
            await self.proxy.close()
            logger.info("follower %s: stopped", self.name)

    async def _tick(self) -> None:
        running = list(self.running)
        if running and time.monotonic() - self._renewed >= settings.STREAM_FOLLOW_CLAIM_SECONDS / 4:
            held = await database_sync_to_async(follows.renew)(running, self.name)
            self._renewed = time.monotonic()
            for follow_id in running:
                if follow_id not in held and follow_id in self.running:
                    self.running[follow_id].lose()
        if running:
            for follow_id, wanted in (await database_sync_to_async(follows.wanted)(running)).items():
                following = self.running.get(follow_id)
                if following is not None and wanted.event_ended:
                    following.stop(event_ended=True)
                elif following is not None and wanted.stop:
                    following.stop()
        room = settings.STREAM_FOLLOW_MAX_STREAMS - len(self.running)
        if room <= 0:
            return
        for follow_id in await database_sync_to_async(follows.claimable)():
            if follow_id in self.running:
                continue
            follow = await database_sync_to_async(follows.claim)(follow_id, self.name)
            if follow is None:
                continue  # another follower took it first
            self.running[follow_id] = Following(self, follow)
            room -= 1
            if room <= 0:
                return

    async def _listen(self) -> None:
        """Requests and stops announced through the channel layer wake the loop at once (Redis; else it polls)."""
        layer = get_channel_layer()
        if layer is None:
            return
        channel = await layer.new_channel("follower.")
        try:
            await layer.group_add(notices.FOLLOWERS, channel)
            while True:
                await layer.receive(channel)
                self.nudged.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("follower %s: not listening to the channel layer; polling only", self.name, exc_info=True)
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(notices.FOLLOWERS, channel)


class Following:
    """One follow on this follower: its relay, its ffmpeg connections one after another, and its row."""

    def __init__(self, follower: Follower, follow: StreamFollow):
        self.follower = follower
        self.follow = follow
        self.id = follow.pk
        self.status = ""  # the first audio makes it live, whatever the row said before this follower
        self.event_ended = False
        self.leaving = False  # hand the follow back (this follower stops) instead of ending it
        self.lost = False  # another follower holds it now: leave its row alone
        self.failure: StudioError | None = None
        self.wanted_stop = asyncio.Event()
        if follow.stop_requested:  # asked to stop while no follower ran it: its session is ended properly
            self.wanted_stop.set()
        self.connection: Connection | None = None
        self.relay: Relay | None = None
        self.task = asyncio.create_task(self._run(), name=f"follow-{follow.pk}")

    def stop(self, *, event_ended: bool = False) -> None:
        """End the follow: the journalist stopped it, or the event ended."""
        if not self.wanted_stop.is_set():
            self.event_ended = event_ended
            self._interrupt()

    def lose(self) -> None:
        self.lost = self.leaving = True
        self._interrupt()

    async def leave(self) -> None:
        """The follower is stopping: the session is kept open and the follow handed back to be resumed."""
        self.leaving = True
        self._interrupt()
        await self.task

    def _interrupt(self) -> None:
        self.wanted_stop.set()
        if self.connection is not None:
            asyncio.get_running_loop().create_task(self.connection.close())

    @property
    def proxy_key(self) -> int:
        return self.id

    async def _run(self) -> None:
        # What the journalist reads is in the language they asked in (this task's own context).
        translation.activate(self.follow.language or settings.LANGUAGE_CODE)
        try:
            await self._follow()
        except Exception:
            logger.exception("follow %s: failed", self.id)
            with contextlib.suppress(Exception):
                if self.relay is not None:
                    await self.relay.stop(
                        StreamSession.Status.FAILED, error=_("The follower failed; start following again.")
                    )
                await self._finish(Status.FAILED, _("The follower failed; start following again."))
        finally:
            self.follower.proxy.forget(self.proxy_key)
            self.follower.running.pop(self.id, None)

    async def _follow(self) -> None:
        follow = self.follow
        if follow.stop_requested and follow.session_id is None:
            await self._finish(Status.STOPPED)
            return
        relay = Relay(
            follow.event,
            follow.journalist_id,
            self._relayed,
            max_rate=None,
            on_failure=self._failed,
            on_taken_over=self._taken_over,
        )
        try:
            await relay.start(Start(session=follow.session_id) if follow.session_id else Start())
        except StudioError as error:
            await self._finish(Status.FAILED, error.message)
            return
        self.relay = relay
        how = "resumed" if follow.session_id else "started"
        logger.info("follow %s: %s session %s on %s", self.id, how, relay.session_id, follow.event.slug)
        await self._update(session_id=relay.session_id)
        status, detail = await self._connections(relay)
        if self.leaving:
            await relay.detach()  # finals stored, the session kept open for whoever resumes it
            if not self.lost:
                await database_sync_to_async(follows.release)(
                    self.id, self.follower.name, _("The follower restarted; resuming…")
                )
                await notices.tell_followers()
                await notices.tell_page(follow.event_id, follow.journalist_id)
            logger.info("follow %s: handed back", self.id)
            return
        if status == Status.FAILED:
            await relay.stop(StreamSession.Status.FAILED, error=detail)
        else:
            await relay.stop()
        await self._finish(status, detail)
        logger.info("follow %s: %s", self.id, status)

    async def _connections(self, relay: Relay) -> tuple[str, str]:
        """ffmpeg runs, one after another with backoff, until a stop or a failure: the follow's end and why."""
        attempts = self.follow.attempts
        allow_private = settings.STREAM_FOLLOW_ALLOW_PRIVATE
        proxy_url = self.follower.proxy.url_for(self.proxy_key)
        while not self.wanted_stop.is_set():
            try:
                address, found = await asyncio.to_thread(addresses.check, self.follow.url, allow_private=allow_private)
            except addresses.AddressRefused as refused:
                return Status.FAILED, str(refused)
            args = ffmpeg_args(address, found[0], proxy_url, timeout_seconds=settings.STREAM_FOLLOW_STALL_SECONDS)
            self.connection = Connection(args, child_env(proxy_url), stall_seconds=settings.STREAM_FOLLOW_STALL_SECONDS)
            if self.wanted_stop.is_set():
                break
            self.follower.proxy.failures.pop(self.proxy_key, None)
            heard = await self._pump(relay, self.connection)
            if self.wanted_stop.is_set():
                break
            refused = self.follower.proxy.refusals.pop(self.proxy_key, None)
            if refused:
                return Status.FAILED, refused
            attempts = 1 if heard else attempts + 1
            # The proxy knows why a connection failed (the server did not answer) better than ffmpeg says it.
            reason = self.follower.proxy.failures.pop(self.proxy_key, None) or self.connection.reason
            most = settings.STREAM_FOLLOW_MAX_ATTEMPTS
            if attempts > most:
                failed = _("The stream could not be followed after %(tries)d tries (%(reason)s).")
                return Status.FAILED, failed % {"tries": most, "reason": reason}
            delay = backoff(attempts)
            logger.info("follow %s: dropped (%s); retrying in %.1f s", self.id, reason, delay)
            if not relay.paused:
                await relay.pause()  # what was said so far becomes final and is stored
            detail = _(
                "The stream dropped (%(reason)s). Trying again in %(seconds)d s (attempt %(attempt)d of %(most)d)."
            )
            said = {"reason": reason, "seconds": max(1, round(delay)), "attempt": attempts, "most": most}
            await self._update(status=Status.RETRYING, attempts=attempts, detail=detail % said)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wanted_stop.wait(), delay)
        if self.failure is not None:
            return Status.FAILED, self.failure.message
        return Status.STOPPED, _("The event has ended.") if self.event_ended else ""

    async def _pump(self, relay: Relay, connection: Connection) -> bool:
        """One connection's audio into the relay; True when any came."""
        feed = Feed(relay, PACE)
        async for frame in connection.frames():
            if self.wanted_stop.is_set():
                break
            if not feed.sent:
                if relay.paused:
                    await relay.resume()
                if self.status != Status.LIVE:
                    await self._update(status=Status.LIVE, detail="", attempts=0)
            try:
                await feed.send(frame)
            except StudioError as error:
                await self._failed(error)
                break
        await connection.close()
        return feed.sent > 0

    async def _taken_over(self) -> None:
        """Its session was resumed elsewhere (the relay finishes): the follow is left to whoever resumed it."""
        logger.warning("follow %s: its session was resumed elsewhere", self.id)
        self.lose()

    async def _failed(self, error: StudioError) -> None:
        """The relay gave up (the speech provider, storage): the follow fails with its words."""
        if self.failure is None:
            self.failure = error
        self._interrupt()

    async def _relayed(self, message: dict) -> None:
        await notices.tell_page(self.follow.event_id, self.follow.journalist_id, message)

    async def _update(self, **fields) -> None:
        """Change the follow's row (this follower's, else it is lost) and tell the journalist's pages."""
        self.status = fields.get("status", self.status)
        if not await database_sync_to_async(follows.update)(self.id, self.follower.name, **fields):
            self.lose()
            return
        await notices.tell_page(self.follow.event_id, self.follow.journalist_id)

    async def _finish(self, status: str, detail: str = "") -> None:
        self.status = status
        await database_sync_to_async(follows.finish)(self.id, self.follower.name, status, detail)
        await notices.tell_page(self.follow.event_id, self.follow.journalist_id)
