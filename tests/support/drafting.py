"""A keynote's transcript for drafting, and the draft queue's item for a post as an editor sees it."""

from django.urls import reverse

from events.models import Event
from publishing.models import Post
from transcription.models import Segment, StreamSession

SENTENCES = [
    "Ada Lovelace opens the keynote with a story about the analytical engine.",
    "She says the new liveblog pipeline drafts a post every thirty seconds.",
    "The audience laughs when the demo shows a typo corrected in real time.",
    "Editors approve each draft before readers see it, she explains.",
    "Next year the team plans to support twelve more languages.",
    "Questions from the floor focus on privacy and how long audio is kept.",
    "Lovelace answers that audio is purged after thirty days by default.",
    "The session closes with a call for volunteers to test the new studio.",
]


def add_segments(event: Event, texts: list[str], speaker: int | None = None) -> list[Segment]:
    session = StreamSession.objects.filter(event=event).first() or StreamSession.objects.create(
        event=event, journalist=event.journalists.first(), provider=StreamSession.Provider.OFFLINE
    )
    start = Segment.objects.filter(session=session).count()
    return [
        Segment.objects.create(
            session=session,
            event=event,
            sequence=start + i,
            text=text,
            start=(start + i) * 3.0,
            end=(start + i) * 3.0 + 2.5,
            speaker=speaker,
        )
        for i, text in enumerate(texts)
    ]


def queue_item(client, editor, post: Post) -> str:
    """The HTML of `post`'s item in its event's draft queue, as `editor` sees it."""
    client.force_login(editor)
    page = client.get(reverse("admin:publishing_post_queue", args=[post.event_id]), {"show": "all"})
    html = page.content.decode()
    start = html.index(f'id="post-{post.pk}"')
    end = html.find('class="queue-item"', start)
    return html[start : end if end > 0 else None]
