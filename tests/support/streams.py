"""A livestream on loopback for the follow tests: ffmpeg makes a live HLS playlist of a recording (looped, at
real time) in a folder that a plain HTTP server serves, and the server can be dropped and brought back."""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.processes import free_port


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class FileServer:
    """A folder over HTTP on 127.0.0.1, on a port that stays the same across `drop()` and `restore()`."""

    def __init__(self, folder: Path, port: int | None = None):
        self.folder = folder
        self.port = port or free_port()
        self.server: ThreadingHTTPServer | None = None
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        server_of = self

        class Counted(QuietHandler):
            def do_GET(self):
                server_of.requests += 1
                super().do_GET()

        handler = functools.partial(Counted, directory=str(self.folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def drop(self) -> None:
        """The source goes away: the port refuses connections until `restore()`."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> FileServer:
        self.restore()
        return self

    def __exit__(self, *exc) -> None:
        self.drop()


class LiveHls:
    """ffmpeg publishing `recording` as a live HLS playlist (`live.m3u8`, 1 s segments, looped) into `folder`."""

    def __init__(self, recording: Path, folder: Path):
        if shutil.which("ffmpeg") is None:
            raise RuntimeError("ffmpeg is not installed: run scripts/test.sh")
        self.recording = recording
        self.folder = folder
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> LiveHls:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(self.recording),
            "-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "1", "-hls_list_size", "6",
            "-hls_flags", "delete_segments+omit_endlist", str(self.folder / "live.m3u8"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not self._has_segments(3):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ffmpeg made no live playlist in {self.folder}")
            time.sleep(0.2)
        return self

    def _has_segments(self, count: int) -> bool:
        playlist = self.folder / "live.m3u8"
        with contextlib.suppress(FileNotFoundError):
            return playlist.read_text().count(".ts") >= count
        return False

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
