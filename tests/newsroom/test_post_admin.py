from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from publishing.models import Batch, Post, PostAction
from publishing.tasks import publish_due_posts
from tests.support import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafted(event, journalist):
    session = factories.stream_session(event, journalist)
    batch = Batch.objects.create(event=event, status=Batch.Status.DRAFTED)
    factories.segment(session, "We <b>launch</b> today.", start=0, end=2, batch=batch)
    return Post.objects.create(event=event, batch=batch, body="The company launches today.", ai_assisted=True)


def _act(client, action, *posts):
    return client.post(
        reverse("admin:publishing_post_changelist"),
        {"action": action, "_selected_action": [p.pk for p in posts]},
        follow=True,
    )


@pytest.mark.parametrize(
    ("action", "field", "expected"),
    [
        ("approve", "status", Post.Status.APPROVED),
        ("publish", "status", Post.Status.PUBLISHED),
        ("reject", "status", Post.Status.REJECTED),
        ("pin", "pinned", True),
        ("mark_key_event", "key_event", True),
    ],
)
def test_editor_actions_change_the_post_and_are_recorded(client, editor, drafted, action, field, expected):
    client.force_login(editor)
    response = _act(client, action, drafted)
    assert response.status_code == 200
    assert "1 post" in response.content.decode()
    drafted.refresh_from_db()
    assert getattr(drafted, field) == expected
    assert drafted.actions.filter(user=editor).exists()


def test_unpublish_takes_a_post_off_the_page(client, editor, drafted):
    drafted.publish(editor)
    client.force_login(editor)
    _act(client, "unpublish", drafted)
    drafted.refresh_from_db()
    assert drafted.status == Post.Status.APPROVED
    assert drafted.actions.filter(action=PostAction.Kind.UNPUBLISHED).exists()


def test_a_journalist_cannot_reach_the_post_admin(client, journalist, drafted):
    client.force_login(journalist)
    response = client.get(reverse("admin:publishing_post_changelist"))
    assert response.status_code == 302  # not staff: sent to the admin login


