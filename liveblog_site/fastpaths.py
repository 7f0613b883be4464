"""The server fast paths: where liveblog leans on Daphne, Twisted and autobahn internals, in one place.

Each fast path has a name, a switch in settings.FASTPATHS (FASTPATH_<NAME>=false turns it off) and
the versions of the packages whose internals it uses that it was checked against (VERIFIED). When
a switch is off, or an installed version is not one it was checked against, the path falls back to
the servers' public API (the versions case logs one WARNING naming the path and the versions):

- prepared_frames: the Hub frames a change once and hands the frame to each Daphne socket through
  autobahn's sendPreparedMessage; off, each reader gets Daphne's ASGI send.
- direct_write: with nothing queued in autobahn or Twisted, the frame goes to the kernel at once;
  off, autobahn's public sendPreparedMessage (and Twisted's queued write) takes it.
- heartbeat: the Hub sends each reader an unsolicited Pong and tells Daphne it has pinged it; off,
  Daphne's own pings (--ping-interval) keep reader sockets alive.
- daphne_shutdown_fix: Daphne's kill_all_applications, minus the KeyError that stops it cancelling;
  off, Daphne's own.
- gc_tuning: what the process loads at start-up is frozen out of the cyclic collector, full passes
  are rarer, and no pass runs during a push; off, Python's defaults.
- client_send: the relay's audio frames to the speech service go out through the websockets
  protocol's own framing straight to the transport when the connection is open and its buffer
  empty, without the send's async context manager; off, or with data buffered, websockets' send.
- quiet_reads: autobahn builds the arguments of a debug log line (colour-styled names) for every
  chunk a socket reads, even with debug logging off; each read skips that line; off, autobahn's own
  read, line and all.

The WebSocket message limits (limit_messages, limit_every_socket) reach into the same internals but
are limits, not speed: they have no switch.

Nothing here imports the project's apps: any layer may call it.
"""

import asyncio
import contextlib
import functools
import gc
import logging
import socket as pysocket
from collections.abc import Awaitable, Callable, Iterator, Mapping
from importlib import metadata

from autobahn.exception import Disconnected
from autobahn.websocket.protocol import PreparedMessage, WebSocketServerFactory, WebSocketServerProtocol
from channels.sessions import InstanceSessionWrapper
from django.conf import settings
from django.core.signals import setting_changed
from twisted.internet import defer, tcp
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    STDLibLogObserver,
    globalLogPublisher,
)
from websockets.asyncio.connection import Connection as ClientConnection
from websockets.protocol import OPEN as CLIENT_OPEN

logger = logging.getLogger(__name__)

# The installed versions each path was read against and checked with (its tests and the benches).
VERIFIED = {"daphne": ("4.2.1",), "twisted": ("26.10.0",), "autobahn": ("26.10.2",), "websockets": ("15.0.1",)}
WRITTEN_FOR: dict[str, tuple[str, ...]] = {
    "prepared_frames": ("daphne", "autobahn"),  # Daphne's send is partial(Server.handle_reply, protocol)
    "direct_write": ("autobahn", "twisted"),  # autobahn's send_queue, Twisted's tcp.Connection buffers
    "heartbeat": ("daphne", "autobahn"),  # Daphne's last_ping
    "daphne_shutdown_fix": ("daphne",),  # Server.kill_all_applications and Server.connections
    "gc_tuning": (),  # Python's own gc module only
    "client_send": ("websockets",),  # Connection.protocol, fragmented_send_waiter, send_data, transport
    "quiet_reads": ("autobahn",),  # WebSocketAdapterProtocol.dataReceived forwards to _dataReceived
}
FASTPATHS = tuple(WRITTEN_FOR)

HEARTBEAT = b"\x8a\x00"  # FIN + Pong, no payload, unmasked: a one-way heartbeat nobody answers (RFC 6455 5.5.3)
DEAD_PEER_MS = 60_000

Deliver = Callable[[dict], Awaitable[None]]  # an ASGI send: takes a websocket.send message

# What Daphne's send raises for a socket closed before the application closed it: by its client, or by
# autobahn refusing a message over the limit while the application still handles an earlier one.
SocketClosed = Disconnected


# --- switches and versions ------------------------------------------------------------------------


@functools.cache
def installed_versions() -> dict[str, str]:
    versions = {}
    for package in VERIFIED:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def versions_verified(name: str, installed: Mapping[str, str]) -> bool:
    """Whether `installed` are versions fast path `name` was checked against; a WARNING names any that are not."""
    if name not in WRITTEN_FOR:
        raise ValueError(f"no fast path named {name!r}; the fast paths are {', '.join(FASTPATHS)}")
    differ = {
        package: installed.get(package, "not installed")
        for package in WRITTEN_FOR[name]
        if installed.get(package) not in VERIFIED[package]
    }
    if differ:
        logger.warning(
            "fast path %s is off, the public API serves instead: it was written for %s, installed is %s",
            name,
            ", ".join(f"{package} {' or '.join(VERIFIED[package])}" for package in differ),
            ", ".join(f"{package} {version}" for package, version in differ.items()),
        )
    return not differ


