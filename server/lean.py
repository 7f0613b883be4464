"""lean_sockets: once a Daphne socket is open, it drops what only its opening handshake needed (the request's
headers and raw text, Twisted's HTTP channel and request, the settings autobahn copies into every socket),
so an idle socket holds little more than its frame state; off, each keeps all of it while it lives."""

import types

from autobahn.websocket.protocol import WebSocketServerProtocol
from twisted.web import http

from server import active

# Set while autobahn reads the handshake; read by nothing once the socket is open.
HANDSHAKE_LEFTOVERS = (
    "http_headers",
    "http_request_data",
    "http_response_data",
    "http_status_line",
    "http_request_uri",
    "http_request_path",
    "http_request_params",
    "http_request_host",
    "_wskey",
    "websocket_origin",
    "clean_headers",  # Daphne's, copied into the ASGI scope
    "application_deferred",  # Daphne's, fired once the application was made
)


class OpenedRequest:
    """What Daphne still reads of the handshake's request once the socket is open: its path, for its log lines."""

    __slots__ = ("path",)

    def __init__(self, path: str):
        self.path = path


def shared_settings(protocol_class: type[WebSocketServerProtocol], factory) -> dict[str, object]:
    """The settings every socket of `factory` copies from it, kept once on the protocol class instead."""
    shared = protocol_class.__dict__.get("_lean_settings")
    if shared is None or protocol_class.__dict__.get("_lean_factory") is not factory:
        shared = {
            name: getattr(factory, name)
            for name in protocol_class.CONFIG_ATTRS
            # a function on the class would be read back as a method of the socket
            if hasattr(factory, name) and not isinstance(getattr(factory, name), types.FunctionType)
        }
        for name, value in shared.items():
            setattr(protocol_class, name, value)
        protocol_class._lean_settings, protocol_class._lean_factory = shared, factory
    return shared


def release_http_channel(transport) -> None:
    """Twisted's HTTP channel stays the socket's registered producer after Daphne upgrades it, and holds the
    handshake's request with its headers; the WebSocket never needs it again."""
    if isinstance(getattr(transport, "producer", None), http.HTTPChannel):
        transport.unregisterProducer()


def lean_socket(protocol: WebSocketServerProtocol) -> bool:
    """Drops what `protocol`, an open socket, keeps only from its handshake; False when lean_sockets is off."""
    if not active("lean_sockets"):
        return False
    state = protocol.__dict__
    for name in HANDSHAKE_LEFTOVERS:
        state.pop(name, None)
    request = state.get("request")
    if request is not None and not isinstance(request, OpenedRequest):
        state["request"] = OpenedRequest(request.path)
    factory = state.get("factory")
    if factory is not None:
        shared = shared_settings(type(protocol), factory)
        for name, value in shared.items():
            if name in state and state[name] is value:
                del state[name]
    release_http_channel(state.get("transport"))
    protocol.__dict__ = dict(state)  # a dict shrinks only when copied
    return True
