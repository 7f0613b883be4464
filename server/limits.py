"""The WebSocket message limits: Daphne has autobahn refuse an oversized message as its header arrives.
They reach into the same internals as the fast paths but are limits, not speed: they have no switch.
The same protocol class turns Nagle off (autobahn means to and does not) and runs lean_sockets."""

import contextlib
import logging

from autobahn.websocket.protocol import WebSocketServerFactory

from server.lean import lean_socket
from server.reads import quiet_reads
from server.sockets import Deliver, daphne_protocol

logger = logging.getLogger(__name__)


def limit_messages(send: Deliver, max_bytes: int) -> bool:
    """Has Daphne refuse, with close 1009 as its header arrives, any message from this client over `max_bytes`.
    Call it before accept; False under another server, where the consumer's own checks are all there is."""
    protocol = daphne_protocol(send)
    if protocol is None:
        return False
    protocol.maxFramePayloadSize = max_bytes
    protocol.maxMessagePayloadSize = max_bytes
    protocol.failByDrop = False  # the client hears why (1009) instead of finding its connection cut
    return True


def limit_every_socket(max_bytes: int) -> bool:
    """The same limit for every socket Daphne serves, set on the factory Daphne makes when it starts
    serving (it takes no option for it); False when Daphne's factory is not what this knows."""
    from daphne import server as daphne_server  # here: importing it installs Twisted's reactor

    factory = getattr(daphne_server, "WebSocketFactory", None)
    if not (isinstance(factory, type) and issubclass(factory, WebSocketServerFactory)):
        logger.warning("Daphne's WebSocket factory is not autobahn's: sockets get no default message limit")
        return False
    if getattr(factory, "limits_messages", False):
        return True

    class IncomingLimitedProtocol(factory.protocol):
        def sendMessage(self, payload, *args, **kwargs):
            # autobahn holds what it sends to the client's limit too, and would refuse a reader's push.
            limit, self.maxMessagePayloadSize = self.maxMessagePayloadSize, 0
            try:
                super().sendMessage(payload, *args, **kwargs)
            finally:
                self.maxMessagePayloadSize = limit

        def connectionMade(self):
            super().connectionMade()
            # autobahn sets TCP_NODELAY from the socket's own option before it copies the factory's options in,
            # so it never does: a frame sent behind an unacknowledged one (a heartbeat) would wait for the ACK.
            with contextlib.suppress(AttributeError, OSError):  # not TCP
                self.transport.setTcpNoDelay(self.factory.tcpNoDelay)

        def onOpen(self):
            super().onOpen()
            lean_socket(self)

    quiet_reads(IncomingLimitedProtocol)

    class LimitedWebSocketFactory(factory):
        limits_messages = True
        protocol = IncomingLimitedProtocol

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.setProtocolOptions(maxFramePayloadSize=max_bytes, maxMessagePayloadSize=max_bytes, failByDrop=False)

    daphne_server.WebSocketFactory = LimitedWebSocketFactory
    return True
