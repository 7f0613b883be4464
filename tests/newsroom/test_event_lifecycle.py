"""The event from start to finish: going live and ending by every path, and what each person sees."""

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from publishing.batching import tick
from publishing.models import Alert, Batch
from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import Studio
from tests.support.factories import live_event, segment, stream_session
from transcription.models import Segment, StreamSession
from transcription.protocol import Close


def scheduled_event(journalist, **fields) -> Event:
    event = Event.objects.create(
        title="Budget day", slug="budget-day", starts_at=timezone.now() + timedelta(hours=2), **fields
    )
    event.journalists.add(journalist)
    return event


def change_form_data(event: Event, **changes) -> dict:
    """The event's change form as the admin shows it, with `changes` made."""
    local = timezone.localtime(event.starts_at)
    data = {
        "title": event.title,
        "slug": event.slug,
        "status": event.status,
        "is_public": "on",
        "starts_at_0": local.strftime("%Y-%m-%d"),
        "starts_at_1": local.strftime("%H:%M:%S"),
        "timezone": event.timezone,
        "language": event.language,
        "batch_interval_seconds": event.batch_interval_seconds,
        "audio_retention_days": event.audio_retention_days,
        "summary_every_posts": event.summary_every_posts,
        "summary_every_minutes": event.summary_every_minutes,
        "stream_sessions-TOTAL_FORMS": "0",
        "stream_sessions-INITIAL_FORMS": "0",
        "stream_sessions-MIN_NUM_FORMS": "0",
        "stream_sessions-MAX_NUM_FORMS": "1000",
    }
    return data | changes


@pytest.mark.django_db
def test_saving_the_form_with_a_new_status_ends_the_event_as_the_action_does(client, editor, event):
    session = stream_session(event, event.journalists.first(), status=StreamSession.Status.ENDED)
    segment(session, "The last words of the keynote are said here.")
    client.force_login(editor)
    url = reverse("admin:events_event_change", args=[event.pk])
    response = client.post(url, change_form_data(event, status="ended"))
    assert response.status_code == 302, response.content.decode()[-2000:]
    event.refresh_from_db()
    assert event.status == Event.Status.ENDED and event.ends_at is not None
    assert Batch.objects.filter(event=event, is_final=True).count() == 1
    assert not Segment.objects.unbatched().filter(event=event).exists()
    # Ended is ended: the form will not make it live again.
    response = client.post(url, change_form_data(event, status="live"))
    assert response.status_code == 200 and "cannot go live or be scheduled again" in response.content.decode()
    event.refresh_from_db()
    assert event.status == Event.Status.ENDED


@pytest.mark.django_db
def test_go_live_and_end_are_admin_actions_and_buttons_on_the_queue(client, editor, journalist):
    event = scheduled_event(journalist)
    client.force_login(editor)
    changelist = reverse("admin:events_event_changelist")
    client.post(changelist, {"action": "go_live_action", "_selected_action": [event.pk]})
    event.refresh_from_db()
    assert event.status == Event.Status.LIVE and event.starts_at <= timezone.now()
    queue = reverse("admin:publishing_post_queue", args=[event.pk])
    page = client.get(queue).content.decode()
    lifecycle = reverse("admin:events_event_lifecycle", args=[event.pk])
    assert f'action="{lifecycle}"' in page and 'value="end"' in page
    response = client.post(lifecycle, {"op": "end", "next": queue})
    assert response.status_code == 302 and response["Location"] == queue
    event.refresh_from_db()
    assert event.status == Event.Status.ENDED and event.ends_at is not None
    # A button for another site is no way out of the admin.
    response = client.post(lifecycle, {"op": "end", "next": "https://elsewhere.example/"})
    assert response["Location"] == reverse("admin:events_event_change", args=[event.pk])


@pytest.mark.django_db
def test_a_journalist_cannot_end_an_event(client, journalist, event):
    client.force_login(journalist)
    response = client.post(reverse("admin:events_event_lifecycle", args=[event.pk]), {"op": "end"})
    assert response.status_code in (302, 403)
    event.refresh_from_db()
    assert event.status == Event.Status.LIVE


@pytest.mark.django_db
def test_the_queue_index_lists_scheduled_events(client, editor, journalist):
    event = scheduled_event(journalist)
    client.force_login(editor)
    page = client.get(reverse("admin:publishing_post_queue_index")).content.decode()
    assert reverse("admin:publishing_post_queue", args=[event.pk]) in page and "Scheduled" in page


