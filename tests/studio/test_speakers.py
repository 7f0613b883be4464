"""Speakers (issue 14 point 5): a diarized final split per speaker, shown in the studio, named per session,
and the names used in exports, the draft queue's source transcript and the drafters' brief; a name given in
the admin reaches a running stream within a second (issue 25 point 4)."""

import json
import re
import time

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.urls import reverse

from publishing.brief import SpokenLine, build_brief
from publishing.models import Batch, Post
from tests.support import factories
from tests.support.emulators.deepgram import EmulatorThread, silence, word_audio
from tests.support.emulators.studio import Studio, session_cookie
from tests.support.netclients import StudioSocket
from tests.support.processes import start_daphne
from transcription.models import Segment, SpeakerName

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles")]


@sync_to_async
def stored(session_id: int) -> list[Segment]:
    return list(Segment.objects.filter(session_id=session_id).order_by("sequence"))


@sync_to_async
def diarized(event):
    event.diarize = True
    event.save(update_fields=["diarize"])


@sync_to_async
def get(client, user, url: str):
    client.force_login(user)
    return client.get(url)


async def test_a_final_with_two_speakers_is_two_segments_shown_and_named_in_the_export(
    deepgram, event, journalist, client
):
    await diarized(event)
    deepgram.script.speakers = {3: 1, 4: 1}  # word1 word2 by speaker 0, then word3 word4 by speaker 1
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(word_audio([1, 2, 3, 4]) + silence(0.6))
    await studio.wait_for(lambda m: m["type"] == "transcript" and m["is_final"] and "word4" in m["text"])
    assert deepgram.connections[0].params["diarize"] == "true"

    segments = await stored(ready["session"])
    assert [(s.sequence, s.text, s.speaker) for s in segments] == [(0, "word1 word2", 0), (1, "word3 word4", 1)]
    assert [w["word"] for w in segments[1].words] == ["word3", "word4"]
    assert segments[0].end == segments[0].words[-1]["end"] and segments[1].start == segments[1].words[0]["start"]
    assert segments[0].end <= segments[1].start
    finals = studio.finals()
    assert [(f["segment"], f["text"], f["speaker"], f["speaker_name"]) for f in finals] == [
        (segments[0].pk, "word1 word2", 0, "Speaker 0"),
        (segments[1].pk, "word3 word4", 1, "Speaker 1"),
    ]

    await studio.send({"type": "name_speaker", "speaker": 1, "name": "  Jane\u0000 Doe "})
    named = await studio.wait_for(lambda m: m["type"] == "speaker_named")
    assert named == {"type": "speaker_named", "speaker": 1, "name": "Jane Doe", "speaker_name": "Jane Doe"}
    await studio.send({"type": "name_speaker", "speaker": 0, "name": "x" * 81})
    refused = await studio.wait_for(lambda m: m["type"] == "speaker_not_named")
    assert "at most 80 characters" in refused["message"]
    await studio.send({"type": "name_speaker", "speaker": True, "name": "Bool"})
    assert (
        "speaker number"
        in (await studio.wait_for(lambda m: m["type"] == "speaker_not_named" and m["speaker"]))["message"]
    )

    # Later finals carry the name, and the stream went on after the refused names.
    await studio.audio(word_audio([5]) + silence(0.6))
    await studio.wait_for(lambda m: m["type"] == "transcript" and m["is_final"] and "word5" in m["text"])
    deepgram.script.speakers = {6: 1}
    await studio.audio(word_audio([6]) + silence(0.6))
    later = await studio.wait_for(lambda m: m["type"] == "transcript" and m["is_final"] and "word6" in m["text"])
    assert later["speaker"] == 1 and later["speaker_name"] == "Jane Doe"
    await studio.stop()
    await studio.disconnect()

    response = await get(client, journalist, reverse("transcripts:event_transcript", args=[event.slug, "txt"]))
    text = response.content.decode()
    assert "Speaker 0: word1 word2" in text and "Jane Doe: word3 word4" in text and "Jane Doe: word6" in text
    names = await sync_to_async(lambda: list(SpeakerName.objects.values_list("label", "name")))()
    assert names == [(1, "Jane Doe")]


def final_with(word: str):
    return lambda m: m["type"] == "transcript" and m["is_final"] and word in m["text"]


