"""Editors' moderation in admin: the per-event draft queue, failed batches, scheduling, credits."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from publishing.models import Batch, Post, PostAction
from publishing.queue.moderation import ModerationForm
from publishing.tasks import publish_due_posts
from tests.support.factories import live_event
from transcription.models import Segment, StreamSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafts(event, journalist):
    session = StreamSession.objects.create(event=event, journalist=journalist, provider="offline")
    posts = []
    for n, text in enumerate(["First <b>words</b> spoken.", "Second words spoken."]):
        batch = Batch.objects.create(event=event, status=Batch.Status.DRAFTED, provider="offline")
        Segment.objects.create(session=session, event=event, sequence=n, text=text, start=n, end=n + 1, batch=batch)
        posts.append(
            Post.objects.create(event=event, batch=batch, body=f"Draft {n} <script>x()</script>", ai_assisted=True)
        )
    return posts


def queue_url(event) -> str:
    return reverse("admin:publishing_post_queue", args=[event.pk])


def act(client, event, post, op, **extra):
    return client.post(queue_url(event), {"post": post.pk, "op": op, **extra}, follow=True)


def test_the_queue_lists_drafts_newest_first_each_beside_its_transcript_escaped(client, editor, event, drafts):
    client.force_login(editor)
    content = client.get(queue_url(event)).content.decode()
    assert content.index(f'id="post-{drafts[1].pk}"') < content.index(f'id="post-{drafts[0].pk}"')
    assert "First &lt;b&gt;words&lt;/b&gt; spoken." in content and "<b>words</b>" not in content
    assert "Draft 0 &lt;script&gt;" in content and "<script>x()" not in content
    assert "offline draft" in content


@pytest.mark.parametrize(
    ("op", "field", "expected", "kind"),
    [
        ("approve", "status", Post.Status.APPROVED, PostAction.Kind.APPROVED),
        ("publish", "status", Post.Status.PUBLISHED, PostAction.Kind.PUBLISHED),
        ("reject", "status", Post.Status.REJECTED, PostAction.Kind.REJECTED),
        ("pin", "pinned", True, PostAction.Kind.PINNED),
        ("key", "key_event", True, PostAction.Kind.MARKED_KEY),
    ],
)
def test_each_queue_decision_changes_the_post_and_records_who(client, editor, event, drafts, op, field, expected, kind):
    client.force_login(editor)
    assert act(client, event, drafts[0], op).status_code == 200
    drafts[0].refresh_from_db()
    assert getattr(drafts[0], field) == expected
    assert drafts[0].actions.filter(user=editor, action=kind).exists()


def test_editing_unpublishing_and_unpinning_from_the_queue(client, editor, event, drafts):
    client.force_login(editor)
    post = drafts[0]
    act(client, event, post, "edit", headline="Opening", body="The keynote opens.", revision=post.revision)
    act(client, event, post, "publish")
    act(client, event, post, "pin")
    act(client, event, post, "unpublish")
    post.refresh_from_db()
    assert (post.headline, post.body, post.revision, post.status, post.pinned) == (
        "Opening",
        "The keynote opens.",
        2,
        Post.Status.APPROVED,
        False,
    )
    kinds = list(post.actions.order_by("at", "pk").values_list("action", flat=True))
    assert kinds == ["edited", "published", "pinned", "unpublished"]
    page = client.get(queue_url(event), {"show": "all"}).content.decode()
    assert "Unpublished by ed" in page


def test_a_scheduled_post_is_published_by_the_periodic_task_when_due(client, editor, event, drafts):
    client.force_login(editor)
    act(client, event, drafts[0], "schedule", publish_at="2020-01-01T09:30")
    drafts[0].refresh_from_db()
    # Scheduling is a decision to publish: it approves the post, and the scheduler takes only approved ones.
    assert drafts[0].publish_at is not None and drafts[0].status == Post.Status.APPROVED
    later = timezone.now() + timedelta(hours=1)
    act(client, event, drafts[1], "schedule", publish_at=later.strftime("%Y-%m-%dT%H:%M"))
    assert publish_due_posts() == 1
    drafts[0].refresh_from_db()
    drafts[1].refresh_from_db()
    assert drafts[0].status == Post.Status.PUBLISHED and drafts[0].publish_at is None
    assert drafts[1].status == Post.Status.APPROVED and drafts[1].publish_at is not None


def test_editors_write_posts_by_hand_beside_the_drafts(client, editor, event, drafts):
    client.force_login(editor)
    client.post(queue_url(event), {"op": "write", "headline": "Break", "body": "Lunch break.", "publish_now": "1"})
    post = Post.objects.get(body="Lunch break.")
    assert post.status == Post.Status.PUBLISHED and not post.ai_assisted and post.author == editor
    assert post.batch is None
    assert set(post.actions.values_list("action", flat=True)) == {"created", "published"}


def test_failed_batches_show_their_error_and_retry_drafting(client, editor, event, settings):
    failed = Batch.objects.create(
        event=event, status=Batch.Status.FAILED, last_error="402 insufficient_credits: Top up"
    )
    other = Batch.objects.create(event=event, status=Batch.Status.FAILED, last_error="401 invalid_api_key: Bad key")
    client.force_login(editor)
    page = client.get(queue_url(event)).content.decode()
    assert "402 insufficient_credits: Top up" in page and "Retry drafting" in page
    client.post(queue_url(event), {"op": "retry", "batch": failed.pk})
    failed.refresh_from_db()
    assert failed.status == Batch.Status.PENDING
    # The same from the batch list, as an admin action.
    client.post(
        reverse("admin:publishing_batch_changelist"), {"action": "retry_drafting", "_selected_action": [other.pk]}
    )
    other.refresh_from_db()
    assert other.status == Batch.Status.PENDING and other.lease_expires_at is not None


def test_credits_and_the_pause_reason_show_in_the_event_admin(client, editor, event):
    Batch.objects.create(event=event, status=Batch.Status.DRAFTED, credits_used=36)
    event.credit_cap = 30
    event.save()
    Event.objects.filter(pk=event.pk).update(cap_pause={"cap": 30, "used": 36, "reserved": 0, "next_batch": 12})
    client.force_login(editor)
    listing = client.get(reverse("admin:events_event_changelist")).content.decode()
    assert "36 of 30 · paused: Credit cap of 30 reached" in listing
    assert queue_url(event) in listing
    assert "Credits: 36 of 30." in client.get(queue_url(event)).content.decode()


def test_the_event_list_sums_credits_without_a_query_per_event(client, editor, event, journalist):
    client.force_login(editor)
    Batch.objects.create(event=event, status=Batch.Status.DRAFTED, credits_used=5)
    with CaptureQueriesContext(connection) as one_event:
        client.get(reverse("admin:events_event_changelist"))
    for n in range(4):
        other = live_event(journalist, title=f"Panel {n}", slug=f"panel-{n}")
        for credits in (n, 10):
            Batch.objects.create(event=other, status=Batch.Status.DRAFTED, credits_used=credits)
    with CaptureQueriesContext(connection) as five_events:
        listing = client.get(reverse("admin:events_event_changelist")).content.decode()
    assert len(five_events) == len(one_event)
    assert all(f'<td class="field-credits">{n + 10}</td>' in listing for n in range(4))


def test_journalists_cannot_moderate(client, journalist, event, drafts):
    client.force_login(journalist)
    response = client.post(queue_url(event), {"post": drafts[0].pk, "op": "publish"})
    assert response.status_code == 302  # not staff: sent to the admin login
    drafts[0].refresh_from_db()
    assert drafts[0].status == Post.Status.DRAFT


def test_staff_without_publish_permission_cannot_publish(client, django_user_model, event, drafts):
    from django.contrib.auth.models import Permission

    helper = django_user_model.objects.create_user("helper", password="x-password-123", is_staff=True)
    helper.user_permissions.add(*Permission.objects.filter(codename__in=["view_post", "change_post"]))
    client.force_login(helper)
    assert client.post(queue_url(event), {"post": drafts[0].pk, "op": "publish"}).status_code == 403
    schedule = {"post": drafts[0].pk, "op": "schedule", "publish_at": "2020-01-01T09:30"}
    assert client.post(queue_url(event), schedule).status_code == 403
    assert act(client, event, drafts[0], "approve").status_code == 200
    drafts[0].refresh_from_db()
    assert drafts[0].status == Post.Status.APPROVED


def test_the_queue_costs_the_same_queries_however_many_drafts(client, editor, event, drafts, journalist):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(editor)
    with CaptureQueriesContext(connection) as two_drafts:
        client.get(queue_url(event))
    session = StreamSession.objects.get(event=event)
    for n in range(2, 7):
        batch = Batch.objects.create(event=event, status=Batch.Status.DRAFTED, provider="offline")
        Segment.objects.create(
            session=session, event=event, sequence=n, text=f"Said {n}.", start=n, end=n + 1, batch=batch
        )
        Post.objects.create(event=event, batch=batch, body=f"Draft {n}", ai_assisted=True)
    with CaptureQueriesContext(connection) as seven_drafts:
        content = client.get(queue_url(event)).content.decode()
    assert "Said 6." in content and "First &lt;b&gt;words&lt;/b&gt; spoken." in content
    assert len(seven_drafts) == len(two_drafts)


def test_the_queue_index_counts_each_draft_once_however_many_batches(client, editor, event, drafts):
    Batch.objects.create(event=event, status=Batch.Status.FAILED, last_error="Mavera answered 500.")
    Batch.objects.create(event=event, status=Batch.Status.FAILED, last_error="Mavera answered 500.")
    client.force_login(editor)
    response = client.get(reverse("admin:publishing_post_queue_index"))
    listed = {e.pk: e for e in response.context["events"]}[event.pk]
    assert (listed.drafts, listed.failed) == (2, 2)


def told(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"op": "retry", "batch": "abc"}, "Give the batch to retry by its number."),
        ({"op": "schedule", "publish_at": "2020-13-45T09:30"}, "Give the publish time as YYYY-MM-DD HH:MM."),
        ({"op": "schedule", "publish_at": "tomorrow"}, "Give the publish time as YYYY-MM-DD HH:MM."),
        ({"op": "edit", "body": "   "}, "A post needs some text."),
        ({"op": "frobnicate"}, "Unknown action 'frobnicate'."),
        ({}, "Choose an action."),
    ],
)
def test_the_queue_answers_bad_input_with_a_message_and_changes_nothing(client, editor, event, drafts, data, message):
    client.force_login(editor)
    before = list(Post.objects.values_list("pk", "status", "body", "publish_at").order_by("pk"))
    response = client.post(queue_url(event), {"post": drafts[0].pk, **data}, follow=True)
    assert response.status_code == 200
    assert told(response) == [message]
    assert list(Post.objects.values_list("pk", "status", "body", "publish_at").order_by("pk")) == before
    assert not PostAction.objects.exists()


def test_a_post_that_is_not_a_number_or_not_in_the_event_is_not_found(client, editor, event, drafts, journalist):
    client.force_login(editor)
    other = live_event(journalist, title="Panel", slug="panel")
    elsewhere = Post.objects.create(event=other, body="Another event's draft.")
    for post in ["abc", "", elsewhere.pk]:
        assert client.post(queue_url(event), {"post": post, "op": "publish"}).status_code == 404
    assert not Post.objects.published().exists()


def test_scheduling_an_already_published_post_is_refused_with_a_message(client, editor, event, drafts):
    client.force_login(editor)
    act(client, event, drafts[0], "publish")
    response = act(client, event, drafts[0], "schedule", publish_at="2030-01-01T09:30")
    assert told(response) == ["This post is published already."]
    drafts[0].refresh_from_db()
    assert drafts[0].publish_at is None


def test_the_moderation_form_reads_a_publish_time_in_the_events_time_zone(event):
    event.timezone = "Europe/Berlin"
    form = ModerationForm({"op": "schedule", "post": "1", "publish_at": "2030-07-01T09:30"}, event=event)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["publish_at"].isoformat() == "2030-07-01T09:30:00+02:00"
    headline = ModerationForm({"op": "write", "headline": "x" * 300, "body": "Text."}, event=event)
    assert headline.is_valid() and headline.cleaned_data["headline"] == "x" * 200
