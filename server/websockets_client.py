"""client_send: the relay's audio frames to the speech service go straight to the transport when the
connection is open and its buffer empty; off, or with data buffered, websockets' send."""

from websockets.asyncio.connection import Connection as ClientConnection
from websockets.protocol import OPEN as CLIENT_OPEN

from server import active


def send_binary_now(connection: ClientConnection, data: bytes) -> bool:
    """Sends `data` as one binary message at once; False when the caller must await `connection.send`
    (off, not open, a fragmented send, or data buffered: flow control). A socket error aborts the connection."""
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
