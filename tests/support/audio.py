"""Speech for the tests: sentences spoken by espeak-ng, and the PCM inside a WAV."""

import io
import re
import shutil
import subprocess
import wave
from pathlib import Path

# Two sentences espeak-ng says clearly enough for the offline recognizer, and the words in them that count.
SENTENCES = [
    "The weather today is cold and the river is very quiet.",
    "We will meet the team at the station tomorrow morning.",
]
CONTENT_WORDS = {"weather", "today", "cold", "river", "very", "quiet", "meet", "team", "station", "tomorrow", "morning"}
SOX = ("sox", "-D", "-q")  # no dither: its random noise made every run speak a little differently
# Two human voices reading a scene of a play (tests/data/README.md).
REAL_RECORDING = Path(__file__).resolve().parents[1] / "data" / "endgame_16k.wav"


def recognised(texts) -> set[str]:
    """The lower-case words in recognised texts."""
    return set(re.findall(r"[a-z']+", " ".join(texts).lower()))


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
            [*SOX, str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(part), "pad", "1", str(gap_seconds)],
            check=True,
        )
        parts.append(str(part))
    subprocess.run([*SOX, *parts, "-r", str(rate), "-c", "1", "-b", "16", str(path)], check=True)
    return path


def wav_pcm(source: Path | bytes) -> bytes:
    """The PCM inside a 16 kHz mono 16-bit WAV, given as a file or as the file's bytes."""
    with wave.open(io.BytesIO(source) if isinstance(source, bytes) else str(source)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        return wav.readframes(wav.getnframes())
