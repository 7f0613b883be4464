"""Who did what: the read-only admin page of post and event actions, for editors and no one else."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from events.roles import EDITORS, create_roles
from publishing.models import Post, PostAction
from tests.support import factories

pytestmark = pytest.mark.django_db

Kind = PostAction.Kind
CHANGELIST = reverse("admin:publishing_postaction_changelist")
LONG = "The mayor opens the new bridge to cyclists and walkers this morning, " * 3
HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


@pytest.fixture
def other_editor(django_user_model, roles):
    user = django_user_model.objects.create_user("ed2", password="ed2-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORS))
    return user


@pytest.fixture
def history(event, editor, other_editor):
    """Every kind of decision on `event`, by two editors; and one action on another event."""
    approved = Post.objects.create(event=event, body="Approved draft.")
    approved.approve(editor)
    published = Post.objects.create(event=event, headline="Opening", body="The keynote opens.")
    published.publish(editor)
    published.edit(other_editor, headline="Opening", body=LONG)
    published.edit(other_editor, headline="Opening", body=LONG, correction="The bridge opened on Monday.")
    published.set_pinned(editor, True)
    published.set_key_event(editor, True)
    Post.objects.create(event=event, body="Off topic.").reject(other_editor)
    Post.objects.create(event=event, body="Later.").schedule(editor, timezone.now() + timedelta(hours=1))
    untraced = [{"kind": "quote", "text": "we will win", "start": 0, "end": 5}]
    Post.objects.create(event=event, body="“we will win”", untraced=untraced).approve(other_editor)
    PostAction.objects.record_event_action(event, editor, Kind.EVENT_LIVE)
    event.end(other_editor)
    elsewhere = Event.objects.create(title="Elsewhere", slug="elsewhere", starts_at=timezone.now())
    Post.objects.create(event=elsewhere, body="Not this event.").publish(editor)
    return {"published": published, "elsewhere": elsewhere}


def listed(client, **filters) -> list[PostAction]:
    response = client.get(CHANGELIST, filters)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_an_editor_sees_every_decision_on_an_event_newest_first(client, editor, event, history):
    client.force_login(editor)
    rows = listed(client, event__id__exact=event.pk)
    assert {row.action for row in rows} == {
        Kind.APPROVED,
        Kind.PUBLISHED,
        Kind.EDITED,
        Kind.CORRECTED,
        Kind.REJECTED,
        Kind.PINNED,
        Kind.MARKED_KEY,
        Kind.SCHEDULED,
        Kind.OVERRODE_CHECK,
        Kind.EVENT_LIVE,
        Kind.EVENT_ENDED,
    }
    assert {row.event_id for row in rows} == {event.pk}
    assert [row.pk for row in rows] == sorted((row.pk for row in rows), reverse=True)
    page = client.get(CHANGELIST, {"event__id__exact": event.pk}).content.decode()
    for label in ("Approved against the check", "Event went live", "Event ended", "Edited with a correction note"):
        assert label in page
    published = history["published"]
    assert f'href="{reverse("admin:publishing_post_change", args=[published.pk])}"' in page
    ended = PostAction.objects.get(event=event, action=Kind.EVENT_ENDED)
    assert client.get(reverse("admin:publishing_postaction_change", args=[ended.pk])).status_code == 200


def test_an_editor_filters_by_person_and_kind(client, editor, other_editor, event, history):
    client.force_login(editor)
    theirs = listed(client, user__id__exact=other_editor.pk)
    assert {row.action for row in theirs} == {
        Kind.EDITED,
        Kind.CORRECTED,
        Kind.REJECTED,
        Kind.OVERRODE_CHECK,
        Kind.APPROVED,
        Kind.EVENT_ENDED,
    }
    assert {row.user_id for row in theirs} == {other_editor.pk}
    edits = listed(client, action__exact=Kind.EDITED)
    assert [row.post_id for row in edits] == [history["published"].pk]
    elsewhere = history["elsewhere"].pk
    assert [row.event_id for row in listed(client, event__id__exact=elsewhere)] == [elsewhere]


def test_an_edit_shows_the_text_before_and_after(client, editor, event, history):
    published = history["published"]
    edit = published.actions.get(action=Kind.EDITED)
    assert (edit.before, edit.after) == ({"body": "The keynote opens."}, {"body": LONG})
    correction = published.actions.get(action=Kind.CORRECTED)
    assert (correction.before, correction.after) == ({"correction": ""}, {"correction": "The bridge opened on Monday."})
    assert published.actions.get(action=Kind.PINNED).before == {}
    client.force_login(editor)
    page = client.get(CHANGELIST, {"action__exact": Kind.EDITED}).content.decode()
    assert "Body: “The keynote opens.” → “The mayor opens the new bridge" in page
    assert LONG.strip() not in page  # the list is compact: the full text is on the action's own page
    detail = client.get(reverse("admin:publishing_postaction_change", args=[edit.pk])).content.decode()
    assert "The keynote opens." in detail and LONG.strip() in detail


def test_the_texts_are_shown_escaped(client, editor, event):
    post = factories.published_post(event, "Plain words.", editor=editor)
    post.edit(editor, headline="", body=HOSTILE)
    edit = post.actions.get(action=Kind.EDITED)
    client.force_login(editor)
    for url in (CHANGELIST, reverse("admin:publishing_postaction_change", args=[edit.pk])):
        page = client.get(url).content.decode()
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page, url
        assert "<script>alert" not in page and "<b>bold</b>" not in page, url


def test_a_journalist_gets_403(client, journalist, event, history):
    journalist.is_staff = True  # even with a way into the admin
    journalist.save()
    client.force_login(journalist)
    action = PostAction.objects.filter(event=event).first()
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(reverse("admin:publishing_postaction_change", args=[action.pk])).status_code == 403


@pytest.mark.parametrize("who", ["editor", "superuser"])
def test_nobody_adds_changes_or_deletes_an_action(client, editor, admin_user, event, history, who):
    client.force_login(editor if who == "editor" else admin_user)
    action = PostAction.objects.filter(event=event, action=Kind.EDITED).get()
    change = reverse("admin:publishing_postaction_change", args=[action.pk])
    assert client.get(reverse("admin:publishing_postaction_add")).status_code == 403
    assert client.post(change, {"action": Kind.APPROVED}).status_code == 403
    assert (
        client.post(reverse("admin:publishing_postaction_delete", args=[action.pk]), {"post": "yes"}).status_code == 403
    )
    page = client.get(CHANGELIST)
    assert "delete_selected" not in page.context["cl"].model_admin.get_actions(page.wsgi_request)
    assert 'name="_save"' not in client.get(change).content.decode()
    action.refresh_from_db()
    assert action.action == Kind.EDITED


def test_the_list_costs_the_same_queries_however_many_rows(client, editor, other_editor, event):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CHANGELIST).status_code == 200
        return len(captured)

    def decide(n: int) -> None:
        for i in range(n):
            post = factories.published_post(event, f"Update {i}.", editor=editor)
            post.edit(other_editor, headline=f"Update {i}", body=f"Update {i}, corrected.")

    client.force_login(editor)
    decide(2)
    few = queries()
    decide(10)
    assert PostAction.objects.count() == 24
    assert queries() == few


def test_the_draft_queue_links_to_the_events_actions(client, editor, event):
    client.force_login(editor)
    page = client.get(reverse("admin:publishing_post_queue", args=[event.pk])).content.decode()
    assert f'href="{CHANGELIST}?event__id__exact={event.pk}"' in page


def test_an_event_going_live_and_ending_is_recorded_with_who_did_it(editor, other_editor):
    event = Event.objects.create(title="Later", slug="later", starts_at=timezone.now() + timedelta(hours=1))
    event.go_live(editor)  # events.signals.event_went_live
    event.end(other_editor)  # events.signals.event_ended
    rows = PostAction.objects.filter(event=event).order_by("pk")
    assert [(row.action, row.user, row.post) for row in rows] == [
        (Kind.EVENT_LIVE, editor, None),
        (Kind.EVENT_ENDED, other_editor, None),
    ]


def test_recording_an_event_action_again_adds_no_row(editor, event):
    went_live = PostAction.objects.record_event_action(event, editor, Kind.EVENT_LIVE)
    assert (went_live.post, went_live.event, went_live.user) == (None, event, editor)
    assert PostAction.objects.record_event_action(event, None, Kind.EVENT_LIVE) == went_live
    event.end()  # by code: nobody named
    ended = PostAction.objects.get(event=event, action=Kind.EVENT_ENDED)
    assert ended.user is None
    assert PostAction.objects.record_event_action(event, editor, Kind.EVENT_ENDED) == ended
    assert PostAction.objects.filter(event=event).count() == 2
    with pytest.raises(ValueError, match="Not an event's action"):
        PostAction.objects.record_event_action(event, editor, Kind.APPROVED)


def test_the_database_keeps_posts_to_post_actions_and_events_to_event_actions(event):
    post = Post.objects.create(event=event, body="A post.")
    for fields in (
        {"post": post, "action": Kind.EVENT_ENDED},
        {"post": None, "action": Kind.APPROVED},
        {"post": post, "action": "teleported"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            PostAction.objects.create(event=event, **fields)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow  # migrates the database back and forth
def test_the_migration_gives_each_earlier_action_its_posts_event(fresh_roles):
    before, after = [("publishing", "0010_quote_clips_and_override")], [("publishing", "0011_post_action_history")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        # The models as the database now holds them: every app's migrations that are still applied.
        applied = list(MigrationRecorder(connection).applied_migrations())
        apps = executor.loader.project_state(applied).apps
        Event_, Post_ = apps.get_model("events", "Event"), apps.get_model("publishing", "Post")
        PostAction_ = apps.get_model("publishing", "PostAction")
        events = [Event_.objects.create(title=s, slug=s, starts_at=timezone.now()) for s in ("one", "two")]
        for event in events:
            PostAction_.objects.create(post=Post_.objects.create(event=event, body="x"), action="approved")
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
        create_roles()
    rows = PostAction.objects.select_related("post")
    assert sorted((row.event.slug, row.post.event_id == row.event_id) for row in rows) == [
        ("one", True),
        ("two", True),
    ]
