"""StreamFollow rows: requested and stopped from the studio, claimed and run by a follower (blocking functions)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from events.models import Event
from transcription import leases, sessions
from transcription.follow import addresses, notices
from transcription.models import StreamFollow

FINALS_PAGE = 200  # finals a page is sent at once; it asks again for the rest
Status = StreamFollow.Status


class FollowRefused(ValueError):
    """A follow that is not started or stopped, with why in the journalist's words."""


def check_address(url: object) -> addresses.Address:
    """The address if it may be followed now (its form, and where its host leads), else FollowRefused."""
    try:
        address, _found = addresses.check(url, allow_private=settings.STREAM_FOLLOW_ALLOW_PRIVATE)
    except addresses.AddressRefused as refused:
        raise FollowRefused(str(refused)) from None
    return address


def request_follow(event: Event, journalist, address: addresses.Address, *, language: str = "") -> StreamFollow:
    """A new follow of `address` (from `check_address`) for a follower to claim, or FollowRefused (the event, a
    stream already running). `language`: the journalist's, for what the follow tells them."""
    if Event.objects.filter(pk=event.pk, status=Event.Status.ENDED).exists():
        raise FollowRefused(_("This event has ended; it takes no more audio."))
    if StreamFollow.objects.filter(event=event, journalist=journalist, status__in=StreamFollow.ACTIVE).exists():
        raise FollowRefused(_("You are already following a stream to this event. Stop it first."))
    if leases.holder(event.pk, journalist.pk) is not None:
        raise FollowRefused(
            _("You are streaming your microphone to this event. Stop that stream before following another.")
        )
    try:
        with transaction.atomic():
            follow = StreamFollow.objects.create(
                event=event, journalist=journalist, url=address.url, language=language[:16]
            )
            transaction.on_commit(functools.partial(notices.announce, event.pk, journalist.pk))
    except IntegrityError:  # a second request at the same moment
        raise FollowRefused(_("You are already following a stream to this event. Stop it first.")) from None
    return follow


def request_stop(event: Event, journalist) -> StreamFollow | None:
    """Ask the follower running the journalist's follow to stop it (its last words stored, its session ended);
    a request no follower has taken yet is stopped here."""
    follow = StreamFollow.objects.filter(event=event, journalist=journalist, status__in=StreamFollow.ACTIVE).first()
    if follow is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        untaken = StreamFollow.objects.filter(pk=follow.pk, worker="", session__isnull=True)
        if not untaken.update(status=Status.STOPPED, stop_requested=True, ended_at=now, updated_at=now):
            # A follower holds it, or will resume it (a session is open): it ends the session as Stop does.
            StreamFollow.objects.filter(pk=follow.pk).update(stop_requested=True, updated_at=now)
        transaction.on_commit(functools.partial(notices.announce, event.pk, journalist.pk))
    follow.refresh_from_db()
    return follow


def _unclaimed(follows):
    """Active follows no follower holds: never claimed, released, or whose follower's claim lapsed."""
    return follows.filter(status__in=StreamFollow.ACTIVE).filter(
        Q(worker="") | Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now())
    )


# --- The follower's side ---------------------------------------------------------------------------------------


def claim_seconds() -> timedelta:
    return timedelta(seconds=settings.STREAM_FOLLOW_CLAIM_SECONDS)


def claimable(limit: int = 20) -> list[int]:
    return list(_unclaimed(StreamFollow.objects.all()).order_by("pk").values_list("pk", flat=True)[:limit])


def claim(follow_id: int, worker: str) -> StreamFollow | None:
    """Take the follow for `worker` (a compare-and-set: two followers never run one follow), or None.
    One whose follower stopped answering says so until its audio comes again."""
    found = StreamFollow.objects.filter(pk=follow_id).values_list("worker", "language").first()
    if found is None:
        return None
    previous, language = found
    now = timezone.now()
    changes: dict = {"worker": worker, "claimed_until": now + claim_seconds(), "updated_at": now}
    if previous:
        with translation.override(language or settings.LANGUAGE_CODE):
            changes |= {"status": Status.RETRYING, "detail": _("Its follower stopped answering; resuming…")}
    if not _unclaimed(StreamFollow.objects.filter(pk=follow_id, worker=previous)).update(**changes):
        return None
    return StreamFollow.objects.select_related("event").get(pk=follow_id)


