"""Audio archive benchmark: storage per hour of speech and CPU per stream for archiving it.

    python -m bench.archive [--minutes 10] [--smoke]

Every figure is printed next to a baseline measured in the same run:
* storage: FLAC chunks (what the archive keeps once the worker has compressed the web process's WAV
  chunks) against plain 16-bit PCM (WAV data);
* archiving CPU on the web process: SessionArchive (WAV chunks) against a plain PCM file write of the
  same packets;
* relay CPU: a loopback WebSocket relay (studio socket in, upstream socket out, 20 ms packets) with and
  without archiving every packet, so the archive's share of a stream's CPU is visible.
Speech is espeak-ng reading keynote text, resampled to 16 kHz with sox; a second take adds a
-55 dBFS noise floor, as a real microphone in a hall has. --smoke: 6 s of audio, the same paths.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RATE = 16000
PACKET = 640  # 20 ms of 16-bit mono, what the studio's AudioWorklet sends
PCM_BYTES_PER_HOUR = RATE * 2 * 3600

TEXT = (
    "Good morning everyone and welcome to the keynote. Today we are announcing three things. "
    "First, the new platform ships this quarter to every customer in Europe and North America. "
    "Second, Ada Lovelace, our chief scientist, will walk you through the research behind it. "
    "Third, we are opening the developer programme to students, free of charge, from next week. "
    "Let me start with the numbers. Revenue grew eighteen percent, and the number of active teams "
    "doubled since last spring. None of this would matter if it did not help the people who use it, "
    "so let us hear from some of them. Thank you, and enjoy the rest of the conference. "
)


def speech_pcm(seconds: float) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav, raw = Path(tmp, "speech.wav"), Path(tmp, "speech.raw")
        subprocess.run(["espeak-ng", "-s", "160", "-w", str(wav), TEXT], check=True)
        subprocess.run(
            ["sox", "-D", str(wav), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed", "-t", "raw", str(raw)],
            check=True,
        )
        take = np.frombuffer(raw.read_bytes(), dtype="<i2")
    repeats = int(np.ceil(seconds * RATE / len(take)))
    return np.tile(take, repeats)[: int(seconds * RATE)]


def with_noise_floor(samples: np.ndarray, dbfs: float = -55.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 32768 * 10 ** (dbfs / 20), len(samples))
    return np.clip(samples + noise, -32768, 32767).astype("<i2")


def storage_per_hour(samples: np.ndarray) -> float:
    from transcription.archive.audio import chunk_seconds, encode_flac

    chunk = int(chunk_seconds() * RATE)
    stored = sum(len(encode_flac(samples[i : i + chunk].tobytes(), RATE)) for i in range(0, len(samples), chunk))
    return stored * (RATE * 3600 / len(samples))


def opus_per_hour(samples: np.ndarray) -> float:
    """The lossy alternative, for the record: libsndfile's default Opus settings."""
    import io

    import soundfile

    out = io.BytesIO()
    soundfile.write(out, samples, RATE, format="OGG", subtype="OPUS")
    return len(out.getvalue()) * (RATE * 3600 / len(samples))


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def plain_write(packets: list[bytes], folder: Path) -> None:
    with open(folder / "plain.pcm", "wb") as f:
        for packet in packets:
            f.write(packet)


def archive_write(packets: list[bytes]) -> None:
    from transcription.archive.audio import SessionArchive

    class BenchArchive(SessionArchive):
        def _mark_session(self) -> None:  # one UPDATE per session; no database in the benchmark
            pass

    async def run():
        archive = BenchArchive.open(1, RATE)
        for packet in packets:
            archive.write(packet)
        await archive.close()

    asyncio.run(run())


