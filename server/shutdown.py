"""daphne_shutdown_fix: Daphne's kill_all_applications, minus the KeyError that stops it cancelling;
off, Daphne's own."""

import asyncio
import logging

from twisted.internet import defer

from server import active


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
