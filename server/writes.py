"""direct_write: with nothing queued in autobahn or Twisted, a frame goes to the kernel at once; off,
sendPreparedMessage. Also the reader's Daphne socket, which frames and heartbeats are written to."""

import contextlib
import socket as pysocket
import time
from collections.abc import Iterable

from autobahn.websocket.protocol import PreparedMessage, WebSocketServerProtocol
from twisted.internet import tcp

from server import active
from server.heartbeat import DEAD_PEER_MS, HEARTBEAT
from server.sockets import Deliver, daphne_protocol

_OPEN = WebSocketServerProtocol.STATE_OPEN


def _twisted_tcp(transport) -> bool:
    """Whether a transport is Twisted's plain TCP connection, whose write buffer write_now can check."""
    return isinstance(transport, tcp.Connection) and all(
        hasattr(transport, name) for name in ("socket", "dataBuffer", "_tempDataLen", "disconnecting")
    )


def write_now(transport, data: bytes) -> None:
    """transport.write(data), but sent on the spot when nothing is queued ahead of it; what the kernel
    does not take, or a failed socket, is left to Twisted's write."""
    if transport.dataBuffer or transport._tempDataLen or transport.disconnecting or not transport.connected:
        transport.write(data)
        return
    try:
        sent = transport.socket.send(data)
    except OSError:  # full (EAGAIN) or failing: Twisted's own write retries or reports the loss
        sent = 0
    if sent < len(data):
        transport.write(data[sent:])


class DaphneSocket:
    """A reader's socket as Daphne serves it: its autobahn protocol, and its TCP connection when
    direct_write may write to it."""

    __slots__ = ("protocol", "tcp")

    def __init__(self, protocol: WebSocketServerProtocol):
        self.protocol = protocol
        transport = protocol.transport
        self.tcp = transport if _twisted_tcp(transport) and active("direct_write") else None
        if active("heartbeat"):  # the heartbeat stands in for Daphne's ping timeout: the kernel closes a dead peer
            with contextlib.suppress(OSError, AttributeError):  # not TCP (a test's socket pair)
                transport.getHandle().setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_USER_TIMEOUT, DEAD_PEER_MS)

    def write(self, prepared: PreparedMessage) -> bool:
        """Sends a message framed once for all readers; False when the socket is not open."""
        protocol = self.protocol
        if protocol.state != _OPEN:
            return False
        if self.tcp is None or protocol.send_queue or protocol._perMessageCompress is not None:
            protocol.sendPreparedMessage(prepared)  # behind what autobahn has queued, in order
        else:
            # sendPreparedMessage builds a debug log line's arguments even with debug off, and only queues.
            write_now(self.tcp, prepared.payloadHybi)
        return True

    def keep_alive(self, now: float, quiet_since: float) -> None:
        """The heartbeat, to an open socket with nothing queued and no traffic since `quiet_since` (a socket in
        use needs no heartbeat)."""
        protocol = self.protocol
        if protocol.state != _OPEN or protocol.send_queue or getattr(protocol, "last_ping", 0.0) > quiet_since:
            return
        if self.tcp is not None:
            write_now(self.tcp, HEARTBEAT)
        else:
            protocol.sendPong()
        protocol.last_ping = now  # Daphne pings a socket it has not pinged for its ping interval


def write_each(readers: Iterable, prepared: PreparedMessage) -> list:
    """DaphneSocket.write of one frame to each of `readers` (anything with a `socket`, a DaphneSocket or None), in
    one loop as it runs once per reader, each socket's traffic noted as Daphne's last_ping; the readers it was not
    written to, who take the ASGI send."""
    payload = prepared.payloadHybi
    missed = []
    now = time.time()
    for reader in readers:
        daphne = reader.socket
        try:
            protocol = daphne.protocol
            if protocol.state != _OPEN:
                missed.append(reader)
                continue
            protocol.last_ping = now  # traffic: the heartbeat and Daphne's ping leave the socket be for a while
            transport = daphne.tcp
            if transport is None or protocol.send_queue or protocol._perMessageCompress is not None:
                daphne.write(prepared)
                continue
            write_now(transport, payload)
        except Exception:  # no Daphne socket, or one failing under us: Daphne's own send copes
            missed.append(reader)
    return missed


def daphne_socket(send: Deliver) -> DaphneSocket | None:
    """The Daphne socket behind an ASGI send, when prepared frames or the heartbeat may use it; else None."""
    if not (active("prepared_frames") or active("heartbeat")):
        return None
    protocol = daphne_protocol(send)
    return DaphneSocket(protocol) if protocol is not None else None
