"""The Hub's push, alone: what one change costs per reader beyond the socket write itself.

    python -m bench.push [--readers 5000] [--rounds 15]

Each reader is what Daphne makes of a reader's socket: its WebSocket protocol, open, on Twisted's own
TCP connection over a real loopback socket. The baseline, in the same process on the same sockets,
is the least any push can do: one `socket.send` of the same frame per socket in a plain loop. The
push is `Hub._push`, as a post reaches readers. Rounds alternate the two and drain the peers
between them; the figures are medians over the rounds, and the push is printed as a ratio to the
baseline (1.00× would be a push that costs nothing but the kernel's send).
"""

import argparse
import asyncio
import collections
import functools
import json
import socket
import statistics
import time

import django

from bench.fanout.stack import raise_fd_limit


def reader_sockets(count: int) -> list[tuple[socket.socket, socket.socket]]:
    """`count` loopback TCP connections: (the server's end, the reader's end)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    pairs = []
    for _ in range(count):
        peer = socket.create_connection(listener.getsockname())
        ours, _address = listener.accept()
        ours.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as autobahn sets it on Daphne's sockets
        ours.setblocking(False)
        peer.setblocking(False)
        pairs.append((ours, peer))
    listener.close()
    return pairs


def daphne_reader(ours: socket.socket):
    from autobahn.websocket.protocol import TrafficStats
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet import tcp
    from twisted.internet.testing import MemoryReactor

    from readers.live import Reader

    protocol = WebSocketProtocol()
    protocol.state = WebSocketProtocol.STATE_OPEN
    protocol.transport = tcp.Connection(ours, protocol, MemoryReactor())
    protocol.transport.connected = True
    # What autobahn sets up at the opening handshake: no compression negotiated, nothing queued.
    protocol._perMessageCompress, protocol.send_queue = None, collections.deque()
    protocol.peer, protocol.trafficStats = "tcp:127.0.0.1:50000", TrafficStats()

    async def handle_reply(protocol, message):  # Daphne's send, for a reader that is not open
        raise AssertionError("every reader here is open")

    return Reader(0, functools.partial(handle_reply, protocol))


def drain(peers: list[socket.socket], expected: int) -> None:
    for peer in peers:
        got = 0
        while got < expected:
            got += len(peer.recv(1 << 16))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    raise_fd_limit()
    django.setup()
    from autobahn.websocket.protocol import PreparedMessage

    from readers.live import Hub

    text = json.dumps({"type": "changes", "after": 1, "cursor": 2, "posts": [{"html": "<p>Words.</p>" * 80}]})
    frame = PreparedMessage(text.encode(), isBinary=False, applyMask=False, doNotCompress=True).payloadHybi
    pairs = reader_sockets(args.readers)
    ours, peers = [pair[0] for pair in pairs], [pair[1] for pair in pairs]
    readers = [daphne_reader(sock) for sock in ours]
    hub = Hub()

    baseline, push = [], []
    for change in range(1, args.rounds + 1):
        began = time.perf_counter()
        for sock in ours:
            sock.send(frame)
        baseline.append(time.perf_counter() - began)
        drain(peers, len(frame))

        began = time.perf_counter()
        asyncio.run(hub._push(readers, text, change))
        push.append(time.perf_counter() - began)
        drain(peers, len(frame))

    base_us = statistics.median(baseline) / args.readers * 1e6
    push_us = statistics.median(push) / args.readers * 1e6
    print(f"push benchmark · {args.readers} readers · {args.rounds} rounds · frame {len(frame)} bytes")
    print(f"baseline (one socket.send per reader): {base_us:.2f} µs per reader")
    print(f"Hub._push:                             {push_us:.2f} µs per reader · {push_us / base_us:.2f}× baseline")


if __name__ == "__main__":
    main()
