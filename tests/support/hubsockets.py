"""Readers' sockets as the Hub holds them under Daphne, built in memory: Daphne's protocol on a recording
transport or on Twisted's own TCP connection over a socket pair."""

import collections
import functools
import json
import socket

from autobahn.websocket.protocol import TrafficStats
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor

from readers.live import Reader

TEXT = json.dumps({"type": "changes", "after": 1, "cursor": 2, "posts": [{"html": "<p>Ünïcode ✓</p>" * 20}]})


class Transport:
    def __init__(self):
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def daphne_reader(state: int, transport=None) -> tuple[Reader, Transport, list[dict]]:
    """A reader whose send has Daphne's shape: partial(Server.handle_reply, protocol)."""
    protocol, transport, sent = WebSocketProtocol(), transport or Transport(), []
    protocol.state, protocol.transport = state, transport
    # What autobahn sets up at the opening handshake: the factory's options, no compression
    # negotiated, nothing queued.
    protocol.factory = WebSocketFactory(None)
    for option in protocol.CONFIG_ATTRS:
        setattr(protocol, option, getattr(protocol.factory, option))
    protocol._perMessageCompress, protocol.send_queue = None, collections.deque()
    protocol.peer, protocol.trafficStats = "tcp:127.0.0.1:50000", TrafficStats()

    async def handle_reply(protocol, message):
        sent.append(message)

    return Reader(1, functools.partial(handle_reply, protocol)), transport, sent


def unframed(frame: bytes) -> tuple[int, str]:
    """Opcode and text of one unmasked server frame."""
    length, start = frame[1] & 0x7F, 2
    if length == 126:
        length, start = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, start = int.from_bytes(frame[2:10], "big"), 10
    assert frame[1] & 0x80 == 0 and len(frame) == start + length
    return frame[0], frame[start:].decode()


def tcp_connection() -> tuple[tcp.Connection, socket.socket, MemoryReactor]:
    """Twisted's own TCP connection on one end of a real socket pair, its reactor a recording one."""
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    reactor = MemoryReactor()
    connection = tcp.Connection(ours, Protocol(), reactor)
    connection.connected = True
    return connection, peer, reactor
