"""What /healthz reports: can we reach the database, the channel layer and the broker.

A load balancer calls it for as long as the site runs, so a check leaves nothing behind (one probe
channel per event loop, reused). Why a check failed is logged, never answered: it names hosts and users.
"""

import asyncio
import logging
import time
import uuid
import weakref

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

from liveblog_site.celery import app as celery_app

logger = logging.getLogger(__name__)

CHANNEL_TIMEOUT_SECONDS = 2


def _timed(name: str, check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as error:  # a health check reports failures, it never raises them
        detail, ok = f"{type(error).__name__}: {error}", False
        logger.warning("health check %s failed: %s", name, detail)
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # Each ASGI request has its own thread: a kept connection would never be reused, and would pile up.
        if not connection.in_atomic_block:
            connection.close()
    return connection.vendor


# One probe channel per loop (a pub/sub layer keeps every channel it made subscribed, and delivers only
# to the loop that subscribed), and a lock so concurrent checks do not take each other's answers.
_probe_channels: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, str]" = weakref.WeakKeyDictionary()
_probe_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()


async def _round_trip(layer, nonce: str) -> None:
    loop = asyncio.get_running_loop()
    async with _probe_locks.setdefault(loop, asyncio.Lock()):
        try:
            async with asyncio.timeout(CHANNEL_TIMEOUT_SECONDS):
                channel = _probe_channels.get(loop)
                if channel is None:
                    channel = _probe_channels[loop] = await layer.new_channel("health.")
                await layer.send(channel, {"type": "health.ping", "nonce": nonce})
                while (await layer.receive(channel)).get("nonce") != nonce:
                    pass  # the answer to an earlier check that gave up waiting for it
        except BaseException:
            # A receive cut short unsubscribes the channel (channels_redis): make a new one next time.
            _probe_channels.pop(loop, None)
            raise


def _channel_layer() -> str:
    layer = get_channel_layer()
    async_to_sync(_round_trip)(layer, uuid.uuid4().hex)
    return type(layer).__name__


def _broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_type


def run_checks() -> dict:
    """Each check's result, with the error text of a failed one as `detail`: for logs, not for answers."""
    return {
        "database": _timed("database", _database),
        "channel_layer": _timed("channel_layer", _channel_layer),
        "broker": _timed("broker", _broker),
    }


def public_report(checks: dict) -> dict:
    """What anyone may see of the checks: whether each passed, how long it took, and for a passing
    one which backend answered; a failed one says only that it is unavailable."""
    return {
        name: {"ok": check["ok"], "detail": check["detail"] if check["ok"] else "unavailable", "ms": check["ms"]}
        for name, check in checks.items()
    }
