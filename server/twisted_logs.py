"""Twisted's and autobahn's warnings and errors in Python logging (no switch: it is not a speed-up)."""

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    STDLibLogObserver,
    globalLogPublisher,
)


def forward_twisted_logs() -> None:
    """Twisted's and autobahn's warnings and errors go to logger "twisted": Daphne's default verbosity
    discards them, and an operator must see a socket the server dropped."""
    globalLogPublisher.addObserver(
        FilteringLogObserver(
            STDLibLogObserver(name="twisted"), [LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)]
        )
    )
