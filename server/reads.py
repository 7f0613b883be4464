"""quiet_reads: each read skips the debug log line autobahn builds even with debug logging off; off,
autobahn's own read. server.limits puts it on every socket Daphne serves."""

from autobahn.websocket.protocol import WebSocketServerProtocol

from server import active


def read_quietly(protocol: WebSocketServerProtocol, data: bytes) -> None:
    """autobahn's WebSocketAdapterProtocol.dataReceived without its debug line (quiet_reads)."""
    protocol._dataReceived(data)


def quiet_reads(protocol_class: type[WebSocketServerProtocol]) -> bool:
    """Has `protocol_class` read with read_quietly; False when quiet_reads is off."""
    if not active("quiet_reads"):
        return False
    protocol_class.dataReceived = read_quietly  # type: ignore[method-assign]
    return True