def test_the_draft_shows_its_source_transcript_escaped(client, editor, drafted):
    client.force_login(editor)
    response = client.get(reverse("admin:publishing_post_change", args=[drafted.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "We &lt;b&gt;launch&lt;/b&gt; today." in content
    assert "<b>launch</b>" not in content


def test_posts_filter_by_event_and_status(client, editor, drafted, event):
    client.force_login(editor)
    other = Post.objects.create(event=event, body="Hand-written note.")
    other.publish(editor)
    response = client.get(reverse("admin:publishing_post_changelist"), {"status__exact": "published"})
    assert response.status_code == 200
    assert "Hand-written note." in response.content.decode()
    assert "The company launches today." not in response.content.decode()


def test_batches_are_read_only(client, editor, drafted):
    client.force_login(editor)
    batch = drafted.batch
    response = client.post(reverse("admin:publishing_batch_change", args=[batch.pk]), {"status": "pending"})
    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DRAFTED


def test_failed_batches_are_one_filter_away(client, editor, event):
    Batch.objects.create(event=event, status=Batch.Status.FAILED, last_error="402 credits exhausted")
    client.force_login(editor)
    response = client.get(reverse("admin:publishing_batch_changelist"), {"status__exact": "failed"})
    assert response.status_code == 200
    assert "Failed" in response.content.decode()


def test_editor_edits_bump_the_revision(client, editor, drafted):
    client.force_login(editor)
    url = reverse("admin:publishing_post_change", args=[drafted.pk])
    response = client.post(
        url,
        {
            "event": drafted.event_id,
            "headline": "Launch",
            "body": "The company launches.",
            "publish_at": "",
            "based_on_revision": drafted.revision,
            "actions-TOTAL_FORMS": 0,
            "actions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    drafted.refresh_from_db()
    assert (drafted.headline, drafted.revision, drafted.last_editor) == ("Launch", 2, editor)


def test_a_published_post_cannot_be_deleted_only_unpublished(admin_client, editor, drafted):
    """Readers' open pages learn of removals through the cursor; a deleted row would stay on them."""
    drafted.publish(editor)
    delete_url = reverse("admin:publishing_post_delete", args=[drafted.pk])
    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    changelist = admin_client.get(reverse("admin:publishing_post_changelist"))
    assert "delete_selected" not in dict(changelist.context["action_form"].fields["action"].choices)
    assert Post.objects.filter(pk=drafted.pk).exists()

    drafted.unpublish(editor)
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Post.objects.filter(pk=drafted.pk).exists()


@pytest.fixture
def changer(django_user_model, roles):
    """Staff who may add and change posts, but not publish them."""
    user = django_user_model.objects.create_user("changer", password="changer-password-123", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_post", "add_post", "change_post"]))
    return user


def change_form_data(post: Post, **fields) -> dict:
    return {
        "event": post.event_id,
        "headline": post.headline,
        "body": post.body,
        "based_on_revision": post.revision,
        "actions-TOTAL_FORMS": 0,
        "actions-INITIAL_FORMS": 0,
        **fields,
    }


def an_hour_ago() -> dict:
    when = timezone.localtime() - timedelta(hours=1)
    return {"publish_at_0": when.strftime("%Y-%m-%d"), "publish_at_1": when.strftime("%H:%M:%S")}


def test_without_publish_permission_publish_at_is_read_only_and_nothing_gets_scheduled(client, changer, drafted):
    client.force_login(changer)
    url = reverse("admin:publishing_post_change", args=[drafted.pk])
    form = client.get(url).content.decode()
    assert 'name="publish_at_0"' not in form and 'name="publish_at_1"' not in form
    response = client.post(url, change_form_data(drafted, headline="Launch", **an_hour_ago()))
    assert response.status_code == 302, response.content.decode()[:2000]
    drafted.refresh_from_db()
    assert (drafted.headline, drafted.publish_at, drafted.status) == ("Launch", None, Post.Status.DRAFT)
    assert publish_due_posts() == 0
    drafted.refresh_from_db()
    assert drafted.status == Post.Status.DRAFT and not drafted.actions.filter(action="published").exists()


def test_without_publish_permission_a_new_post_is_not_scheduled_either(client, changer, event):
    client.force_login(changer)
    add_url = reverse("admin:publishing_post_add")
    assert 'name="publish_at_0"' not in client.get(add_url).content.decode()
    data = {"event": event.pk, "headline": "", "body": "Written by hand.", **an_hour_ago()}
    data |= {"actions-TOTAL_FORMS": 0, "actions-INITIAL_FORMS": 0}
    assert client.post(add_url, data).status_code == 302
    post = Post.objects.get(body="Written by hand.")
    assert post.publish_at is None and post.status == Post.Status.DRAFT
    assert publish_due_posts() == 0


def test_key_event_from_the_change_form_is_saved_and_the_event_is_read_only(client, changer, drafted, journalist):
    elsewhere = factories.live_event(journalist, title="Panel", slug="panel")
    client.force_login(changer)
    url = reverse("admin:publishing_post_change", args=[drafted.pk])
    assert '<select name="event"' not in client.get(url).content.decode()
    response = client.post(url, change_form_data(drafted, key_event="on", event=elsewhere.pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    drafted.refresh_from_db()
    assert drafted.key_event is True and drafted.event_id != elsewhere.pk
    assert drafted.actions.filter(action=PostAction.Kind.MARKED_KEY, user=changer).exists()


def test_an_editor_scheduling_in_the_change_form_approves_and_the_scheduler_publishes(client, editor, drafted):
    client.force_login(editor)
    url = reverse("admin:publishing_post_change", args=[drafted.pk])
    assert 'name="publish_at_0"' in client.get(url).content.decode()
    response = client.post(url, change_form_data(drafted, **an_hour_ago()))
    assert response.status_code == 302, response.content.decode()[:2000]
    drafted.refresh_from_db()
    assert drafted.status == Post.Status.APPROVED and drafted.publish_at is not None
    assert drafted.actions.filter(action=PostAction.Kind.SCHEDULED, user=editor).exists()
    assert publish_due_posts() == 1
    drafted.refresh_from_db()
    assert drafted.status == Post.Status.PUBLISHED and drafted.publish_at is None


def test_the_database_refuses_a_schedule_on_a_post_nobody_approved(drafted):
    for status in (Post.Status.DRAFT, Post.Status.REJECTED):
        Post.objects.filter(pk=drafted.pk).update(status=status)
        with pytest.raises(IntegrityError), transaction.atomic():
            Post.objects.filter(pk=drafted.pk).update(publish_at=timezone.now() - timedelta(hours=1))
    assert publish_due_posts() == 0
    drafted.refresh_from_db()
    assert drafted.status == Post.Status.REJECTED and drafted.publish_at is None
