"""The server fast paths (server/): each one's switch turns it off and the servers'
public API serves instead; versions of Daphne, Twisted, autobahn or websockets a path was not checked
against turn it off too, with one warning."""

import asyncio
import gc
import json
import logging
import socket
import subprocess
import sys
import types

import pytest
from autobahn.websocket.protocol import WebSocketProtocol
from daphne.ws_protocol import WebSocketFactory
from daphne.ws_protocol import WebSocketProtocol as DaphneProtocol
from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor
from twisted.web import http
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from publishing.models import Post
from readers.live import Hub
from server import FASTPATHS, active, installed_versions, versions_verified
from server.gc_tuning import collector_paused
from server.heartbeat import HEARTBEAT
from server.inbox import detach
from server.lean import lean_socket
from server.websockets_client import send_binary_now
from tests.support.hubsockets import TEXT, daphne_reader, tcp_connection, unframed
from tests.support.netclients import ReaderSocket
from tests.support.processes import ROOT, child_env, start_daphne

CHECKED = {"daphne": "4.2.1", "twisted": "26.10.0", "autobahn": "26.10.2", "websockets": "15.0.1"}


@pytest.fixture
def switch_off(settings):
    def off(*names: str) -> None:
        settings.FASTPATHS = {name: name not in names for name in FASTPATHS}

    return off


# --- versions -------------------------------------------------------------------------------------


def test_this_installation_runs_every_fast_path():
    assert installed_versions() == CHECKED
    assert all(active(name) for name in FASTPATHS)


def test_a_path_falls_back_with_a_warning_on_versions_it_was_not_checked_against(caplog):
    with caplog.at_level(logging.WARNING, logger="server"):
        assert versions_verified("direct_write", {**CHECKED, "twisted": "27.1.0"}) is False
        assert versions_verified("daphne_shutdown_fix", {**CHECKED, "daphne": "4.3.0"}) is False
        assert versions_verified("heartbeat", {"daphne": "4.1.0", "autobahn": "25.6.1"}) is False
    assert [record.getMessage() for record in caplog.records] == [
        "fast path direct_write is off, the public API serves instead: it was written for twisted 26.10.0, "
        "installed is twisted 27.1.0",
        "fast path daphne_shutdown_fix is off, the public API serves instead: it was written for daphne 4.2.1, "
        "installed is daphne 4.3.0",
        "fast path heartbeat is off, the public API serves instead: it was written for daphne 4.2.1, "
        "autobahn 26.10.2, installed is daphne 4.1.0, autobahn 25.6.1",
    ]


def test_a_path_on_the_versions_it_was_checked_against_runs_without_a_word(caplog):
    with caplog.at_level(logging.WARNING, logger="server"):
        assert all(versions_verified(name, CHECKED) for name in FASTPATHS)
        assert versions_verified("gc_tuning", {}) is True  # Python's own gc only
    assert caplog.records == []


def test_an_unknown_fast_path_is_named_in_the_error():
    with pytest.raises(ValueError, match="no fast path named 'direct_writes'; the fast paths are prepared_frames"):
        versions_verified("direct_writes", CHECKED)


# --- each switch --------------------------------------------------------------------------------


async def test_without_prepared_frames_every_reader_gets_the_asgi_send(switch_off):
    switch_off("prepared_frames")
    readers = [daphne_reader(WebSocketProtocol.STATE_OPEN) for _ in range(3)]
    await Hub()._push([reader for reader, _, _ in readers], TEXT, 2)
    assert all(transport.written == [] for _, transport, _ in readers)
    assert all(sent == [{"type": "websocket.send", "text": TEXT}] for _, _, sent in readers)


def _reader_on_tcp():
    connection, peer, reactor = tcp_connection()
    reader, _, sent = daphne_reader(WebSocketProtocol.STATE_OPEN, connection)
    return reader, connection, peer, reactor, sent


async def test_direct_write_sends_at_once_and_without_it_twisted_queues_the_frame(switch_off):
    reader, _, peer, reactor, _ = _reader_on_tcp()
    await Hub()._push([reader], TEXT, 2)
    assert unframed(peer.recv(1 << 16)) == (0x81, TEXT) and reactor.writers == set()

    switch_off("direct_write")
    reader, connection, peer, reactor, sent = _reader_on_tcp()
    await Hub()._push([reader], TEXT, 2)
    # autobahn's sendPreparedMessage took it: Twisted holds it for the reactor's next turn
    assert unframed(b"".join(connection._tempDataBuffer)) == (0x81, TEXT) and connection in reactor.writers
    assert sent == []


