"""The Atom feed of an event's published posts."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed, Enclosure
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from events.languages import local_name
from events.models import Event
from publishing.models import Post, Summary
from readers import editions
from readers.changes import (
    absolute,
    author_label,
    correction_note,
    current_summary,
    event_summary,
    post_picture,
    post_title,
    site_base,
    summary_text,
    visible_posts,
)
from readers.sanitize import body_html


class EventFeed(Feed):
    """Atom: one entry per published post, newest first, after the story so far (one entry, updated with each
    version an editor publishes)."""

    feed_type = Atom1Feed

    def get_object(self, request, slug):
        event = get_object_or_404(Event.objects.public(), slug=slug)
        event.site_base = site_base(request)  # on the event, not the feed: one Feed instance serves every request
        return event

    def title(self, event: Event) -> str:
        return event.title

    def subtitle(self, event: Event) -> str:
        return summary_text(current_summary(event)) or event_summary(event)

    def link(self, event: Event) -> str:
        return event.get_absolute_url()

    def items(self, event: Event) -> list[Post | Summary]:
        posts = list(visible_posts(event)[:50])
        for post in posts:
            post.site_base = event.site_base
        summary = current_summary(event)
        return posts if summary is None else [summary, *posts]

    def item_title(self, post: Post | Summary) -> str:
        if isinstance(post, Summary):
            return gettext("The story so far")
        return post_title(post)

    def item_description(self, post: Post | Summary) -> str:
        if isinstance(post, Summary):
            return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p,) for p in post.points)))
        note = correction_note(post, post.event)
        if note is None:
            return body_html(post.body)
        shown = format_html('<p class="correction"><strong>Correction, {}:</strong> {}</p>', note["time"], note["text"])
        return body_html(post.body) + shown

    def item_link(self, post: Post | Summary) -> str:
        if isinstance(post, Summary):  # one entry whatever the version: feed readers update it in place
            return f"{post.event.get_absolute_url()}#summary"
        return post.get_absolute_url()

    def item_pubdate(self, post: Post | Summary):
        return post.published_at

    def item_updateddate(self, post: Post | Summary):
        return post.published_at if isinstance(post, Summary) else post.updated_at

    def item_author_name(self, post: Post | Summary) -> str:
        return settings.PUBLISHER_NAME if isinstance(post, Summary) else author_label(post)

    # Atom's enclosure is a link rel="enclosure"; its length is not known without reading the file.
    def item_enclosures(self, post: Post | Summary) -> list[Enclosure]:
        if isinstance(post, Summary):
            return []
        picture = post_picture(post)
        if picture is None:
            return []
        return [Enclosure(absolute(picture.src, post.site_base), "0", picture.media_type)]


class EditionFeed(EventFeed):
    """Atom of one reader edition (/events/<slug>/feed/<lang>.atom): its posts translated, or the original with a
    note until they are; a language the event has no edition in is 404."""

    def get_object(self, request, slug, lang):
        event = super().get_object(request, slug)
        if lang not in event.editions:
            raise Http404("No such edition")
        event.edition = lang
        return event

    def get_feed(self, obj: Event, request):
        with translation.override(obj.edition):  # the feed's language and its notes
            return super().get_feed(obj, request)

    def title(self, event: Event) -> str:
        return f"{event.title} ({local_name(event.edition)})"

    def link(self, event: Event) -> str:
        return event.get_absolute_url() + editions.query(event.edition)

    def items(self, event: Event) -> list[Post | Summary]:
        found = super().items(event)
        posts = [item for item in found if isinstance(item, Post)]
        for post in posts:
            post.event = event  # the edition rides on this instance
        editions.dress(posts, event, event.edition)
        return found

    def item_link(self, post: Post | Summary) -> str:
        if isinstance(post, Summary):
            return super().item_link(post)
        return f"{post.event.get_absolute_url()}{editions.query(post.event.edition)}#post-{post.pk}"

    def item_description(self, post: Post | Summary) -> str:
        shown = super().item_description(post)
        note = getattr(post, "edition_note", None)
        if note is None:
            return shown
        link = format_html(
            ' · <a href="{}">{}</a>', absolute(note.original_url, post.site_base), gettext("Read the original")
        )
        return format_html('<p class="edition-note">{}{}</p>', note.text, link if note.translated else "") + shown
