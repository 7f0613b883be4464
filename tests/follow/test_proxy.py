"""The follower's guarded proxy: every http and https connection ffmpeg makes for a follow (the playlist, each
segment, each redirect) is checked where it is made, against the addresses it really connects to."""

import asyncio
import base64
import contextlib

import httpx
import pytest

from tests.support.audio import REAL_RECORDING
from tests.support.processes import free_port
from tests.support.streams import FileServer
from transcription.follow.addresses import parse
from transcription.follow.proxy import GuardedProxy
from transcription.follow.source import Connection, child_env, ffmpeg_args

ALLOWED, REFUSED = "127.0.0.1", "127.0.0.2"  # both loopback: the test's policy lets only the first be reached


@pytest.fixture
async def proxy():
    proxy = GuardedProxy(lambda ip: ip == ALLOWED)
    await proxy.start()
    yield proxy
    await proxy.close()


@contextlib.asynccontextmanager
async def origin(host: str, answer: bytes):
    """A one-answer HTTP server on `host`, returning `answer` to every request."""

    async def serve(reader, writer):
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, host, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_it_forwards_to_an_allowed_address_and_refuses_another_saying_so(proxy):
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"
    client = httpx.AsyncClient(proxy=proxy.url_for("follow-1"))
    async with origin(ALLOWED, ok) as good_port, origin(REFUSED, ok) as bad_port, client:
        answer = await client.get(f"http://{ALLOWED}:{good_port}/live.m3u8")
        assert (answer.status_code, answer.text) == (200, "hello")
        assert answer.headers["connection"] == "close"  # the next request comes through here again, checked
        refused = await client.get(f"http://{REFUSED}:{bad_port}/secret")
    assert refused.status_code == 403
    assert "private, loopback or link-local" in proxy.refusals["follow-1"]


async def test_it_refuses_a_tunnel_to_a_refused_address(proxy):
    async with origin(REFUSED, b"HTTP/1.1 200 OK\r\n\r\n") as port:
        with pytest.raises(httpx.ProxyError, match="403"):
            async with httpx.AsyncClient(proxy=proxy.url_for("follow-2")) as client:
                await client.get(f"https://{REFUSED}:{port}/")
    assert REFUSED in proxy.refusals["follow-2"]


async def test_it_answers_nobody_without_a_follows_credentials(proxy):
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(f"GET http://{ALLOWED}:{free_port()}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert (await reader.readline()).startswith(b"HTTP/1.1 407")
    writer.close()
    wrong = base64.b64encode(b"follow:guessed").decode()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(f"GET http://{ALLOWED}:1/ HTTP/1.1\r\nProxy-Authorization: Basic {wrong}\r\n\r\n".encode())
    assert (await reader.readline()).startswith(b"HTTP/1.1 407")
    writer.close()


@pytest.mark.slow
async def test_a_playlist_whose_segments_lead_inside_is_refused_at_connect_time(proxy, tmp_path):
    """An allowed playlist listing segments on a refused address (as a public playlist listing private ones):
    ffmpeg fetches the playlist, then each segment's connection is checked and refused."""
    (tmp_path / "private").mkdir()
    segment_port = free_port()
    playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
    playlist += "".join(f"#EXTINF:2.0,\nhttp://{REFUSED}:{segment_port}/s{n}.ts\n" for n in range(3))
    (tmp_path / "live.m3u8").write_text(playlist + "#EXT-X-ENDLIST\n")
    with FileServer(tmp_path) as playlists:
        url = proxy.url_for("follow-3")
        args = ffmpeg_args(parse(f"{playlists.url}/live.m3u8"), ALLOWED, url, timeout_seconds=5)
        connection = Connection(args, child_env(url), stall_seconds=10)
        frames = [frame async for frame in connection.frames()]
    assert frames == []
    assert playlists.requests == 1
    assert f"The stream led to {REFUSED}" in proxy.refusals["follow-3"]


@pytest.mark.slow
async def test_ffmpeg_reads_an_allowed_stream_through_it(proxy, tmp_path):
    (tmp_path / "talk.wav").write_bytes(REAL_RECORDING.read_bytes())
    with FileServer(tmp_path) as files:
        url = proxy.url_for("follow-4")
        args = ffmpeg_args(parse(f"{files.url}/talk.wav"), ALLOWED, url, timeout_seconds=5)
        connection = Connection(args, child_env(url), stall_seconds=10)
        audio = b"".join([frame async for frame in connection.frames()])
    assert len(audio) == REAL_RECORDING.stat().st_size - 44  # every sample of the recording, through the proxy
    assert "follow-4" not in proxy.refusals
