"""The studio shows the countdown to the next batch and each new draft, read from the database."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from events.models import Event
from publishing.models import Post
from tests.support.emulators.studio import Studio

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles")]


async def test_it_shows_the_next_batch_time_and_new_drafts(event, journalist):
    old = await sync_to_async(Post.objects.create)(event=event, body="An older draft, not new to this studio.")
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    first = await studio.wait_for(lambda m: m["type"] == "batch")
    assert first == {"type": "batch", "next_batch_at": None, "interval": 30}

    batched_at = timezone.now()
    await sync_to_async(Event.objects.filter(pk=event.pk).update)(last_batched_at=batched_at)
    post = await sync_to_async(Post.objects.create)(
        event=event, headline="Keynote opens", body="The keynote opened with <b>a story</b>."
    )
    draft = await studio.wait_for(lambda m: m["type"] == "draft", timeout=10)
    assert draft["post"]["id"] == post.pk and draft["post"]["headline"] == "Keynote opens"
    assert draft["post"]["body"] == "The keynote opened with <b>a story</b>.", "sent as text; the page never parses it"
    assert draft["post"]["state"] == "waiting" and draft["post"]["url"] == f"/studio/{event.slug}/drafts/{post.pk}/"
    assert "admin_url" not in draft["post"], "a journalist cannot open admin: no link to it"
    batch = await studio.wait_for(lambda m: m["type"] == "batch" and m["next_batch_at"], timeout=10)
    assert batch["next_batch_at"] == (batched_at + timedelta(seconds=30)).isoformat()
    assert all(m["post"]["id"] != old.pk for m in studio.messages if m["type"] == "draft")
    assert sum(m["type"] == "draft" for m in studio.messages) == 1
    await studio.disconnect()


async def test_a_staff_journalist_gets_admin_links_and_a_held_draft_its_reason(event, journalist):
    journalist.is_staff = True
    await sync_to_async(journalist.save)()
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    await studio.wait_for(lambda m: m["type"] == "batch")
    post = await sync_to_async(Post.objects.create)(event=event, body="Short.", hold_reason="It has 1 word.")
    draft = await studio.wait_for(lambda m: m["type"] == "draft", timeout=10)
    assert draft["post"]["admin_url"] == f"/admin/publishing/post/{post.pk}/change/"
    assert draft["post"]["state"] == "held" and draft["post"]["hold_reason"] == "It has 1 word."
    await studio.disconnect()
