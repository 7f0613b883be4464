"""Reader editions: a German event's posts reach its English edition through the drafting provider (the Mavera
emulator), labelled and linked to the original, with their own feed, JSON-LD and hreflang alternates; a translation
whose numbers differ from the original's waits for an editor; the offline drafter leaves readers the original, with a
note; only the event's own languages reach a cache key; the draft queue's card of held translations costs the same
queries however many it shows."""

import json
import re

import feedparser
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import Event
from publishing.credits import credits_of
from publishing.models import PostTranslation
from tests.support import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_publishing")]

HEADLINE = "Neue Zahlen"
BODY = "Die Firma wächst um 40 Prozent auf 3,5 Millionen Euro, sagt Ada Lovelace."
ENGLISH = "The company grows by 40 percent to 3.5 million euros, says Ada Lovelace."


@pytest.fixture
def german(journalist) -> Event:
    return factories.live_event(
        journalist, title="Hauptrede", slug="hauptrede", language="de", reader_languages=["en", "es"]
    )


def published(event: Event, editor, body: str = BODY, headline: str = HEADLINE):
    return factories.published_post(event, body, headline=headline, editor=editor)


def jsonld(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))


def article(html: str, post_id: int) -> str:
    start = html.index(f'id="post-{post_id}"')
    return html[start : html.index("</article>", start)]


def test_a_german_post_reaches_the_english_edition_labelled_with_its_feed(client, german, editor, mavera, worker):
    post = published(german, editor)
    english = PostTranslation.objects.get(post=post, language="en")
    assert english.status == PostTranslation.Status.READY and english.checked and english.source_revision == 1
    assert (english.headline, english.body) == ("New figures", ENGLISH)
    prompt = next(call.body["prompt"] for call in mavera.posts(200) if "into English" in call.body["prompt"])
    assert "from German into English" in prompt and f"<original_post>\n{BODY}\n</original_post>" in prompt
    assert f"<original_headline>\n{HEADLINE}\n</original_headline>" in prompt
    assert {row.language for row in PostTranslation.objects.filter(post=post)} == {"en", "es"}

    page = client.get(f"/events/{german.slug}/?lang=en").content.decode()
    shown = article(page, post.pk)
    assert ENGLISH in shown and "New figures" in shown and BODY not in shown
    assert "Translated automatically from German" in shown
    assert f'href="{post.get_absolute_url()}" hreflang="de"' in shown  # the original
    assert '<html lang="en"' in page
    for lang, query in (("de", ""), ("en", "?lang=en"), ("es", "?lang=es"), ("x-default", "")):
        assert f'<link rel="alternate" hreflang="{lang}" href="http://testserver/events/hauptrede/{query}">' in page
    data = jsonld(page)
    assert data["inLanguage"] == "en" and data["translationOfWork"] == {"@id": "http://testserver/events/hauptrede/"}
    update = data["liveBlogUpdate"][0]
    assert update["articleBody"] == ENGLISH and update["inLanguage"] == "en"
    assert update["translationOfWork"]["@id"].endswith(f"/events/hauptrede/#post-{post.pk}")

    original = client.get(f"/events/{german.slug}/").content.decode()
    assert BODY in article(original, post.pk) and "Translated automatically" not in original
    assert {"@id": "http://testserver/events/hauptrede/?lang=en", "inLanguage": "en"} in jsonld(original)[
        "workTranslation"
    ]

    feed = feedparser.parse(client.get(f"/events/{german.slug}/feed/en.atom").content)
    assert feed.feed.title == "Hauptrede (English)"
    entry = feed.entries[0]
    assert entry.title == "New figures" and ENGLISH in entry.summary and "Translated automatically" in entry.summary
    assert entry.link.endswith(f"/events/hauptrede/?lang=en#post-{post.pk}")
    assert BODY in feedparser.parse(client.get(f"/events/{german.slug}/feed.atom").content).entries[0].summary

    answer = client.get(f"/events/{german.slug}/posts.json?after=0&lang=en").json()
    assert ENGLISH in answer["posts"][0]["html"]
    # Both editions' calls count against the event's cap.
    assert credits_of(german).used == 2 * mavera.credits_per_call


def test_an_edit_of_the_words_is_translated_again(client, german, editor, mavera, worker):
    post = published(german, editor)
    post.edit(editor, headline=HEADLINE, body="Die Firma wächst um 40 Prozent, sagt Ada Lovelace heute.")
    english = PostTranslation.objects.get(post=post, language="en")
    assert english.source_revision == 2 and english.status == PostTranslation.Status.READY
    assert english.body == "The company grows by 40 percent, says Ada Lovelace today."
    page = client.get(f"/events/{german.slug}/?lang=en").content.decode()
    assert "Ada Lovelace today" in article(page, post.pk)


