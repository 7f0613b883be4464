"""A socket as Daphne serves it, found behind the ASGI send a consumer holds."""

import functools
from collections.abc import Awaitable, Callable

from autobahn.exception import Disconnected
from autobahn.websocket.protocol import WebSocketServerProtocol
from channels.sessions import InstanceSessionWrapper

Deliver = Callable[[dict], Awaitable[None]]  # an ASGI send: takes a websocket.send message

# What Daphne's send raises for a socket closed before the application closed it: by its client, or by
# autobahn refusing a message over the limit while the application still handles an earlier one.
SocketClosed = Disconnected


def daphne_protocol(send: Deliver) -> WebSocketServerProtocol | None:
    """The autobahn protocol behind Daphne's send, partial(Server.handle_reply, protocol); None under another server."""
    wrapper = getattr(send, "__self__", None)
    if isinstance(wrapper, InstanceSessionWrapper):  # Channels' session middleware (the studio's) wraps send
        send = wrapper.real_send
    if isinstance(send, functools.partial) and send.args and isinstance(send.args[0], WebSocketServerProtocol):
        return send.args[0]
    return None
