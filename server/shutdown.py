"""Daphne's shutdown. On SIGTERM, a graceful stop: no new sockets, each socket's owner finishes its work
and closes it with 1012 (service restart), then the process exits, all within SHUTDOWN_GRACE_SECONDS.
Also daphne_shutdown_fix: Daphne's kill_all_applications, minus the KeyError that stops it cancelling;
off, Daphne's own. Design: docs/architecture.md, *Deploying during a live event*."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable

from autobahn.websocket.protocol import WebSocketProtocol
from django.conf import settings
from twisted.internet import defer

from server import active
from server.sockets import Deliver, daphne_protocol

logger = logging.getLogger(__name__)

SERVICE_RESTART = 1012  # RFC 6455 7.4.1 (IANA registry): reconnect at once, to another process
EXIT_BACKSTOP_SECONDS = 5.0  # past the grace, Daphne's own cancelling has had this long before the process exits

Drain = Callable[[], Awaitable[None]]
_drains: dict[object, Drain] = {}
_stopping = False
_running: set[asyncio.Future] = set()


def stopping() -> bool:
    """Whether this process is stopping: a socket opened now is closed with 1012 at once."""
    return _stopping


def on_stop(owner: object, drain: Drain) -> None:
    """Have `drain` run when the process stops gracefully: it finishes `owner`'s work and closes its
    socket(s) with 1012, returning once they are closed. `forget(owner)` when the socket closes."""
    _drains[owner] = drain


def forget(owner: object) -> None:
    _drains.pop(owner, None)


async def restart_on_stop(owner: object, send: Deliver, gone: asyncio.Event) -> None:
    """For a socket with nothing to finish first: closed with 1012 when the process stops (its drain returns once
    `gone` is set), and at once if it is stopping already. `forget(owner)` when the socket closes."""

    async def restart() -> None:
        await close_for_restart(send)
        await gone.wait()

    on_stop(owner, restart)
    if stopping():  # this process is going: the page reconnects at once, to another
        await close_for_restart(send)


async def close_for_restart(send: Deliver) -> None:
    """Close a WebSocket with 1012; autobahn's public sendClose takes only 1000 and 3000-4999."""
    protocol = daphne_protocol(send)
    if protocol is None:
        await send({"type": "websocket.close", "code": SERVICE_RESTART})
    elif protocol.state == WebSocketProtocol.STATE_OPEN:
        protocol.sendCloseFrame(code=SERVICE_RESTART, isReply=False)


async def drain_all(grace: float) -> int:
    """Run every registered drain at once, for at most `grace` seconds: how many had not finished."""
    tasks = [asyncio.ensure_future(drain()) for drain in list(_drains.values())]
    if not tasks:
        return 0
    done, pending = await asyncio.wait(tasks, timeout=grace)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            logger.error("a socket's graceful stop failed", exc_info=task.exception())
    return len(pending)


def stop_gracefully_on_sigterm() -> None:
    """Under Daphne, SIGTERM stops the process gracefully (a second one, or the grace running out, at once)."""
    from daphne.server import Server  # noqa: F401  (here: importing it installs Twisted's reactor)
    from twisted.internet import reactor

    reactor.callWhenRunning(_take_sigterm, reactor)


def _take_sigterm(reactor) -> None:
    # Twisted installed its own handler (reactor.stop) as the reactor started; this one replaces it.
    if threading.current_thread() is not threading.main_thread():
        return  # a reactor in a thread (runserver's autoreload) takes no signals
    signal.signal(signal.SIGTERM, lambda _signum, _frame: reactor.callFromThread(_begin_stop, reactor))


def _begin_stop(reactor) -> None:
    global _stopping
    if _stopping:
        logger.warning("second SIGTERM: stopping now")
        _stop_reactor(reactor)
        return
    _stopping = True
    grace = settings.SHUTDOWN_GRACE_SECONDS
    began = time.monotonic()
    _stop_listening(reactor)
    logger.info("SIGTERM: taking no new connections, closing the open ones with 1012, stopping within %g s", grace)
    # Whatever happens on the loop, the process is gone shortly after the grace.
    backstop = threading.Timer(grace + EXIT_BACKSTOP_SECONDS, _exit_now)
    backstop.daemon = True
    backstop.start()

    async def drain_then_stop() -> None:
        try:
            unfinished = await drain_all(grace)
            if unfinished:
                logger.warning("%d socket owners were still closing after %g s: cut", unfinished, grace)
            logger.info("graceful stop done in %.2f s", time.monotonic() - began)
        finally:
            _stop_reactor(reactor)

    _running.add(asyncio.ensure_future(drain_then_stop()))


def _stop_reactor(reactor) -> None:
    from twisted.internet.error import ReactorNotRunning

    with contextlib.suppress(ReactorNotRunning):  # stopping already (a second SIGTERM)
        reactor.stop()


def _stop_listening(reactor) -> None:
    """No new connections: the load balancer sends them to another process."""
    from twisted.internet.interfaces import IListeningPort

    for reader in reactor.getReaders():
        if IListeningPort.providedBy(reader):
            reader.stopListening()


def _exit_now() -> None:
    logger.error("the process had not stopped %g s after its grace: exiting", EXIT_BACKSTOP_SECONDS)
    logging.shutdown()
    os._exit(1)


def cancel_applications_at_shutdown(server) -> defer.Deferred:
    """Daphne's own `kill_all_applications`, minus its KeyError on a connection with no application
    (a request still arriving, a socket still closing), which left the others uncancelled."""
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
