"""Corrections readers can see: an edit of a published post carries a note, shown with its time on the page,
the permalink, the live update, the feed, the JSON API and the JSON-LD (with dateModified)."""

import json
import re
import xml.etree.ElementTree as ET
import zoneinfo

import pytest
import websockets.sync.client as ws_client
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from events.roles import create_roles
from publishing.models import Post, PostAction
from tests.support import factories
from tests.support.admin import change_form_data
from tests.support.processes import start_daphne

NOTE = "An earlier version said the engine was built in 1843; it was designed then, never built."
HOSTILE = "<script>alert('x')</script> & <b>bold</b>"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def correct_in_admin(client, post: Post, note: str, **changes) -> None:
    data = change_form_data(client, post) | {"correction": note, **changes}
    answer = client.post(reverse("admin:publishing_post_change", args=[post.pk]), data)
    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer


def atom_entries(client, event) -> list[ET.Element]:
    feed = ET.fromstring(client.get(reverse("events:feed", args=[event.slug])).content)  # noqa: S314 (our own feed)
    return feed.findall(f"{ATOM}entry")


def shown_time(post: Post) -> str:
    return timezone.localtime(post.corrected_at, zoneinfo.ZoneInfo(post.event.timezone)).strftime("%H:%M")


@pytest.mark.django_db
def test_a_correction_made_in_the_admin_change_form_is_shown_under_the_post_with_its_time(client, event, editor):
    post = factories.published_post(event, "The engine was built in 1843.")
    seq_before = event.next_change_seq() and Post.objects.get(pk=post.pk).change_seq
    client.force_login(editor)

    correct_in_admin(client, post, NOTE, body="The engine was designed in 1843.")

    post.refresh_from_db()
    assert post.correction == NOTE and post.corrected_at is not None
    assert post.body == "The engine was designed in 1843." and post.revision == 2
    assert post.change_seq > seq_before  # readers' cursors see the edit
    assert post.actions.first().action == PostAction.Kind.CORRECTED
    expected = f'Correction, <time datetime="{post.corrected_at.isoformat()}"'
    for url in (event.get_absolute_url(), post.get_absolute_url(), reverse("events:embed", args=[event.slug])):
        page = client.get(url).text
        assert expected in page, url
        assert re.search(rf">{shown_time(post)} UTC</time>:</strong> An earlier version said", page), url  # zone named


@pytest.mark.django_db
def test_the_correction_field_is_offered_only_for_published_posts(client, event, editor):
    draft = Post.objects.create(event=event, body="A draft.")
    published = factories.published_post(event, "Live.")
    client.force_login(editor)
    assert 'name="correction"' not in client.get(reverse("admin:publishing_post_change", args=[draft.pk])).text
    assert 'name="correction"' in client.get(reverse("admin:publishing_post_change", args=[published.pk])).text
    with pytest.raises(ValueError, match="Only a published post takes a correction note"):
        draft.edit(editor, headline="", body="A draft.", correction="Not for drafts.")


@pytest.mark.django_db
def test_correction_text_is_plain_text_escaped_everywhere(client, event, editor):
    post = factories.published_post(event, "Body.")
    post.edit(editor, headline="", body="Body.", correction=HOSTILE + "\x07")
    post.refresh_from_db()
    assert post.correction == HOSTILE  # control characters removed, nothing else
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
    page = client.get(event.get_absolute_url()).text
    assert escaped in page and "<script>alert('x')" not in page
    summary = atom_entries(client, event)[0].find(f"{ATOM}summary").text
    assert "&lt;b&gt;bold&lt;/b&gt;" in summary and "<b>" not in summary and "<script" not in summary


@pytest.mark.django_db
def test_a_correction_without_a_text_change_is_an_edit_readers_see(client, event, editor):
    post = factories.published_post(event, "Body.")
    cursor = Post.objects.get(pk=post.pk).change_seq
    post.edit(editor, headline="", body="Body.", correction=NOTE)
    answer = client.get(reverse("events:posts_since", args=[event.slug]), {"after": cursor}).json()
    [changed] = answer["posts"]
    assert changed["id"] == post.pk and "Correction, " in changed["html"] and "never built." in changed["html"]


