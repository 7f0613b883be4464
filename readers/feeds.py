from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.utils.feedgenerator import Atom1Feed

from events.models import Event
from publishing.models import Post
from readers.changes import author_label, event_summary, post_title, visible_posts
from readers.sanitize import body_html


class EventFeed(Feed):
    """Atom: one entry per published post, newest first."""

    feed_type = Atom1Feed

    def get_object(self, request, slug):
        return get_object_or_404(Event.objects.public(), slug=slug)

    def title(self, event: Event) -> str:
        return event.title

    def subtitle(self, event: Event) -> str:
        return event_summary(event)

    def link(self, event: Event) -> str:
        return event.get_absolute_url()

    def items(self, event: Event):
        return visible_posts(event)[:50]

    def item_title(self, post: Post) -> str:
        return post_title(post)

    def item_description(self, post: Post) -> str:
        return body_html(post.body)

    def item_link(self, post: Post) -> str:
        return post.get_absolute_url()

    def item_pubdate(self, post: Post):
        return post.published_at

    def item_updateddate(self, post: Post):
        return post.updated_at

    def item_author_name(self, post: Post) -> str:
        return author_label(post)
