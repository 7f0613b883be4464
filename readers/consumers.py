"""The readers' socket: anonymous and read-only. The page says once where it is ("hello" with its
cursor, and the reader edition it shows as "lang", one of the event's); from then on the process's Hub pushes
what changed, in that edition. Anything else from the client closes
the socket with 4400: readers never write. A socket that says no hello in time is closed with 4408;
under Daphne, a message over settings.READER_MAX_MESSAGE_BYTES is refused with 1009 unread."""

import asyncio
import functools
import json

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from readers.changes import BadCursor, EventState, event_state
from readers.editions import MAX_LANG_CHARS
from readers.live import Reader, hub
from server.inbox import detach
from server.limits import limit_messages
from server.shutdown import close_for_restart, stopping

MAX_HELLO_BYTES = 200
BAD_MESSAGE = 4400
NOT_FOUND = 4404
NO_HELLO = 4408

_closing: set[asyncio.Task] = set()  # detached readers' leaving and closing, held until done


def in_background(work) -> None:
    task = asyncio.ensure_future(work)
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def detached_reader_message(event_id: int, reader: Reader, message: dict) -> None:
    """A message from a reader's socket once its consumer has ended (server.inbox): its disconnect leaves the
    Hub; anything it sends closes it with 4400, as the consumer would."""
    if message.get("type") == "websocket.disconnect":
        in_background(hub().leave(event_id, reader))
    elif message.get("type") == "websocket.receive":
        in_background(reader.deliver({"type": "websocket.close", "code": BAD_MESSAGE}))


@database_sync_to_async
def public_event(slug: str) -> EventState | None:
    # The pages' lookup: a burst of (re)connecting readers mostly finds it in the cache.
    return event_state(slug)


def parse_hello(text: str | None) -> tuple[int, str] | None:
    """The cursor and edition from {"type": "hello", "cursor": N} or {…, "lang": "en"} ("" for the original),
    or None for anything else; the edition is checked against the event's by the caller."""
    if text is None or len(text) > MAX_HELLO_BYTES:
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return None
    if not isinstance(message, dict) or not {"type", "cursor"} <= set(message) <= {"type", "cursor", "lang"}:
        return None
    cursor, lang = message["cursor"], message.get("lang", "")
    if message["type"] != "hello" or not isinstance(cursor, int) or isinstance(cursor, bool) or cursor < 0:
        return None
    if not isinstance(lang, str) or len(lang) > MAX_LANG_CHARS:
        return None
    return cursor, lang


class ReaderConsumer(AsyncWebsocketConsumer):
    # The Hub holds this process's one layer channel; a channel per reader would cost a Redis
    # subscription each and a message each per change.
    channel_layer_alias = None

    state: EventState | None = None  # the event's, as found on connecting
    reader: Reader | None = None
    # A timer, not a task per socket: readers come by the thousand.
    hello_due: asyncio.TimerHandle | None = None
    closing: asyncio.Task | None = None

    async def connect(self) -> None:
        limit_messages(self.base_send, settings.READER_MAX_MESSAGE_BYTES)
        self.state = await public_event(self.scope["url_route"]["kwargs"]["slug"])
        await self.accept()
        if self.state is None:
            await self.close(code=NOT_FOUND)
            return
        if stopping():  # this process is going: the page reconnects at once, to another
            await close_for_restart(self.base_send)
            return
        self.hello_due = asyncio.get_running_loop().call_later(
            settings.READER_HELLO_TIMEOUT_SECONDS, self.hello_overdue
        )

    def hello_overdue(self) -> None:
        self.hello_due = None
        self.closing = asyncio.ensure_future(self.close(code=NO_HELLO))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        hello = parse_hello(text_data)
        if hello is None or self.reader is not None or self.state is None:
            await self.close(code=BAD_MESSAGE)
            return
        cursor, lang = hello
        try:
            edition = self.state.edition(lang)
        except BadCursor:  # a language this event has no edition in
            await self.close(code=BAD_MESSAGE)
            return
        if self.hello_due is not None:
            self.hello_due.cancel()
            self.hello_due = None
        if stopping():
            await close_for_restart(self.base_send)
            return
        # The Hub sends straight to the server's ASGI send: the consumer adds nothing per message.
        self.reader = Reader(cursor, self.base_send, edition)
        await hub().join(self.state.id, self.reader)
        # Nothing is left for the consumer to do per message: under Daphne, the Hub takes the socket's
        # messages from here on and the consumer ends, keeping no task, scope or queue per idle reader.
        if detach(self.base_send, functools.partial(detached_reader_message, self.state.id, self.reader)):
            raise StopConsumer

    async def disconnect(self, code: int) -> None:
        if self.hello_due is not None:
            self.hello_due.cancel()
            self.hello_due = None
        if self.reader is not None and self.state is not None:
            await hub().leave(self.state.id, self.reader)
            self.reader = None
