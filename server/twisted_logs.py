"""Twisted's and autobahn's warnings and errors in Python logging (no switch: it is not a speed-up)."""

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    STDLibLogObserver,
    globalLogPublisher,
)


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