async def test_a_name_never_passes_to_whoever_a_new_connection_numbers_the_same(deepgram, event, journalist):
    """Deepgram numbers the speakers of every connection from 0 again: after a reconnect, and after the
    journalist's page resumes the session, its numbers are new labels, and Jane's name stays with Jane."""
    await diarized(event)
    deepgram.script.speakers = {2: 1}
    first = Studio(event.slug, journalist)
    assert await first.connect()
    ready = await first.start()
    await first.audio(word_audio([1, 2]) + silence(0.6))
    await first.wait_for(final_with("word2"))
    await first.send({"type": "name_speaker", "speaker": 1, "name": "Jane Doe"})
    await first.wait_for(lambda m: m["type"] == "speaker_named")

    deepgram.drop_all()  # the connection to Deepgram drops; the relay reconnects
    await first.audio(word_audio([3]) + silence(0.6))
    deepgram.script.speakers = {4: 1}
    await first.audio(word_audio([4]) + silence(0.6))
    after_reconnect = await first.wait_for(final_with("word4"))
    assert len(deepgram.connections) == 2
    assert (after_reconnect["speaker"], after_reconnect["speaker_name"]) == (3, "Speaker 3")
    await first.disconnect()  # the laptop's Wi-Fi drops; the page resumes the session

    second = Studio(event.slug, journalist)
    assert await second.connect()
    await second.start(session=ready["session"], last_sequence=-1)
    deepgram.script.speakers = {5: 1}
    await second.audio(word_audio([5]) + silence(0.6))
    after_resume = await second.wait_for(final_with("word5"))
    assert (after_resume["speaker"], after_resume["speaker_name"]) == (5, "Speaker 5")
    await second.send({"type": "name_speaker", "speaker": 5, "name": "John Roe"})
    assert (await second.wait_for(lambda m: m["type"] == "speaker_named"))["speaker_name"] == "John Roe"
    await second.stop()
    await second.disconnect()

    segments = await stored(ready["session"])
    by_word = {s.text: s.speaker for s in segments}
    assert by_word == {"word1": 0, "word2": 1, "word3": 2, "word4": 3, "word5": 5}
    names = await sync_to_async(lambda: dict(SpeakerName.objects.values_list("label", "name")))()
    assert names == {1: "Jane Doe", 5: "John Roe"}


@pytest.fixture
def two_speakers(event, journalist):
    session = factories.stream_session(event, journalist)
    factories.segment(session, "We ratify the treaty today.", sequence=0, start=0.0, end=2.0, speaker=0)
    factories.segment(session, "Will it pass the senate?", sequence=1, start=2.0, end=4.0, speaker=1)
    factories.segment(session, "It will, by a wide margin.", sequence=2, start=4.0, end=6.0, speaker=0)
    return session


