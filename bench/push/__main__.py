"""The Hub's push, alone: what one change costs per reader beyond the socket write itself.

    python -m bench.push [--readers 5000] [--rounds 15] [--without prepared_frames,direct_write,gc_tuning]

Each reader is what Daphne makes of a reader's socket: its WebSocket protocol, open, on Twisted's own
TCP connection over a real loopback socket. The baseline, in the same process on the same sockets,
is the least any push can do: one `socket.send` of the same frame per socket in a plain loop. The
push is `Hub._push`, as a post reaches readers. Rounds alternate the two and drain the peers
between them; the figures are medians over the rounds, and the push is printed as a ratio to the
baseline (1.00× would be a push that costs nothing but the kernel's send).

--without names fast paths (server.FASTPATHS) to time switched off too, in the same rounds
on the same sockets, each printed as a ratio to the push with all of them on. Writes Twisted queues
(the public API's) are sent as the reactor would, by the connection's doWrite, inside the push's time;
the reactor's own register and unregister calls per socket are not counted, so a queued write costs
a little more in a real Daphne than here.
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
from autobahn.websocket.protocol import TrafficStats

from bench.fanout.stack import raise_fd_limit
from liveblog_site.datadir import prepare


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


def daphne_reader(ours: socket.socket, server):
    from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
    from twisted.internet import tcp
    from twisted.internet.testing import MemoryReactor

    from readers.live import Reader

    protocol = WebSocketProtocol()
    protocol.state = WebSocketProtocol.STATE_OPEN
    protocol.transport = tcp.Connection(ours, protocol, MemoryReactor())
    protocol.transport.connected = True
    # What autobahn sets up at the opening handshake: the factory's options, no compression
    # negotiated, nothing queued.
    protocol.factory = WebSocketFactory(None)
    for option in protocol.CONFIG_ATTRS:
        setattr(protocol, option, getattr(protocol.factory, option))
    protocol._perMessageCompress, protocol.send_queue = None, collections.deque()
    protocol.peer, protocol.client_addr = "tcp:127.0.0.1:50000", ("127.0.0.1", 50000)
    protocol.trafficStats, protocol.trackedTimings = TrafficStats(), None
    protocol.send_state = WebSocketProtocol.SEND_STATE_GROUND
    server.connections[protocol] = {}
    return Reader(0, functools.partial(server.handle_reply, protocol))  # Daphne's own ASGI send


def flush_twisted(readers) -> None:
    """What the reactor's next turns would send of what Twisted queued."""
    for reader in readers:
        transport = reader.deliver.args[0].transport
        while transport.dataBuffer or transport._tempDataLen:
            transport.doWrite()


def drain(peers: list[socket.socket], expected: int) -> None:
    for peer in peers:
        got = 0
        while got < expected:
            got += len(peer.recv(1 << 16))


def push_once(hub, readers, text: str, change: int) -> float:
    began = time.perf_counter()
    asyncio.run(hub._push(readers, text, change))
    flush_twisted(readers)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--without",
        default="prepared_frames,direct_write,gc_tuning",
        help="comma-separated fast paths to time switched off as well ('' for none)",
    )
    args = parser.parse_args()
    raise_fd_limit()
    prepare()
    django.setup()
    from autobahn.websocket.protocol import PreparedMessage
    from daphne.server import Server
    from django.test import override_settings

    from readers.live import Hub
    from server import FASTPATHS

    without = [name for name in args.without.split(",") if name]
    unknown = sorted(set(without) - set(FASTPATHS))
    if unknown:
        parser.error(f"no fast path named {', '.join(unknown)}; the fast paths are {', '.join(FASTPATHS)}")
    text = json.dumps({"type": "changes", "after": 1, "cursor": 2, "posts": [{"html": "<p>Words.</p>" * 80}]})
    frame = PreparedMessage(text.encode(), isBinary=False, applyMask=False, doNotCompress=True).payloadHybi
    pairs = reader_sockets(args.readers)
    ours, peers = [pair[0] for pair in pairs], [pair[1] for pair in pairs]
    server = Server.__new__(Server)  # only its handle_reply and connections serve here
    server.connections = {}
    variants = {"all on": {}} | {f"without {name}": {name: False} for name in without}
    readers, switches = {}, {}
    for label, off in variants.items():
        switches[label] = override_settings(FASTPATHS={name: off.get(name, True) for name in FASTPATHS})
        with switches[label]:  # each reader learns at its start which paths it may take
            readers[label] = [daphne_reader(sock, server) for sock in ours]
    hub = Hub()

    baseline: list[float] = []
    push: dict[str, list[float]] = {label: [] for label in variants}
    for change in range(1, args.rounds + 1):
        began = time.perf_counter()
        for sock in ours:
            sock.send(frame)
        baseline.append(time.perf_counter() - began)
        drain(peers, len(frame))
        for label in variants:
            with switches[label]:
                push[label].append(push_once(hub, readers[label], text, change))
            drain(peers, len(frame))

    def per_reader_us(times: list[float]) -> float:
        return statistics.median(times) / args.readers * 1e6

    base_us, all_on_us = per_reader_us(baseline), per_reader_us(push["all on"])
    print(f"push benchmark · {args.readers} readers · {args.rounds} rounds · frame {len(frame)} bytes")
    print(f"baseline (one socket.send per reader): {base_us:.2f} µs per reader")
    for label in variants:
        us = per_reader_us(push[label])
        print(
            f"Hub._push, {label + ':':<27} {us:6.2f} µs per reader · {us / base_us:5.2f}× baseline · "
            f"{us / all_on_us:5.2f}× all on"
        )


if __name__ == "__main__":
    main()