def test_without_direct_write_the_heartbeat_is_autobahns_pong(switch_off):
    switch_off("direct_write")
    reader, connection, _, reactor, _ = _reader_on_tcp()
    reader.keep_alive(1234.5)
    assert b"".join(connection._tempDataBuffer) == HEARTBEAT and connection in reactor.writers
    assert reader.socket.protocol.last_ping == 1234.5


async def test_without_the_heartbeat_the_hub_sends_none_and_daphne_pings(switch_off):
    hub = Hub()
    hub.layer = None
    await hub._listen(1)
    assert hub.heartbeat is not None
    for task in (hub.heartbeat, hub.poller):
        task.cancel()

    switch_off("heartbeat")
    hub = Hub()
    hub.layer = None
    await hub._listen(1)
    assert hub.heartbeat is None
    hub.poller.cancel()


def test_without_the_heartbeat_daphnes_ping_timeout_closes_a_dead_peer_not_the_kernel(switch_off):
    switch_off("heartbeat")
    listener = socket.create_server(("127.0.0.1", 0))
    peer = socket.create_connection(listener.getsockname())
    ours, _address = listener.accept()
    daphne_reader(WebSocketProtocol.STATE_OPEN, tcp.Connection(ours, Protocol(), MemoryReactor()))
    assert ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 0
    for sock in (ours, peer, listener):
        sock.close()


def test_without_gc_tuning_the_collector_runs_during_a_push(switch_off):
    with collector_paused():
        assert not gc.isenabled()
    switch_off("gc_tuning")
    with collector_paused():
        assert gc.isenabled()