def test_a_translation_whose_numbers_differ_waits_for_an_editor(client, german, editor, mavera, worker):
    mavera.translation_words["40"] = "14"
    post = published(german, editor)
    english = PostTranslation.objects.get(post=post, language="en")
    assert english.status == PostTranslation.Status.HELD and not english.checked
    kinds = {(item["kind"], item["text"]) for item in english.untraced}
    assert ("number", "14") in kinds and ("number_lost", "40") in kinds

    # Readers of the edition get the original meanwhile, said to be so.
    page = client.get(f"/events/{german.slug}/?lang=en").content.decode()
    shown = article(page, post.pk)
    assert BODY in shown and "14 percent" not in shown
    assert "In German, the original, until its translation is ready." in shown and 'lang="de"' in shown

    # The draft queue shows it with the reason, and the editor's word puts it live.
    client.force_login(editor)
    queue = reverse("admin:publishing_post_queue", args=[german.pk])
    card = client.get(queue).content.decode()
    assert f'id="translation-{english.pk}"' in card and "A number the original does not give" in card
    assert "translation_approve" in card and "translation_reject" in card
    before = Event.objects.get(pk=german.pk).change_seq
    client.post(queue, {"op": "translation_approve", "translation": english.pk})
    english.refresh_from_db()
    assert english.status == PostTranslation.Status.READY and english.decided_by == editor
    assert Event.objects.get(pk=german.pk).change_seq == before + 1  # open pages get it
    client.logout()
    assert "14 percent" in article(client.get(f"/events/{german.slug}/?lang=en").content.decode(), post.pk)


def test_a_rejected_translation_leaves_its_readers_the_original(client, german, editor, mavera, worker):
    mavera.translation_extra = " Also, 7 new offices open."
    post = published(german, editor)
    english = PostTranslation.objects.get(post=post, language="en")
    assert english.status == PostTranslation.Status.HELD
    client.force_login(editor)
    client.post(
        reverse("admin:publishing_post_queue", args=[german.pk]),
        {"op": "translation_reject", "translation": english.pk},
    )
    english.refresh_from_db()
    assert english.status == PostTranslation.Status.FAILED and english.last_error
    client.logout()
    shown = article(client.get(f"/events/{german.slug}/?lang=en").content.decode(), post.pk)
    assert BODY in shown and "Not translated: this update is in German, the original." in shown


def test_the_offline_drafter_does_not_translate_editions_show_the_original_with_a_note(
    client, german, editor, settings, worker
):
    settings.DRAFTER = "publishing.drafters.offline.OfflineDrafter"
    post = published(german, editor)
    assert not PostTranslation.objects.filter(post=post).exists()
    assert any(name == "publishing.tasks.translate_post" for name, _ in worker)
    page = client.get(f"/events/{german.slug}/?lang=en").content.decode()
    shown = article(page, post.pk)
    assert BODY in shown and "Not translated: this update is in German, the original." in shown
    assert '<div class="body" lang="de">' in shown and '<html lang="en"' in page
    feed = feedparser.parse(client.get(f"/events/{german.slug}/feed/en.atom").content)
    assert BODY in feed.entries[0].summary and "Not translated" in feed.entries[0].summary


def test_only_the_event_s_own_languages_are_answered(client, german, editor, settings, worker):
    settings.DRAFTER = "publishing.drafters.offline.OfflineDrafter"
    published(german, editor)
    assert client.get(f"/events/{german.slug}/?lang=fr").status_code == 400
    assert client.get(f"/events/{german.slug}/?lang=%3Cscript%3E").status_code == 400
    assert client.get(f"/events/{german.slug}/posts.json?after=0&lang=fr").status_code == 400
    assert client.get(f"/events/{german.slug}/older.json?before=1&lang=it").status_code == 400
    assert client.get(f"/events/{german.slug}/feed/fr.atom").status_code == 404
    # The original's own code is the original.
    assert client.get(f"/events/{german.slug}/?lang=de").status_code == 200
    page = client.get(f"/events/{german.slug}/?lang=es").content.decode()
    assert 'aria-current="page">Español</a>' in page and '<html lang="es"' in page


def test_an_event_without_editions_translates_nothing(client, journalist, editor, mavera, worker):
    event = factories.live_event(journalist, title="Hauptrede", slug="hauptrede", language="de")
    post = published(event, editor)
    assert not PostTranslation.objects.filter(post=post).exists() and not mavera.posts()
    assert not any(name == "publishing.tasks.translate_post" for name, _ in worker)
    page = client.get(f"/events/{event.slug}/").content.decode()
    assert 'hreflang="' not in page and 'id="editions"' not in page


def test_the_queue_costs_the_same_queries_however_many_translations_are_held(client, german, editor, settings, worker):
    settings.DRAFTER = "publishing.drafters.offline.OfflineDrafter"  # translates nothing: the rows are made here

    def hold(number: int) -> None:
        post = published(german, editor, body=f"Die Firma wächst um {number} Prozent.")
        PostTranslation.objects.create(
            post=post,
            language="en",
            source_revision=post.revision,
            status=PostTranslation.Status.HELD,
            body=f"The company grows by {number + 1} percent.",
            untraced=[{"kind": "number", "text": str(number + 1), "start": 20, "end": 22}],
        )

    hold(10)
    client.force_login(editor)
    queue = reverse("admin:publishing_post_queue", args=[german.pk])
    with CaptureQueriesContext(connection) as one_held:
        client.get(queue)
    for number in (20, 30, 40):
        hold(number)
    with CaptureQueriesContext(connection) as four_held:
        card = client.get(queue).content.decode()
    assert card.count('class="held-translation"') == 4 and 'lang="de"' in card
    assert len(four_held) == len(one_held)
