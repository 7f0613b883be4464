"""What /healthz reports: can we reach the database, the channel layer and the broker."""

import asyncio
import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

from liveblog_site.celery import app as celery_app


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as error:  # a health check reports failures, it never raises them
        detail, ok = f"{type(error).__name__}: {error}", False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _channel_layer() -> str:
    layer = get_channel_layer()
    message = {"type": "health.ping", "nonce": uuid.uuid4().hex}

    async def round_trip() -> dict:
        # One coroutine: a pub/sub layer only delivers to the loop that subscribed.
        channel = await layer.new_channel()
        await layer.send(channel, message)
        return await asyncio.wait_for(layer.receive(channel), timeout=2)

    received = async_to_sync(round_trip)()
    if received.get("nonce") != message["nonce"]:
        raise RuntimeError("channel layer returned another message")
    return type(layer).__name__


def _broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_type


def run_checks() -> dict:
    return {"database": _timed(_database), "channel_layer": _timed(_channel_layer), "broker": _timed(_broker)}