@pytest.mark.django_db
def test_the_feed_the_api_and_the_json_ld_carry_the_correction(client, event, editor):
    post = factories.published_post(event, "Body.")
    post.edit(editor, headline="", body="Body, corrected.", correction=NOTE)
    post.refresh_from_db()

    entry = atom_entries(client, event)[0]
    assert f"Correction, {shown_time(post)}:</strong> {NOTE}" in entry.find(f"{ATOM}summary").text
    assert entry.find(f"{ATOM}updated").text == post.updated_at.isoformat()
    assert entry.find(f"{ATOM}updated").text > entry.find(f"{ATOM}published").text

    api = client.get(reverse("events:api_event", args=[event.slug])).json()
    [shown] = [item for item in api["posts"] if item["id"] == post.pk]
    assert shown["correction"] == {"text": NOTE, "at": post.corrected_at.isoformat(), "time": shown_time(post)}

    page = client.get(event.get_absolute_url()).text
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))
    [update] = data["liveBlogUpdate"]
    assert update["dateModified"] == post.updated_at.isoformat() and update["dateModified"] > update["datePublished"]
    assert update["correction"] == {
        "@type": "CorrectionComment",
        "text": NOTE,
        "datePublished": post.corrected_at.isoformat(),
    }


@pytest.mark.django_db
def test_an_uncorrected_post_carries_no_correction(client, event):
    factories.published_post(event, "Body.")
    api = client.get(reverse("events:api_event", args=[event.slug])).json()
    assert api["posts"][0]["correction"] is None
    assert 'class="correction"' not in client.get(event.get_absolute_url()).text


@pytest.mark.django_db
def test_the_queue_edit_form_takes_a_correction_for_a_published_post_only(client, event, editor):
    published = factories.published_post(event, "Published.")
    draft = Post.objects.create(event=event, body="Draft.")
    client.force_login(editor)
    queue = reverse("admin:publishing_post_queue", args=[event.pk])
    page = client.get(queue, {"show": "all"}).text
    assert page.count('name="correction"') == 1

    def edit(post: Post, note: str):
        data = {"op": "edit", "post": post.pk, "headline": "", "body": post.body, "correction": note}
        data["revision"] = data["based_on_revision"] = post.revision  # whichever the edit check reads
        return client.post(queue, data, follow=True)

    assert "edit done" in edit(published, NOTE).text
    published.refresh_from_db()
    assert published.correction == NOTE
    refused = edit(draft, "Not for drafts.").text
    assert "Only a published post takes a correction note" in refused
    too_long = edit(published, "x" * 501).text
    assert "A correction note has at most 500 characters (it has 501)." in too_long
    published.refresh_from_db()
    assert published.correction == NOTE


@pytest.mark.django_db
def test_clearing_the_correction_in_admin_removes_it_from_the_page(client, event, editor):
    post = factories.published_post(event, "Body.")
    post.edit(editor, headline="", body="Body.", correction=NOTE)
    client.force_login(editor)
    correct_in_admin(client, Post.objects.get(pk=post.pk), "")
    post.refresh_from_db()
    assert post.correction == "" and post.corrected_at is None
    assert NOTE not in client.get(event.get_absolute_url()).text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_open_page_socket_receives_the_corrected_post(event, editor):
    create_roles()
    post = factories.published_post(event, "The engine was built in 1843.")
    process, port = start_daphne()
    try:
        with ws_client.connect(
            f"ws://127.0.0.1:{port}/ws/events/{event.slug}/", origin=f"http://127.0.0.1:{port}"
        ) as s:
            s.send(json.dumps({"type": "hello", "cursor": 0}))
            assert [p["id"] for p in json.loads(s.recv(timeout=10))["posts"]] == [post.pk]
            Post.objects.get(pk=post.pk).edit(editor, headline="", body="It was designed in 1843.", correction=NOTE)
            [pushed] = json.loads(s.recv(timeout=15))["posts"]
        assert pushed["id"] == post.pk and "It was designed in 1843." in pushed["html"]
        post.refresh_from_db()
        assert f'Correction, <time datetime="{post.corrected_at.isoformat()}"' in pushed["html"]
        assert f">{shown_time(post)} UTC</time>:</strong> {NOTE}" in pushed["html"]
    finally:
        process.stop()
    process.assert_no_traceback()
