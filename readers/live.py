"""Telling connected readers that an event's posts changed; a reader that misses a notice finds the
change through its cursor.

Each process runs one Hub: on a notice (or its poll) it reads and renders what changed after each
cursor its readers hold once, and sends the same frame to every reader on it. The design:
docs/architecture.md, *The path of one final result* (step 10) and *The readers' push*.
"""

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer

from readers.changes import (
    EventState,
    change_seqs,
    changes_json,
    event_state_by_id,
    forget_state,
    page_end,
    page_start,
)
from server.frames import prepared_frame
from server.gc_tuning import collector_paused
from server.heartbeat import heartbeat_on
from server.shutdown import close_for_restart, on_stop
from server.sockets import Deliver
from server.writes import daphne_socket, write_each

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # embedded: how other processes' changes are heard
SAFETY_POLL_SECONDS = 5.0  # Redis: catches a notice lost while the broker was away
YIELD_EVERY = 200

# Readers' keepalive (server.heartbeat), sent a slice of readers at a time in place of Daphne's bursts of pings.
HEARTBEAT_SECONDS = 15.0
HEARTBEAT_SLICES = 30


def event_group(event_id: int) -> str:
    return f"event-{event_id}"


def event_changed_receiver(sender, *, event_id: int, slug: str, change_seq: int, **kwargs) -> None:
    """events.signals.event_changed: tell the open pages."""
    announce_event_change(event_id, slug, change_seq)


def announce_event_change(event_id: int, slug: str, change_seq: int) -> None:
    try:
        forget_state(slug)  # the next page or cursor request reads the new change number
    except Exception:  # the cached number lapses within seconds anyway
        logger.exception("could not forget the cached state of event %s", event_id)
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "event.changed", "event_id": event_id, "change_seq": change_seq}
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is not None:  # called on an event loop's thread: hand it over rather than block the loop
            loop.create_task(layer.group_send(event_group(event_id), message))
        else:
            async_to_sync(layer.group_send)(event_group(event_id), message)
    except Exception:  # a broker hiccup must not undo a committed publish; the cursor catches up
        logger.exception("could not announce change %s of event %s", change_seq, event_id)


class Reader:
    """One connected page: where it is (cursor), the reader edition it shows ("" the original), how to reach it."""

    __slots__ = ("cursor", "deliver", "edition", "socket")

    def __init__(self, cursor: int, deliver: Deliver, edition: str = ""):
        self.cursor = cursor
        self.deliver = deliver
        self.edition = edition
        self.socket = daphne_socket(deliver)  # None: every message takes the ASGI send

    def keep_alive(self, now: float) -> None:
        """The heartbeat, unless a frame went to the reader within half a heartbeat's interval."""
        if self.socket is not None:
            self.socket.keep_alive(now, quiet_since=now - HEARTBEAT_SECONDS / 2)


def readers_by_page(readers: Iterable[Reader], state: EventState) -> dict[tuple[str, int], list[Reader]]:
    """Readers by the answer they get: its edition (the original for one the event no longer has) and where it
    starts (cursors far behind share a page); a cursor ahead of the event's number gets nothing."""
    # Grouped by where they stand first: the checks below run once per place, not once per reader.
    by_place: dict[tuple[str, int], list[Reader]] = defaultdict(list)
    for reader in readers:
        by_place[reader.edition, reader.cursor].append(reader)
    by_page: dict[tuple[str, int], list[Reader]] = defaultdict(list)
    for (edition, cursor), placed in by_place.items():
        if cursor < state.change_seq:
            shown = edition if edition in state.editions else ""
            by_page[shown, page_start(state.change_seq, cursor)] += placed
    return by_page


