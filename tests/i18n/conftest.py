"""The pseudo-locale (tests.support.pseudo) and an event as editors and readers meet it, in German."""

import pytest
from django.core.cache import cache

from events.roles import create_roles
from publishing import summaries
from publishing.models import Embed, Summary
from tests.support import factories, pseudo
from tests.support.drafting import SENTENCES

# What the pages may show outside the pseudo-locale's marks: people's words (the event's, the posts', the
# names), brands and formats, and the languages each named in its own.
PEOPLE_AND_BRANDS = (
    "Keynote",
    "keynote",
    "Ada Lovelace",
    "Ada Lovelace opens the conference.",
    "Liveblog Newsroom",
    "Liveblog",
    "Doors open",
    "The keynote opens with a story.",
    "Follow the keynote here.",
    "Twelve more languages next year.",
    "Twelve languages next year.",
    "We misheard a number.",
    "Ada Lovelace opens the keynote.",
    'She says "the pipeline never sleeps".',
    "She says",
    "the pipeline never sleeps",
    "the team plans to",
    "Keynote video",
    "Emulated Video",
    "YouTube",
    *SENTENCES,
    "jo",
    "ed",
    "UTC",
    "Deepgram",
    "Mavera",
    "SRT",
    "TXT",
    "VTT",
    "WebVTT",
    "JPEG",
    "PNG",
    "WebP",
    "FLAC",
    "English",
    "Deutsch",
    "https://…/live.m3u8",
    "https://",
)


@pytest.fixture(scope="session")
def pseudo_locale(tmp_path_factory):
    """A LOCALE_PATHS folder whose German is the pseudo-locale."""
    return pseudo.build(tmp_path_factory.mktemp("pseudo-locale"))


@pytest.fixture
def in_pseudo_german(settings, pseudo_locale):
    """German, as the pseudo-locale writes it, ahead of the committed catalogs."""
    settings.LOCALE_PATHS = [pseudo_locale, *settings.LOCALE_PATHS]


@pytest.fixture
def german_event(event):
    event.language = "de"
    event.description = "Ada Lovelace opens the conference."
    event.save()
    return event


@pytest.fixture
def coverage(german_event, editor):
    """An event with everything its pages can show: a key event, a pinned post, a corrected one, an embed, the
    story so far, a draft traced to the transcript, a held draft, failed batches and an alert of each kind."""
    cache.clear()
    create_roles()
    event = german_event
    posts = factories.posts_of_each_kind(event, editor)
    Embed.objects.create(
        post=posts["corrected"],
        url="https://www.youtube.com/watch?v=abcdefghijk",
        provider="youtube",
        provider_name="YouTube",
        title="Keynote video",
        frame_src="https://www.youtube-nocookie.com/embed/abcdefghijk",
    )
    story = summaries.draft_summary(Summary.objects.claim(event.pk, trigger=Summary.Trigger.EDITOR).pk)
    summaries.publish(story.pk, event, editor)
    summaries.draft_summary(Summary.objects.claim(event.pk, trigger=Summary.Trigger.EDITOR).pk)  # one waiting
    return {"event": event, **posts, **factories.queue_of_each_kind(event)}