_active: dict[str, bool] = {}


def active(name: str) -> bool:
    """Whether fast path `name` runs here: its setting is on and the installed versions are verified."""
    known = _active.get(name)
    if known is None:
        switches = getattr(settings, "FASTPATHS", {})
        known = _active[name] = bool(switches.get(name, True)) and versions_verified(name, installed_versions())
    return known


def _forget_switches(*, setting: str, **kwargs) -> None:
    if setting == "FASTPATHS":
        _active.clear()


setting_changed.connect(_forget_switches)


# --- prepared_frames, direct_write and heartbeat: a reader's Daphne socket ------------------------

_OPEN = WebSocketServerProtocol.STATE_OPEN


def _twisted_tcp(transport) -> bool:
    """Whether a transport is Twisted's plain TCP connection, whose write buffer write_now can check."""
    return isinstance(transport, tcp.Connection) and all(
        hasattr(transport, name) for name in ("socket", "dataBuffer", "_tempDataLen", "disconnecting")
    )


def write_now(transport, data: bytes) -> None:
    """transport.write(data), but sent on the spot when nothing is queued ahead of it.

    Twisted's write only queues: it registers the socket for writability (a system call), the
    reactor sends on a later turn and unregisters it (another). Pushing one change to thousands of
    sockets, those two calls and the reactor's turn per socket cost more than the send itself. With
    Twisted's buffer empty the bytes go out in order straight away; whatever the kernel does not
    take, or a failed socket, is left to Twisted's write as before.
    """
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
            # Why not sendPreparedMessage: it builds the arguments of a debug log line even with
            # debug logging off, and Twisted's write only queues (see write_now).
            write_now(self.tcp, prepared.payloadHybi)
        return True

    def keep_alive(self, now: float) -> None:
        """The heartbeat, to an open socket with nothing queued."""
        protocol = self.protocol
        if protocol.state != _OPEN or protocol.send_queue:
            return
        if self.tcp is not None:
            write_now(self.tcp, HEARTBEAT)
        else:
            protocol.sendPong()
        protocol.last_ping = now  # Daphne pings a socket it has not pinged for its ping interval


def _daphne_protocol(send: Deliver) -> WebSocketServerProtocol | None:
    wrapper = getattr(send, "__self__", None)
    if isinstance(wrapper, InstanceSessionWrapper):  # Channels' session middleware (the studio's) wraps send
        send = wrapper.real_send
    if isinstance(send, functools.partial) and send.args and isinstance(send.args[0], WebSocketServerProtocol):
        return send.args[0]
    return None


def daphne_socket(send: Deliver) -> DaphneSocket | None:
    """The Daphne socket behind an ASGI send, when prepared frames or the heartbeat may use it; else None.

    Daphne's send is partial(Server.handle_reply, protocol). Sending through it costs a reader a
    coroutine, Daphne's checks, a UTF-8 encode and autobahn's framing: several times the socket
    write. A change goes to every reader at once, so it is framed once and the frame handed to each.
    """
    if not (active("prepared_frames") or active("heartbeat")):
        return None
    protocol = _daphne_protocol(send)
    return DaphneSocket(protocol) if protocol is not None else None


def prepared_frame(text: str) -> PreparedMessage | None:
    """`text` framed once for every Daphne socket, or None when each reader takes the ASGI send."""
    if not active("prepared_frames"):
        return None
    return PreparedMessage(text.encode(), isBinary=False, applyMask=False, doNotCompress=True)


def heartbeat_on() -> bool:
    """Whether the Hub sends readers the heartbeat; when not, Daphne's own pings keep sockets alive."""
    return active("heartbeat")


# --- gc_tuning ------------------------------------------------------------------------------------

_collector_pauses = 0


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Holds Python's cyclic garbage collector off while a push runs (when gc_tuning is on).

    A push allocates a few short-lived objects per reader; with the collector on, those still
    pending at a collection get promoted, and the promotions trigger full collections, which walk
    every object of every connected reader and stall the readers not yet served. Paused, they die
    young and the collector finds little after the push.
    """
    global _collector_pauses
    if not active("gc_tuning"):
        yield
        return
    _collector_pauses += 1
    gc.disable()
    try:
        yield
    finally:
        _collector_pauses -= 1
        if _collector_pauses == 0:
            gc.enable()


def tune_gc() -> bool:
    """Freezes what is loaded by now and makes full collections rarer; False when gc_tuning is off.

    A full pass of the cyclic collector stops every socket of the process while it walks every
    object. What is loaded at start-up lives as long as the process: frozen, it is not walked.
    Thousands of open reader sockets are long-lived too, so full passes come after 1000 younger
    ones, not 10.
    """
    if not active("gc_tuning"):
        return False
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)
    return True


# --- daphne_shutdown_fix ----------------------------------------------------------------------------


def cancel_applications_at_shutdown(server) -> defer.Deferred:
    """Daphne's own `kill_all_applications`, minus its KeyError.

    Daphne reads `application_instance` from every connection at shutdown, but a connection has
    none while its request is still arriving, nor once its application has ended and the socket is
    still closing. Its version then raises, logs a traceback and cancels none of the others.
    """
    running = [details.get("application_instance") for details in server.connections.values()]
    pending = [instance for instance in running if instance is not None and not instance.done()]
    for instance in pending:
        instance.cancel()
    logging.getLogger("daphne.server").info("Killed %i pending application instances", len(pending))
    waiting = defer.Deferred.fromFuture(asyncio.gather(*pending, return_exceptions=True))
    waiting.addErrback(lambda _failure: None)
    return waiting


def fix_daphne_shutdown() -> bool:
    """Puts cancel_applications_at_shutdown in place of Daphne's; False when daphne_shutdown_fix is off."""
    from daphne.server import Server  # here: importing it installs Twisted's reactor

    if not active("daphne_shutdown_fix"):
        return False
    Server.kill_all_applications = cancel_applications_at_shutdown
    return True


