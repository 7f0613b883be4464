"""Every post records when its words were said; the draft queue shows how long ago."""

from datetime import timedelta

import pytest
from django.utils import timezone

from publishing import batching, drafting
from publishing.models import Post
from tests.support import factories
from tests.support.drafting import SENTENCES, add_segments, queue_item

pytestmark = pytest.mark.django_db


def test_a_drafted_post_records_its_first_and_last_words_and_the_queue_shows_their_age(
    client, editor, journalist, settings
):
    settings.BATCH_MIN_WORDS = 1
    event = factories.live_event(journalist, title="Clock", slug="clock", batch_interval_seconds=15)
    segments = add_segments(event, SENTENCES[:4])
    said = timezone.now() - timedelta(minutes=3)
    for n, segment in enumerate(segments):
        segment.spoken_at = said + timedelta(seconds=3 * n)
        segment.save(update_fields=["spoken_at"])
    [batch] = batching.tick(timezone.now() + timedelta(minutes=5))
    post = drafting.draft_batch(batch.pk)

    post = Post.objects.get(pk=post.pk)
    last = segments[-1]
    assert post.spoken_from == said
    assert post.spoken_until == said + timedelta(seconds=9 + (last.end - last.start))
    item = queue_item(client, editor, post)
    assert "words said 2\xa0minutes ago" in item or "words said 3\xa0minutes ago" in item
    assert f'data-spoken="{post.spoken_until.isoformat()}"' in item


def test_a_post_without_transcript_has_no_spoken_time(client, editor, journalist):
    event = factories.live_event(journalist, title="No clock", slug="no-clock")
    post = factories.published_post(event)
    assert post.spoken_from is None and post.spoken_until is None
    assert "words said" not in queue_item(client, editor, post)