def test_an_editor_names_a_speaker_in_the_session_admin_and_the_brief_and_queue_use_it(
    client, editor, event, two_speakers
):
    client.force_login(editor)
    url = reverse("admin:transcription_streamsession_change", args=[two_speakers.pk])
    form = {
        "speaker_names-TOTAL_FORMS": "1",
        "speaker_names-INITIAL_FORMS": "0",
        "speaker_names-0-label": "0",
        "speaker_names-0-name": "Jane Doe",
        "speaker_names-0-session": str(two_speakers.pk),
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(SpeakerName.objects.values_list("session_id", "label", "name")) == [(two_speakers.pk, 0, "Jane Doe")]

    batch = Batch.objects.claim_segments(event.pk)
    brief = build_brief(batch)
    assert brief.lines == [
        SpokenLine("Jane Doe", "We ratify the treaty today."),
        SpokenLine("Speaker 1", "Will it pass the senate?", by_number=True),
        SpokenLine("Jane Doe", "It will, by a wide margin."),
    ]
    assert brief.transcript.splitlines()[1] == "Speaker 1: Will it pass the senate?"

    Post.objects.create(event=event, batch=batch, body="Jane Doe says the treaty passes.")
    queue = client.get(reverse("admin:publishing_post_queue", args=[event.pk]))
    assert queue.status_code == 200
    page = queue.content.decode()
    assert '<b class="speaker">Jane Doe:</b>' in page and '<b class="speaker">Speaker 1:</b>' in page


def test_a_name_too_long_or_blank_is_refused_in_admin(client, editor, two_speakers):
    client.force_login(editor)
    url = reverse("admin:transcription_streamsession_change", args=[two_speakers.pk])
    base = {"speaker_names-TOTAL_FORMS": "1", "speaker_names-INITIAL_FORMS": "0", "speaker_names-0-label": "0"}
    response = client.post(url, {**base, "speaker_names-0-name": "x" * 81})
    assert response.status_code == 200 and not SpeakerName.objects.exists()
    response = client.post(url, {**base, "speaker_names-0-label": "1000", "speaker_names-0-name": "Jane"})
    assert response.status_code == 200 and "0 to 999" in response.content.decode()
    assert not SpeakerName.objects.exists()


def test_a_journalist_sees_the_session_but_cannot_name_speakers_in_admin(client, journalist, two_speakers):
    client.force_login(journalist)
    url = reverse("admin:transcription_streamsession_change", args=[two_speakers.pk])
    form = {
        "speaker_names-TOTAL_FORMS": "1",
        "speaker_names-INITIAL_FORMS": "0",
        "speaker_names-0-label": "0",
        "speaker_names-0-name": "Jane Doe",
    }
    assert client.post(url, form).status_code in (302, 403)  # to the login page, or refused
    assert not SpeakerName.objects.exists()


# --- names given elsewhere reach a running stream (issue 25 point 4) -------------------------------------------


def admin_names(session_id: int, rows: list[dict], *, initial: int = 0) -> dict:
    """The session admin page's form, naming speakers with its inline's `rows`."""
    form = {"speaker_names-TOTAL_FORMS": str(len(rows)), "speaker_names-INITIAL_FORMS": str(initial)}
    for number, row in enumerate(rows):
        form |= {f"speaker_names-{number}-{field}": str(value) for field, value in row.items()}
        form[f"speaker_names-{number}-session"] = str(session_id)
    return form


@sync_to_async
def post_as(client, user, url: str, form: dict):
    client.force_login(user)
    return client.post(url, form)


async def test_a_name_saved_in_the_admin_reaches_the_running_stream_within_a_second(
    deepgram, event, journalist, editor, client
):
    await diarized(event)
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(word_audio([1]) + silence(0.6))
    assert (await studio.wait_for(final_with("word1")))["speaker_name"] == "Speaker 0"

    url = reverse("admin:transcription_streamsession_change", args=[ready["session"]])
    saved = await post_as(client, editor, url, admin_names(ready["session"], [{"label": 0, "name": "Jane Doe"}]))
    assert saved.status_code == 302
    named = await studio.wait_for(lambda m: m["type"] == "speaker_named", timeout=1.0)
    assert named == {"type": "speaker_named", "speaker": 0, "name": "Jane Doe", "speaker_name": "Jane Doe"}
    await studio.audio(word_audio([2]) + silence(0.6))
    assert (await studio.wait_for(final_with("word2")))["speaker_name"] == "Jane Doe"

    row = await SpeakerName.objects.aget(session_id=ready["session"])
    forget = admin_names(ready["session"], [{"id": row.pk, "label": 0, "name": "Jane Doe", "DELETE": "on"}], initial=1)
    assert (await post_as(client, editor, url, forget)).status_code == 302
    forgotten = await studio.wait_for(lambda m: m["type"] == "speaker_named" and not m["name"], timeout=1.0)
    assert forgotten["speaker_name"] == "Speaker 0"
    await studio.audio(word_audio([3]) + silence(0.6))
    assert (await studio.wait_for(final_with("word3")))["speaker_name"] == "Speaker 0"
    assert [m["name"] for m in studio.messages if m["type"] == "speaker_named"] == ["Jane Doe", ""], "each change once"
    await studio.stop()
    await studio.disconnect()


@pytest.mark.slow
def test_through_a_real_daphne_a_name_saved_in_the_admin_reaches_the_studio_within_a_second(event, journalist, editor):
    event.diarize = True
    event.save(update_fields=["diarize"])
    with EmulatorThread() as deepgram:
        daphne, port = start_daphne(DEEPGRAM_API_KEY=deepgram.script.api_key, DEEPGRAM_URL=deepgram.url)
        base = f"http://127.0.0.1:{port}"
        try:
            studio = StudioSocket(base, event.slug, journalist)
            session = studio.start()["session"]
            studio.stream(word_audio([1]) + silence(0.6))
            assert studio.wait_for(final_with("word1"))["speaker_name"] == "Speaker 0"

            url = reverse("admin:transcription_streamsession_change", args=[session])
            with httpx.Client(base_url=base, cookies={settings.SESSION_COOKIE_NAME: session_cookie(editor)}) as admin:
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', admin.get(url).text)[1]
                form = admin_names(session, [{"label": 0, "name": "Jane Doe"}]) | {"csrfmiddlewaretoken": token}
                assert admin.post(url, data=form).status_code == 302
            saved_at = time.monotonic()
            named = studio.wait_for(lambda m: m["type"] == "speaker_named", timeout=1.0)
            assert named["speaker_name"] == "Jane Doe" and time.monotonic() - saved_at < 1.0
            studio.stream(word_audio([2]) + silence(0.6))
            assert studio.wait_for(final_with("word2"))["speaker_name"] == "Jane Doe"
            studio.ws.send(json.dumps({"type": "stop"}))
            studio.wait_for(lambda m: m["type"] == "stopped")
            studio.close()
        finally:
            daphne.stop()
        daphne.assert_no_traceback()
