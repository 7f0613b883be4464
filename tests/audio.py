"""Speech for the tests: sentences spoken by espeak-ng, and the PCM inside a WAV."""

import shutil
import subprocess
import wave
from pathlib import Path


def speech_wav(path: Path, sentences: list[str], *, rate: int = 16000, gap_seconds: float = 1.5) -> Path:
    """The sentences spoken by espeak-ng (Klatt voice), as a `rate` Hz mono 16-bit WAV with a pause after each."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed: run scripts/test.sh")
    parts = []
    for n, sentence in enumerate(sentences):
        raw = path.with_name(f"{path.stem}-{n}.espeak.wav")
        part = path.with_name(f"{path.stem}-{n}.wav")
        subprocess.run(["espeak-ng", "-v", "en-us+klatt2", "-s", "130", "-w", str(raw), sentence], check=True)
        subprocess.run(
            ["sox", "-q", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(part), "pad", "1", str(gap_seconds)],
            check=True,
        )
        parts.append(str(part))
    subprocess.run(["sox", "-q", *parts, "-r", str(rate), "-c", "1", "-b", "16", str(path)], check=True)
    return path


def wav_pcm(path: Path) -> bytes:
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        return wav.readframes(wav.getnframes())
