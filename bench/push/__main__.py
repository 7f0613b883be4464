"""The Hub's push, alone: what one change costs per reader beyond the socket write itself.

    python -m bench.push [--readers 5000] [--rounds 15] [--without prepared_frames,direct_write,gc_tuning]
                         [--scale-out] [--smoke]

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

Then the whole way of a change on the same sockets: a post published (committed in a thread, as a
worker or an editor's request does), the Hub told (over Redis with --scale-out, in process on the
embedded default), the change read and rendered from the database (PostgreSQL with --scale-out,
SQLite otherwise) and pushed; printed are the time from the publish to the last reader's write, the
read, and the push per reader against the same baseline. --scale-out: bench.topology. --smoke: 50
readers, 3 rounds.
"""

import argparse
import asyncio
import collections
import functools
import json
import logging
import socket
import statistics
import time
from dataclasses import dataclass

from autobahn.websocket.protocol import TrafficStats

from bench import children, topology
from bench.fanout.stack import PUSH_LOG, raise_fd_limit


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


def drain_all(peers: list[socket.socket]) -> None:
    """Reads whatever the peers hold, whatever its length."""
    for peer in peers:
        while True:
            try:
                if not peer.recv(1 << 16):
                    break
            except BlockingIOError:
                break


@dataclass
class Setup:
    args: argparse.Namespace
    env: dict[str, str]
    ours: list[socket.socket]
    peers: list[socket.socket]
    server: object  # Daphne's Server, only its handle_reply and connections


# --- path 1: the push alone, against one socket.send per reader -------------------------------------


def push_alone(setup: Setup, without: list[str]) -> float:
    """Prints the push's cost per reader with every fast path on and with each of `without` off; returns the
    baseline's µs per reader."""
    from autobahn.websocket.protocol import PreparedMessage
    from django.test import override_settings

    from readers.live import Hub
    from server import FASTPATHS

    args, ours, peers = setup.args, setup.ours, setup.peers
    text = json.dumps({"type": "changes", "after": 1, "cursor": 2, "posts": [{"html": "<p>Words.</p>" * 80}]})
    frame = PreparedMessage(text.encode(), isBinary=False, applyMask=False, doNotCompress=True).payloadHybi
    variants = {"all on": {}} | {f"without {name}": {name: False} for name in without}
    readers, switches = {}, {}
    for label, off in variants.items():
        switches[label] = override_settings(FASTPATHS={name: off.get(name, True) for name in FASTPATHS})
        with switches[label]:  # each reader learns at its start which paths it may take
            readers[label] = [daphne_reader(sock, setup.server) for sock in ours]
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
    print(f"baseline (one socket.send per reader): {base_us:.2f} µs per reader · frame {len(frame)} bytes")
    for label in variants:
        us = per_reader_us(push[label])
        print(
            f"Hub._push, {label + ':':<27} {us:6.2f} µs per reader · {us / base_us:5.2f}× baseline · "
            f"{us / all_on_us:5.2f}× all on"
        )
    return base_us


# --- path 2: a published change through the Hub: notice, read from the database, push -------------------


class SyncLog(logging.Handler):
    """The Hub's own line per change: when it came, and its read and push times."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: dict[int, tuple[float, float, float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        match = PUSH_LOG.search(record.getMessage())
        if match:
            self.lines[int(match.group(1))] = (time.perf_counter(), float(match.group(3)), float(match.group(4)))


def change_through_hub(setup: Setup, base_us: float) -> None:
    """Prints what a published post costs from its commit to the last reader's write, on this topology."""
    from asgiref.sync import sync_to_async

    from bench.fanout.stack import live_event
    from publishing.models import Post
    from readers.live import Hub

    args = setup.args
    event = live_event("push")
    readers = [daphne_reader(sock, setup.server) for sock in setup.ours]
    log = SyncLog()
    logger = logging.getLogger("readers.live")
    logger.addHandler(log)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def publish(n: int) -> int:
        post = Post.objects.create(event=event, body=f"Update {n}. " + "Words of the live blog. " * 16)
        post.publish()
        post.refresh_from_db(fields=["change_seq"])
        return post.change_seq

    async def run() -> list[tuple[float, float, float]]:
        hub = Hub()
        for reader in readers:
            await hub.join(event.pk, reader)
        rounds = []
        for n in range(args.rounds):
            began = time.perf_counter()
            change = await sync_to_async(publish)(n)
            deadline = time.monotonic() + 30
            while change not in log.lines:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the Hub never pushed change {change}")
                await asyncio.sleep(0.0005)
            flush_twisted(readers)
            done, read_ms, push_ms = log.lines[change]
            rounds.append((done - began, read_ms, push_ms))
            drain_all(setup.peers)
        for task in (hub.listener, hub.poller, hub.heartbeat):
            if task is not None:
                task.cancel()
        return rounds

    rounds = asyncio.run(run())
    total = statistics.median(r[0] for r in rounds) * 1000
    read_ms, push_ms = statistics.median(r[1] for r in rounds), statistics.median(r[2] for r in rounds)
    push_us = push_ms * 1000 / args.readers
    notice = "over Redis" if "REDIS_URL" in setup.env else "in process"
    database = "PostgreSQL" if "DATABASE_URL" in setup.env else "SQLite"
    print(
        f"a published change through the Hub (notice {notice}, read from {database}, push), {len(rounds)} changes: "
        f"publish → last write p50 {total:.1f} ms; read {read_ms:.1f} ms per change; "
        f"push {push_us:.2f} µs per reader · {push_us / base_us:5.2f}× baseline"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--without",
        default="prepared_frames,direct_write,gc_tuning",
        help="comma-separated fast paths to time switched off as well ('' for none)",
    )
    parser.add_argument("--scale-out", action="store_true", help="PostgreSQL and Redis (bench.topology)")
    parser.add_argument("--smoke", action="store_true", help="50 readers, 3 rounds: a smoke test of the same paths")
    args = parser.parse_args()
    if args.smoke:
        args.readers, args.rounds = 50, 3
    raise_fd_limit()
    env = topology.configure("push", scale_out=args.scale_out)
    from daphne.server import Server

    from server import FASTPATHS

    without = [name for name in args.without.split(",") if name]
    unknown = sorted(set(without) - set(FASTPATHS))
    if unknown:
        parser.error(f"no fast path named {', '.join(unknown)}; the fast paths are {', '.join(FASTPATHS)}")
    pairs = reader_sockets(args.readers)
    server = Server.__new__(Server)
    server.connections = {}
    setup = Setup(args, env, [pair[0] for pair in pairs], [pair[1] for pair in pairs], server)
    print(f"push benchmark · {args.readers} readers · {args.rounds} rounds · {topology.describe(env)}")
    base_us = push_alone(setup, without)
    change_through_hub(setup, base_us)


if __name__ == "__main__":
    children.run_main(main)
