"""Speaker labels and the credit cap's pause in each person's language (issue 30, "Every language"): a German editor
reads "Sprecher 0" and the German pause, the drafter reads the labels in the event's language, and the studio's
socket labels speakers in its journalist's."""

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from django.utils import translation

from events.models import Event
from newsroom.models import Preferences
from publishing import credits
from publishing.brief import SpokenLine, build_brief
from publishing.drafters.offline import report
from publishing.models import Batch, Post, sources_of
from tests.support.drafting import SENTENCES, add_segments
from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import Studio
from transcription.models import SpeakerName

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def drafted_from_two_speakers(event) -> Post:
    """A draft of a batch in which speaker 0 (never named) and Jane Doe (speaker 1) speak."""
    unnamed = add_segments(event, SENTENCES[:2], speaker=0)
    add_segments(event, SENTENCES[2:4], speaker=1)
    SpeakerName.objects.create(session=unnamed[0].session, label=1, name="Jane Doe")
    return Post.objects.create(event=event, batch=Batch.objects.claim_segments(event.pk), body="Jane Doe speaks.")


def cap_paused(event: Event) -> None:
    """The event's cap reached as drafting reaches it: 12 credits of 20 billed, and the next batch, which may need
    12, stopped."""
    Event.objects.filter(pk=event.pk).update(credit_cap=20)
    Batch.objects.filter(event=event).update(status=Batch.Status.DRAFTED, credits_used=12)
    add_segments(event, SENTENCES[4:5])
    stopped = Batch.objects.start_drafting(Batch.objects.claim_segments(event.pk).pk)
    assert credits.reserve(stopped, 12)
    assert Event.objects.get(pk=event.pk).cap_pause == {"cap": 20, "used": 12, "reserved": 0, "next_batch": 12}


@pytest.mark.django_db
def test_a_german_editor_reads_the_speakers_and_the_cap_s_pause_in_german(client, editor, drafted_from_two_speakers):
    event = drafted_from_two_speakers.event
    cap_paused(event)
    client.force_login(editor)
    queue = reverse("admin:publishing_post_queue", args=[event.pk])

    page = client.get(queue, **GERMAN).content.decode()
    assert '<b class="speaker">Sprecher 0:</b>' in page and '<b class="speaker">Jane Doe:</b>' in page
    assert "Entwerfen pausiert: Credit-Obergrenze von 20 erreicht: 12 Credits verbraucht, 0 reserviert" in page
    assert "Durch die Credit-Obergrenze angehalten: wird entworfen, sobald die Obergrenze Raum lässt." in page
    assert "Speaker 0" not in page and "Stopped by the credit cap" not in page
    # Only the alert, a record kept in the site's language for every editor and the webhook, says it in English.
    assert page.count("Credit cap of 20") == 1 and "Drafting paused by the credit cap" not in page
    listing = client.get(reverse("admin:events_event_changelist"), **GERMAN).content.decode()
    assert "pausiert: Credit-Obergrenze von 20 erreicht" in listing

    # The same rows, read by an English editor.
    page = client.get(queue, **ENGLISH).content.decode()
    assert '<b class="speaker">Speaker 0:</b>' in page
    assert "Drafting paused: Credit cap of 20 reached: 12 credits used, 0 reserved, and a batch may need 12." in page
    assert "Stopped by the credit cap: drafted once the cap has room." in page


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "label"), [("de", "Sprecher 0"), ("en", "Speaker 0")])
def test_the_drafter_reads_unnamed_speakers_in_the_event_s_language_whoever_drafts(
    drafted_from_two_speakers, language, label
):
    event = drafted_from_two_speakers.event
    Event.objects.filter(pk=event.pk).update(language=language)
    batch = Batch.objects.get(pk=drafted_from_two_speakers.batch_id)
    other = "en" if language == "de" else "de"
    with translation.override(other):  # the worker's language is not the event's
        brief = build_brief(batch)
        context = sources_of(batch.event, list(batch.segments.in_order())).context
    assert brief.lines == [
        SpokenLine(label, f"{SENTENCES[0]} {SENTENCES[1]}", by_number=True),
        SpokenLine("Jane Doe", f"{SENTENCES[2]} {SENTENCES[3]}"),
    ]
    assert brief.transcript.startswith(f"{label}: {SENTENCES[0]}")
    assert label in context  # a draft that names the label traces it


def test_the_offline_drafter_knows_an_unnamed_speaker_by_the_flag_not_the_english_word():
    talk = " ".join(SENTENCES)
    with translation.override("de"):
        unnamed = report([SpokenLine("Sprecher 0", talk, by_number=True)], [])
        named = report([SpokenLine("Sprecher", talk)], [])  # a person whose name is Sprecher
    assert unnamed.startswith("Die sprechende Person sagt: “") and "Sprecher 0" not in unnamed
    assert named.startswith("Sprecher sagt:")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles")
async def test_a_german_journalist_s_socket_labels_speakers_in_german(deepgram, event, journalist):
    await sync_to_async(Preferences.objects.create)(user=journalist, language="de")
    await Event.objects.filter(pk=event.pk).aupdate(diarize=True)
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    await studio.start()
    await studio.audio(word_audio([1]) + silence(0.6))
    final = await studio.wait_for(lambda m: m["type"] == "transcript" and m["is_final"])
    assert (final["speaker"], final["name"], final["speaker_name"]) == (0, "", "Sprecher 0")
    await studio.stop()
    await studio.disconnect()
