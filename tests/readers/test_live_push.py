"""The Hub's push to many readers: under Daphne one framed message sent to each open socket,
under any other ASGI server (or a socket no longer open) the ordinary websocket.send."""

import asyncio
import functools
import gc
import select
import socket

from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import tcp
from twisted.internet.main import CONNECTION_LOST
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor

from readers import live
from readers.changes import EventState
from readers.consumers import detached_reader_message
from readers.live import Hub, Reader, readers_by_page
from server.heartbeat import DEAD_PEER_MS, HEARTBEAT
from server.inbox import detach
from server.writes import write_now
from tests.support.hubsockets import TEXT, daphne_reader, tcp_connection, unframed


async def test_daphne_sockets_get_the_same_frame_written_once_each():
    readers = [daphne_reader(WebSocketProtocol.STATE_OPEN) for _ in range(3)]
    await Hub()._push([reader for reader, _, _ in readers], TEXT, 2)
    frames = {transport.written[0] for _, transport, _ in readers}
    assert len(frames) == 1 and all(len(transport.written) == 1 for _, transport, _ in readers)
    assert unframed(frames.pop()) == (0x81, TEXT)  # FIN + text, the whole message
    assert all(reader.cursor == 2 and sent == [] for reader, _, sent in readers)


async def test_a_socket_no_longer_open_and_other_servers_get_the_asgi_send():
    closing, transport, sent_closing = daphne_reader(WebSocketProtocol.STATE_CLOSING)
    sent_other: list[dict] = []

    async def other_server_send(message):
        sent_other.append(message)

    await Hub()._push([closing, Reader(1, other_server_send)], TEXT, 2)
    assert transport.written == []
    assert sent_closing == sent_other == [{"type": "websocket.send", "text": TEXT}]


async def test_a_socket_whose_write_fails_gets_the_asgi_send_instead():
    reader, transport, sent = daphne_reader(WebSocketProtocol.STATE_OPEN)

    def failing_write(data: bytes) -> None:
        raise RuntimeError("the transport went away under the push")

    transport.write = failing_write
    await Hub()._push([reader], TEXT, 2)
    assert sent == [{"type": "websocket.send", "text": TEXT}] and reader.cursor == 2


async def test_the_collector_runs_again_after_a_push():
    await Hub()._push([daphne_reader(WebSocketProtocol.STATE_OPEN)[0]], TEXT, 2)
    assert gc.isenabled()


def test_with_nothing_queued_the_bytes_leave_at_once_without_the_reactor():
    connection, peer, reactor = tcp_connection()
    write_now(connection, b"frame")
    assert peer.recv(100) == b"frame"
    assert reactor.writers == set() and connection._tempDataLen == 0


def test_bytes_queued_in_twisted_keep_their_place_ahead_of_new_ones():
    connection, peer, reactor = tcp_connection()
    connection.write(b"first ")
    write_now(connection, b"second")
    assert select.select([peer], [], [], 0)[0] == []  # nothing sent past the queued bytes
    assert b"".join(connection._tempDataBuffer) == b"first second" and connection in reactor.writers


def test_what_the_kernel_does_not_take_is_left_to_twisted():
    connection, peer, reactor = tcp_connection()
    big = bytes(range(256)) * 40_000  # 10 MB: more than a socket pair's buffers hold
    write_now(connection, big)
    taken = big[: len(big) - connection._tempDataLen]
    assert 0 < len(taken) < len(big) and b"".join(connection._tempDataBuffer) == big[len(taken) :]
    assert connection in reactor.writers
    received = b""
    while len(received) < len(taken):
        received += peer.recv(1 << 20)
    assert received == taken


def test_a_closed_peer_is_left_to_twisted_to_report():
    connection, peer, reactor = tcp_connection()
    peer.close()
    write_now(connection, b"frame")
    assert b"".join(connection._tempDataBuffer) == b"frame" and connection in reactor.writers
    assert connection.doWrite() is CONNECTION_LOST  # the reactor's next turn finds the loss and closes


def test_the_heartbeat_is_an_unsolicited_pong_and_daphne_then_does_not_ping():
    reader, transport, sent = daphne_reader(WebSocketProtocol.STATE_OPEN)
    reader.keep_alive(1234.5)
    assert transport.written == [HEARTBEAT] == [bytes([0x8A, 0x00])]  # FIN + pong, no payload, unmasked
    assert reader.socket.protocol.last_ping == 1234.5 and sent == []

    closing, transport, _ = daphne_reader(WebSocketProtocol.STATE_CLOSING)
    closing.keep_alive(1234.5)
    assert transport.written == []


