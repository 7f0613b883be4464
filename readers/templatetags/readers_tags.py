"""Template filters for the readers' pages: times in the event's zone, post bodies as safe HTML (with their quotes'
players), author labels."""

import zoneinfo
from datetime import datetime

from django import template
from django.templatetags.tz import do_timezone
from django.utils.safestring import SafeString

from readers import changes, quote_players, sanitize

register = template.Library()


@register.filter
def in_zone(value: datetime, zone: str) -> datetime:
    """The time in the event's zone, kept there: Django's own `timezone` filter marks it so the `date` filter
    that follows does not turn it back into the site's zone."""
    return do_timezone(value, zoneinfo.ZoneInfo(zone))


@register.filter
def post_body(text: str) -> SafeString:
    return sanitize.body_html(text)


@register.filter
def body_with_quote_players(post, event) -> SafeString:
    return quote_players.body_with_players(post, event)


@register.filter
def author_label(post) -> str:
    return changes.author_label(post)
