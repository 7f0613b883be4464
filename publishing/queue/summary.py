"""The story so far in the draft queue: the card beside the posts (the waiting version next to the one readers
see, with what it changes and what the check could not trace), and the editors' decisions on it."""

from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext

from events.models import Event
from publishing import summaries
from publishing.models import Summary
from publishing.queue.html import highlighted

HISTORY_SHOWN = 10


def _kind_labels() -> dict[str, str]:
    return {
        "quote": gettext("Quote not in the published posts"),
        "number": gettext("Number no published post gives"),
        "name": gettext("Name no published post gives"),
        "unsure": gettext("Quote not in the published posts"),
    }


def _change_labels() -> dict[str, str]:
    return {
        "kept": pgettext("summary point", "Unchanged"),
        "added": pgettext("summary point", "New"),
        "changed": pgettext("summary point", "Changed"),
        "removed": pgettext("summary point", "Dropped"),
    }


def point_html(summary: Summary, index: int) -> SafeString:
    """A point of `summary`, escaped, with its untraced quotes, numbers and names in <mark>."""
    items = [item for item in summary.untraced if isinstance(item, dict) and item.get("point") == index]
    return highlighted(summary.points[index], items)


def untraced_html(summary: Summary) -> SafeString | str:
    labels = _kind_labels()
    items = [item for item in summary.untraced if isinstance(item, dict)]
    if not items:
        return ""
    return format_html(
        '<ul class="summary-untraced">{}</ul>',
        format_html_join(
            "",
            '<li class="untraced-item"><strong>{}</strong> {}: {}</li>',
            (
                (
                    gettext("Point %(number)d.") % {"number": int(item.get("point", 0)) + 1},
                    labels.get(item.get("kind"), gettext("Not traced")),
                    item.get("text", ""),
                )
                for item in items
            ),
        ),
    )


def card(event: Event) -> dict:
    """The queue's context for the event's story so far."""
    versions = list(Summary.objects.filter(event=event).select_related("published_by")[:40])
    waiting = next((s for s in versions if s.status == Summary.Status.DRAFT), None)
    current = next((s for s in versions if s.status == Summary.Status.PUBLISHED), None)
    rows = []
    if waiting is not None:
        labels = _change_labels()
        for row in summaries.diff_points(current.points if current else [], waiting.points):
            shown = point_html(waiting, row["index"]) if row["index"] is not None else row["point"]
            rows.append({**row, "label": labels[row["kind"]], "html": shown})
    return {
        "summary_card": {
            "waiting": waiting,
            "current": current,
            "drafting": next((s for s in versions if s.status in Summary.IN_PROGRESS), None),
            "failed": versions[0] if versions and versions[0].status == Summary.Status.FAILED else None,
            "rows": rows,
            "held_because": summaries.held_because(waiting) if waiting else [],
            "untraced": untraced_html(waiting) if waiting else "",
            "edit_text": "\n".join(waiting.points) if waiting else "",
            "history": [s for s in versions if s.published_at and s.status != Summary.Status.PUBLISHED][:HISTORY_SHOWN],
            "max_chars": summaries.EDITED_POINTS_MAX_CHARS,
        }
    }


# --- The editors' decisions (publishing.queue.moderation routes them). ---


def _refused(action):
    def apply(decision) -> str:
        try:
            return action(decision)
        except summaries.SummaryRefused as exc:
            raise ValidationError(str(exc)) from None

    apply.__name__ = action.__name__
    return apply


@_refused
def request(decision) -> str:
    summary = summaries.request(decision.event, decision.user)
    return gettext("Version %(version)d of the story so far is being drafted.") % {"version": summary.version}


@_refused
def publish(decision) -> str:
    summary = summaries.publish(
        decision.data["summary"], decision.event, decision.user, override=bool(decision.data.get("override"))
    )
    return gettext("Version %(version)d of the story so far is live.") % {"version": summary.version}


@_refused
def withdraw(decision) -> str:
    summaries.withdraw(decision.data["summary"], decision.event, decision.user)
    return gettext("Readers no longer see the story so far.")


@_refused
def reject(decision) -> str:
    summaries.reject(decision.data["summary"], decision.event, decision.user)
    return gettext("That version of the story so far is rejected.")


@_refused
def edit(decision) -> str:
    summary = summaries.edit(decision.data["summary"], decision.event, decision.user, decision.data["points"])
    return gettext("Version %(version)d: points saved and checked again.") % {"version": summary.version}


NEEDS_SUMMARY = {"summary_publish", "summary_withdraw", "summary_reject", "summary_edit"}
