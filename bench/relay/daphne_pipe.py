"""The floor of any relay under Daphne: a bare ASGI app (no Django, no Channels, no storage) that
pipes each client's socket to the same upstream, as bench/relay/proxy.py does under `websockets`.

    BENCH_UPSTREAM=ws://127.0.0.1:9001 daphne -p 9000 bench.relay.daphne_pipe:application
"""

import asyncio
import contextlib
import os

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def application(scope, receive, send) -> None:
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    headers = {name.decode(): value.decode() for name, value in scope["headers"]}
    path = scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
    async with connect(
        os.environ["BENCH_UPSTREAM"] + path,
        additional_headers={"Authorization": headers.get("authorization", "")},
        compression=None,
    ) as upstream:
        await send({"type": "websocket.accept"})

        async def down() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for message in upstream:
                    key = "bytes" if isinstance(message, bytes) else "text"
                    await send({"type": "websocket.send", key: message})
            await send({"type": "websocket.close"})

        downstream = asyncio.create_task(down())
        try:
            while (message := await receive())["type"] == "websocket.receive":
                await upstream.send(message.get("bytes") or message.get("text"))
        finally:
            await upstream.close()
            await downstream
