import asyncio
import gc
import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the apps loaded above)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from daphne.server import Server  # noqa: E402
from django.urls import re_path  # noqa: E402
from twisted.internet import defer  # noqa: E402
from twisted.logger import (  # noqa: E402
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    STDLibLogObserver,
    globalLogPublisher,
)

from liveblog_site.routing import reader_routes, studio_routes  # noqa: E402
from readers.live import limit_every_socket  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Readers are anonymous and many: their sockets skip the session and user lookup (~4 KiB each).
        "websocket": AllowedHostsOriginValidator(
            URLRouter([*reader_routes, re_path(r"", AuthMiddlewareStack(URLRouter(studio_routes)))])
        ),
    }
)


# Daphne, at its default verbosity, discards everything Twisted and autobahn log. Their warnings and
# errors go to Python logging instead: an operator must see a socket the server dropped, such as a
# client that left the closing handshake unanswered for a second, which autobahn aborts.
globalLogPublisher.addObserver(
    FilteringLogObserver(STDLibLogObserver(name="twisted"), [LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)])
)


def cancel_applications_at_shutdown(server: Server) -> defer.Deferred:
    """Daphne's own `kill_all_applications`, minus its KeyError.

    Daphne 4.2 reads `application_instance` from every connection at shutdown, but a connection
    has none while its request is still arriving, nor once its application has ended and the socket
    is still closing. Its version then raises, logs a traceback and cancels none of the others.
    """
    running = [details.get("application_instance") for details in server.connections.values()]
    pending = [instance for instance in running if instance is not None and not instance.done()]
    for instance in pending:
        instance.cancel()
    logging.getLogger("daphne.server").info("Killed %i pending application instances", len(pending))
    waiting = defer.Deferred.fromFuture(asyncio.gather(*pending, return_exceptions=True))
    waiting.addErrback(lambda _failure: None)
    return waiting


Server.kill_all_applications = cancel_applications_at_shutdown
limit_every_socket()

# A full pass of Python's cyclic collector stops every socket of the process while it walks every
# object. What is loaded by now lives as long as the process: frozen, it is not walked (a pass took
# 16 ms instead of 53 ms under bench.relay). Thousands of open reader sockets are long-lived objects
# too (a pass took about 1 s at 10,000 readers), so full passes come after 1000 younger ones, not 10.
gc.freeze()
_young, _middle, _full = gc.get_threshold()
gc.set_threshold(_young, _middle, 1000)