class Hub:
    def __init__(self) -> None:
        self.readers: dict[int, set[Reader]] = defaultdict(set)
        self.known: dict[int, int] = {}  # event id → change number the latest sync brings readers to
        self.pending: dict[int, asyncio.Event] = {}
        self.syncers: dict[int, asyncio.Task] = {}
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.listener: asyncio.Task | None = None
        self.poller: asyncio.Task | None = None
        self.heartbeat: asyncio.Task | None = None
        on_stop(self, self.restart_readers)

    # --- readers ---------------------------------------------------------------------------

    async def join(self, event_id: int, reader: Reader) -> None:
        await self._listen(event_id)
        self.readers[event_id].add(reader)
        self.notice(event_id)  # catch the newcomer up from its cursor

    async def leave(self, event_id: int, reader: Reader) -> None:
        followers = self.readers.get(event_id)
        if followers is None:
            return
        followers.discard(reader)
        if not followers:
            del self.readers[event_id]
            self.known.pop(event_id, None)
            syncer = self.syncers.pop(event_id, None)
            if syncer is not None:
                syncer.cancel()
            self.pending.pop(event_id, None)
            if self.layer is not None and self.channel is not None:
                await self.layer.group_discard(event_group(event_id), self.channel)

    async def restart_readers(self) -> None:
        """The process is stopping: every reader's socket is closed with 1012 (its page reconnects at once,
        to another process, and catches up from its cursor); returns once all have left."""
        readers = [reader for followers in self.readers.values() for reader in followers]
        for start in range(0, len(readers), YIELD_EVERY):
            for reader in readers[start : start + YIELD_EVERY]:
                with contextlib.suppress(Exception):  # a reader gone already leaves through its consumer
                    await close_for_restart(reader.deliver)
            await asyncio.sleep(0)  # let the close frames out
        while self.readers:
            await asyncio.sleep(0.05)

    # --- notices ---------------------------------------------------------------------------

    def notice(self, event_id: int, change_seq: int | None = None) -> None:
        followers = self.readers.get(event_id)
        if not followers:
            return
        # Every sync first records the number it brings readers to, and a reader that joins or
        # fails is woken by its own pass, so this is enough: no scan of every reader per notice.
        if change_seq is not None and self.known.get(event_id, -1) >= change_seq:
            return
        wake = self.pending.setdefault(event_id, asyncio.Event())
        wake.set()
        syncer = self.syncers.get(event_id)
        if syncer is None or syncer.done():
            self.syncers[event_id] = asyncio.create_task(self._sync_loop(event_id, wake))

    async def _sync_loop(self, event_id: int, wake: asyncio.Event) -> None:
        # One sync at a time per event; notices that arrive meanwhile make one more pass.
        while wake.is_set():
            wake.clear()
            try:
                await self._sync(event_id)
            except Exception:
                logger.exception("could not bring readers of event %s up to date", event_id)
                await asyncio.sleep(POLL_SECONDS)
                wake.set()
                if not self.readers.get(event_id):
                    return

    async def _sync(self, event_id: int) -> None:
        followers = self.readers.get(event_id)
        if not followers:
            return
        began = time.perf_counter()
        state = await sync_to_async(event_state_by_id)(event_id)
        if state is None:
            return
        self.known[event_id] = state.change_seq
        by_cursor = readers_by_page(followers, state)  # no await before it: the set cannot change under it
        reading, pushing = time.perf_counter() - began, 0.0
        for (edition, start), readers in by_cursor.items():
            read_from = time.perf_counter()
            text = await sync_to_async(changes_json)(state, start, edition)
            push_from = time.perf_counter()
            reached = page_end(state.change_seq, start)
            await self._push(readers, text, reached)
            wake = self.pending.get(event_id)
            if reached < state.change_seq and wake is not None:  # one page sent: the next pass sends the rest
                wake.set()
            reading += push_from - read_from
            pushing += time.perf_counter() - push_from
        if by_cursor:
            logger.info(
                "event %s change %s: %d readers on %d cursors, read in %.1f ms, pushed in %.1f ms",
                event_id,
                state.change_seq,
                sum(map(len, by_cursor.values())),
                len(by_cursor),
                reading * 1000,
                pushing * 1000,
            )

    async def _push(self, readers: list[Reader], text: str, change_seq: int) -> None:
        prepared = prepared_frame(text)
        by_asgi: list[Reader] = []
        with collector_paused():
            for start in range(0, len(readers), YIELD_EVERY):
                chunk = readers[start : start + YIELD_EVERY]
                for reader in chunk:
                    reader.cursor = change_seq
                by_asgi += chunk if prepared is None else write_each(chunk, prepared)
                # Writes Twisted queued only leave when the loop runs: let them go out (and other
                # sockets be served) while the rest are pushed, not all after the last.
                await asyncio.sleep(0)
            message = {"type": "websocket.send", "text": text}  # one message object for every reader
            for reader in by_asgi:
                with contextlib.suppress(Exception):  # a reader gone mid-send leaves through its consumer
                    await reader.deliver(message)
            # Queued writes run on the loop's next turn, after this task resumes: one more turn
            # lets them out before the collector may run again.
            await asyncio.sleep(0)
            await asyncio.sleep(0)

    # --- transports ------------------------------------------------------------------------

    async def _listen(self, event_id: int) -> None:
        if self.layer is not None:
            if self.channel is None:
                self.channel = await self.layer.new_channel("readers.")
                self.listener = asyncio.create_task(self._receive())
            if event_id not in self.readers:
                await self.layer.group_add(event_group(event_id), self.channel)
        if self.poller is None:
            local_only = self.layer is None or isinstance(self.layer, InMemoryChannelLayer)
            self.poller = asyncio.create_task(self._poll(POLL_SECONDS if local_only else SAFETY_POLL_SECONDS))
        if self.heartbeat is None and heartbeat_on():
            self.heartbeat = asyncio.create_task(self._keep_alive())

    async def _receive(self) -> None:
        assert self.layer is not None and self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("channel layer receive failed; readers still catch up by cursor")
                await asyncio.sleep(POLL_SECONDS)
                continue
            if message.get("type") == "event.changed" and isinstance(message.get("event_id"), int):
                self.notice(message["event_id"], message.get("change_seq"))

    async def _keep_alive(self) -> None:
        while True:
            readers = [reader for followers in self.readers.values() for reader in followers]
            size = -(-len(readers) // HEARTBEAT_SLICES) or 1
            for start in range(0, len(readers) or 1, size):
                now = time.time()
                for reader in readers[start : start + size]:
                    try:
                        reader.keep_alive(now)
                    except Exception:  # a socket failing under us is its consumer's to close
                        logger.debug("heartbeat not sent", exc_info=True)
                await asyncio.sleep(HEARTBEAT_SECONDS / HEARTBEAT_SLICES)

    async def _poll(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            if not self.readers:
                continue
            try:
                seqs = await sync_to_async(change_seqs)(list(self.readers))
            except Exception:
                logger.exception("could not poll event changes")
                continue
            for event_id, change_seq in seqs.items():
                self.notice(event_id, change_seq)


_hub: Hub | None = None


def hub() -> Hub:
    global _hub
    if _hub is None:
        _hub = Hub()
    return _hub
