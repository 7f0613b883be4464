"""The story so far as readers get it: at the top of the page (escaped, server-rendered, no JavaScript needed), in
every cursor answer under the event's change number, in the JSON-LD description, in the Atom feed, and pushed to
an open socket; a version is never shown before an editor publishes it."""

import json
import re

import feedparser
import pytest

from events.models import Event
from publishing import summaries
from publishing.models import Summary
from tests.support import factories
from tests.support.netclients import ReaderSocket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_publishing")]

UPDATES = [
    "The hall fills up as 900 delegates take their seats.",
    "Ada Lovelace opens the keynote with a story about the analytical engine.",
    "She says the new pipeline drafts a post every thirty seconds.",
]
HOSTILE_POINT = "Look <script>window.pwned=1</script> <img src=x onerror=alert(1)> & more"


def drafted(event: Event) -> Summary:
    claimed = Summary.objects.claim(event.pk, trigger=Summary.Trigger.EDITOR)
    return summaries.draft_summary(claimed.pk)


def with_posts(event: Event, editor) -> None:
    for body in UPDATES:
        factories.published_post(event, body, editor=editor)


def cursor_of(event: Event) -> int:
    event.refresh_from_db(fields=["change_seq"])
    return event.change_seq


def jsonld(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))


def summary_block(html: str) -> str:
    start = html.index('id="summary"')
    return html[start : html.index("</section>", start)]


def test_a_drafted_version_is_nowhere_until_an_editor_publishes_it(client, event, editor):
    with_posts(event, editor)
    cursor = cursor_of(event)
    draft = drafted(event)
    page = client.get(f"/events/{event.slug}/").content.decode()
    block = summary_block(page)
    assert "hidden" in block.split(">", 1)[0] and "<li>" not in block
    assert cursor_of(event) == cursor  # drafting is no change readers can see
    assert client.get(f"/events/{event.slug}/posts.json?after=0").json()["summary"] is None
    assert jsonld(page)["description"] == event.title  # the event has no description of its own
    feed = feedparser.parse(client.get(f"/events/{event.slug}/feed.atom").content)
    assert "The story so far" not in [entry.title for entry in feed.entries] and draft.status == Summary.Status.DRAFT


def test_published_it_tops_the_page_takes_a_change_number_and_rides_every_cursor_answer(client, event, editor):
    with_posts(event, editor)
    before = cursor_of(event)
    summary = summaries.publish(drafted(event).pk, event, editor)
    assert summary.change_seq == cursor_of(event) == before + 1

    page = client.get(f"/events/{event.slug}/").content.decode()
    block = summary_block(page)
    assert page.index('id="summary"') < page.index('id="posts"')
    assert "The story so far" in block and "hidden" not in block.split(">", 1)[0]
    assert [re.sub(r"<.*?>", "", item) for item in re.findall(r"<li>.*?</li>", block)] == summary.points
    assert f'data-cursor="{before + 1}"' in page

    answer = client.get(f"/events/{event.slug}/posts.json?after={before}").json()
    assert answer["cursor"] == before + 1 and answer["posts"] == [] and answer["removed"] == []
    assert answer["summary"] == {
        "version": summary.version,
        "points": summary.points,
        "published_at": summary.published_at.isoformat(),
    }
    assert client.get(f"/events/{event.slug}/posts.json?after=0").json()["summary"]["version"] == summary.version

    summaries.withdraw(summary.pk, event, editor)
    gone = client.get(f"/events/{event.slug}/posts.json?after={before + 1}").json()
    assert gone["cursor"] == before + 2 and gone["summary"] is None
    assert "hidden" in summary_block(client.get(f"/events/{event.slug}/").content.decode()).split(">", 1)[0]


def test_the_json_ld_description_and_the_feed_carry_the_published_version(client, event, editor):
    with_posts(event, editor)
    first = summaries.publish(drafted(event).pk, event, editor)
    text = " ".join(first.points)
    data = jsonld(client.get(f"/events/{event.slug}/").content.decode())
    assert data["description"] == text
    page = client.get(f"/events/{event.slug}/").content.decode()
    assert f'<meta name="description" content="{text}">' in page

    feed = feedparser.parse(client.get(f"/events/{event.slug}/feed.atom").content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.subtitle == text
    top = feed.entries[0]
    assert top.title == "The story so far" and top.link == f"http://testserver/events/{event.slug}/#summary"
    assert [item for item in re.findall(r"<li>(.*?)</li>", top.summary)] == first.points
    assert len(feed.entries) == len(UPDATES) + 1

    factories.published_post(event, "Questions from the floor focus on privacy.", editor=editor)
    Summary.objects.filter(event=event, status=Summary.Status.DRAFT).update(status=Summary.Status.REJECTED)
    second = summaries.publish(drafted(event).pk, event, editor)
    again = feedparser.parse(client.get(f"/events/{event.slug}/feed.atom").content).entries[0]
    assert again.id == top.id and again.updated != top.updated  # one entry, updated: readers see it change
    assert "Questions from the floor focus on privacy." in again.summary
    assert jsonld(client.get(f"/events/{event.slug}/").content.decode())["description"] == " ".join(second.points)


def test_an_editor_s_hostile_point_stays_inert_everywhere(client, event, editor):
    with_posts(event, editor)
    draft = drafted(event)
    summaries.edit(draft.pk, event, editor, "\n".join([*draft.points, HOSTILE_POINT]))
    summaries.publish(draft.pk, event, editor, override=True)
    page = client.get(f"/events/{event.slug}/").content.decode()
    block = summary_block(page)
    assert "<script" not in block and "<img" not in block and "&lt;script&gt;" not in block  # markup dropped
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1)
    assert "<" not in ld
    feed = client.get(f"/events/{event.slug}/feed.atom").content.decode()
    assert "<script" not in feed and "onerror" not in feed.replace("&lt;", "<").split("<entry>", 2)[1]
    answer = client.get(f"/events/{event.slug}/posts.json?after=0").json()
    points = answer["summary"]["points"]
    assert len(points) == len(draft.points) + 1, "the hostile point is kept, as text"
    assert all("<" not in point for point in points)


@pytest.mark.slow
def test_an_open_socket_is_pushed_the_published_version(event, editor, daphne):
    with_posts(event, editor)
    cursor = cursor_of(event)
    reader = ReaderSocket(daphne, event.slug, cursor)
    try:
        summary = summaries.publish(drafted(event).pk, event, editor)
        pushed = reader.wait_for(lambda message: (message.get("summary") or {}).get("version") == summary.version)
        assert pushed["cursor"] == cursor + 1 and pushed["summary"]["points"] == summary.points
    finally:
        reader.close()
