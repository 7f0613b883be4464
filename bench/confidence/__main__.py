"""How well the offline recognizer's word confidence separates the words it got wrong from those it got right.

    python -m bench.confidence [--smoke] [--file WAV ...]

Known sentences (names, numbers in words, ordinary speech) are spoken by espeak-ng in several voices
and speeds, one take per voice, and each take is streamed through OfflineBackend in 100 ms chunks as
stream_audio and the studio send it. Every word of every final is kept with its confidence (the
lattice posterior pocketsphinx gives the word once the utterance ends), aligned with the script
(difflib on lower-case words) and counted correct if it falls in a matching run, wrong otherwise.
Printed:
* per take and in all: words recognised, the share of them that are wrong, the word error rate, and
  the threshold the rule below would pick from that take alone (how much it varies with the voice);
* for each candidate threshold: the share of wrong words below it (caught) and of correct words below
  it (flagged needlessly), and the share of finals holding a word below it, among finals with a wrong
  word and among finals without;
* the recommended threshold: the highest on the 0.05 grid that flags at most 10% of correct words;
* each final's own confidence (pocketsphinx's posterior of its whole word sequence, which shrinks with
  every word) beside the mean of its words' confidences, on the scale of Deepgram's transcript confidence;
* for each real recording (by default tests/data/endgame_16k.wav, which has no transcript): the share
  of its streamed words below the recommended threshold.
The run takes about 230 CPU seconds, two minutes on two cores; --smoke, a few seconds.
"""

import argparse
import asyncio
import difflib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REAL_RECORDING = ROOT / "tests" / "data" / "endgame_16k.wav"
MOST_CORRECT_FLAGGED = 0.10  # an editor re-checks at most one correct word in ten
THRESHOLDS = [round(0.05 * n, 2) for n in range(1, 20)]
PAUSE_SECONDS = 1.0
SPELLED_OUT = {"mr": "mister"}  # the dictionary's spelling of a word the script spells out
PARTS_PER_TAKE = 2  # each take is streamed as two recordings, so that two cores finish together
# Klatt voices: pocketsphinx misrecognises espeak-ng's default voices most of the time (WER 0.7-0.9),
# these about one word in three; en-gb-x-rp, the hard take, one in two.
TAKES = [
    ("en-us+klatt", 170),
    ("en-us+klatt2", 150),
    ("en-us+klatt4", 190),
    ("en-us+klatt6", 160),
    ("en-gb-x-rp+klatt2", 180),
]
SENTENCES = [
    "The minister said the new hospital will open in the spring.",
    "We have spent three hundred million dollars on roads this year.",
    "I never promised that taxes would go down.",
    "Our players worked hard and deserved to win tonight.",
    "The mayor will answer questions after the meeting.",
    "Nobody expected the vote to be this close.",
    "There were twenty two thousand people at the stadium on Saturday.",
    "Senator Johnson told reporters that the bill is dead.",
    "The fire started in a kitchen on Main Street just after midnight.",
    "We are asking everyone to stay at home until the storm passes.",
    "The company lost four billion dollars in the first quarter.",
    "I think the referee made the wrong call in the second half.",
    "The police have arrested two men in connection with the robbery.",
    "Prices rose by six percent over the last twelve months.",
    "My government will build fifty thousand new homes.",
    "The judge ordered a new trial for all three defendants.",
    "We will not negotiate with people who break the law.",
    "Smith scored twice in the last ten minutes of the game.",
    "The president arrived in Chicago on Tuesday evening.",
    "Schools will stay closed for the rest of the week.",
    "I want to thank the volunteers who came out today.",
    "The river reached its highest level in forty years.",
    "Doctor Miller said the vaccine is safe for children.",
    "The union has called a strike for next Monday.",
    "Unemployment fell to four point two percent last month.",
    "We need more teachers and smaller classes.",
    "The plane landed safely and nobody was hurt.",
    "Parliament will debate the budget on Thursday afternoon.",
    "The coach said his team was not good enough.",
    "More than one hundred flights were cancelled because of the snow.",
    "I am proud of what this city has done.",
    "The governor of Texas signed the law this morning.",
    "We found the missing boy in the woods near the lake.",
    "The bank raised interest rates by half a percent.",
    "Our company will hire two thousand workers next year.",
    "The witness told the court she saw a blue car.",
    "This is the worst drought since nineteen eighty five.",
    "Williams won the final in straight sets.",
    "The new bridge will cost about eight hundred million dollars.",
    "We are going to look at every option on the table.",
    "The museum will be closed while the roof is repaired.",
    "Three people were taken to hospital after the crash.",
    "I have been a nurse in this town for thirty years.",
    "The election results will be announced on Friday.",
    "The general said the troops will come home by Christmas.",
    "Water will be back on in most homes by tonight.",
    "Mister Brown refused to comment on the report.",
    "The market closed up two percent on Wednesday.",
]


