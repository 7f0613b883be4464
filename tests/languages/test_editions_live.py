"""Reader editions, live: a reader socket that says hello with lang=en is pushed the English of a German post as soon
as its translation is ready; one asking for a language the event has no edition in is refused."""

import pytest

from events.models import Event
from publishing.models import PostTranslation
from tests.support import factories
from tests.support.netclients import ReaderSocket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.usefixtures("fresh_publishing")]

BODY = "Die Firma wächst um 40 Prozent, sagt Ada Lovelace."
ENGLISH = "The company grows by 40 percent, says Ada Lovelace."


def cursor_of(event: Event) -> int:
    event.refresh_from_db(fields=["change_seq"])
    return event.change_seq


def test_a_reader_socket_with_lang_en_receives_the_translated_post(journalist, editor, mavera, worker, daphne):
    event = factories.live_event(
        journalist, title="Hauptrede", slug="hauptrede", language="de", reader_languages=["en"]
    )
    english_reader = ReaderSocket(daphne, event.slug, cursor_of(event), lang="en")
    german_reader = ReaderSocket(daphne, event.slug, cursor_of(event))
    try:
        post = factories.published_post(event, BODY, editor=editor)
        assert PostTranslation.objects.get(post=post, language="en").status == PostTranslation.Status.READY

        def translated(message: dict) -> bool:
            return any(ENGLISH in pushed["html"] for pushed in message.get("posts", []))

        pushed = english_reader.wait_for(translated)
        html = next(p["html"] for p in pushed["posts"] if p["id"] == post.pk)
        assert "Translated automatically from German" in html and BODY not in html
        assert pushed["cursor"] == cursor_of(event)
        german_reader.wait_for(lambda m: m.get("cursor") == cursor_of(event))
        originals = [p["html"] for m in german_reader.messages for p in m.get("posts", [])]
        assert originals and all(BODY in html and ENGLISH not in html for html in originals)
    finally:
        english_reader.close()
        german_reader.close()


def test_a_hello_in_a_language_the_event_has_no_edition_in_is_refused(journalist, daphne):
    event = factories.live_event(
        journalist, title="Hauptrede", slug="hauptrede", language="de", reader_languages=["en"]
    )
    reader = ReaderSocket(daphne, event.slug, 0, lang="fr")
    try:
        assert reader.wait_closed() == 4400
    finally:
        reader.close()
