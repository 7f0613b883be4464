"""The Atom feed of an event's published posts."""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.utils.feedgenerator import Atom1Feed, Enclosure
from django.utils.html import format_html

from events.models import Event
from publishing.models import Post
from readers.changes import (
    absolute,
    author_label,
    correction_note,
    event_summary,
    post_picture,
    post_title,
    site_base,
    visible_posts,
)
from readers.sanitize import body_html


class EventFeed(Feed):
    """Atom: one entry per published post, newest first."""

    feed_type = Atom1Feed

    def get_object(self, request, slug):
        event = get_object_or_404(Event.objects.public(), slug=slug)
        event.site_base = site_base(request)  # on the event, not the feed: one Feed instance serves every request
        return event

    def title(self, event: Event) -> str:
        return event.title

    def subtitle(self, event: Event) -> str:
        return event_summary(event)

    def link(self, event: Event) -> str:
        return event.get_absolute_url()

    def items(self, event: Event) -> list[Post]:
        posts = list(visible_posts(event)[:50])
        for post in posts:
            post.site_base = event.site_base
        return posts

    def item_title(self, post: Post) -> str:
        return post_title(post)

    def item_description(self, post: Post) -> str:
        note = correction_note(post, post.event)
        if note is None:
            return body_html(post.body)
        shown = format_html('<p class="correction"><strong>Correction, {}:</strong> {}</p>', note["time"], note["text"])
        return body_html(post.body) + shown

    def item_link(self, post: Post) -> str:
        return post.get_absolute_url()

    def item_pubdate(self, post: Post):
        return post.published_at

    def item_updateddate(self, post: Post):
        return post.updated_at

    def item_author_name(self, post: Post) -> str:
        return author_label(post)

    # Atom's enclosure is a link rel="enclosure"; its length is not known without reading the file.
    def item_enclosures(self, post: Post) -> list[Enclosure]:
        picture = post_picture(post)
        if picture is None:
            return []
        return [Enclosure(absolute(picture.src, post.site_base), "0", picture.media_type)]
