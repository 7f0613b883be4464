"""The draft queue and journalists' posts (issue 28): a flashed quote waits marked as checked by construction,
with the audio of exactly its words, and goes live with one click; a journalist's own post shows whose it is;
an editor sets the event's batch interval from the queue, and the next batch and the studio follow it."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from newsroom.studio_feed import updates
from publishing import batching
from publishing.authored import QuoteRequest, flash_quote, write_post
from publishing.models import Batch
from tests.support.factories import segment, stream_session
from tests.support.framecoded import archive_audio, frames_in, pcm
from transcription.models import SpeakerName

pytestmark = pytest.mark.django_db(transaction=True)  # the archive writes from its own thread


@pytest.fixture(autouse=True)
def _roles(fresh_roles, media):
    pass


def queue_url(event) -> str:
    return reverse("admin:publishing_post_queue", args=[event.pk])


@pytest.fixture
def quote(event, journalist):
    """A quote flashed from a session whose audio is archived: 100 ms frame n holds the code n."""
    Event.objects.filter(pk=event.pk).update(diarize=True)
    session = stream_session(event, journalist)
    archive_audio(session.pk, pcm(0, 100))
    SpeakerName.objects.create(session=session, label=0, name="Ada Lovelace")
    text = "Every word is checked."
    said = [
        {"word": w.strip(".").lower(), "punctuated_word": w, "start": 2.0 + i, "end": 2.8 + i, "confidence": 0.99}
        for i, w in enumerate(text.split())
    ]
    line = segment(session, text, start=2.0, end=6.0, speaker=0, words=said)
    return flash_quote(journalist, Event.objects.get(pk=event.pk), QuoteRequest([line.pk])).post


def test_a_quote_waits_marked_checked_by_construction_with_the_audio_of_exactly_its_words(client, editor, event, quote):
    client.force_login(editor)
    page = client.get(queue_url(event)).content.decode()
    assert "✓ Quote, checked by construction" in page
    assert "quote from the studio by jo" in page
    src = f"/transcripts/sessions/{quote.traced_quotes[0]['session']}/stretch.wav?start=2.000&amp;end=5.800"
    assert f'<audio class="stretch-audio" controls preload="none" src="{src}"' in page
    assert "Every word is checked." in page  # its line, as the source
    audio = client.get(src.replace("&amp;", "&"))
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/wav"
    pcm_bytes = b"".join(audio.streaming_content)[44:]
    assert frames_in(pcm_bytes) == list(range(20, 58))  # stream time 2.0 to 5.8 s, frame by frame
    # Only the event's journalists and editors hear it, and only a bounded stretch.
    assert Client().get(src.replace("&amp;", "&")).status_code == 403
    for bad in ("start=5&end=2", "start=0&end=200", "start=nan&end=1", "start=-1&end=1", "start=&end=1"):
        assert (
            client.get(f"/transcripts/sessions/{quote.traced_quotes[0]['session']}/stretch.wav?{bad}").status_code
            == 400
        )


def test_the_editor_publishes_a_quote_with_one_click_and_readers_see_it(client, editor, event, quote):
    client.force_login(editor)
    answer = client.post(queue_url(event), {"op": "publish", "post": quote.pk})
    assert answer.status_code == 302
    quote.refresh_from_db()
    assert quote.is_published
    page = Client().get(f"/events/{event.slug}/").content.decode()
    assert "“Every word is checked.” — Ada Lovelace" in page
    assert '<span class="byline">jo</span>' in page


def test_a_journalists_post_shows_whose_it_is_in_the_queue(client, editor, event, journalist):
    post = write_post(journalist, event, "The hall is full.")
    client.force_login(editor)
    page = client.get(queue_url(event)).content.decode()
    assert f'id="post-{post.pk}"' in page and "hand-written by jo" in page
    assert "The hall is full." in page
    assert "Quotes, numbers and names checked" not in page.split(f'id="post-{post.pk}"')[1].split("queue-item")[0]


def test_the_journalists_permission_to_publish_comes_from_the_roles(journalist):
    assert journalist.has_perm("publishing.publish_own_post")
    assert Permission.objects.filter(codename="publish_own_post", content_type__app_label="publishing").exists()


# --- the batch interval from the queue ------------------------------------------------------------------------


def set_interval(client, event, value):
    return client.post(queue_url(event), {"op": "interval", "interval": value}, follow=True)


def test_an_editor_sets_the_batch_interval_and_the_next_batch_and_the_studio_follow_it(
    client, editor, event, journalist, settings
):
    settings.BATCH_MIN_WORDS = 1
    client.force_login(editor)
    page = client.get(queue_url(event)).content.decode()
    assert 'name="interval" min="15" max="120"' in page and 'value="30"' in page
    answer = set_interval(client, event, "90")
    assert "Batch interval: 90 s, from the next batch." in answer.content.decode()
    event.refresh_from_db()
    assert event.batch_interval_seconds == 90
    assert updates(event.pk, 0).batch["interval"] == 90  # the studio's `batch` message

    session = stream_session(event, journalist)
    segment(session, "Words waiting for the next batch.", start=0, end=2)
    now = timezone.now()
    Event.objects.filter(pk=event.pk).update(last_batched_at=now - timedelta(seconds=60))
    assert batching.tick(now) == []  # 60 s since the last: not due at 90
    set_interval(client, event, "45")
    [batch] = batching.tick(now)  # 60 s is past 45: due now
    assert batch.event_id == event.pk and Batch.objects.count() == 1


@pytest.mark.parametrize(("value", "message"), [("14", "at least 15"), ("121", "at most 120"), ("ten", "whole")])
def test_an_interval_out_of_bounds_is_refused(client, editor, event, value, message):
    client.force_login(editor)
    answer = set_interval(client, event, value)
    assert message in answer.content.decode()
    event.refresh_from_db()
    assert event.batch_interval_seconds == 30


def test_the_interval_is_set_only_while_live_and_only_by_editors_who_change_events(
    client, editor, event, django_user_model
):
    Event.objects.filter(pk=event.pk).update(status=Event.Status.ENDED, ends_at=timezone.now())
    client.force_login(editor)
    assert "while the event is live" in set_interval(client, event, "60").content.decode()
    assert 'name="interval"' not in client.get(queue_url(event)).content.decode()
    Event.objects.filter(pk=event.pk).update(status=Event.Status.LIVE, ends_at=None)
    editor.user_permissions.clear()
    publisher = django_user_model.objects.create_user("pat", password="x", is_staff=True)
    for codename in ("view_post", "change_post", "publish_post"):
        publisher.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(publisher)
    assert 'name="interval"' not in client.get(queue_url(event)).content.decode()
    assert set_interval(client, event, "60").status_code == 403
    event.refresh_from_db()
    assert event.batch_interval_seconds == 30


def test_the_quotes_change_form_shows_its_mark_its_audio_and_its_own_line(client, editor, quote):
    client.force_login(editor)
    page = client.get(reverse("admin:publishing_post_change", args=[quote.pk])).content.decode()
    assert "✓ Quote, checked by construction" in page and 'class="stretch-audio"' in page
    assert "Every word is checked." in page and "Hand-written post" not in page