@pytest.mark.django_db
def test_a_scheduled_event_goes_live_at_its_start_when_the_editor_ticked_it(journalist):
    ticked = scheduled_event(journalist, go_live_at_start=True)
    other = Event.objects.create(title="Other", slug="other", starts_at=timezone.now() - timedelta(minutes=1))
    tick(now=timezone.now())
    assert Event.objects.get(pk=ticked.pk).status == Event.Status.SCHEDULED  # its time has not come
    tick(now=ticked.starts_at + timedelta(seconds=1))
    assert Event.objects.get(pk=ticked.pk).status == Event.Status.LIVE
    assert Event.objects.get(pk=other.pk).status == Event.Status.SCHEDULED  # nobody ticked it


@pytest.mark.django_db
def test_readers_changes_carry_the_end_time(client, event):
    event.end()
    answer = client.get(reverse("events:posts_since", args=[event.slug]), {"after": 0}).json()
    assert answer["event"]["status"] == "ended" and answer["event"]["ends_at"] == event.ends_at.isoformat()
    page = client.get(reverse("events:detail", args=[event.slug])).content.decode()
    assert 'id="event-ended">' in page and "Ended at" in page
    jsonld = json.loads(page.split('<script type="application/ld+json">')[1].split("</script>")[0])
    assert jsonld["coverageEndTime"] == event.ends_at.isoformat()


@pytest.mark.slow  # waits on the studio's poll of the event (2 s)
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles")
async def test_ending_the_event_finishes_the_stream_tells_the_journalist_and_drafts_one_final_batch(
    deepgram, journalist
):
    event = await sync_to_async(live_event)(journalist, title="Keynote", slug="keynote")
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start()
    await studio.audio(word_audio([1]) + silence(0.5))
    await studio.wait_for(lambda m: m["type"] == "transcript" and m["is_final"])
    await studio.audio(word_audio([2]))  # still being said when the editor ends the event
    await sync_to_async(lambda: Event.objects.get(pk=event.pk).end())()
    ended = await asyncio.wait_for(studio.wait_for(lambda m: m["type"] == "event_ended"), 15)
    assert "This event has ended" in ended["message"] and ended["ended_at"]
    assert await studio.wait_closed() == Close.EVENT_ENDED
    session = await StreamSession.objects.aget(pk=ready["session"])
    assert session.status == StreamSession.Status.ENDED
    texts = [s.text async for s in Segment.objects.filter(session=session).order_by("sequence")]
    assert texts == ["word1", "word2"], "what was said up to the end is stored"

    async def final_batches() -> int:
        return await Batch.objects.filter(event=event, is_final=True).acount()

    for _ in range(100):
        if await final_batches():
            break
        await asyncio.sleep(0.1)
    await sync_to_async(tick)()
    assert await final_batches() == 1
    assert not await Segment.objects.unbatched().filter(event=event).aexists()
    alert = await Alert.objects.aget(event=event, kind=Alert.Kind.ENDED_WHILE_STREAMING)
    assert "1 stream still running" in alert.message
    await studio.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_roles")
async def test_streaming_to_a_scheduled_event_asks_first_then_makes_it_live(deepgram, journalist):
    event = await sync_to_async(scheduled_event)(journalist)
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    refused = await studio.start()
    assert refused["type"] == "error" and refused["code"] == "event_not_live"
    assert "This event is scheduled for" in refused["message"] and "Go live now?" in refused["message"]
    assert await studio.wait_closed() == Close.EVENT_NOT_LIVE == 4011
    assert (await Event.objects.aget(pk=event.pk)).status == Event.Status.SCHEDULED
    await studio.disconnect()

    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    ready = await studio.start(go_live=True)
    assert ready["type"] == "ready"
    assert (await Event.objects.aget(pk=event.pk)).status == Event.Status.LIVE
    await studio.stop()
    await studio.disconnect()


@pytest.mark.django_db
def test_the_studio_page_asks_before_going_live_and_shows_an_ended_event(client, journalist):
    event = scheduled_event(journalist)
    client.force_login(journalist)
    page = client.get(reverse("newsroom:studio", args=[event.slug])).content.decode()
    assert 'data-event-status="scheduled"' in page and "This event is scheduled for" in page
    event.end()
    page = client.get(reverse("newsroom:studio", args=[event.slug])).content.decode()
    assert 'data-event-status="ended"' in page and "This event has ended" in page
