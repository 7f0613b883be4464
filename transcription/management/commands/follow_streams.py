"""Follow the livestreams journalists ask for from the studio, as its own process, until SIGTERM or Ctrl-C.

Each follow is pulled through ffmpeg into the same relay, storage and archive as the studio's microphone; on
stopping, every follow is handed back (its session kept open) for this or another follower to resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from django.core.management.base import BaseCommand

from transcription.follow.follower import Follower


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", default="", help="this follower's name in the follows it claims")

    def handle(self, *args, name: str, **options) -> None:
        asyncio.run(self._run(name))

    async def _run(self, name: str) -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stopping.set)
        await Follower(name).run(stopping)
