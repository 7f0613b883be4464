"""Speaker labels, the credit cap's pause and the desk's alerts in each person's language (issue 30, "Every
language"): a German editor reads "Sprecher 0", the German pause and German alerts on an English site, the drafter
reads the labels in the event's language, and the studio's socket labels speakers in its journalist's."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from django.utils import translation

from events.models import Event
from newsroom.models import Preferences
from publishing import alerts, credits, drafting, summaries
from publishing.brief import SpokenLine, build_brief
from publishing.drafters.offline import report
from publishing.models import Alert, Batch, Post, Summary, sources_of
from tests.support import factories
from tests.support.drafting import SENTENCES, add_segments
from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import Studio
from transcription.models import SpeakerName, StreamSession

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
    # The pause's alert says it in German too.
    assert page.count("Credit-Obergrenze von 20 erreicht") == 2
    assert "Credit cap of 20" not in page and "Drafting paused by the credit cap" not in page
    listing = client.get(reverse("admin:events_event_changelist"), **GERMAN).content.decode()
    assert "pausiert: Credit-Obergrenze von 20 erreicht" in listing

    # The same rows, read by an English editor.
    page = client.get(queue, **ENGLISH).content.decode()
    assert '<b class="speaker">Speaker 0:</b>' in page
    assert "Drafting paused: Credit cap of 20 reached: 12 credits used, 0 reserved, and a batch may need 12." in page
    assert "Stopped by the credit cap: drafted once the cap has room." in page


# Each kind of alert as tests.support.factories.alerts_of_each_kind raises it: its kind, then its message, in German
# and in English. The drafter's answer (Mavera answered 503) is technical detail: as it was recorded.
ALERTS = {
    "de": [
        (
            "Stapel fehlgeschlagen",
            "Stapel {batch} fehlgeschlagen: Entwerfen nicht verfügbar, aufgegeben: Mavera answered 503",
        ),
        (
            "Entwerfen durch die Credit-Obergrenze pausiert",
            "Entwerfen pausiert: Credit-Obergrenze von 1 erreicht: 0 Credits verbraucht, 0 reserviert, und ein Stapel "
            "kann 12 benötigen.",
        ),
        (
            "Stream fehlgeschlagen",
            "Stream {session} von jo angehalten: der Sprachdienst hat aufgegeben. Das Deepgram-Konto hat kein Guthaben "
            "mehr (402).",
        ),
        (
            "Stream angehalten: Speicher nicht verfügbar",
            "Stream {session} von jo angehalten: die Datenbank blieb unerreichbar. Das Transkript konnte über 2 "
            "Minuten Rede lang nicht gespeichert werden",
        ),
        (
            "Veranstaltung endete während des Streamens",
            "Die Veranstaltung endete mit 1 noch laufenden Stream: Er wird abgeschlossen und gespeichert.",
        ),
    ],
    "en": [
        ("Batch failed", "Batch {batch} failed: Drafting unavailable, gave up: Mavera answered 503"),
        (
            "Drafting paused by the credit cap",
            "Drafting paused: Credit cap of 1 reached: 0 credits used, 0 reserved, and a batch may need 12.",
        ),
        (
            "Stream failed",
            "Stream {session} from jo stopped: the speech provider gave up. The Deepgram account is out of credits "
            "(402).",
        ),
        (
            "Stream stopped: storage unavailable",
            "Stream {session} from jo stopped: the database stayed unreachable. The transcript could not be saved for "
            "over 2 minutes of speech",
        ),
        (
            "Event ended while streaming",
            "The event ended with 1 stream still running: it is being finished and stored.",
        ),
    ],
}


def alerts_in(language: str, batch: Batch, session: int) -> list[tuple[str, str]]:
    return [(kind, text.format(batch=batch.pk, session=session)) for kind, text in ALERTS[language]]


@pytest.fixture
def alerted(event) -> tuple[Batch, int]:
    """An event with an alert of each kind, and a version of the story so far that the cap's pause stopped; the
    batch the drafter gave up on, and the stream that failed."""
    factories.published_post(event, SENTENCES[0])
    story = Summary.objects.claim(event.pk, trigger=Summary.Trigger.EDITOR)
    factories.alerts_of_each_kind(event)
    assert summaries.draft_summary(story.pk) is None
    failed = Batch.objects.filter(event=event, status=Batch.Status.FAILED, stopped_by_cap=False).get()
    return failed, StreamSession.objects.get(event=event).pk


@pytest.mark.django_db
def test_a_german_editor_reads_each_alert_and_error_in_german_on_an_english_site(client, editor, alerted, settings):
    assert settings.LANGUAGE_CODE == "en-us"
    batch, session = alerted
    client.force_login(editor)
    queue = client.get(reverse("admin:publishing_post_queue", args=[batch.event_id]), **GERMAN).content.decode()
    listing = client.get(reverse("admin:publishing_alert_changelist"), **GERMAN).content.decode()
    for kind, text in alerts_in("de", batch, session):
        assert f"{kind}: {text}" in queue
        assert text in listing and f'<td class="field-kind">{kind}</td>' in listing
    for _, text in alerts_in("en", batch, session):
        assert text not in queue and text not in listing
    # The errors the queue shows: the batch the drafter gave up on, the one the cap stopped, the summary's.
    assert "<td>Entwerfen nicht verfügbar, aufgegeben: Mavera answered 503</td>" in queue
    assert "<td>Durch die Credit-Obergrenze angehalten: wird entworfen, sobald die Obergrenze Raum lässt.</td>" in queue
    assert "Fassung 1 konnte nicht entworfen werden: Entwerfen pausiert: Credit-Obergrenze von 1 erreicht" in queue
    one = Alert.objects.get(kind=Alert.Kind.ENDED_WHILE_STREAMING)
    page = client.get(reverse("admin:publishing_alert_change", args=[one.pk]), **GERMAN).content.decode()
    assert "Die Veranstaltung endete mit 1 noch laufenden Stream" in page and "still running" not in page

    # The same rows, read by an English editor.
    queue = client.get(reverse("admin:publishing_post_queue", args=[batch.event_id]), **ENGLISH).content.decode()
    for kind, text in alerts_in("en", batch, session):
        assert f"{kind}: {text}" in queue
    assert "Version 1 could not be drafted: Drafting paused: Credit cap of 1 reached" in queue


@pytest.mark.django_db
def test_alerts_are_kept_and_posted_to_the_webhook_in_the_site_s_language(alerted):
    batch, session = alerted
    stored = sorted(Alert.objects.values_list("message", flat=True))
    expected = sorted(text for _, text in alerts_in("en", batch, session))
    assert [message[: len(text)] for message, text in zip(stored, expected, strict=True)] == expected
    alert = Alert.objects.get(kind=Alert.Kind.BATCH_FAILED)
    with translation.override("de"):  # the worker's language, whatever it is, is not the webhook's
        body = alerts.payload(alert)
    assert body["text"].startswith(f"Batch failed · Keynote: Batch {batch.pk} failed: Drafting unavailable")
    assert body["text"].endswith("|Open the draft queue>") and body["message"] == alert.message


@pytest.mark.django_db
def test_an_alert_raised_before_sentences_were_kept_reads_as_stored(client, editor, event):
    Alert.objects.create(kind=Alert.Kind.BATCH_FAILED, event=event, message="Drafting failed three times.")
    client.force_login(editor)
    queue = client.get(reverse("admin:publishing_post_queue", args=[event.pk]), **GERMAN).content.decode()
    assert "Stapel fehlgeschlagen: Drafting failed three times." in queue


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles")
async def test_a_speech_provider_s_refusal_reads_in_the_journalist_s_language_and_the_alert_in_each_editor_s(
    deepgram, settings, event, journalist
):
    settings.DEEPGRAM_API_KEY = "wrong-key"
    await sync_to_async(Preferences.objects.create)(user=journalist, language="de")
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    error = await studio.wait_for(lambda m: m["type"] == "error")
    assert error["message"] == "Der Deepgram-API-Schlüssel wurde abgelehnt (401). Prüfen Sie DEEPGRAM_API_KEY."
    assert await studio.wait_closed() == 4401
    await studio.disconnect()

    @sync_to_async
    def alerted() -> Alert | None:
        return Alert.objects.filter(kind=Alert.Kind.STREAM_FAILED).first()

    for _ in range(100):  # the socket closes first; the relay then stores what it must
        if alert := await alerted():
            break
        await asyncio.sleep(0.1)
    assert alert is not None
    english = (
        f"Stream {ready['session']} from jo stopped: the speech provider gave up. The Deepgram API key was refused"
    )
    assert alert.message.startswith(english)  # the site's language, whoever streamed
    with translation.override("de"):
        assert alert.text().startswith(f"Stream {ready['session']} von jo angehalten: der Sprachdienst hat aufgegeben.")
        assert "Der Deepgram-API-Schlüssel wurde abgelehnt (401)" in alert.text()


# A draft the checks hold: a quote nobody said, a number nobody said, and far too short.
HELD = 'She says "drafts never sleep" at 42 events.'
HELD_BECAUSE = {
    "de": "1 Zitat steht nicht im Transkript („drafts never sleep“); 1 Zahl wurde nicht gesagt (42); er hat 8 Wörter, "
    "weniger als 40.",
    "en": "1 quote is not in the transcript (“drafts never sleep”); 1 number was not said (42); it has 8 words, fewer "
    "than 40.",
}


def hold_a_draft(event: Event) -> Post:
    """A draft the quote, number and length checks hold for an editor, as drafting saves it."""
    add_segments(event, SENTENCES[:2])
    batch = Batch.objects.claim_segments(event.pk)
    checked = batch.trace(HELD)
    return Post.objects.create_drafted(batch, HELD, drafting.hold_reasons(HELD, checked.untraced), checked)


@pytest.fixture
def held_draft(event) -> Post:
    return hold_a_draft(event)


@pytest.mark.django_db
def test_a_german_editor_reads_why_a_draft_is_held_in_german_on_an_english_site(client, editor, held_draft, settings):
    assert settings.LANGUAGE_CODE == "en-us"
    assert held_draft.hold_reason == HELD_BECAUSE["en"]  # kept in the site's language, for search and the log
    client.force_login(editor)
    queue = reverse("admin:publishing_post_queue", args=[held_draft.event_id])
    change = reverse("admin:publishing_post_change", args=[held_draft.pk])
    for page in (client.get(queue, **GERMAN), client.get(change, **GERMAN)):
        text = page.content.decode()
        assert HELD_BECAUSE["de"] in text and HELD_BECAUSE["en"] not in text
    assert "Für die Redaktion zurückgehalten, weil" in client.get(change, **GERMAN).content.decode()
    for page in (client.get(queue, **ENGLISH), client.get(change, **ENGLISH)):
        assert HELD_BECAUSE["en"] in page.content.decode()


@pytest.mark.django_db
def test_a_german_journalist_reads_why_a_draft_is_held_in_german(client, journalist, held_draft):
    Preferences.objects.create(user=journalist, language="de")
    client.force_login(journalist)
    drafts = client.get(reverse("newsroom:drafts", args=[held_draft.event.slug])).json()["drafts"]
    assert [draft["hold_reason"] for draft in drafts] == [HELD_BECAUSE["de"]]
    page = client.get(reverse("newsroom:draft", args=[held_draft.event.slug, held_draft.pk])).content.decode()
    assert HELD_BECAUSE["de"] in page


@pytest.mark.django_db
def test_a_draft_held_before_its_reasons_were_kept_reads_as_stored(client, editor, event):
    old = Post.objects.create(event=event, body="Short.", hold_reason="It has 1 word, fewer than 40.")
    client.force_login(editor)
    queue = client.get(reverse("admin:publishing_post_queue", args=[event.pk]), **GERMAN).content.decode()
    assert "It has 1 word, fewer than 40." in queue and old.why_held() == old.hold_reason


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles")
async def test_studios_sharing_an_event_s_feed_each_read_a_held_draft_in_their_own_language(
    event, journalist, other_journalist
):
    await sync_to_async(Preferences.objects.create)(user=journalist, language="de")
    await sync_to_async(event.journalists.add)(other_journalist)
    german, english = Studio(event.slug, journalist), Studio(event.slug, other_journalist)
    for studio in (german, english):  # the German one starts the event's one watch
        assert await studio.connect()
        await studio.wait_for(lambda m: m["type"] == "batch")
    await sync_to_async(hold_a_draft)(event)
    for studio, language in ((german, "de"), (english, "en")):
        draft = await studio.wait_for(lambda m: m["type"] == "draft", timeout=10)
        assert draft["post"]["state"] == "held" and draft["post"]["hold_reason"] == HELD_BECAUSE[language]
        await studio.disconnect()
