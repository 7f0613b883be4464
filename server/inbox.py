"""detached_sockets: a socket whose application has nothing left to do per message (a reader, once it said
hello) has Daphne hand each later message, its disconnect included, straight to a callback, and its
application ends: an idle socket keeps no task, coroutine chain or queue; off, the application runs on,
waiting on Daphne's queue."""

import asyncio
from collections.abc import Callable

from server import active
from server.sockets import Deliver, daphne_protocol

Take = Callable[[dict], None]


class Inbox:
    """Stands in for Daphne's asyncio.Queue of one socket's incoming messages: each goes to `take` at once."""

    __slots__ = ("take",)

    def __init__(self, take: Take):
        self.take = take

    def put_nowait(self, message: dict) -> None:
        self.take(message)


def detach(send: Deliver, take: Take) -> bool:
    """Has Daphne give `take` every later message of the socket behind `send`, those it queued already first;
    the caller's application may then end. False when detached_sockets is off or the socket is not Daphne's."""
    if not active("detached_sockets"):
        return False
    protocol = daphne_protocol(send)
    queue = getattr(protocol, "application_queue", None)
    if not isinstance(queue, asyncio.Queue):
        return False
    protocol.application_queue = Inbox(take)
    while not queue.empty():
        take(queue.get_nowait())
    return True
