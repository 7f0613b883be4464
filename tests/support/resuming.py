"""A studio client that resumes as the studio page does (docs/studio-protocol.md, *Resuming without loss*):
it keeps the audio it sent until the server acknowledges it, and when its socket closes with 1012 or
drops it resumes the session on the next web process at once, sending that audio again from its
stream time. Also a TCP relay whose connections can be cut, or frozen mid-frame as a Wi-Fi drop leaves them."""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections import deque

from websockets.exceptions import ConnectionClosed

from tests.support.emulators.studio import FRAME
from tests.support.netclients import StudioSocket

BYTES_PER_SECOND = 32000
UNACKED_BYTES = 30 * BYTES_PER_SECOND  # as the studio page: 30 s


class ResumingStudio:
    """Streams through whichever of `bases` (web processes' URLs) takes it, one at a time, in turn."""

    def __init__(self, bases: list[str], slug: str, cookie: str, *, connect_within: float = 60.0):
        self.bases = bases
        self.slug = slug
        self.cookie = cookie
        self.connect_within = connect_within
        self.at = 0  # index of the base in use
        self.socket: StudioSocket | None = None
        self.read = 0  # messages of the current socket looked at
        self.session: int | None = None
        self.position = 0  # stream time, in bytes, after the last frame sent
        self.unacked: deque[tuple[int, bytes]] = deque()  # (stream byte, frame) sent, not acknowledged
        self.last_sequence = -1
        self.finals: dict[int, dict] = {}
        self.acks = 0
        self.closes: list[int] = []  # each socket's close code, in order
        self.resent_bytes = 0
        self.resumes: list[dict] = []  # per resume: the process, its ready, and how long it took

    # --- connecting ----------------------------------------------------------------------------

    def start(self) -> dict:
        return self._open(self.bases[self.at], {})

    def _open(self, base: str, extra: dict) -> dict:
        self.socket = StudioSocket(base, self.slug, cookie=self.cookie)
        self.read = 0
        ready = self.socket.start(**extra)
        assert ready["type"] == "ready", ready
        self.session = ready["session"]
        self.position = round(ready["stream_time"] * BYTES_PER_SECOND / 2) * 2
        return ready

    def resume(self) -> dict:
        """On the next process that takes it (the one in use is going), at once: no backoff."""
        dropped_at = time.monotonic()
        first = self.unacked[0][0] if self.unacked else self.position
        extra = {
            "session": self.session,
            "stream_time": first / BYTES_PER_SECOND,
            "resend": bool(self.unacked),
            "last_sequence": self.last_sequence,
        }
        deadline = dropped_at + self.connect_within
        while True:
            self.at = (self.at + 1) % len(self.bases)
            try:
                ready = self._open(self.bases[self.at], extra)
                break
            except (OSError, ConnectionClosed, TimeoutError, AssertionError):  # not listening, or closing
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert ready["resumed"] is True and ready["session"] == extra["session"], ready
        assert self.position == first, (ready, first)
        self.resumes.append(
            {"base": self.bases[self.at], "ready": ready, "seconds": time.monotonic() - dropped_at, "resent": 0}
        )
        frames, self.unacked = list(self.unacked), deque()
        for _, frame in frames:
            self._send(frame)
            self.resent_bytes += len(frame)
            self.resumes[-1]["resent"] += len(frame)
        return ready

    # --- streaming -----------------------------------------------------------------------------

    def stream(self, pcm: bytes, *, pace: float = 1.0, at_seconds: dict | None = None) -> None:
        """Send `pcm` in 100 ms frames at `pace`× real time; `at_seconds` maps a stream time (s) of this
        audio to a callable run once just before the frame that starts there (a SIGTERM, a cut)."""
        pending = dict(sorted((at_seconds or {}).items()))
        began = time.monotonic()
        for offset in range(0, len(pcm), FRAME):
            for when in [w for w in pending if w * BYTES_PER_SECOND <= offset]:
                pending.pop(when)()
            self.absorb()
            self._send(pcm[offset : offset + FRAME])
            due = began + (offset + FRAME) / BYTES_PER_SECOND / pace
            time.sleep(max(0.0, due - time.monotonic()))

    def _send(self, frame: bytes) -> None:
        assert self.socket is not None
        self.unacked.append((self.position, frame))
        self.position += len(frame)
        while self.unacked and self.position - self.unacked[0][0] > UNACKED_BYTES:
            self.unacked.popleft()
        try:
            self.socket.ws.send(frame)
        except ConnectionClosed:
            self.absorb()  # the close is read next; the frame waits among the unacknowledged

    def absorb(self) -> None:
        """Read what came: acknowledgements, finals, and a close, which resumes elsewhere."""
        socket_ = self.socket
        assert socket_ is not None
        with socket_._changed:
            messages = socket_.messages[self.read :]
            self.read += len(messages)
        for message in messages:
            if message["type"] == "ack":
                self.acks += 1
                self.acknowledged(message["stream_time"])
            elif message["type"] == "transcript" and "received" in message:
                self.acknowledged(message["received"])  # a live transcript says what an ack would
            if message["type"] == "transcript" and message["is_final"]:
                self.finals[message["sequence"]] = message
                self.last_sequence = max(self.last_sequence, message["sequence"])
        if socket_.closed:
            self.closes.append(socket_.close_code)
            self.resume()
            self.absorb()

    def acknowledged(self, stream_time: float) -> None:
        """The server holds the audio up to `stream_time`: those frames need not go again."""
        acked = round(stream_time * BYTES_PER_SECOND / 2) * 2
        while self.unacked and self.unacked[0][0] + len(self.unacked[0][1]) <= acked:
            self.unacked.popleft()

    def wait_closed_and_resume(self, timeout: float = 60.0) -> None:
        assert self.socket is not None
        self.socket.wait_closed(timeout)
        self.absorb()

    def stop(self, timeout: float = 60.0) -> dict:
        assert self.socket is not None
        self.absorb()
        self.socket.ws.send('{"type": "stop"}')
        stopped = self.socket.wait_for(lambda m: m["type"] == "stopped", timeout=timeout)
        self.closes.append(self.socket.wait_closed(timeout))
        self.absorb_final_messages()
        return stopped

    def absorb_final_messages(self) -> None:
        assert self.socket is not None
        for message in self.socket.messages[self.read :]:
            if message["type"] == "transcript" and message["is_final"]:
                self.finals[message["sequence"]] = message
        self.read = len(self.socket.messages)

    def send_half_a_frame(self, frame: bytes) -> None:
        """Write the first half of a masked binary frame of `frame` to the socket, bypassing the protocol:
        the rest never comes. The frame counts as sent, so it waits among the unacknowledged."""
        assert self.socket is not None and len(frame) < 65536
        header = bytes([0x82, 0x80 | 126]) + struct.pack("!H", len(frame)) + bytes(4)  # FIN, binary, mask key 0
        self.unacked.append((self.position, frame))
        self.position += len(frame)
        self.socket.ws.socket.sendall(header + frame[: len(frame) // 2])


class TcpRelay:
    """A TCP relay from a local port to `target_port`, as the network between a laptop and the server: `cut()`
    closes every connection on both sides, as Wi-Fi switched off (later connections pass again); `freeze()` stops
    it passing anything either way and resets the client's side while the server's side stays open, as a dropped
    Wi-Fi leaves a socket."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.frozen = threading.Event()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        """Bytes both ways until a side closes (then both close) or the relay freezes (then nothing moves)."""
        peers = {client: server, server: client}
        try:
            while not self.frozen.is_set():
                readable, _, _ = select.select(list(peers), [], [], 0.05)
                for sock in readable:
                    if self.frozen.is_set():
                        return
                    data = sock.recv(65536)
                    if not data:  # one side closed: so does the other
                        self._close(client, server)
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # a side closed or reset, or cut (a closed socket's fileno is -1)
            if not self.frozen.is_set():
                self._close(client, server)

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut(self) -> None:
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            self._close(*pair)

    def freeze(self) -> None:
        self.frozen.set()
        time.sleep(0.1)  # the pumps have stopped
        with self.lock:
            clients = [client for client, _server in self.pairs]
        for client in clients:
            with contextlib.suppress(OSError):
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()  # a reset to the client; the server hears nothing

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()
        self.cut()