# --- logs and message limits (no switch) ------------------------------------------------------------


def forward_twisted_logs() -> None:
    """Twisted's and autobahn's warnings and errors go to Python logging (logger "twisted").

    Daphne, at its default verbosity, discards everything they log; an operator must see a socket
    the server dropped, such as a client that left the closing handshake unanswered, which autobahn
    aborts.
    """
    globalLogPublisher.addObserver(
        FilteringLogObserver(
            STDLibLogObserver(name="twisted"), [LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)]
        )
    )


def limit_messages(send: Deliver, max_bytes: int) -> bool:
    """Has Daphne refuse, with close 1009, any message from this socket's client over `max_bytes`.

    Autobahn checks the size a frame's header declares, so an oversized message is refused before
    its payload is read, and no later than the handshake's end if this is called before accept.
    False under another server: the consumer's own checks are then all there is.
    """
    protocol = _daphne_protocol(send)
    if protocol is None:
        return False
    protocol.maxFramePayloadSize = max_bytes
    protocol.maxMessagePayloadSize = max_bytes
    protocol.failByDrop = False  # the client hears why (1009) instead of finding its connection cut
    return True


def limit_every_socket(max_bytes: int) -> bool:
    """The same limit for every socket Daphne serves, as a default before each consumer's own.

    Daphne takes no option for it: the factory it makes its sockets with gets the limit as it is
    made, which is when Daphne starts serving, after this is called. False when Daphne's factory is
    not what this knows.
    """
    from daphne import server as daphne_server  # here: importing it installs Twisted's reactor

    factory = getattr(daphne_server, "WebSocketFactory", None)
    if not (isinstance(factory, type) and issubclass(factory, WebSocketServerFactory)):
        logger.warning("Daphne's WebSocket factory is not autobahn's: sockets get no default message limit")
        return False
    if getattr(factory, "limits_messages", False):
        return True

    class IncomingLimitedProtocol(factory.protocol):
        def sendMessage(self, payload, *args, **kwargs):
            # autobahn holds what it sends to the limit it holds the client to: a reader's push
            # through Daphne's ASGI send would be refused (it only logs a warning).
            limit, self.maxMessagePayloadSize = self.maxMessagePayloadSize, 0
            try:
                super().sendMessage(payload, *args, **kwargs)
            finally:
                self.maxMessagePayloadSize = limit

    if active("quiet_reads"):
        IncomingLimitedProtocol.dataReceived = _read_quietly  # type: ignore[method-assign]

    class LimitedWebSocketFactory(factory):
        limits_messages = True
        protocol = IncomingLimitedProtocol

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.setProtocolOptions(maxFramePayloadSize=max_bytes, maxMessagePayloadSize=max_bytes, failByDrop=False)

    daphne_server.WebSocketFactory = LimitedWebSocketFactory
    return True


def _read_quietly(protocol: WebSocketServerProtocol, data: bytes) -> None:
    """autobahn's WebSocketAdapterProtocol.dataReceived without its debug line (quiet_reads)."""
    protocol._dataReceived(data)


# --- client_send: audio frames to the speech service ----------------------------------------------


def send_binary_now(connection: ClientConnection, data: bytes) -> bool:
    """Sends `data` as one binary message at once, as websockets' send does with nothing to wait for;
    False when the caller must await `connection.send(data)` instead (the path is off, the connection
    is not open, a fragmented message is being sent, or data waits in the transport's buffer, which
    is where websockets' send applies flow control).

    On a socket error the connection is aborted, as websockets' send would close it: the caller
    learns of the loss from its receive loop.
    """
    if not active("client_send"):
        return False
    transport = connection.transport
    if (
        connection.protocol.state is not CLIENT_OPEN
        or connection.fragmented_send_waiter is not None
        or transport.get_write_buffer_size()
    ):
        return False
    connection.protocol.send_binary(data)
    try:
        connection.send_data()
    except OSError:
        transport.abort()
    return True
