"""The story so far: 3-5 points drafted from an event's published posts, held for an editor, published by one.

Claimed once per trigger (Summary.objects.claim: the beat's tick, a publish, an editor), drafted in the worker
(draft_summary), traced like any generated text, and published only by an editor, through the event's change
number so open pages, cursors, the feed and the JSON-LD all follow. Design: docs/architecture.md, *The story so far*.
"""

import difflib
import logging
import re
import zoneinfo
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from events.models import Event
from events.sentences import Sentence
from events.signals import event_changed
from publishing.brief import SummaryUpdate, build_summary_brief, summary_update
from publishing.drafters.base import Draft, get_drafter
from publishing.drafting import billed_call, clean_text
from publishing.models import (
    SUMMARY_MAX_POINTS,
    SUMMARY_MIN_POINTS,
    SUMMARY_POINT_MAX_CHARS,
    Post,
    Summary,
)
from publishing.signals import summary_changed
from publishing.tracing import Sources, Spoken, trace
from transcription.models import SpeakerName

log = logging.getLogger(__name__)

_BULLET = re.compile(r"^\s*(?:[-*•·–—]|\d{1,2}[.)])\s+")
EDITED_POINTS_MAX_CHARS = SUMMARY_MAX_POINTS * (SUMMARY_POINT_MAX_CHARS + 2)


class SummaryRefused(Exception):
    """An editor's decision the summary's state does not allow; the message is for them."""


def _queue_changed(event_id: int) -> None:
    summary_changed.send(sender=Summary, event_id=event_id)


# --- Points: parsed, cleaned, traced. ---


