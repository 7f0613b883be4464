"""Quote-check benchmark (issue 24): the check that holds drafts with untraced quotes, numbers and names, run
over live-blog drafts made from real speeches, true ones and ones with a fabrication planted.

    python -m bench.quotes [--smoke] [--strict] [--seed 24] [--show-wrong]

Prints, for every form of quote, number and name, how many fabricated drafts the check caught and how many
true drafts it held; the totals; the check's time per draft; and whether each target is met:
* every fabrication caught (held, with its planted element among what the check could not trace);
* under 5 % of true drafts held;
* under 20 ms (p95) per 120-word draft checked against a 30-minute transcript.
A draft is checked against its batch (40 s to 2 minutes of transcript around what it reports) and the
event's details; the timing drafts are checked against the first 4,500 words of the speeches joined (30
minutes at 150 words a minute). Times are also given as a ratio to a baseline run in the same process:
normalising the 30-minute transcript's words once (str.split and casefold).

--smoke checks one draft of each form and kind and times a few (a few seconds; same code paths).
--strict exits with status 1 when a target is missed. The drafts and transcripts: bench/quotes/drafts.py.
"""

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass

from bench.quotes.drafts import EVENTS, FORMS, Draft, Segment, corpus, dataset, timing_drafts

HELD_TARGET = 0.05
MS_TARGET = 20.0
_data_dir: tempfile.TemporaryDirectory | None = None


def configure_django() -> None:
    """The check lives in an app package; its imports may need settings, so they are set up as for a test run,
    with a data folder of its own (removed at exit) unless one is named."""
    global _data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")
    if "LIVEBLOG_DATA_DIR" not in os.environ:
        _data_dir = tempfile.TemporaryDirectory(prefix="bench-quotes-")
        os.environ["LIVEBLOG_DATA_DIR"] = _data_dir.name
    import django

    from liveblog_site.datadir import prepare

    prepare()
    django.setup()


def spoken(segments: list[Segment]):
    from publishing.tracing import Spoken

    return [Spoken(s.id, s.text, session_id=s.speech + 1, start=s.start, end=s.end) for s in segments]


def batch_sources(draft: Draft):
    from publishing.tracing import Sources

    event = EVENTS[draft.speech]
    first, last = draft.batch
    return Sources(spoken(corpus().segments[draft.speech][first : last + 1]), event.context, [event.starts_at])


@dataclass
class Result:
    draft: Draft
    untraced: list[dict]
    ms: float

    @property
    def held(self) -> bool:
        return bool(self.untraced)

    @property
    def caught(self) -> bool:
        """Held for the fabrication: an untraced item of the planted kind."""
        return any(item["kind"] == self.draft.kind for item in self.untraced)


def check_all(drafts: list[Draft]) -> list[Result]:
    from publishing.tracing import trace

    results = []
    for draft in drafts:
        sources = batch_sources(draft)
        start = time.perf_counter()
        traced = trace(draft.text, sources)
        elapsed = (time.perf_counter() - start) * 1000
        results.append(Result(draft, list(traced.untraced), elapsed))
    return results


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_thirty_minutes(drafts: list[Draft], repetitions: int) -> dict:
    """Each timing draft checked against the whole 30-minute transcript, `repetitions` times over; the Sources
    are made afresh for every check, as the pipeline makes them for every batch."""
    from publishing.tracing import Sources, trace

    segments = corpus().thirty_minutes()
    joined = spoken(segments)
    speeches = sorted({segment.speech for segment in segments})
    context = [line for speech in speeches for line in EVENTS[speech].context]
    dates = [EVENTS[speech].starts_at for speech in speeches]
    text = " ".join(segment.text for segment in segments)

    baseline = []
    for _ in range(max(20, repetitions)):
        start = time.perf_counter()
        [word.casefold() for word in text.split()]
        baseline.append((time.perf_counter() - start) * 1000)

    for draft in drafts:  # warm up: imports, compiled patterns, caches
        trace(draft.text, Sources(joined, context, dates))
    samples = []
    for _ in range(repetitions):
        for draft in drafts:
            start = time.perf_counter()
            trace(draft.text, Sources(joined, context, dates))
            samples.append((time.perf_counter() - start) * 1000)
    return {
        "segments": len(segments),
        "words": len(text.split()),
        "drafts": len(drafts),
        "draft_words": statistics.mean(draft.words for draft in drafts),
        "repetitions": repetitions,
        "median": statistics.median(samples),
        "p95": percentile(samples, 0.95),
        "baseline": statistics.median(baseline),
    }


def smoke_subset(drafts: list[Draft]) -> list[Draft]:
    seen, subset = set(), []
    for draft in drafts:
        if (draft.form, draft.fabricated) not in seen:
            seen.add((draft.form, draft.fabricated))
            subset.append(draft)
    return subset


