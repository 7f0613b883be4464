"""Word error rate, and the offline recognizer's best transcript of a recording: the whole file as one utterance."""

import re
from pathlib import Path

from tests.support.audio import wav_pcm


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped: how transcripts are compared."""
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance (substitutions, insertions, deletions) over the reference's length."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        raise ValueError("The reference transcript has no words.")
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i]
        for j, hyp_word in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1] / len(ref)


def whole_file_transcript(wav: Path) -> str:
    """pocketsphinx's US English model decoding a 16 kHz mono WAV in one go, with the whole file as context."""
    from pocketsphinx import Decoder

    decoder = Decoder(loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(wav_pcm(wav), full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis else ""
