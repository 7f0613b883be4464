"""What the studio tells a journalist of the event's own state: scheduled (go live now?) or ended."""

import zoneinfo

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from events.models import Event


def ended_message() -> str:
    return _("This event has ended: the stream has stopped, and everything said is saved.")


def go_live_question(event: Event) -> str:
    """ "This event is scheduled for 14:00. Go live now?", with the day when it is not today, in the event's zone."""
    zone = zoneinfo.ZoneInfo(event.timezone)
    starts = event.starts_at.astimezone(zone)
    when = date_format(starts, "H:i")
    if starts.date() != timezone.now().astimezone(zone).date():
        when = _("%(time)s on %(day)s") % {"time": when, "day": date_format(starts, "DATE_FORMAT")}
    return _("This event is scheduled for %(when)s. Go live now?") % {"when": when}