def parse_points(text: str) -> list[str]:
    """The points of an answer or an editor's text: one a line, bullets and markup gone, at most
    SUMMARY_MAX_POINTS, each at most SUMMARY_POINT_MAX_CHARS (cut between words)."""
    points = []
    for line in text.splitlines():
        point = clean_text(_BULLET.sub("", line))
        if not point or (point.endswith(":") and len(point.split()) <= 6):  # empty, or a heading
            continue
        if len(point) > SUMMARY_POINT_MAX_CHARS:
            point = point[: SUMMARY_POINT_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
        points.append(point)
    return points[:SUMMARY_MAX_POINTS]


def sources_of(event: Event, updates: list[SummaryUpdate]) -> Sources:
    """What a summary may be traced to: the published posts it was drafted from, the speaker names and the
    event's own details; never a draft."""
    zone = zoneinfo.ZoneInfo(event.timezone)
    names = SpeakerName.objects.filter(session__event_id=event.pk).values_list("name", flat=True)
    return Sources(
        [Spoken(update.post_id, update.text) for update in updates],
        context=[*names, event.title, event.description, *event.glossary_terms, event.style_notes],
        dates=[moment.astimezone(zone) for moment in (event.starts_at, event.ends_at) if moment],
        language=event.post_language,
    )


def trace_points(points: list[str], sources: Sources) -> list[dict]:
    """Each untraced quote, number and name of each point, with the point's index (`point`)."""
    return [item | {"point": index} for index, point in enumerate(points) for item in trace(point, sources).untraced]


def published_updates(event: Event, post_ids: list[int]) -> list[SummaryUpdate]:
    """These posts as the summary read them, if still published."""
    posts = Post.objects.published().filter(event=event, pk__in=post_ids).order_by("published_at", "pk")
    return [summary_update(post) for post in posts]


# --- Drafting, in the worker. ---


def draft_summary(summary_id: int, *, last_try: bool = False) -> Summary | None:
    """Draft one claimed version: it then waits for an editor. None when another attempt owns or finished it,
    or it failed. Raises DraftingUnavailable (handed back) to be tried later, except on the last try."""
    summary = Summary.objects.start_drafting(summary_id)
    if summary is None:
        return None
    event = summary.event
    drafter = get_drafter()
    current = Summary.objects.current(event.pk)
    brief = build_summary_brief(
        event, max_chars=drafter.chunk_chars, current_points=current.points if current is not None else []
    )
    if not brief.updates:
        summary.fail(Sentence.gettext("No published post to sum up."))
        return None
    draft = billed_call(
        summary, event, drafter.max_credits_per_call, lambda: drafter.summarise(brief), last_try=last_try
    )
    if draft is None:
        return None
    points = parse_points(draft.body)
    if not points:
        summary.fail(Sentence.gettext("%(provider)s answered with no usable point", provider=draft.provider))
        return None
    return save_draft(summary, brief.updates, draft, points)


def save_draft(summary: Summary, updates: list[SummaryUpdate], draft: Draft, points: list[str]) -> Summary | None:
    """The drafted version, checked, into the queue; an older version still waiting there is replaced by it."""
    untraced = trace_points(points, sources_of(summary.event, updates))
    with transaction.atomic():
        saved = Summary.objects.filter(pk=summary.pk, status=Summary.Status.DRAFTING).update(
            status=Summary.Status.DRAFT,
            points=points,
            source_post_ids=[update.post_id for update in updates],
            checked=not untraced,
            untraced=untraced,
            drafted_at=timezone.now(),
            provider=draft.provider,
            endpoint=draft.endpoint,
            request_id=draft.request_id[:128],
            latency_ms=draft.latency_ms,
            last_error="",
            lease_expires_at=None,
        )
        if not saved:
            return None  # its lease lapsed and another attempt took it over
        Summary.objects.filter(
            event_id=summary.event_id, status=Summary.Status.DRAFT, version__lt=summary.version
        ).update(status=Summary.Status.REPLACED)
        event_id = summary.event_id
        transaction.on_commit(lambda: _queue_changed(event_id), robust=True)
    log.info(
        "summary v%s of %s drafted from %d posts (%s): %d points%s",
        summary.version,
        summary.event.slug,
        len(updates),
        draft.provider,
        len(points),
        f", {len(untraced)} untraced" if untraced else "",
    )
    return Summary.objects.get(pk=summary.pk)


def tick(now: datetime | None = None) -> list[Summary]:
    """Beat: a version for every live event whose story so far is due; lapsed drafting handed back."""
    claimed = [Summary.objects.claim(event_id, now=now) for event_id, _trigger in Summary.objects.due(now)]
    requeued = Summary.objects.requeue_stale()
    if requeued:
        log.info("re-enqueued stale summaries %s", requeued)
    return [summary for summary in claimed if summary is not None]


# --- An editor's decisions, from the draft queue. ---


def request(event: Event, user) -> Summary:
    """An editor asks for a new version now (the worker drafts it)."""
    if not Post.objects.published().filter(event=event).exists():
        raise SummaryRefused(gettext("Publish a post first: the story so far is drawn from published posts only."))
    if event.drafting_paused:
        raise SummaryRefused(gettext("Drafting is paused: %(reason)s") % {"reason": event.pause_reason()})
    summary = Summary.objects.claim(event.pk, trigger=Summary.Trigger.EDITOR)
    if summary is None:
        raise SummaryRefused(gettext("A version is being drafted already."))
    log.info("summary v%s of %s asked for by %s", summary.version, event.slug, user)
    return summary


def _locked(summary_id: int, event: Event, status: str) -> Summary:
    """The version, read again under the event's row lock (its change number taken by the caller)."""
    summary = Summary.objects.select_for_update().filter(pk=summary_id, event=event).first()
    if summary is None or summary.status != status:
        raise SummaryRefused(gettext("That version is not waiting any more: reload the queue."))
    return summary


def _readers_see(event: Event, change_seq: int) -> None:
    event_id, slug = event.pk, event.slug
    transaction.on_commit(
        lambda: event_changed.send(sender=Summary, event_id=event_id, slug=slug, change_seq=change_seq)
    )
    transaction.on_commit(lambda: _queue_changed(event_id), robust=True)


def publish(summary_id: int, event: Event, user, *, override: bool = False) -> Summary:
    """An editor puts a waiting version live: the one readers saw is kept as replaced. A held version (untraced
    items, too few points) goes live only with `override`, recorded on it."""
    if not getattr(user, "is_authenticated", False):
        raise SummaryRefused(gettext("Only an editor publishes the story so far."))
    with transaction.atomic():
        # The event's next change number first: its row lock makes one publish of this event at a time.
        change_seq = event.next_change_seq()
        summary = _locked(summary_id, event, Summary.Status.DRAFT)
        if summary.is_held and not override:
            raise SummaryRefused(
                gettext("This version is held: check the highlighted points, then tick “Publish all the same”.")
            )
        Summary.objects.filter(event=event, status=Summary.Status.PUBLISHED).update(status=Summary.Status.REPLACED)
        Summary.objects.filter(pk=summary.pk, status=Summary.Status.DRAFT).update(
            status=Summary.Status.PUBLISHED,
            published_at=timezone.now(),
            published_by=user,
            overrode_check=summary.is_held,
            change_seq=change_seq,
        )
        _readers_see(event, change_seq)
    log.info("summary v%s of %s published by %s", summary.version, event.slug, user)
    return Summary.objects.get(pk=summary.pk)


def withdraw(summary_id: int, event: Event, user) -> None:
    """Readers see no summary any more (until an editor publishes another)."""
    with transaction.atomic():
        change_seq = event.next_change_seq()
        _locked(summary_id, event, Summary.Status.PUBLISHED)
        Summary.objects.filter(pk=summary_id).update(status=Summary.Status.WITHDRAWN, change_seq=change_seq)
        _readers_see(event, change_seq)
    log.info("summary %s of %s withdrawn by %s", summary_id, event.slug, user)


def reject(summary_id: int, event: Event, user) -> None:
    with transaction.atomic():
        _locked(summary_id, event, Summary.Status.DRAFT)
        Summary.objects.filter(pk=summary_id, status=Summary.Status.DRAFT).update(status=Summary.Status.REJECTED)
        transaction.on_commit(lambda: _queue_changed(event.pk), robust=True)


def edit(summary_id: int, event: Event, user, text: str) -> Summary:
    """An editor's own points (one a line) for a waiting version, checked again against its published posts."""
    points = parse_points(text)
    if not points:
        raise SummaryRefused(gettext("Write at least one point, one a line."))
    with transaction.atomic():
        summary = _locked(summary_id, event, Summary.Status.DRAFT)
        untraced = trace_points(points, sources_of(event, published_updates(event, summary.source_post_ids)))
        Summary.objects.filter(pk=summary.pk).update(points=points, untraced=untraced, checked=not untraced)
        transaction.on_commit(lambda: _queue_changed(event.pk), robust=True)
    return Summary.objects.get(pk=summary_id)


# --- What readers and editors see of it. ---


def held_because(summary: Summary) -> list[str]:
    """Why a version waits for an editor's explicit override, in words."""
    reasons = []
    if summary.untraced:
        reasons.append(
            gettext("%(count)d quote(s), number(s) or name(s) not found in the published posts.")
            % {"count": len(summary.untraced)}
        )
    if len(summary.points) < SUMMARY_MIN_POINTS:
        reasons.append(
            gettext("It has %(count)d point(s), fewer than %(least)d.")
            % {"count": len(summary.points), "least": SUMMARY_MIN_POINTS}
        )
    return reasons


def diff_points(before: list[str], after: list[str]) -> list[dict]:
    """What a version changes of the one readers see: each of its points kept, added or changed (with the point it
    replaces, `before`), and each point of the current one it drops; `index` is the point's place in `after`."""
    rows: list[dict] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            rows += [{"kind": "kept", "point": after[i], "index": i} for i in range(b0, b1)]
            continue
        old = before[a0:a1]
        for offset in range(max(len(old), b1 - b0)):
            index = b0 + offset
            if offset < len(old) and index < b1:
                rows.append({"kind": "changed", "point": after[index], "index": index, "before": old[offset]})
            elif index < b1:
                rows.append({"kind": "added", "point": after[index], "index": index})
            else:
                rows.append({"kind": "removed", "point": old[offset], "index": None})
    return rows