async def test_a_reader_just_pushed_to_gets_no_heartbeat_until_it_has_been_quiet_a_while():
    reader, transport, _ = daphne_reader(WebSocketProtocol.STATE_OPEN)
    await Hub()._push([reader], TEXT, 2)
    pushed_at = reader.socket.protocol.last_ping
    reader.keep_alive(pushed_at + 1)
    assert len(transport.written) == 1  # the push only
    reader.keep_alive(pushed_at + live.HEARTBEAT_SECONDS)
    assert transport.written[1:] == [HEARTBEAT]


async def heartbeats_after(seconds: float, round_seconds: float, monkeypatch) -> list[int]:
    """Heartbeats each of 10 readers of two events got in `seconds` of the Hub's keepalive, 4 slices a round."""
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", round_seconds)
    monkeypatch.setattr(live, "HEARTBEAT_SLICES", 4)
    hub = Hub()
    readers = [daphne_reader(WebSocketProtocol.STATE_OPEN) for _ in range(10)]
    hub.readers[1] = {reader for reader, _, _ in readers[:6]}
    hub.readers[2] = {reader for reader, _, _ in readers[6:]}
    task = asyncio.create_task(hub._keep_alive())
    await asyncio.sleep(seconds)
    task.cancel()
    return [len(transport.written) for _, transport, _ in readers]


async def test_the_heartbeat_goes_out_a_slice_at_a_time(monkeypatch):
    counts = await heartbeats_after(0.05, round_seconds=400, monkeypatch=monkeypatch)  # next slice in 100 s
    assert sorted(counts) == [0] * 7 + [1] * 3  # ceil(10 / 4) readers in the first slice


async def test_every_reader_gets_a_heartbeat_each_round(monkeypatch):
    counts = await heartbeats_after(0.5, round_seconds=0.2, monkeypatch=monkeypatch)
    assert all(count >= 1 for count in counts)


def test_a_reader_on_tcp_is_closed_by_the_kernel_a_minute_after_its_peer_stops_acknowledging():
    listener = socket.create_server(("127.0.0.1", 0))
    peer = socket.create_connection(listener.getsockname())
    ours, _address = listener.accept()
    ours.setblocking(False)
    daphne_reader(WebSocketProtocol.STATE_OPEN, tcp.Connection(ours, Protocol(), MemoryReactor()))
    assert ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == DEAD_PEER_MS == 60_000
    for sock in (ours, peer, listener):
        sock.close()


def test_readers_are_grouped_by_their_answer_edition_and_page(settings):
    settings.READER_CHANGES_PAGE = 20
    state = EventState(1, "keynote", 250, "v1", "de", ("en",))

    async def send(message):
        pass

    def reader(cursor: int, edition: str = "") -> Reader:
        return Reader(cursor, send, edition)

    caught_up, behind, behind_too, far, far_too = reader(249), reader(240), reader(240), reader(205), reader(219)
    english, french_gone = reader(249, "en"), reader(249, "fr")  # an edition the event no longer has
    ahead, current = reader(300), reader(250)
    groups = readers_by_page([caught_up, behind, behind_too, far, far_too, english, french_gone, ahead, current], state)
    assert {page: sorted(map(id, readers)) for page, readers in groups.items()} == {
        ("", 249): sorted(map(id, [caught_up, french_gone])),
        ("", 240): sorted(map(id, [behind, behind_too])),
        ("", 200): sorted(map(id, [far, far_too])),  # more than a page behind: the page boundary, shared
        ("en", 249): [id(english)],
    }


# --- readers whose consumer has ended (server.inbox) ----------------------------------------------


def _detached_reader(hub: Hub, event_id: int):
    """A reader that said hello on a Daphne socket and was handed to `hub`, its consumer ended."""
    reader, _, sent = daphne_reader(WebSocketProtocol.STATE_OPEN)
    protocol = reader.socket.protocol
    protocol.application_queue = asyncio.Queue()
    hub.readers[event_id].add(reader)
    assert detach(reader.deliver, functools.partial(detached_reader_message, event_id, reader))
    return reader, protocol, sent


async def test_a_detached_reader_that_disconnects_leaves_the_hub(monkeypatch):
    hub = Hub()
    hub.layer = None
    monkeypatch.setattr(live, "_hub", hub)
    _, protocol, _ = _detached_reader(hub, 7)
    other, _, _ = _detached_reader(hub, 7)
    protocol.application_queue.put_nowait({"type": "websocket.disconnect", "code": 1001})  # as Daphne's onClose
    await asyncio.sleep(0.01)
    assert hub.readers[7] == {other}


async def test_a_detached_reader_that_says_anything_more_is_closed_with_4400(monkeypatch):
    hub = Hub()
    hub.layer = None
    monkeypatch.setattr(live, "_hub", hub)
    _, protocol, sent = _detached_reader(hub, 7)
    protocol.application_queue.put_nowait({"type": "websocket.receive", "text": '{"type":"hello","cursor":0}'})
    await asyncio.sleep(0.01)
    assert sent == [{"type": "websocket.close", "code": 4400}]
