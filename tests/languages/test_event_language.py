"""The event's language end to end: a bounded choice, sent to Deepgram (nova-3's multilingual mode with the languages
the journalist ticked), to the drafter's instructions, and to the check of numbers and names; the offline recognizer,
English only, refuses another language before going live, and the studio page says so first."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from events.models import Event
from publishing import drafting
from publishing.models import Batch
from publishing.tracing import Sources, Spoken, trace
from tests.support import factories
from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import Studio

GERMAN = "Die Firma wächst um vierzig Prozent auf drei Komma fünf Millionen Euro, sagt Ada Lovelace im Saal."


def german_event(journalist, **fields) -> Event:
    return factories.live_event(journalist, **{"title": "Hauptrede", "slug": "hauptrede", "language": "de", **fields})


@pytest.mark.django_db
def test_the_language_is_one_of_the_list_and_the_database_holds_it_there(journalist):
    event = german_event(journalist)
    event.language = "klingon"
    with pytest.raises(ValidationError) as refused:
        event.full_clean()
    assert "language" in refused.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(language="xx")


@pytest.mark.django_db
def test_several_languages_need_two_ticked_and_posts_follow_the_first(journalist):
    event = german_event(journalist, language="multi", speech_languages=["de"])
    with pytest.raises(ValidationError) as refused:
        event.full_clean()
    assert "speech_languages" in refused.value.message_dict
    event.speech_languages = ["fr", "en"]
    event.full_clean()
    assert event.post_language == "fr"
    event.speech_languages = ["fr", "tlh"]
    with pytest.raises(ValidationError):
        event.full_clean()


@pytest.mark.django_db
def test_a_reader_edition_in_the_posts_own_language_is_refused(journalist):
    event = german_event(journalist, reader_languages=["de", "en"])
    with pytest.raises(ValidationError) as refused:
        event.full_clean()
    assert "reader_languages" in refused.value.message_dict
    event.reader_languages = ["en", "es"]
    event.full_clean()
    assert event.editions == ["en", "es"]


# --- Deepgram is asked for the event's language. ---


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles", "media")
async def test_deepgram_receives_language_de_for_a_german_event(deepgram, journalist):
    event = await Event.objects.acreate(
        title="Hauptrede", slug="hauptrede", language="de", status=Event.Status.LIVE, starts_at="2026-01-01T10:00Z"
    )
    await event.journalists.aadd(journalist)
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    assert ready["type"] == "ready" and ready["provider"] == "deepgram"
    await studio.audio(word_audio([1, 2, 3]) + silence(0.5))
    await studio.wait_for(lambda m: m["type"] == "transcript" and m["is_final"])
    await studio.stop()
    listen = deepgram.connections[0]
    assert listen.params["language"] == "de" and listen.params["model"] == "nova-3"
    assert listen.language_hints == []
    await studio.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles", "media")
async def test_several_languages_open_nova_3_multilingual_hinted_to_the_ones_ticked(deepgram, journalist):
    event = await Event.objects.acreate(
        title="Panel",
        slug="panel",
        language="multi",
        speech_languages=["de", "en"],
        status=Event.Status.LIVE,
        starts_at="2026-01-01T10:00Z",
    )
    await event.journalists.aadd(journalist)
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    assert (await studio.start())["type"] == "ready"
    await studio.stop()
    listen = deepgram.connections[0]
    assert listen.params["language"] == "multi" and listen.language_hints == ["de", "en"]
    await studio.disconnect()


# --- The offline recognizer is English only. ---


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles", "media")
async def test_the_offline_recognizer_refuses_a_german_stream_with_its_own_code(settings, journalist):
    settings.SPEECH_BACKEND = "transcription.speech.offline.OfflineBackend"
    event = await Event.objects.acreate(
        title="Hauptrede", slug="hauptrede", language="de", status=Event.Status.LIVE, starts_at="2026-01-01T10:00Z"
    )
    await event.journalists.aadd(journalist)
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    answer = await studio.start()
    assert answer["type"] == "error" and answer["code"] == "language_unsupported"
    assert "English only" in answer["message"] and "German" in answer["message"]
    assert await studio.wait_closed() == 4012
    assert not await event.stream_sessions.aexists()  # refused before any session was opened


@pytest.mark.django_db
def test_the_studio_page_says_so_before_going_live_and_offers_no_stream(client, settings, journalist):
    settings.SPEECH_BACKEND = "transcription.speech.offline.OfflineBackend"
    event = german_event(journalist)
    client.force_login(journalist)
    page = client.get(f"/studio/{event.slug}/").content.decode()
    assert 'id="language-refusal"' in page and "English only" in page and 'data-language-refused="1"' in page
    assert 'id="follow-form"' not in page  # the stream address would be refused the same way
    english = factories.live_event(journalist, title="Keynote", slug="keynote")
    page = client.get(f"/studio/{english.slug}/").content.decode()
    assert 'id="language-refusal"' not in page and 'id="follow-form"' in page


@pytest.mark.django_db
def test_with_a_provider_the_studio_page_offers_every_route(client, settings, journalist):
    settings.SPEECH_BACKEND = "transcription.speech.deepgram.DeepgramBackend"
    settings.DEEPGRAM_API_KEY = "dg-test-key"
    event = german_event(journalist)
    client.force_login(journalist)
    page = client.get(f"/studio/{event.slug}/").content.decode()
    assert 'id="language-refusal"' not in page and 'id="follow-form"' in page


# --- The drafter writes in the event's language. ---


@pytest.mark.django_db
def test_the_drafter_s_request_asks_for_german_posts(journalist, mavera):
    event = german_event(journalist)
    session = factories.stream_session(event, journalist)
    factories.segment(session, GERMAN)
    batch = Batch.objects.claim_segments(event.pk)
    drafting.draft_batch(batch.pk)
    prompt = mavera.posts(200)[0].body["prompt"]
    instructions = prompt[: prompt.index("<transcript>")]
    assert "Write it in German" in instructions and "vierzig" not in instructions


# --- The check reads numbers in the event's language. ---


def german_sources(text: str = GERMAN) -> Sources:
    return Sources([Spoken(1, text)], context=["Hauptrede"], language="de")


def test_numbers_said_in_german_words_trace_a_draft_s_digits():
    result = trace("Ada Lovelace sagt, die Firma wächst um 40 Prozent auf 3,5 Millionen Euro.", german_sources())
    assert result.passed, result.untraced


def test_a_number_nobody_said_is_marked_where_the_draft_writes_it():
    draft = "Die Firma wächst um 40 Prozent und hat zwölf Standorte."
    result = trace(draft, german_sources())
    assert [(item["kind"], item["text"]) for item in result.untraced] == [("number", "zwölf")]
    item = result.untraced[0]
    assert draft[item["start"] : item["end"]] == "zwölf"


def test_german_nouns_are_not_names_but_a_new_name_is():
    result = trace("Die Regierung und die Firma hören Lise Meitner zu.", german_sources())
    assert [(item["kind"], item["text"]) for item in result.untraced] == [("name", "Lise Meitner")]


def test_french_numbers_in_words_are_read_by_value():
    sources = Sources(
        [Spoken(1, "Nous avons quarante pour cent de plus, soit trois virgule cinq millions.")], language="fr"
    )
    assert trace("Ils ont 40 % de plus, soit 3,5 millions.", sources).passed
    assert not trace("Ils ont 14 % de plus.", sources).passed