def _server_as_loaded(**env: str) -> dict:
    code = (
        "import gc, json, liveblog_site.asgi; from daphne.server import Server, WebSocketFactory; "
        "print(json.dumps({'shutdown': Server.kill_all_applications.__module__, "
        "'frozen': gc.get_freeze_count(), 'full_every': gc.get_threshold()[2], "
        "'reads': WebSocketFactory.protocol.dataReceived.__module__}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=child_env(**env), capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.django_db
def test_the_shutdown_fix_gc_tuning_and_quiet_reads_are_in_place_unless_switched_off():
    on = _server_as_loaded()
    assert on["shutdown"] == "server.shutdown" and on["frozen"] > 0 and on["full_every"] == 1000
    assert on["reads"] == "server.reads"
    off = _server_as_loaded(
        FASTPATH_DAPHNE_SHUTDOWN_FIX="false", FASTPATH_GC_TUNING="false", FASTPATH_QUIET_READS="false"
    )
    assert off == {"shutdown": "daphne.server", "frozen": 0, "full_every": 10, "reads": "autobahn.twisted.websocket"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_daphne_with_the_push_fast_paths_off_still_brings_readers_their_posts(event):
    # Daphne's own shutdown would log its KeyError at the end (test_operations.py shows why)
    off = {f"FASTPATH_{name.upper()}": "false" for name in FASTPATHS if name != "daphne_shutdown_fix"}
    daphne, port = start_daphne(**off)
    try:
        base = f"http://127.0.0.1:{port}"
        first = Post.objects.create(event=event, body="Before the readers came.")
        first.publish()
        readers = [ReaderSocket(base, event.slug) for _ in range(3)]
        for reader in readers:
            reader.wait_for_posts({first.pk})
        second = Post.objects.create(event=event, body="While they read.")
        second.publish()
        for reader in readers:
            reader.wait_for_posts({second.pk})
            reader.ws.close()
    finally:
        daphne.stop()
    assert daphne.popen.returncode == 0, daphne.output()
    daphne.assert_no_traceback()


# --- client_send ----------------------------------------------------------------------------------


async def _echo_sizes(frames: list[bytes]) -> tuple[list[bool], list[bytes]]:
    """Sends `frames` with send_binary_now to a real websockets server; what it answered and what it got."""
    received: list[bytes] = []
    got_all = asyncio.Event()

    async def keep(ws) -> None:
        async for message in ws:
            received.append(message)
            if len(received) == len(frames):
                got_all.set()

    async with serve(keep, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as client:
            answers = []
            for frame in frames:
                sent = send_binary_now(client, frame)
                if not sent:
                    await client.send(frame)
                answers.append(sent)
            await asyncio.wait_for(got_all.wait(), 10)
    return answers, received


async def test_audio_frames_to_the_speech_service_go_straight_to_the_socket_in_order():
    frames = [bytes([n]) * 3200 for n in range(20)]
    answers, received = await _echo_sizes(frames)
    assert all(answers) and received == frames


async def test_without_client_send_websockets_own_send_takes_the_frames(switch_off):
    switch_off("client_send")
    frames = [bytes([n]) * 3200 for n in range(5)]
    answers, received = await _echo_sizes(frames)
    assert not any(answers) and received == frames


async def test_a_closed_connection_or_a_full_buffer_is_left_to_websockets_send():
    async def nothing(ws) -> None:
        await ws.wait_closed()

    async with serve(nothing, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as client:
            assert client.transport.get_write_buffer_size() == 0
            # More than the kernel takes at once (the server reads nothing): the rest stays in the buffer.
            big = bytes(64 * 1024 * 1024)
            assert send_binary_now(client, big)
            assert client.transport.get_write_buffer_size() > 0
            assert not send_binary_now(client, b"after"), "flow control: websockets' send waits"
        assert not send_binary_now(client, b"closed")


# --- lean_sockets ---------------------------------------------------------------------------------


def _opened_socket():
    """A Daphne socket as its handshake leaves it: the factory's options copied in, a reader's own limit, the
    request's headers, and Twisted's HTTP channel still the transport's producer."""

    class Opened(DaphneProtocol):  # lean_sockets keeps the shared options on the socket's class
        pass

    connection, peer, _reactor = tcp_connection()
    connection.registerProducer(http.HTTPChannel(), True)
    protocol = Opened()
    protocol.factory, protocol.transport = WebSocketFactory(None), connection
    for option in protocol.CONFIG_ATTRS:
        setattr(protocol, option, getattr(protocol.factory, option))
    protocol.maxMessagePayloadSize = 512
    protocol.http_headers = {"host": "example.org", "cookie": "a=b"}
    protocol.http_request_data = b"GET /ws/events/keynote/ HTTP/1.1\r\nHost: example.org\r\n\r\n"
    protocol.clean_headers = [(b"host", b"example.org")]
    protocol.request = types.SimpleNamespace(path="/ws/events/keynote/", headers=dict(protocol.http_headers))
    return protocol, connection, peer


def test_lean_sockets_drop_what_only_the_handshake_needed():
    protocol, connection, peer = _opened_socket()
    before = sys.getsizeof(vars(protocol))
    assert lean_socket(protocol)
    kept = vars(protocol)
    assert not {"http_headers", "http_request_data", "clean_headers", "autoPingTimeout"} & set(kept)
    assert protocol.request.path == "/ws/events/keynote/" and not hasattr(protocol.request, "headers")
    assert protocol.autoPingTimeout == protocol.factory.autoPingTimeout  # read from the class now
    assert kept["maxMessagePayloadSize"] == 512 != protocol.factory.maxMessagePayloadSize
    assert connection.producer is None
    assert sys.getsizeof(kept) < before / 2
    peer.close()


def test_without_lean_sockets_an_open_socket_keeps_its_handshake(switch_off):
    switch_off("lean_sockets")
    protocol, connection, peer = _opened_socket()
    assert not lean_socket(protocol)
    assert "http_headers" in vars(protocol) and isinstance(connection.producer, http.HTTPChannel)
    peer.close()


# --- detached_sockets -----------------------------------------------------------------------------


def test_a_detached_socket_gives_what_daphne_queued_then_each_later_message_to_its_callback():
    reader, _, _ = daphne_reader(WebSocketProtocol.STATE_OPEN)
    protocol = reader.socket.protocol
    protocol.application_queue = asyncio.Queue()
    protocol.application_queue.put_nowait({"type": "websocket.receive", "text": "queued"})
    taken: list[dict] = []
    assert detach(reader.deliver, taken.append)
    protocol.application_queue.put_nowait({"type": "websocket.disconnect", "code": 1001})  # as Daphne's onClose
    assert taken == [{"type": "websocket.receive", "text": "queued"}, {"type": "websocket.disconnect", "code": 1001}]


def test_without_detached_sockets_the_application_keeps_daphnes_queue(switch_off):
    switch_off("detached_sockets")
    reader, _, _ = daphne_reader(WebSocketProtocol.STATE_OPEN)
    queue = reader.socket.protocol.application_queue = asyncio.Queue()
    assert not detach(reader.deliver, print)
    assert reader.socket.protocol.application_queue is queue
