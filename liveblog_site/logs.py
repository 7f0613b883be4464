"""Celery's line per task received, succeeded or dropped as stale, and beat's per task sent, logged at DEBUG, not
INFO: the console then shows what the newsroom did (each app logs that itself), not every tick of the clock."""

import logging

from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

BEAT_SENDING = "Scheduler: Sending due task %s (%s)"
# A beat's tick that waited past its expiry: dropped on purpose, the next tick does its work.
DISCARDING_EXPIRED = "Discarding revoked task: %s[%s]"
ROUTINE = frozenset([LOG_RECEIVED, LOG_SUCCESS, BEAT_SENDING, DISCARDING_EXPIRED])


class RoutineAtDebug(logging.Filter):
    """Turns Celery's routine INFO lines into DEBUG ones, kept only where that logger is set to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or record.msg not in ROUTINE:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
