"""Quotes in drafts are what was said: the check every drafter's text passes, and the offline drafter's reports."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from publishing import drafting
from publishing.batching import flush_remaining, tick
from publishing.brief import SpokenLine
from publishing.drafters.offline import report
from publishing.models import Batch, Post
from publishing.tracing import Sources, Spoken, trace
from tests.support.drafting import SENTENCES, add_segments, queue_item
from transcription.models import StreamSession


@pytest.fixture
def emulator(request):
    return request.getfixturevalue("mavera")


TRUE_QUOTE = " Lovelace says: “Editors approve each draft before readers see it.”"
FALSE_QUOTE = " She promises: “Editors approve every draft before readers see it.”"


def check_quotes(text: str, spoken: list[Spoken], speakers: list[str] = ()):
    return trace(text, Sources(spoken, context=list(speakers)))


def outside_quotes(text: str) -> str:
    return re.sub(r"“[^”]*”", " ", text)


@pytest.mark.django_db
def test_a_true_quote_from_mavera_is_auto_published_and_marked_checked(client, editor, event, emulator):
    event.auto_publish = True
    event.save()
    emulator.append_text = TRUE_QUOTE
    add_segments(event, SENTENCES)
    post = drafting.draft_batch(Batch.objects.claim_segments(event.pk).pk)
    post.refresh_from_db()
    assert "“Editors approve each draft before readers see it.”" in post.body
    assert post.status == Post.Status.PUBLISHED and post.hold_reason == ""
    assert post.checked and post.untraced == []
    assert "✓ Quotes, numbers and names checked" in queue_item(client, editor, post)
    form = client.get(reverse("admin:publishing_post_change", args=[post.pk])).content.decode()
    assert "✓ Quotes, numbers and names checked" in form


@pytest.mark.django_db
def test_a_false_quote_is_held_and_the_queue_shows_it_beside_the_closest_passage(client, editor, event, emulator):
    event.auto_publish = True
    event.save()
    emulator.append_text = FALSE_QUOTE
    segments = add_segments(event, SENTENCES)
    StreamSession.objects.filter(pk=segments[0].session_id).update(audio_file="audio/sessions/keynote.flac")
    post = drafting.draft_batch(Batch.objects.claim_segments(event.pk).pk)
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT and post.published_at is None
    assert (
        post.hold_reason == "1 quote is not in the transcript (“Editors approve every draft before readers see it.”)."
    )
    assert not post.checked
    quote = "Editors approve every draft before readers see it."
    start = post.body.index(quote)
    assert post.untraced == [
        {
            "kind": "quote",
            "text": quote,
            "start": start,
            "end": start + len(quote),
            "why": "not in the transcript",
            "closest": "Editors approve each draft before readers see it,",
            "segments": [segments[3].pk],
        }
    ]
    item = queue_item(client, editor, post)
    assert "names checked" not in item
    assert f'<mark class="untraced-quote">{quote}</mark>' in item
    shown = item[item.index('class="unverified-quote untraced-item"') :]
    assert "Editors approve every draft before readers see it." in shown
    assert "Closest passage: “Editors approve each draft before readers see it,”" in shown
    assert reverse("transcripts:segment_audio", args=[segments[3].pk]) in shown.split("</div>")[0]


@pytest.mark.django_db
def test_an_editor_correcting_the_quote_gets_the_mark(client, editor, event, emulator):
    emulator.append_text = FALSE_QUOTE
    add_segments(event, SENTENCES)
    post = drafting.draft_batch(Batch.objects.claim_segments(event.pk).pk)
    post.edit(editor, headline="", body=post.body.replace("every draft", "each draft"))
    post.refresh_from_db()
    assert post.checked and post.untraced == []


def test_quotes_are_matched_word_for_word_whatever_the_case_and_punctuation():
    said = [Spoken(1, "We don't know yet, says the mayor."), Spoken(2, "Real-time captions arrive in May.")]
    check = check_quotes(
        '“WE DON’T KNOW YET” and ‘real time captions’ and "arrive in may" but “arrive in June” and ‘captions, May’',
        said,
    )
    assert check.quotes == [
        "WE DON’T KNOW YET",
        "real time captions",
        "arrive in may",
        "arrive in June",
        "captions, May",
    ]
    assert [u["text"] for u in check.untraced] == ["arrive in June", "captions, May"]
    assert "arrive in" in check.untraced[0]["closest"] and check.untraced[0]["segments"] == [2]
    # An apostrophe inside a word does not close a single-quoted passage.
    assert check_quotes("‘we don’t know’", said).quotes == ["we don’t know"]


LONG_TALK = [
    *SENTENCES,
    "The mayor says the bridge repairs will cost four million over two years.",
    "Residents at the back ask why the night buses stopped running in March.",
    "I think we owe them an answer by the summer, the mayor adds.",
    "We will publish the full budget online next week for everyone to read.",
]


@pytest.mark.parametrize(
    "transcript",
    [
        " ".join(LONG_TALK),
        "Speaker 0: " + " ".join(LONG_TALK[:6]) + "\nSpeaker 1: " + " ".join(LONG_TALK[6:]),
        # The offline recognizer's output: no case, no punctuation, one run.
        " ".join(re.sub(r"[^\w\s']", "", s).lower() for s in LONG_TALK),
        'I say: “quoted” words, and "more" of them. ' * 20,
    ],
    ids=["punctuated", "two-speakers", "unpunctuated", "quotes-in-speech"],
)
def test_the_offline_drafter_reports_in_the_third_person_with_attributed_quotes_that_pass_the_check(transcript):
    lines = [
        SpokenLine(*line.split(": ", 1), by_number=True) if line.startswith("Speaker") else SpokenLine("", line)
        for line in transcript.splitlines()
    ]
    spoken = [Spoken(n, line.text) for n, line in enumerate(lines)]
    body = report(lines, [])
    assert 80 <= len(body.split()) <= 120
    speakers = [line.speaker for line in lines]
    assert check_quotes(body, spoken, speakers).passed and check_quotes(body, spoken).quotes
    framing = outside_quotes(body)
    # Only its own framing words outside the quotes: who says it, in the third person and present tense.
    assert re.fullmatch(r"(\s*(The speaker|Speaker \d) (says|adds|goes on|continues):\s*[.]?)+\s*", framing), framing
    if "Speaker 1" in transcript:
        assert "Speaker 0 says: “" in body and "Speaker 1 says: “" in body
    assert report(lines, []) == body


def test_the_offline_drafter_attributes_quotes_to_a_named_speaker():
    lines = [SpokenLine("Jane Doe", " ".join(LONG_TALK))]
    body = report(lines, [])
    assert body.startswith("Jane Doe says: “") and "The speaker" not in body
    assert check_quotes(body, [Spoken(0, lines[0].text)], ["Jane Doe"]).passed


@pytest.mark.django_db
def test_a_short_batch_stays_due_and_is_drafted_at_the_tick_that_has_enough_words(event):
    now = timezone.now()
    Event.objects.filter(pk=event.pk).update(last_batched_at=now - timedelta(seconds=event.batch_interval_seconds))
    first = add_segments(event, SENTENCES[:2])  # 24 words: too little for a post
    assert tick(now) == []
    event.refresh_from_db()
    assert event.last_batched_at < now and not Batch.objects.exists(), "still due: not a whole interval more"
    later = add_segments(event, SENTENCES[2:4])
    (batch,) = tick(now + timedelta(seconds=settings.BATCH_TICK_SECONDS))
    assert set(batch.segments.values_list("pk", flat=True)) == {s.pk for s in first + later}
    post = drafting.draft_batch(batch.pk)
    assert post.checked and post.hold_reason == ""
    assert all(sentence in post.body for sentence in SENTENCES[:4])


@pytest.mark.django_db
def test_a_due_event_with_no_new_speech_starts_a_fresh_interval(event):
    now = timezone.now()
    assert tick(now) == []
    event.refresh_from_db()
    assert event.last_batched_at == now


@pytest.mark.django_db
def test_the_final_flush_drafts_even_a_short_batch(event):
    add_segments(event, SENTENCES[:1])
    assert tick() == []
    batch = flush_remaining(event.pk)
    assert batch.is_final
    post = drafting.draft_batch(batch.pk)
    assert post.body == f"The speaker says: “{SENTENCES[0]}”"
    assert post.checked and post.hold_reason == "It has 15 words, fewer than 40."
