"""The studio's drafts over HTTP (every draft of the event, links a journalist may open), the read-only
draft page, and a session's recap: for the event's journalists and staff only."""

from datetime import timedelta

import pytest

from publishing.models import Batch, Post
from tests.support.factories import live_event, segment, stream_session
from transcription.models import StreamSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafts(event):
    waiting = Post.objects.create(event=event, headline="Waiting", body="A draft for an editor.")
    held = Post.objects.create(event=event, body="Too short.", hold_reason="It has 2 words.")
    published = Post.objects.create(event=event, body="Out <b>now</b>.")
    published.publish()
    return waiting, held, published


def test_the_event_journalist_gets_every_draft_with_links_they_may_open(client, event, journalist, drafts):
    waiting, held, published = drafts
    client.force_login(journalist)
    answer = client.get(f"/studio/{event.slug}/drafts.json")
    assert answer.status_code == 200 and answer["Cache-Control"] == "private, no-store"
    shown = {d["id"]: d for d in answer.json()["drafts"]}
    assert list(shown) == [published.pk, held.pk, waiting.pk]
    assert (
        shown[waiting.pk]["state"] == "waiting" and shown[waiting.pk]["url"] == f"/studio/keynote/drafts/{waiting.pk}/"
    )
    assert shown[held.pk]["state"] == "held" and shown[held.pk]["hold_reason"] == "It has 2 words."
    assert shown[published.pk]["state"] == "published" and shown[published.pk]["url"] == published.get_absolute_url()
    assert all("admin_url" not in d for d in shown.values())
    for draft in shown.values():
        assert client.get(draft["url"]).status_code == 200

    page = client.get(f"/studio/{event.slug}/drafts/{held.pk}/")
    assert b"It has 2 words." in page.content and b"Too short." in page.content
    assert b"/admin/" not in page.content


def test_staff_get_admin_links(client, event, editor, drafts):
    client.force_login(editor)
    shown = client.get(f"/studio/{event.slug}/drafts.json").json()["drafts"]
    assert [d["admin_url"] for d in shown] == [f"/admin/publishing/post/{d['id']}/change/" for d in shown]
    assert b"Edit in admin" in client.get(f"/studio/{event.slug}/drafts/{drafts[0].pk}/").content


def test_other_journalists_and_anonymous_users_are_refused(client, event, other_journalist, drafts):
    waiting = drafts[0]
    anonymous = client.get(f"/studio/{event.slug}/drafts/{waiting.pk}/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(other_journalist)
    assert client.get(f"/studio/{event.slug}/drafts.json").status_code == 403
    assert client.get(f"/studio/{event.slug}/drafts/{waiting.pk}/").status_code == 403


def test_a_draft_of_another_event_is_not_found_under_this_one(client, event, journalist, drafts):
    other = live_event(journalist, title="Other", slug="other")
    client.force_login(journalist)
    assert client.get(f"/studio/{other.slug}/drafts/{drafts[0].pk}/").status_code == 404


def test_the_recap_gives_the_sessions_figures_and_links(client, event, journalist, other_journalist):
    session = stream_session(event, journalist, audio_seconds=42.0, dropped_audio_seconds=1.5)
    StreamSession.objects.filter(pk=session.pk).update(
        status=StreamSession.Status.ENDED, ended_at=session.started_at + timedelta(seconds=75)
    )
    segment(session, "The weather today is cold.", sequence=0)
    segment(session, "We will meet the team.", sequence=1, start=1.0, end=2.0)
    batch = Batch.objects.claim_segments(event.pk, final=True)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.DRAFTED)
    post = Post.objects.create(event=event, batch=batch, body="The weather was cold.")
    post.publish()
    Post.objects.create(event=event, body="Not from this session.")

    client.force_login(journalist)
    recap = client.get(f"/studio/{event.slug}/sessions/{session.pk}/recap.json").json()
    assert recap == {
        "session": session.pk,
        "status": "ended",
        "duration_seconds": 75.0,
        "audio_seconds": 42.0,
        "words": 10,
        "segments": 2,
        "drafts": 1,
        "published": 1,
        "dropped_seconds": 1.5,
        "drafting": False,
        "exports": {fmt: f"/transcripts/sessions/{session.pk}/transcript.{fmt}" for fmt in ("txt", "srt", "vtt")},
        "public_url": f"/events/{event.slug}/",
    }
    client.force_login(other_journalist)
    assert client.get(f"/studio/{event.slug}/sessions/{session.pk}/recap.json").status_code == 403


def test_the_recap_says_drafting_goes_on_while_words_wait_for_a_draft(client, event, journalist):
    session = stream_session(event, journalist)
    segment(session, "Last words before Stop.", sequence=0)
    client.force_login(journalist)
    recap = client.get(f"/studio/{event.slug}/sessions/{session.pk}/recap.json").json()
    assert recap["drafting"] is True and recap["drafts"] == 0