def describe(item: dict) -> str:
    return f"{item['kind']} {item['text']!r}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="one draft of each form and kind; a few timings")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--seed", type=int, default=24, help="the drafts' seed (default 24)")
    parser.add_argument("--show-wrong", action="store_true", help="print the text of every draft judged wrongly")
    args = parser.parse_args()

    configure_django()
    drafts = dataset(args.seed)
    true_count = sum(not draft.fabricated for draft in drafts)
    speech_words = sum(segment.words for speech in corpus().segments for segment in speech)
    print(
        f"dataset: {len(drafts)} drafts ({true_count} true, {len(drafts) - true_count} fabricated), "
        f"{min(d.words for d in drafts)}-{max(d.words for d in drafts)} words each, "
        f"from {len(EVENTS)} transcripts ({speech_words:,} words); seed {args.seed}"
    )
    checked = smoke_subset(drafts) if args.smoke else drafts
    if args.smoke:
        print(f"smoke: checking {len(checked)} of them, one of each form and kind")
    results = check_all(checked)

    print(f"\n{'form':<70} {'fabricated':>10} {'caught':>7}  {'true':>5} {'held':>5}")
    for form in FORMS:
        mine = [r for r in results if r.draft.form == form.key]
        fabricated = [r for r in mine if r.draft.fabricated]
        true = [r for r in mine if not r.draft.fabricated]
        label = f"{form.kind}: {form.label}"
        print(
            f"{label:<70} {len(fabricated):>10} {sum(r.caught for r in fabricated):>7}  "
            f"{len(true):>5} {sum(r.held for r in true):>5}"
        )
    fabricated = [r for r in results if r.draft.fabricated]
    true = [r for r in results if not r.draft.fabricated]
    caught = sum(r.caught for r in fabricated)
    held_otherwise = [r for r in fabricated if r.held and not r.caught]
    missed = [r for r in fabricated if not r.caught]
    false_holds = [r for r in true if r.held]
    held_share = len(false_holds) / len(true) if true else 0.0
    print(
        f"\ntotals: fabrications caught {caught}/{len(fabricated)} "
        f"({100 * caught / len(fabricated):.1f}%; {len(held_otherwise)} more held for something else only); "
        f"true drafts held {len(false_holds)}/{len(true)} ({100 * held_share:.1f}%)"
    )
    batch_ms = [r.ms for r in results]
    print(
        f"check time per draft against its batch (40 s-2 min): median {statistics.median(batch_ms):.2f} ms, "
        f"p95 {percentile(batch_ms, 0.95):.2f} ms ({len(batch_ms)} drafts, one check each)"
    )

    timing = timing_drafts(args.seed)
    if args.smoke:
        timing = timing[:: max(1, len(timing) // 8)][:8]
    figures = time_thirty_minutes(timing, repetitions=3 if args.smoke else 20)
    print(
        f"check time per draft against the 30-minute transcript ({figures['segments']} segments, "
        f"{figures['words']:,} words; {figures['drafts']} drafts of {figures['draft_words']:.0f} words on average, "
        f"{figures['repetitions']} repetitions): median {figures['median']:.2f} ms, p95 {figures['p95']:.2f} ms"
    )
    print(
        f"  baseline, normalising the transcript's words once (split + casefold): {figures['baseline']:.3f} ms; "
        f"check / baseline: median {figures['median'] / figures['baseline']:.1f}x, "
        f"p95 {figures['p95'] / figures['baseline']:.1f}x"
    )

    wrong = [(r, "missed fabrication" if not r.held else "fabrication held for something else only") for r in missed]
    wrong += [(r, "true draft held") for r in false_holds]
    if wrong:
        print(f"\njudged wrongly ({len(wrong)}):")
        for result, why in wrong:
            draft = result.draft
            untraced = "; ".join(describe(item) for item in result.untraced) or "nothing"
            print(
                f"  #{draft.id} {why}, {draft.form}, {EVENTS[draft.speech].file.removesuffix('.txt')} "
                f"segments {draft.batch[0]}-{draft.batch[1]}: element {draft.element!r}; untraced: {untraced}"
            )
            if args.show_wrong:
                print(textwrap.indent(draft.text, "      | "))

    targets = [
        ("every fabrication caught", not missed, f"{len(missed)} missed"),
        (f"under {100 * HELD_TARGET:.0f}% of true drafts held", held_share < HELD_TARGET, f"{100 * held_share:.1f}%"),
        (
            f"under {MS_TARGET:.0f} ms per 120-word draft against 30 minutes",
            figures["p95"] < MS_TARGET,
            f"p95 {figures['p95']:.2f} ms",
        ),
    ]
    print(
        "\ntargets: " + "; ".join(f"{name}: {'met' if met else 'MISSED'} ({figure})" for name, met, figure in targets)
    )
    sys.stdout.flush()
    return 1 if args.strict and not all(met for _, met, _ in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
