"""Event page benchmark: requests per second for the cached event page, as a ratio to a static file
served by the same Daphne in the same run.

    python -m bench.page [--mode embedded|redis] [--seconds 10] [--connections 16] [--rounds 2] [--smoke]

One Daphne serves a live event with 20 published posts, each with a picture (--no-pictures: text
only). A load process keeps --connections HTTP/1.1 keep-alive connections busy, alternating rounds
of the static file (the baseline, /static/readers/reader.css through WhiteNoise) and of the event
page, so drift hits both alike. Every response is checked (status 200, page contains the newest
post, and its picture). It stops by itself. --mode redis: the scale-out topology (bench.topology).
--smoke: 3 posts, one round of 1 s on 4 connections, the same paths.
"""

import argparse
import asyncio
import io
import multiprocessing
import os
import time

from bench import children, topology
from bench.fanout.stack import Daphne, configure, live_event

STATIC = "/static/readers/reader.css"


async def _load(port: int, path: str, seconds: float, connections: int, must_contain: bytes) -> tuple[int, int]:
    stop_at = time.monotonic() + seconds
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Encoding: identity\r\n\r\n".encode()

    async def one() -> tuple[int, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        ok = bad = 0
        while time.monotonic() < stop_at:
            writer.write(request)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            if status.split()[1] == b"200" and must_contain in body:
                ok += 1
            else:
                bad += 1
        writer.close()
        return ok, bad

    results = await asyncio.gather(*(one() for _ in range(connections)))
    return sum(r[0] for r in results), sum(r[1] for r in results)


def load_process(conn, port: int, path: str, seconds: float, connections: int, must_contain: bytes) -> None:
    children.in_child()
    conn.send(asyncio.run(_load(port, path, seconds, connections, must_contain)))


def measure(port: int, path: str, seconds: float, connections: int, must_contain: bytes) -> float:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(
        target=load_process, args=(child, port, path, seconds, connections, must_contain), daemon=True
    )
    started = time.monotonic()
    process.start()
    children.track(process)
    ok, bad = parent.recv()
    elapsed = time.monotonic() - started
    process.join()
    if bad:
        raise SystemExit(f"{bad} bad responses for {path}")
    return ok / elapsed


def photo(n: int):
    """A camera-sized JPEG, different for each post."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (2400, 1600), (20 + 10 * n, 80, 140)).save(data, "JPEG", quality=90)
    return SimpleUploadedFile(f"photo-{n}.jpg", data.getvalue(), content_type="image/jpeg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["embedded", "redis"], default="embedded")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-pictures", dest="pictures", action="store_false", help="posts without pictures")
    parser.add_argument("--redis-url", default=None, help="default: REDIS_URL, else bench.topology's")
    parser.add_argument(
        "--database-url",
        default=None,
        help="the PostgreSQL server (default: DATABASE_URL, else bench.topology's); the bench makes its own "
        "database there and drops only that",
    )
    parser.add_argument("--smoke", action="store_true", help="3 posts, one 1 s round: a smoke test")
    args = parser.parse_args()
    posts = 20
    if args.smoke:
        posts, args.seconds, args.connections, args.rounds = 3, 1.0, 4, 1

    env = configure(args.mode, args.redis_url, args.database_url, purpose="page")
    from publishing.models import Post
    from publishing.pictures import add_picture

    event = live_event()
    for n in range(posts):
        post = Post.objects.create(event=event, headline=f"Update {n}", body="A paragraph of live coverage. " * 12)
        if args.pictures:
            add_picture(photo(n), event=event, post=post, alt_text=f"The stage during update {n}", credit="Bench")
        post.publish()
    latest = Post.objects.latest("published_at")
    newest = f'id="post-{latest.pk}"'.encode()
    if args.pictures:
        newest = latest.picture.srcset.encode()  # the newest post's picture, which is in its article
    daphne = Daphne(env)
    page = f"/events/{event.slug}/"
    try:
        # warm both paths once: the first page render fills the cache, the first static hit the finder
        measure(daphne.port, STATIC, 1, 1, b"")
        measure(daphne.port, page, 1, 1, newest)
        print(
            f"page benchmark · {topology.describe(env)} · 1 Daphne · {args.connections} keep-alive connections · "
            f"{args.seconds:.0f} s rounds · {os.cpu_count()} cores · "
            f"{'a picture in every post' if args.pictures else 'text-only posts'}"
        )
        static_rates, page_rates = [], []
        for n in range(args.rounds):
            static_rates.append(measure(daphne.port, STATIC, args.seconds, args.connections, b"--accent"))
            page_rates.append(measure(daphne.port, page, args.seconds, args.connections, newest))
            print(f"round {n + 1}: static {static_rates[-1]:.0f} req/s · cached event page {page_rates[-1]:.0f} req/s")
        static_rate, page_rate = sum(static_rates) / len(static_rates), sum(page_rates) / len(page_rates)
        print(
            f"cached event page: {page_rate / static_rate:.2f} × the static file's rate "
            f"({page_rate:.0f} vs {static_rate:.0f} req/s; target ≥ 0.70)"
        )
    finally:
        daphne.stop()


if __name__ == "__main__":
    children.run_main(main)
