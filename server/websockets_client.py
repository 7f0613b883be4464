"""client_send: the relay's audio frames to the speech service go out through the websockets protocol's
own framing straight to the transport when the connection is open and its buffer empty, without the
send's async context manager; off, or with data buffered, websockets' send."""

from websockets.asyncio.connection import Connection as ClientConnection
from websockets.protocol import OPEN as CLIENT_OPEN

from server import active


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
