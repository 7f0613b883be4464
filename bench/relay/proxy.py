"""The baseline: a bare `websockets` proxy that pipes each client's socket to the same upstream, nothing else.

python -m bench.relay.proxy --port 9000 --upstream ws://127.0.0.1:9001
"""

import argparse
import asyncio
import contextlib

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def pipe(source, target) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for message in source:
            await target.send(message)
    await target.close()


async def main(port: int, upstream: str) -> None:
    async def handle(client: ServerConnection) -> None:
        assert client.request is not None
        headers = {"Authorization": client.request.headers.get("Authorization", "")}
        async with connect(upstream + client.request.path, additional_headers=headers, compression=None) as server:
            await asyncio.gather(pipe(client, server), pipe(server, client))

    async with serve(handle, "127.0.0.1", port, max_size=2**20, compression=None) as server:
        print("ready", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.upstream))