@dataclass
class Word:
    text: str
    confidence: float
    correct: bool = True


@dataclass
class Final:
    confidence: float | None  # the final's own: the posterior of its whole word sequence
    words: list[Word] = field(default_factory=list)


@dataclass
class Part:
    finals: list[Final]
    reference_words: int
    wer: float
    seconds: float
    cpu: float


def take_wav(folder: Path, voice: str, speed: int, sentences: list[str]) -> Path:
    parts = []
    for n, sentence in enumerate(sentences):
        spoken, part = folder / f"{n}.espeak.wav", folder / f"{n}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(spoken), sentence], check=True)
        as_16k = ["-r", "16000", "-c", "1", "-b", "16"]
        subprocess.run(
            ["sox", "-D", "-q", "-G", str(spoken), *as_16k, str(part), "pad", "0", str(PAUSE_SECONDS)], check=True
        )
        parts.append(str(part))
    path = folder / "take.wav"
    subprocess.run(["sox", "-D", "-q", *parts, str(path)], check=True)
    return path


def streamed(wav: Path) -> tuple[list[Final], float, float]:
    """Every final's words and confidences, streamed as the relay does; seconds of audio, CPU seconds."""
    from tests.support.audio import wav_pcm
    from tests.support.recognition import stream_offline

    pcm = wav_pcm(wav)
    started = time.process_time()
    results = asyncio.run(stream_offline(pcm))
    cpu = time.process_time() - started
    finals = [
        Final(result.confidence, [Word(word["word"], word["confidence"]) for word in result.words])
        for result in results
        if result.is_final
    ]
    return finals, len(pcm) / 32000, cpu


def label(script: str, finals: list[Final]) -> float:
    """Marks each recognised word wrong unless it lies in a run matching the script; returns the WER."""
    from tests.support.wer import word_error_rate, words

    recognised = [word for final in finals for word in final.words]
    hypothesis = [" ".join(words(word.text)) for word in recognised]
    hypothesis = [SPELLED_OUT.get(text, text) for text in hypothesis]
    for word in recognised:
        word.correct = False
    matcher = difflib.SequenceMatcher(None, words(script), hypothesis, autojunk=False)
    for block in matcher.get_matching_blocks():
        for word in recognised[block.b : block.b + block.size]:
            word.correct = True
    return word_error_rate(script, " ".join(hypothesis))


def measure_part(voice: str, speed: int, sentences: list[str]) -> Part:
    from tests.support.wer import words

    with tempfile.TemporaryDirectory() as folder:
        finals, seconds, cpu = streamed(take_wav(Path(folder), voice, speed, sentences))
    script = " ".join(sentences)
    return Part(finals, len(words(script)), label(script, finals), seconds, cpu)


def pooled_wer(parts: list[Part]) -> float:
    return sum(part.wer * part.reference_words for part in parts) / sum(part.reference_words for part in parts)


def share(count: int, total: int) -> str:
    return f"{count / total:6.1%}" if total else "     -"


def recommended(words: list[Word]) -> float:
    """The highest threshold that flags at most MOST_CORRECT_FLAGGED of the correct words."""
    right = [w.confidence for w in words if w.correct]
    fits = [t for t in THRESHOLDS if sum(c < t for c in right) <= MOST_CORRECT_FLAGGED * len(right)]
    return fits[-1] if fits else 0.0