def relay(packets: list[bytes], archived: bool) -> None:
    """Studio socket in, upstream socket out, over loopback; optionally archiving each packet."""
    import websockets

    from transcription.archive.audio import SessionArchive

    class BenchArchive(SessionArchive):
        def _mark_session(self) -> None:
            pass

    async def run():
        received = 0
        done = asyncio.Event()

        async def upstream(ws):
            nonlocal received
            async for message in ws:
                received += len(message)
                if received >= len(packets) * PACKET:
                    done.set()

        async def studio(ws):
            archive = BenchArchive.open(2, RATE) if archived else None
            async with websockets.connect(f"ws://127.0.0.1:{up_port}", max_queue=None) as up:
                async for message in ws:
                    await up.send(message)
                    if archive is not None:
                        archive.write(message)
                await done.wait()
            if archive is not None:
                await archive.close()

        async with websockets.serve(upstream, "127.0.0.1", 0) as up_server:
            up_port = up_server.sockets[0].getsockname()[1]
            async with websockets.serve(studio, "127.0.0.1", 0) as studio_server:
                port = studio_server.sockets[0].getsockname()[1]
                async with websockets.connect(f"ws://127.0.0.1:{port}") as browser:
                    for packet in packets:
                        await browser.send(packet)
                await asyncio.wait_for(done.wait(), 600)

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="Audio per measurement (default 10).")
    parser.add_argument("--smoke", action="store_true", help="6 s of audio: a smoke test of the same paths")
    args = parser.parse_args()
    if args.smoke:
        args.minutes = 0.1

    media = tempfile.mkdtemp(prefix="bench-archive-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")
    os.environ["MEDIA_ROOT"] = media
    os.environ.setdefault("LIVEBLOG_DATA_DIR", str(Path(media) / "data"))
    import django

    from liveblog_site.datadir import prepare

    prepare()
    django.setup()

    seconds = args.minutes * 60
    clean = speech_pcm(seconds)
    noisy = with_noise_floor(clean)
    hour_scale = 3600 / seconds
    print(f"audio per measurement: {seconds:.0f} s of 16 kHz mono speech; figures scaled to one hour\n")

    print("storage per hour of speech")
    print(f"  baseline PCM (WAV data)        {PCM_BYTES_PER_HOUR / 1e6:8.1f} MB   ratio 1.000")
    for name, samples in (("FLAC, clean speech", clean), ("FLAC, speech + -55 dBFS floor", noisy)):
        size = storage_per_hour(samples)
        print(f"  {name:<30} {size / 1e6:8.1f} MB   ratio {size / PCM_BYTES_PER_HOUR:.3f}")
    size = opus_per_hour(noisy)
    print(f"  {'(not used) Ogg Opus, lossy':<30} {size / 1e6:8.1f} MB   ratio {size / PCM_BYTES_PER_HOUR:.3f}")

    packets = [noisy[i : i + PACKET // 2].tobytes() for i in range(0, len(noisy), PACKET // 2)]
    folder = Path(media)
    baseline = cpu(lambda: plain_write(packets, folder)) * hour_scale
    archiving = cpu(lambda: archive_write(packets)) * hour_scale
    print("\nCPU per stream-hour for archiving (20 ms packets; process CPU incl. encoder threads)")
    print(f"  baseline plain PCM write       {baseline:8.2f} s    ratio 1.00")
    print(f"  SessionArchive (WAV chunks)    {archiving:8.2f} s    ratio {archiving / baseline:.2f}")
    print(f"                                 = {100 * archiving / 3600:.3f}% of one core per live stream")

    relay_only = cpu(lambda: relay(packets, archived=False)) * hour_scale
    relay_archived = cpu(lambda: relay(packets, archived=True)) * hour_scale
    print("\nrelay CPU per stream-hour (loopback WebSocket in -> WebSocket out)")
    print(f"  relay alone (baseline)         {relay_only:8.2f} s    ratio 1.00")
    print(f"  relay + archive                {relay_archived:8.2f} s    ratio {relay_archived / relay_only:.2f}")
    print(f"  archive's share of the stream  {100 * (relay_archived - relay_only) / relay_archived:7.1f} %")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
