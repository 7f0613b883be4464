"""Streamed recognition against whole-file recognition, on the offline recognizer (pocketsphinx).

    python -m bench.recognition [--file WAV ...] [--no-dialogue] [--smoke]

Each recording (16 kHz mono 16-bit WAV; by default the real two-voice tests/data/endgame_16k.wav) is
decoded whole, as one utterance, and streamed through OfflineBackend in 100 ms chunks as stream_audio
and the studio send it, twice in the same run: before (each utterance decoded on its own,
left_context_seconds=0) and after (each utterance decoded behind the audio since the previous one began).
Printed for each:
* WER vs whole: word error rate of the streamed finals with the whole-file decode as the reference;
* longest wait: the most seconds of audio, while someone speaks, between results (utterance start,
  each interim's end, the final's end);
* finals / pauses: final results, and utterances pocketsphinx's endpointer finds (each ends at a pause);
* CPU: process CPU seconds per second of audio.
With the synthetic dialogue (espeak-ng, two voices, known script) the script is a second yardstick:
WER vs script of the whole-file decode and of each streamed take. --smoke: the recording's first 5 s
and the dialogue's first two lines, the same paths, a few seconds.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REAL_RECORDING = ROOT / "tests" / "data" / "endgame_16k.wav"
DIALOGUE = [
    ("en-us+klatt2", "Good evening and welcome to the town hall meeting.", 0.6),
    ("en-us+klatt4", "Thank you. I want to talk about the new bridge.", 0.9),
    ("en-us+klatt2", "How much will the bridge cost the city?", 0.7),
    ("en-us+klatt4", "About twelve million dollars over three years.", 1.2),
    ("en-us+klatt2", "That seems like a lot of money for a small town.", 0.8),
    ("en-us+klatt4", "It will carry traffic for the next fifty years.", 0.6),
]


def dialogue_wav(folder: Path, lines: list[tuple[str, str, float]]) -> Path:
    parts = []
    for n, (voice, line, pause) in enumerate(lines):
        spoken, part = folder / f"line-{n}.espeak.wav", folder / f"line-{n}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(spoken), line], check=True)
        as_16k = ["-r", "16000", "-c", "1", "-b", "16"]
        subprocess.run(["sox", "-D", "-q", "-G", str(spoken), *as_16k, str(part), "pad", "0", str(pause)], check=True)
        parts.append(str(part))
    path = folder / "dialogue.wav"
    subprocess.run(["sox", "-D", "-q", *parts, str(path)], check=True)
    return path


def measure(wav: Path, script: str | None) -> None:
    from tests.support.audio import wav_pcm
    from tests.support.recognition import longest_wait_for_a_result, pauses, stream_offline, streamed_text
    from tests.support.wer import whole_file_transcript, word_error_rate

    pcm = wav_pcm(wav)
    seconds = len(pcm) / 32000
    started = time.process_time()
    whole = whole_file_transcript(wav)
    whole_cpu = time.process_time() - started
    print(f"\n{wav.name}: {seconds:.1f} s, {pauses(pcm)} pauses; whole-file decode: {len(whole.split())} words")
    print(f"  whole file: {whole}")
    if script:
        print(f"  whole-file decode: WER vs script {word_error_rate(script, whole):.3f}")
    print(f"  {'':<28}{'WER vs whole':>13}{'longest wait':>14}{'finals':>8}{'CPU/s audio':>13}")
    print(f"  {'whole file (reference)':<28}{0:>13.3f}{'-':>14}{'-':>8}{whole_cpu / seconds:>13.3f}")
    for name, options in (("before: each utterance alone", {"left_context_seconds": 0}), ("after: left context", {})):
        started = time.process_time()
        results = asyncio.run(stream_offline(pcm, **options))
        cpu = time.process_time() - started
        text = streamed_text(results)
        finals = sum(result.is_final for result in results)
        wer = word_error_rate(whole, text)
        line = f"  {name:<28}{wer:>13.3f}{longest_wait_for_a_result(results):>13.2f}s{finals:>8}{cpu / seconds:>13.3f}"
        if script:
            line += f"   WER vs script {word_error_rate(script, text):.3f}"
        print(line)
        print(f"    streamed: {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", action="append", type=Path, help="a 16 kHz mono WAV (repeatable)")
    parser.add_argument("--no-dialogue", action="store_true", help="skip the synthetic espeak-ng dialogue")
    parser.add_argument("--smoke", action="store_true", help="5 s of the recording, two lines of dialogue")
    args = parser.parse_args()
    dialogue = DIALOGUE[:2] if args.smoke else DIALOGUE
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    with tempfile.TemporaryDirectory() as folder:
        for wav in args.file or [REAL_RECORDING]:
            if args.smoke:
                trimmed = Path(folder) / f"first-5s-{wav.name}"
                subprocess.run(["sox", "-D", "-q", str(wav), str(trimmed), "trim", "0", "5"], check=True)
                wav = trimmed
            measure(wav, None)
        if not args.no_dialogue:
            script = " ".join(line for _, line, _ in dialogue)
            measure(dialogue_wav(Path(folder), dialogue), script)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
