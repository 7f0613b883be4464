"""The draft queue's socket /ws/queue/<event_id>/ on a real Daphne: staff who may change posts only; it
tells the queue's state on connecting and again when it changes (a draft saved by another process);
the page's only message is which post its editor has open; anything else closes the socket."""

import json

import pytest
from django.contrib.auth.models import Group, Permission
from websockets.exceptions import InvalidStatus

from events.roles import EDITORS
from publishing.models import Post
from publishing.queue.consumers import BAD_MESSAGE, MAX_MESSAGE_BYTES
from publishing.queue.live import who_is_editing
from tests.support.emulators.studio import session_cookie
from tests.support.factories import live_event
from tests.support.netclients import Socket, declare_huge_message
from tests.support.processes import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles")]

MESSAGE_TOO_BIG = 1009


def queue_url(base: str, event) -> str:
    return base.replace("http://", "ws://") + f"/ws/queue/{event.pk}/"


def open_queue(base: str, event, user) -> Socket:
    return Socket(queue_url(base, event), origin=base, cookie=session_cookie(user) if user else None)


def refusal(base: str, event, user) -> int:
    with pytest.raises(InvalidStatus) as refused:
        open_queue(base, event, user)
    return refused.value.response.status_code


def test_anonymous_non_staff_and_staff_without_the_change_permission_are_refused(
    daphne, event, journalist, reader, django_user_model
):
    clerk = django_user_model.objects.create_user("clerk", password="clerk-password-123", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_post"))
    for who in (None, reader, journalist, clerk):
        assert refusal(daphne, event, who) == 403, who
    # The control: an editor, on the same socket, from the same origin, is let in.
    editors = django_user_model.objects.create_user("ed", password="ed-password-123", is_staff=True)
    editors.groups.add(Group.objects.get(name=EDITORS))
    queue = open_queue(daphne, event, editors)
    assert queue.wait_for(lambda m: m["type"] == "queue")["drafts"] == 0
    queue.close()


def test_an_editor_from_another_site_is_refused(daphne, event, editor):
    with pytest.raises(InvalidStatus) as refused:
        Socket(queue_url(daphne, event), origin="http://evil.example", cookie=session_cookie(editor))
    assert refused.value.response.status_code == 403


def test_the_queue_is_told_of_a_draft_saved_by_another_process(daphne, event, editor):
    queue = open_queue(daphne, event, editor)
    first = queue.wait_for(lambda m: m["type"] == "queue")
    assert (first["drafts"], first["failed"], first["paused"]) == (0, 0, "")
    Post.objects.create(event=event, body="A new draft.")  # saved here, not in Daphne: heard by its poll
    changed = queue.wait_for(lambda m: m["type"] == "queue" and m["drafts"] == 1)
    assert changed["version"] != first["version"]
    queue.close()


def test_editing_is_recorded_while_the_socket_is_open_and_forgotten_when_it_closes(daphne, event, editor):
    post = Post.objects.create(event=event, body="A draft.")
    queue = open_queue(daphne, event, editor)
    queue.wait_for(lambda m: m["type"] == "queue")
    queue.ws.send(json.dumps({"type": "editing", "post": post.pk}))
    wait_until(lambda: [(e.post_id, e.name) for e in who_is_editing(event.pk)] == [(post.pk, "ed")], 15)
    queue.close()
    wait_until(lambda: who_is_editing(event.pk) == [], 15, what="the closed page's editor forgotten")


@pytest.mark.parametrize(
    "message",
    [
        "hello",
        json.dumps({"type": "editing"}),
        json.dumps({"type": "editing", "post": "7"}),
        json.dumps({"type": "editing", "post": True}),
        json.dumps({"type": "publish", "post": 1}),
        "other event's post",
    ],
)
def test_anything_but_an_editing_message_about_this_events_post_closes_the_socket(
    daphne, event, editor, journalist, message
):
    if message == "other event's post":
        elsewhere = Post.objects.create(event=live_event(journalist, title="Panel", slug="panel"), body="Theirs.")
        message = json.dumps({"type": "editing", "post": elsewhere.pk})
    queue = open_queue(daphne, event, editor)
    queue.wait_for(lambda m: m["type"] == "queue")
    queue.ws.send(message)
    assert queue.wait_closed(15) == BAD_MESSAGE
    assert who_is_editing(event.pk) == []


def test_a_message_over_the_limit_is_refused_before_it_is_read(daphne, event, editor):
    code, sent = declare_huge_message(
        queue_url(daphne, event),
        origin=daphne,
        cookie=session_cookie(editor),
        declared=1 << 30,
        send_at_most=8 << 20,
    )
    assert code == MESSAGE_TOO_BIG, f"no 1009 after {sent} bytes; the limit is {MAX_MESSAGE_BYTES}"
    assert sent < 8 << 20