def renew(follow_ids: list[int], worker: str) -> set[int]:
    """Extend the claims `worker` still holds; the ids it holds."""
    now = timezone.now()
    mine = StreamFollow.objects.filter(pk__in=follow_ids, worker=worker, status__in=StreamFollow.ACTIVE)
    mine.update(claimed_until=now + claim_seconds())
    return set(mine.values_list("pk", flat=True))


def update(follow_id: int, worker: str, **fields) -> bool:
    """Change a follow `worker` holds; False when it no longer does."""
    fields["updated_at"] = timezone.now()
    return bool(StreamFollow.objects.filter(pk=follow_id, worker=worker).update(**fields))


def finish(follow_id: int, worker: str, status: str, detail: str = "") -> bool:
    now = timezone.now()
    return bool(
        StreamFollow.objects.filter(pk=follow_id, worker=worker).update(
            status=status, detail=detail, ended_at=now, updated_at=now, worker="", claimed_until=None
        )
    )


def release(follow_id: int, worker: str, detail: str) -> bool:
    """Hand the follow back for any follower to resume (this one is stopping)."""
    return bool(
        StreamFollow.objects.filter(pk=follow_id, worker=worker, status__in=StreamFollow.ACTIVE).update(
            status=Status.RETRYING, detail=detail, worker="", claimed_until=None, updated_at=timezone.now()
        )
    )


@dataclass(frozen=True)
class Wanted:
    stop: bool
    event_ended: bool


def wanted(follow_ids: list[int]) -> dict[int, Wanted]:
    """Whether each follow was asked to stop, or its event ended: one query for every follow running."""
    rows = StreamFollow.objects.filter(pk__in=follow_ids).values_list("pk", "stop_requested", "event__status")
    return {pk: Wanted(stop=stop, event_ended=status == Event.Status.ENDED) for pk, stop, status in rows}


# --- The page's side -------------------------------------------------------------------------------------------


def follow_message(follow: StreamFollow) -> dict:
    """The follow as the studio page shows it."""
    return {
        "type": "follow",
        "id": follow.pk,
        "url": follow.url,
        "status": follow.status,
        "label": follow.get_status_display(),
        "detail": follow.detail,
        "attempts": follow.attempts,
        "session": follow.session_id,
        "stopping": follow.stop_requested and follow.active,
    }


def latest(event_id: int, journalist_id: int, *, after_id: int = 0) -> StreamFollow | None:
    """The journalist's active follow of the event, or the one a page was watching (`after_id`) once it ended."""
    follows = StreamFollow.objects.filter(event_id=event_id, journalist_id=journalist_id)
    active = follows.filter(status__in=StreamFollow.ACTIVE).order_by("-pk").first()
    if active is not None or not after_id:
        return active
    return follows.filter(pk=after_id).first()


@dataclass(frozen=True)
class Seen:
    """What one page has been sent of the journalist's follow: the follow, its last state, its last final."""

    follow_id: int = 0
    state: dict | None = None
    session_id: int | None = None
    last_sequence: int = -1


def page_update(event_id: int, journalist_id: int, seen: Seen) -> tuple[list[dict], Seen, bool]:
    """What a page has not been sent yet (the follow's state, its new finals), what it has then seen, and
    whether more finals wait."""
    follow = latest(event_id, journalist_id, after_id=seen.follow_id)
    if follow is None:
        return [], seen, False
    if follow.pk != seen.follow_id:
        seen = Seen(follow_id=follow.pk)  # a new follow: a new transcript
    finals = (
        sessions.finals_after(follow.session_id, seen.last_sequence, limit=FINALS_PAGE) if follow.session_id else []
    )
    messages = list(finals)
    state = follow_message(follow)
    if state != seen.state:
        messages.append(state)  # after the finals: once a page reads "stopped", it has the last words
    last = finals[-1]["sequence"] if finals else seen.last_sequence
    seen = Seen(follow_id=follow.pk, state=state, session_id=follow.session_id, last_sequence=last)
    return messages, seen, len(finals) == FINALS_PAGE
