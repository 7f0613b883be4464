"""The quote-check benchmark (python -m bench.quotes): its drafts, and a smoke run that prints its figures.
The targets themselves are the benchmark's to judge, not the suite's."""

import re
import subprocess
import sys
from collections import Counter

import pytest

from bench.quotes.drafts import FORMS, THIRTY_MINUTES, corpus, dataset
from tests.support.processes import ROOT, child_env


def test_the_dataset_has_every_form_true_and_fabricated():
    drafts = dataset()

    assert len(drafts) >= 200
    fabricated = Counter(draft.form for draft in drafts if draft.fabricated)
    assert {form.key: fabricated[form.key] >= 5 for form in FORMS} == {form.key: True for form in FORMS}
    assert 0.4 <= sum(fabricated.values()) / len(drafts) <= 0.6
    assert all(80 <= draft.words <= 120 for draft in drafts)


def test_the_same_seed_makes_the_same_drafts():
    assert [draft.text for draft in dataset(7)] == [draft.text for draft in dataset(7)]
    assert [draft.text for draft in dataset(7)] != [draft.text for draft in dataset(8)]


def test_the_transcripts_make_a_thirty_minute_transcript():
    assert sum(segment.words for segment in corpus().thirty_minutes()) >= THIRTY_MINUTES


@pytest.mark.slow  # a child process
def test_the_smoke_run_prints_its_figures():
    run = subprocess.run(
        [sys.executable, "-m", "bench.quotes", "--smoke"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert int(re.search(r"^dataset: (\d+) drafts", out, re.MULTILINE).group(1)) >= 200
    assert [form.label for form in FORMS if form.label not in out] == []
    assert re.search(r"fabrications caught \d+/\d+", out)
    assert re.search(r"true drafts held \d+/\d+", out)
    assert re.search(r"against the 30-minute transcript .*: median [\d.]+ ms, p95 [\d.]+ ms", out)
    assert re.search(r"check / baseline: median [\d.]+x", out)
    assert out.rstrip().splitlines()[-1].startswith("targets: every fabrication caught: ")