def print_thresholds(finals: list[Final]) -> None:
    words = [w for final in finals for w in final.words]
    right = [w.confidence for w in words if w.correct]
    wrong = [w.confidence for w in words if not w.correct]
    with_error = [f for f in finals if not all(w.correct for w in f.words)]
    clean = [f for f in finals if all(w.correct for w in f.words)]
    print(
        f"\n  median confidence: correct words {statistics.median(right):.3f}, wrong words "
        f"{statistics.median(wrong) if wrong else float('nan'):.3f}"
    )
    print(
        f"  finals: {len(finals)}, {len(with_error)} with a wrong word; a final is held when any of its "
        "words is below the threshold"
    )
    print(
        f"\n  {'threshold':>9}  {'wrong words':>11}  {'correct words':>13}  {'finals held: with':>17}  {'without':>8}"
    )
    print(f"  {'':>9}  {'caught':>11}  {'flagged':>13}  {'an error':>17}  {'an error':>8}")
    for threshold in THRESHOLDS:
        caught = sum(c < threshold for c in wrong)
        flagged = sum(c < threshold for c in right)
        held_error = sum(any(w.confidence < threshold for w in f.words) for f in with_error)
        held_clean = sum(any(w.confidence < threshold for w in f.words) for f in clean)
        print(
            f"  {threshold:>9.2f}  {share(caught, len(wrong)):>11}  {share(flagged, len(right)):>13}  "
            f"{share(held_error, len(with_error)):>17}  {share(held_clean, len(clean)):>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", action="append", type=Path, help="a real 16 kHz mono WAV (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="four sentences, one voice, no real recording")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # the offline recognizer reads no settings: no Django setup, no key file
    takes, sentences, parts = (TAKES[:1], SENTENCES[:4], 1) if args.smoke else (TAKES, SENTENCES, PARTS_PER_TAKE)
    recordings = [] if args.smoke else args.file or [REAL_RECORDING]
    scripts = [sentences[n * len(sentences) // parts : (n + 1) * len(sentences) // parts] for n in range(parts)]
    # Every part is an independent stream: one process each, as many at once as there are cores.
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        jobs = [[pool.submit(measure_part, voice, speed, script) for script in scripts] for voice, speed in takes]
        real = [pool.submit(streamed, wav) for wav in recordings]
        measured = [[job.result() for job in take] for take in jobs]
        heard = [job.result() for job in real]

    audio = sum(part.seconds for take in measured for part in take)
    cpu = sum(part.cpu for take in measured for part in take)
    print(
        f"{len(sentences)} sentences in each of {len(takes)} takes, streamed through OfflineBackend: "
        f"{audio:.0f} s of audio, {cpu / audio:.3f} CPU s per s"
    )
    print(f"\n  {'take':<26}{'words':>7}{'wrong':>8}{'WER':>7}{'10% flagged below':>19}")
    everything: list[Final] = []
    for (voice, speed), take in zip(takes, measured, strict=True):
        finals = [final for part in take for final in part.finals]
        words = [w for final in finals for w in final.words]
        wrong = sum(not w.correct for w in words)
        print(
            f"  {f'{voice} -s {speed}':<26}{len(words):>7}{share(wrong, len(words)):>8}{pooled_wer(take):>7.3f}"
            f"{recommended(words):>19.2f}"
        )
        everything += finals
    words = [w for final in everything for w in final.words]
    wer = pooled_wer([part for take in measured for part in take])
    threshold = recommended(words)
    wrong = [w.confidence for w in words if not w.correct]
    right = [w.confidence for w in words if w.correct]
    print(f"  {'all':<26}{len(words):>7}{share(len(wrong), len(words)):>8}{wer:>7.3f}{threshold:>19.2f}")

    print_thresholds(everything)
    caught = sum(c < threshold for c in wrong)
    print(
        f"\n  recommended threshold: {threshold:.2f}, the highest that flags at most {MOST_CORRECT_FLAGGED:.0%} "
        f"of correct words; it catches {share(caught, len(wrong)).strip()} of wrong words "
        f"(10th percentile of correct words: {statistics.quantiles(right, n=10)[0]:.3f})"
    )
    own = [f.confidence for f in everything if f.confidence is not None]
    means = [statistics.fmean(w.confidence for w in f.words) for f in everything if f.words]
    for name, scores in (("own confidence (hyp.prob)", own), ("mean word confidence", means)):
        below = sum(score < threshold for score in scores)
        print(
            f"  finals' {name + ':':<27} median {statistics.median(scores):.2g}, "
            f"{share(below, len(scores)).strip()} below {threshold:.2f}"
        )

    for wav, (finals, seconds, _) in zip(recordings, heard, strict=True):
        confidences = [w.confidence for final in finals for w in final.words]
        below = sum(c < threshold for c in confidences)
        held = sum(any(w.confidence < threshold for w in final.words) for final in finals)
        print(
            f"\n{wav.name} (real speech, {seconds:.0f} s, no transcript): {len(confidences)} words, "
            f"{share(below, len(confidences)).strip()} below {threshold:.2f}, median confidence "
            f"{statistics.median(confidences):.3f}; {held} of {len(finals)} finals held"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
