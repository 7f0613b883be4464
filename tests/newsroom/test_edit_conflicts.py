"""No lost edits: two editors, each logged in with their own client, open the same post; the first saves,
the second's save from the older form is refused with both texts shown, and the first editor's text stays.
In the admin change form and in the draft queue's edit form alike. And the queue shows who is editing."""

import re
from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from events.roles import EDITORS
from publishing.models import Post
from publishing.queue.live import mark_editing
from publishing.revisions import EditConflict, save_edit
from tests.support.racing import at_once

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_editor(django_user_model, roles):
    user = django_user_model.objects.create_user("eve", password="eve-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORS))
    return user


@pytest.fixture
def post(event):
    return Post.objects.create(event=event, headline="Opening", body="The keynote opens.")


def logged_in(username: str, password: str) -> Client:
    """A client logged in through the admin's login form, as an editor's browser is."""
    client = Client()
    answer = client.post(reverse("admin:login"), {"username": username, "password": password})
    assert answer.status_code == 302, f"{username} could not log in"
    return client


def change_url(post: Post) -> str:
    return reverse("admin:publishing_post_change", args=[post.pk])


def as_submitted(page, **changes) -> dict:
    """What a browser sends back from the admin change form on `page`, with `changes` typed in."""
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for field in form:
            value = field.value()
            if value is not None and value is not False:
                data[field.html_name] = "on" if value is True else value
    return {**data, **changes}


def text_of(response) -> str:
    return unescape(response.content.decode())


def test_a_save_from_an_older_change_form_is_refused_with_both_versions_and_keeps_the_first(editor, other_editor, post):
    ed, eve = logged_in("ed", "ed-password-123"), logged_in("eve", "eve-password-123")
    eds_form, eves_form = ed.get(change_url(post)), eve.get(change_url(post))
    assert eds_form.status_code == eves_form.status_code == 200

    saved = ed.post(change_url(post), as_submitted(eds_form, body="Ada Lovelace opens the keynote."))
    assert saved.status_code == 302
    refused = eve.post(change_url(post), as_submitted(eves_form, body="The keynote opens late."))

    assert refused.status_code == 200  # the form again, not a redirect
    page = text_of(refused)
    assert "Not saved: ed saved this post (revision 2) after you opened it." in page
    theirs, yours = page.index("Their version, saved (revision 2)"), page.index("Yours, not saved")
    assert page.index("Ada Lovelace opens the keynote.", theirs) < yours
    assert page.index("The keynote opens late.", yours) > yours
    post.refresh_from_db()
    assert (post.body, post.revision, post.last_editor) == ("Ada Lovelace opens the keynote.", 2, editor)
    assert list(post.actions.values_list("action", "user__username")) == [("edited", "ed")]

    # Having seen both, Eve saves again from the form she was given: now hers replaces it.
    again = eve.post(change_url(post), as_submitted(refused))
    assert again.status_code == 302
    post.refresh_from_db()
    assert (post.body, post.revision, post.last_editor) == ("The keynote opens late.", 3, other_editor)


def test_a_change_form_that_says_no_revision_is_refused(editor, post):
    ed = logged_in("ed", "ed-password-123")
    data = as_submitted(ed.get(change_url(post)), body="Changed.")
    del data["based_on_revision"]
    assert ed.post(change_url(post), data).status_code == 200
    post.refresh_from_db()
    assert (post.body, post.revision) == ("The keynote opens.", 1)


def queue_url(post: Post) -> str:
    return reverse("admin:publishing_post_queue", args=[post.event_id])


def edit_from_queue(client: Client, post: Post, revision: str, body: str):
    return client.post(queue_url(post), {"op": "edit", "post": post.pk, "revision": revision, "body": body})


def revision_in_form(page: str, post: Post) -> str:
    item = page[page.index(f'id="post-{post.pk}"') :]
    return re.search(r'name="revision" value="(\d+)"', item).group(1)


def test_a_save_from_an_older_queue_form_is_refused_with_both_versions_and_keeps_the_first(editor, other_editor, post):
    ed, eve = logged_in("ed", "ed-password-123"), logged_in("eve", "eve-password-123")
    eds_revision = revision_in_form(text_of(ed.get(queue_url(post))), post)
    eves_revision = revision_in_form(text_of(eve.get(queue_url(post))), post)

    assert edit_from_queue(ed, post, eds_revision, "Ada Lovelace opens the keynote.").status_code == 302
    refused = edit_from_queue(eve, post, eves_revision, "The keynote opens late.")

    assert refused.status_code == 409
    page = text_of(refused)
    assert "Not saved: ed saved this post (revision 2) after you opened it." in page
    theirs, yours = page.index("Their version, saved (revision 2)"), page.index("Yours, not saved")
    assert theirs < page.index("Ada Lovelace opens the keynote.", theirs) < yours
    form = page[page.index('class="queue-edit"') :]
    assert form.index("The keynote opens late.") < form.index("</textarea>")  # her text, still in her form
    post.refresh_from_db()
    assert (post.body, post.revision, post.last_editor) == ("Ada Lovelace opens the keynote.", 2, editor)

    assert revision_in_form(page, post) == "2"
    assert edit_from_queue(eve, post, "2", "The keynote opens late.").status_code == 302
    post.refresh_from_db()
    assert (post.body, post.revision) == ("The keynote opens late.", 3)


def test_a_queue_edit_without_its_revision_is_refused(editor, post):
    ed = logged_in("ed", "ed-password-123")
    response = ed.post(queue_url(post), {"op": "edit", "post": post.pk, "body": "Changed."}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Reload the queue: this form does not say which revision it edits."
    ]
    post.refresh_from_db()
    assert (post.body, post.revision) == ("The keynote opens.", 1)


def test_the_queue_shows_who_else_is_editing_a_post(editor, other_editor, post, settings, tmp_path):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    mark_editing(post.event_id, other_editor, post.pk)
    mark_editing(post.event_id, editor, post.pk)
    eds_page = text_of(logged_in("ed", "ed-password-123").get(queue_url(post)))
    eves_page = text_of(logged_in("eve", "eve-password-123").get(queue_url(post)))
    assert "eve is editing" in eds_page and "ed is editing" not in eds_page
    assert "ed is editing" in eves_page and "eve is editing" not in eves_page
    mark_editing(post.event_id, other_editor, None)
    assert "is editing" not in text_of(logged_in("ed", "ed-password-123").get(queue_url(post)))


RACERS = 4


@pytest.mark.portable
@pytest.mark.django_db(transaction=True)
def test_of_saves_racing_from_one_revision_exactly_one_wins_and_the_rest_are_refused(editor, post):
    outcomes = at_once(lambda n: save_edit(post, editor, based_on=1, headline="", body=f"Text {n}."), RACERS)
    refused = [o for o in outcomes if isinstance(o, EditConflict)]
    assert len(refused) == RACERS - 1 and outcomes.count(None) == 1, outcomes
    post.refresh_from_db()
    assert (post.body, post.revision) == (f"Text {outcomes.index(None)}.", 2)
    assert post.actions.filter(action="edited").count() == 1


@pytest.mark.portable
@pytest.mark.django_db(transaction=True)
def test_change_forms_saved_at_once_from_one_revision_keep_one_text_and_refuse_the_others(
    roles, editor, post, django_user_model
):
    clients = []
    for n in range(RACERS):
        user = django_user_model.objects.create_user(f"editor{n}", password=f"editor{n}-password-123", is_staff=True)
        user.groups.add(Group.objects.get(name=EDITORS))
        client = logged_in(f"editor{n}", f"editor{n}-password-123")
        clients.append((client, as_submitted(client.get(change_url(post)), body=f"Text {n}.")))
    outcomes = at_once(lambda n: clients[n][0].post(change_url(post), clients[n][1]).status_code, RACERS)
    assert sorted(outcomes) == [200] * (RACERS - 1) + [302], outcomes
    post.refresh_from_db()
    assert (post.body, post.revision) == (f"Text {outcomes.index(302)}.", 2)
