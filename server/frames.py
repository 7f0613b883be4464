"""prepared_frames: the Hub frames a change once and hands the frame to each Daphne socket through
autobahn's sendPreparedMessage; off, each reader gets Daphne's ASGI send."""

from autobahn.websocket.protocol import PreparedMessage

from server import active


def prepared_frame(text: str) -> PreparedMessage | None:
    """`text` framed once for every Daphne socket, or None when each reader takes the ASGI send."""
    if not active("prepared_frames"):
        return None
    return PreparedMessage(text.encode(), isBinary=False, applyMask=False, doNotCompress=True)
