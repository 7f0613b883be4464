"""Batches of segments and the posts drafted from them, with every change of their state."""

import logging
import re
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.db import OperationalError, models, transaction
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Event
from events.signals import event_changed
from publishing.queueing import enqueue_alert_delivery, enqueue_drafting
from publishing.tracing import Sources, Spoken, Trace, trace
from transcription.models import Segment, SpeakerName
from transcription.speakers import Speakers

log = logging.getLogger(__name__)

# Upper bound on segments per claim: a batch that grows past this is drafted in steps by the brief anyway,
# and a bounded IN (...) keeps the compare-and-set cheap on both databases.
MAX_SEGMENTS_PER_BATCH = 2000
MAX_SEGMENTS_PER_TICK = 20000
CORRECTION_MAX_CHARS = 500
# The text readers see: what an edit or a correction changed of it is kept with the action (PostAction.before/after).
TEXT_FIELDS = ("headline", "body", "correction")


def _log_published(post: "Post", user) -> None:
    """The console's line; `user` is None when no person published it (auto-publishing, a schedule)."""
    by_whom = f" by {user}" if getattr(user, "pk", None) else ""
    log.info("post %s published on %s%s", post.pk, post.event.slug, by_whom)


def lease_deadline() -> datetime:
    return timezone.now() + timedelta(seconds=settings.DRAFTING_LEASE_SECONDS)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_correction(text: str) -> str:
    """A correction note as stored: plain text (pages escape it), without control characters or edge spaces."""
    text = _CONTROL_CHARACTERS.sub("", text).strip()
    if len(text) > CORRECTION_MAX_CHARS:
        raise ValueError(f"A correction note has at most {CORRECTION_MAX_CHARS} characters, not {len(text)}.")
    return text


class _Lost(Exception):
    """A racing claimer took some of the segments: the bulk claim rolls back."""


class BatchQuerySet(models.QuerySet):
    def claim_segments(self, event_id: int, *, final: bool = False) -> "Batch | None":
        """Claim the event's unbatched final segments into one new batch (None if there are none), by
        compare-and-set (docs/architecture.md, *Order and exactly-once*); drafting is enqueued after commit."""
        try:
            return self._claim_segments(event_id, final)
        except OperationalError:
            # Two claimers locking the same rows may deadlock on PostgreSQL: the loser's claim rolled back whole.
            return None

    def _claim_segments(self, event_id: int, final: bool) -> "Batch | None":
        with transaction.atomic():
            ids = list(
                Segment.objects.unbatched()
                .filter(event_id=event_id)
                .in_order()
                .values_list("pk", flat=True)[:MAX_SEGMENTS_PER_BATCH]
            )
            if not ids:
                return None
            batch = self.create(event_id=event_id, is_final=final, lease_expires_at=lease_deadline())
            taken = Segment.objects.unbatched().filter(pk__in=ids).update(batch=batch)
            if taken != len(ids):
                transaction.set_rollback(True)
                return None
            Event.objects.filter(pk=event_id).update(last_batched_at=timezone.now())
            transaction.on_commit(lambda: enqueue_drafting(batch.pk))
        return batch

    def claim_segments_for(self, event_ids: list[int], now: datetime | None = None) -> "list[Batch]":
        """A batch for each of these events in one transaction (one commit per tick, not one per event); if
        any segment was taken meanwhile, or there are too many at once, each event is claimed on its own."""
        now = now or timezone.now()
        if not event_ids:
            return []
        try:
            with transaction.atomic():
                rows = list(
                    Segment.objects.unbatched()
                    .filter(event_id__in=event_ids)
                    .in_order()
                    .values_list("pk", "event_id")[: MAX_SEGMENTS_PER_TICK + 1]
                )
                if len(rows) > MAX_SEGMENTS_PER_TICK:
                    raise _Lost
                segments: dict[int, list[int]] = {}
                for pk, event_id in rows:
                    segments.setdefault(event_id, []).append(pk)
                if not segments:
                    return []
                lease = lease_deadline()
                batches = self.bulk_create(Batch(event_id=pk, lease_expires_at=lease) for pk in segments)
                owner = Case(
                    *(When(event_id=b.event_id, then=Value(b.pk)) for b in batches), output_field=BigIntegerField()
                )
                taken = Segment.objects.unbatched().filter(pk__in=[pk for pk, _ in rows]).update(batch=owner)
                if taken != len(rows):
                    raise _Lost
                Event.objects.filter(pk__in=segments).update(last_batched_at=now)
                transaction.on_commit(lambda: enqueue_drafting(*(b.pk for b in batches)))
                return batches
        except (_Lost, OperationalError):
            claimed = [self.claim_segments(pk) for pk in event_ids]
            return [batch for batch in claimed if batch is not None]

    def start_drafting(self, batch_id: int) -> "Batch | None":
        """Claim the batch for this worker: a compare-and-set on its status, with a lease a dead worker loses."""
        now = timezone.now()
        claimable = Q(status=Batch.Status.PENDING) | Q(status=Batch.Status.DRAFTING, lease_expires_at__lt=now)
        claimed = self.filter(claimable, pk=batch_id).update(
            status=Batch.Status.DRAFTING,
            attempts=F("attempts") + 1,
            drafting_started_at=now,
            lease_expires_at=lease_deadline(),
        )
        if not claimed:
            return None
        return self.select_related("event").get(pk=batch_id)

    def retry_failed(self) -> int:
        """Editors' "retry drafting": these batches, if failed, go back to pending and are enqueued after commit."""
        retried = 0
        with transaction.atomic():
            for pk in list(self.filter(status=Batch.Status.FAILED).values_list("pk", flat=True)):
                # Still failed: another editor may have retried it since it was listed.
                if Batch.objects.filter(pk=pk, status=Batch.Status.FAILED).update(
                    status=Batch.Status.PENDING, lease_expires_at=lease_deadline()
                ):
                    retried += 1
                    transaction.on_commit(lambda pk=pk: enqueue_drafting(pk))
        return retried

    def requeue_stale(self) -> list[int]:
        """Batches no worker is drafting any more (lost message, killed worker): pending again, enqueued again."""
        lapsed = self.filter(
            status__in=[Batch.Status.PENDING, Batch.Status.DRAFTING], lease_expires_at__lt=timezone.now()
        )
        requeued = []
        for pk in list(lapsed.values_list("pk", flat=True)[:500]):
            with transaction.atomic():
                # Still lapsed: a worker may have claimed it since it was listed.
                if lapsed.filter(pk=pk).update(status=Batch.Status.PENDING, lease_expires_at=lease_deadline()):
                    requeued.append(pk)
                    transaction.on_commit(lambda pk=pk: enqueue_drafting(pk))
        return requeued


class Batch(models.Model):
    """Segments sent together for drafting. Each segment belongs to at most one batch."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DRAFTING = "drafting", "Drafting"
        DRAFTED = "drafted", "Drafted"
        FAILED = "failed", "Failed"

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="batches")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    is_final = models.BooleanField(default=False, help_text="Flushed when a stream stopped or the event ended.")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider = models.CharField(max_length=32, blank=True, help_text="Drafter that answered: mavera or offline.")
    endpoint = models.CharField(max_length=32, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    credits_used = models.PositiveIntegerField(null=True, blank=True)
    # Held against the event's credit cap while this batch is being drafted under a live lease (publishing.credits).
    credits_reserved = models.PositiveIntegerField(default=0, editable=False)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    drafting_started_at = models.DateTimeField(null=True, blank=True)
    # Pending: when to enqueue again if no worker picked it up. Drafting: when a dead worker's claim lapses.
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    brief_parts = models.PositiveIntegerField(
        default=1, help_text="Parts a long transcript was drafted in: summarised in steps, never cut."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = BatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "drafting", "drafted", "failed"]), name="batch_status_valid"
            ),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(last_error=""), name="failed_batch_has_error"),
        ]

    def __str__(self) -> str:
        return f"Batch {self.pk} · {self.event} · {self.get_status_display()}"

    def transcript(self) -> str:
        return " ".join(segment.text for segment in self.segments.in_order())

    def trace(self, text: str) -> Trace:
        """`text`'s quotes, numbers and names looked up in what this batch's speakers said (as corrected by
        editors), the speaker names and the event's own details."""
        return trace(text, self.sources())

    def sources(self) -> Sources:
        event = self.event
        speakers = Speakers.for_event(event.pk)
        segments = list(self.segments.in_order().select_related("session"))
        floors = settings.UNSURE_WORD_CONFIDENCE
        spoken = [
            Spoken(
                segment.pk,
                segment.text,
                segment.session_id,
                segment.start,
                segment.end,
                tuple(segment.words) if isinstance(segment.words, list) else (),
                floors.get(segment.session.provider, 0.0),
            )
            for segment in segments
        ]
        labels = {speakers.label(segment) for segment in segments} - {""}
        names = SpeakerName.objects.filter(session__event_id=event.pk).values_list("name", flat=True)
        zone = zoneinfo.ZoneInfo(event.timezone)
        return Sources(
            spoken,
            context=[*labels, *names, event.title, event.description, *event.glossary_terms, event.style_notes],
            dates=[moment.astimezone(zone) for moment in (event.starts_at, event.ends_at) if moment],
            language=event.language if len(event.language) == 2 else "en",
        )

    # --- State changes after the claim. Each one applies only while this worker still holds the batch. ---

    def fail(self, message: str, *, alert: bool = True) -> None:
        """Failed, for an editor to retry; `alert` False when the desk knows why already (drafting paused)."""
        failed = Batch.objects.filter(pk=self.pk, status=self.Status.DRAFTING).update(
            status=self.Status.FAILED,
            last_error=message[:2000] or "failed",
            finished_at=timezone.now(),
            lease_expires_at=None,
        )
        if failed and alert:  # the alert is the one line the console shows
            Alert.objects.raise_alert(Alert.Kind.BATCH_FAILED, self.event_id, f"Batch {self.pk} failed: {message}")
        else:
            log.debug("batch %s failed: %s", self.pk, message)

    def hand_back(self, message: str, retry_in: float) -> None:
        """Back to pending for a later attempt; the sweep re-enqueues it if the retry message is lost."""
        Batch.objects.filter(pk=self.pk, status=self.Status.DRAFTING).update(
            status=self.Status.PENDING,
            last_error=message[:2000],
            lease_expires_at=timezone.now() + timedelta(seconds=retry_in + settings.DRAFTING_LEASE_SECONDS),
        )

    def mark_drafted(self, **recorded) -> None:
        """Drafted, with what the drafter reported (provider, credits, latency…)."""
        Batch.objects.filter(pk=self.pk).update(
            status=self.Status.DRAFTED, last_error="", finished_at=timezone.now(), lease_expires_at=None, **recorded
        )

    def mark_drafted_again(self, credits_used) -> None:
        """A repeated attempt found the post saved already: only what it was billed is added."""
        Batch.objects.filter(pk=self.pk).update(
            status=self.Status.DRAFTED, lease_expires_at=None, credits_used=credits_used
        )


class PostQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Post.Status.PUBLISHED)

    def create_drafted(self, batch: Batch, body: str, hold_reason: str, checked: Trace) -> "Post":
        post = self.create(
            event=batch.event,
            batch=batch,
            body=body,
            ai_assisted=True,
            hold_reason=hold_reason,
            checked=checked.passed,
            untraced=checked.untraced,
            traced_quotes=checked.traced_quotes,
        )
        post._log(None, PostAction.Kind.DRAFTED)
        # A picture the journalist sent from the studio goes with the event's next draft.
        waiting = Picture.objects.waiting(batch.event_id).values_list("pk", flat=True).first()
        if waiting is not None:
            Picture.objects.filter(pk=waiting, post__isnull=True).update(post=post)
        return post


class Post(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected"

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="posts")
    # One-to-one: the database refuses a second post for a batch, whatever retries happen.
    batch = models.OneToOneField(Batch, null=True, blank=True, on_delete=models.PROTECT, related_name="post")
    headline = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    publish_at = models.DateTimeField(null=True, blank=True, help_text="Publish automatically at this time.")
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    pinned = models.BooleanField(default=False)
    key_event = models.BooleanField(default=False)
    ai_assisted = models.BooleanField(default=False)
    hold_reason = models.CharField(
        "held for an editor because",
        max_length=300,
        blank=True,
        help_text="A generated draft that waits for an editor even on an auto-publishing event.",
    )
    checked = models.BooleanField(
        "quotes, numbers and names checked",
        default=False,
        help_text="A draft whose every quote, number and name is in what was said or in the event's own data.",
    )
    untraced = models.JSONField(
        default=list, blank=True, help_text="Quotes, numbers and names not traced to what was said, with why."
    )
    traced_quotes = models.JSONField(
        default=list, blank=True, help_text="Quotes found in the transcript, with where they were said."
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="authored_posts"
    )
    last_editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="edited_posts"
    )
    revision = models.PositiveIntegerField(default=1)
    correction = models.TextField(
        "correction note",
        max_length=CORRECTION_MAX_CHARS,
        blank=True,
        help_text="Shown to readers under the published post with the time it was made. Plain text.",
    )
    corrected_at = models.DateTimeField(null=True, blank=True, editable=False)
    change_seq = models.PositiveBigIntegerField(default=0, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "approved", "published", "rejected"]), name="post_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False), name="published_post_has_time"
            ),
            models.CheckConstraint(condition=~Q(body=""), name="post_body_not_empty"),
            models.CheckConstraint(condition=Q(revision__gte=1), name="post_revision_positive"),
            # The scheduler publishes what is due; only a post someone approved may be waiting for it.
            models.CheckConstraint(
                condition=Q(publish_at__isnull=True) | Q(status="approved"), name="scheduled_post_is_approved"
            ),
            models.UniqueConstraint(fields=["event"], condition=Q(pinned=True), name="one_pinned_post_per_event"),
        ]
        indexes = [models.Index(fields=["event", "change_seq"], name="post_event_change_idx")]
        permissions = [("publish_post", "Can publish, unpublish and pin posts")]

    def __str__(self) -> str:
        return self.headline or self.body[:60]

    def get_absolute_url(self) -> str:
        return reverse("events:post", args=[self.event.slug, self.pk])

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    # --- State changes. Each one is atomic, audited, and tells readers when they can see it. ---

    def _log(self, user, action: str, *, before: dict | None = None, after: dict | None = None) -> None:
        """The one place a post's history is written."""
        PostAction.objects.create(
            post=self,
            event_id=self.event_id,
            user=user if getattr(user, "pk", None) else None,
            action=action,
            before=before or {},
            after=after or {},
        )

    def write(self, user) -> None:
        """Save this new hand-written post as the user's."""
        with transaction.atomic():
            self.author = self.last_editor = user
            self.save()
            self._log(user, PostAction.Kind.CREATED)

    def _apply(self, user, action: str, *, content_changed: bool = False, **changes) -> None:
        with transaction.atomic():
            was_visible = Post.objects.filter(pk=self.pk, status=self.Status.PUBLISHED).exists() if self.pk else False
            before = {
                name: getattr(self, name)
                for name in TEXT_FIELDS
                if name in changes and changes[name] != getattr(self, name)
            }
            for field, value in changes.items():
                setattr(self, field, value)
            if content_changed and self.pk:
                self.revision += 1
            if user is not None and getattr(user, "is_authenticated", False):
                self.last_editor = user
            readers_see_it = was_visible or self.is_published
            if readers_see_it:
                self.change_seq = self.event.next_change_seq()
            self.save()
            self._log(user, action, before=before, after={name: getattr(self, name) for name in before})
            if readers_see_it:
                seq, event_id, slug = self.change_seq, self.event_id, self.event.slug
                transaction.on_commit(
                    lambda: event_changed.send(sender=Post, event_id=event_id, slug=slug, change_seq=seq)
                )

    def edit(self, user, *, headline: str, body: str, correction: str | None = None) -> None:
        """Change the text; `correction`, when given and new, is the note readers see under a published post."""
        correction = None if correction is None else clean_correction(correction)
        corrected = correction is not None and correction != self.correction
        if corrected and not self.is_published:
            raise ValueError("Only a published post takes a correction note: edit a draft freely.")
        if headline == self.headline and body == self.body and not corrected:
            return
        changes = {}
        if self.batch_id is not None and body != self.body:
            # The mark is for the text the editor sees: an edited draft is traced again (shown, not blocking).
            checked = self.batch.trace(body)
            changes = {"checked": checked.passed, "untraced": checked.untraced, "traced_quotes": checked.traced_quotes}
        if corrected:
            changes |= {"correction": correction, "corrected_at": timezone.now() if correction else None}
        kind = PostAction.Kind.CORRECTED if corrected and correction else PostAction.Kind.EDITED
        self._apply(user, kind, content_changed=True, headline=headline, body=body, **changes)

    def picture_changed(self, user) -> None:
        """A picture added, replaced or removed: a new revision, and readers told if they can see the post."""
        self._apply(user, PostAction.Kind.EDITED, content_changed=True)

    def approve(self, user) -> None:
        with transaction.atomic():
            self._apply(user, PostAction.Kind.APPROVED, status=self.Status.APPROVED)
            self._log_override(user)

    def _log_override(self, user) -> None:
        """An editor who lets through a draft the check could not trace is on the record, by name and time."""
        if self.untraced and not self.checked and getattr(user, "is_authenticated", False):
            self._log(user, PostAction.Kind.OVERRODE_CHECK)

    def publish(self, user=None) -> None:
        if self.is_published:
            return
        with transaction.atomic():
            self._publish(user)
            self._log_override(user)
            transaction.on_commit(lambda: _log_published(self, user))

    def _publish(self, user) -> None:
        self._apply(
            user,
            PostAction.Kind.PUBLISHED,
            status=self.Status.PUBLISHED,
            published_at=self.published_at or timezone.now(),
            publish_at=None,
        )

    def unpublish(self, user) -> None:
        self._apply(user, PostAction.Kind.UNPUBLISHED, status=self.Status.APPROVED, pinned=False)

    def reject(self, user) -> None:
        self._apply(user, PostAction.Kind.REJECTED, status=self.Status.REJECTED, pinned=False, publish_at=None)

    def schedule(self, user, when) -> None:
        """Publish at `when` (None: not at all). Scheduling is a decision to publish, so it approves the post."""
        if self.is_published:
            raise ValueError("This post is published already.")
        changes = {"publish_at": when}
        if when is not None:
            changes["status"] = self.Status.APPROVED
        with transaction.atomic():
            self._apply(user, PostAction.Kind.SCHEDULED, **changes)
            if when is not None:
                self._log_override(user)

    def set_pinned(self, user, pinned: bool) -> None:
        with transaction.atomic():
            if pinned:
                for other in Post.objects.select_for_update().filter(event_id=self.event_id, pinned=True):
                    if other.pk != self.pk:
                        other._apply(user, PostAction.Kind.UNPINNED, pinned=False)
            self._apply(user, PostAction.Kind.PINNED if pinned else PostAction.Kind.UNPINNED, pinned=pinned)

    def set_key_event(self, user, key_event: bool) -> None:
        kind = PostAction.Kind.MARKED_KEY if key_event else PostAction.Kind.UNMARKED_KEY
        self._apply(user, kind, key_event=key_event)


class PostActionQuerySet(models.QuerySet):
    def record_event_action(self, event: Event, user, kind: str) -> "PostAction":
        """Record that `event` went live or ended, by `user` (None: the system); the same again adds no row."""
        if kind not in PostAction.EVENT_KINDS:
            raise ValueError(f"Not an event's action: {kind!r}.")
        with transaction.atomic():
            # The event's row lock: the signal's record and a caller's own of the same change make one row, not two.
            list(Event.objects.select_for_update().filter(pk=event.pk).values_list("pk", flat=True))
            latest = self.filter(event_id=event.pk, post__isnull=True).order_by("-at", "-pk").first()
            if latest is not None and latest.action == kind:
                return latest
            return self.create(event_id=event.pk, user=user if getattr(user, "pk", None) else None, action=kind)


def _record_event_action(event_id: int, user, kind: str) -> None:
    event = Event.objects.filter(pk=event_id).first()
    if event is not None:
        PostAction.objects.record_event_action(event, user, kind)


def went_live_action_receiver(sender, *, event_id: int, user=None, **kwargs) -> None:
    """events.signals.event_went_live: in the event's history of who did what."""
    _record_event_action(event_id, user, PostAction.Kind.EVENT_LIVE)


def ended_action_receiver(sender, *, event_id: int, user=None, **kwargs) -> None:
    """events.signals.event_ended: in the event's history of who did what."""
    _record_event_action(event_id, user, PostAction.Kind.EVENT_ENDED)


class PostAction(models.Model):
    """Who did what to a post or an event, and when."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        DRAFTED = "drafted", "Drafted"
        EDITED = "edited", "Edited"
        CORRECTED = "corrected", "Edited with a correction note"
        APPROVED = "approved", "Approved"
        PUBLISHED = "published", "Published"
        UNPUBLISHED = "unpublished", "Unpublished"
        REJECTED = "rejected", "Rejected"
        SCHEDULED = "scheduled", "Scheduled"
        PINNED = "pinned", "Pinned"
        UNPINNED = "unpinned", "Unpinned"
        MARKED_KEY = "marked_key", "Marked key event"
        UNMARKED_KEY = "unmarked_key", "Unmarked key event"
        OVERRODE_CHECK = "overrode_check", "Approved against the check"
        EVENT_LIVE = "event_live", _("Event went live")
        EVENT_ENDED = "event_ended", _("Event ended")

    # The actions on the event itself, which concern no post.
    EVENT_KINDS = (Kind.EVENT_LIVE, Kind.EVENT_ENDED)

    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="actions")
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="post_actions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=16, choices=Kind.choices)
    # An edit's or a correction's changed TEXT_FIELDS, as they were and as they became.
    before = models.JSONField(_("text before"), default=dict, blank=True, editable=False)
    after = models.JSONField(_("text after"), default=dict, blank=True, editable=False)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = PostActionQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    action__in=[
                        "created",
                        "drafted",
                        "edited",
                        "corrected",
                        "approved",
                        "published",
                        "unpublished",
                        "rejected",
                        "scheduled",
                        "pinned",
                        "unpinned",
                        "marked_key",
                        "unmarked_key",
                        "overrode_check",
                        "event_live",
                        "event_ended",
                    ]
                ),
                name="post_action_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(post__isnull=True, action__in=["event_live", "event_ended"])
                | Q(post__isnull=False) & ~Q(action__in=["event_live", "event_ended"]),
                name="post_action_post_unless_event_kind",
            ),
        ]
        indexes = [models.Index(fields=["event", "-at"], name="post_action_event_recent_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.user or 'system'}"


class PictureQuerySet(models.QuerySet):
    def waiting(self, event_id: int):
        """Pictures a journalist sent from the studio that no post has taken yet, oldest first."""
        return self.filter(event_id=event_id, post__isnull=True).order_by("created_at", "pk")


class Picture(models.Model):
    """A post's picture: renditions only, re-encoded without metadata. One sent from the studio waits with
    its event (no post) until the event's next draft takes it."""

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="pictures")
    post = models.OneToOneField(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="picture")
    alt_text = models.CharField(
        max_length=300, help_text="What the picture shows, for readers who cannot see it. Required."
    )
    caption = models.CharField(max_length=300, blank=True)
    credit = models.CharField(max_length=120, blank=True)
    width = models.PositiveIntegerField(help_text="Of the largest rendition.")
    height = models.PositiveIntegerField(help_text="Of the largest rendition.")
    # [{"name": <file in the pictures storage>, "width": …, "height": …}, …], narrowest first
    renditions = models.JSONField(default=list)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="pictures"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PictureQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=~Q(alt_text=""), name="picture_has_alt_text")]

    def __str__(self) -> str:
        return self.alt_text[:60]

    def url(self, rendition: dict) -> str:
        return storages["pictures"].url(rendition["name"])

    @property
    def src(self) -> str:
        """The largest rendition: the fallback src, og:image, JSON-LD and feeds."""
        return self.url(self.renditions[-1])

    @property
    def thumbnail(self) -> str:
        return self.url(self.renditions[0])

    @property
    def srcset(self) -> str:
        return ", ".join(f"{self.url(rendition)} {rendition['width']}w" for rendition in self.renditions)

    @property
    def media_type(self) -> str:
        extension = self.renditions[-1]["name"].rsplit(".", 1)[-1]
        return {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[extension]


class QuoteClip(models.Model):
    """A public copy of the audio of one checked quote in a published post, for readers to hear."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="quote_clips")
    index = models.PositiveSmallIntegerField(help_text="The quote's place in the post's traced quotes.")
    quote = models.TextField()
    session = models.ForeignKey("transcription.StreamSession", on_delete=models.CASCADE, related_name="quote_clips")
    start = models.FloatField(help_text="Seconds from the start of the session's audio.")
    end = models.FloatField()
    name = models.CharField(max_length=255, help_text="The file in the clips storage.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["post", "index"], name="quote_clip_unique_per_post_index"),
            models.CheckConstraint(condition=Q(start__gte=0) & Q(end__gt=F("start")), name="quote_clip_times_ordered"),
        ]

    def __str__(self) -> str:
        return self.quote[:60]


class AlertQuerySet(models.QuerySet):
    def raise_alert(self, kind: str, event_id: int, message: str) -> "Alert":
        """Record the alert; its delivery is a task enqueued on commit, so a dead webhook holds up nothing,
        and a broker that refuses the task is logged, not raised."""
        webhook = bool(settings.ALERT_WEBHOOK_URL)
        alert = self.create(
            kind=kind,
            event_id=event_id,
            message=message[:2000],
            delivery=Alert.Delivery.PENDING if webhook else Alert.Delivery.NOT_SENT,
        )
        log.warning("alert %s (%s) for event %s: %s", alert.pk, kind, event_id, message)
        if webhook:
            transaction.on_commit(lambda: enqueue_alert_delivery(alert.pk), robust=True)
        return alert


class Alert(models.Model):
    """Something the desk must hear of at once: shown in admin and the event's queue, posted to the webhook."""

    class Kind(models.TextChoices):
        BATCH_FAILED = "batch_failed", "Batch failed"
        STREAM_FAILED = "stream_failed", "Stream failed"
        DRAFTING_PAUSED = "drafting_paused", "Drafting paused by the credit cap"
        STORAGE_UNAVAILABLE = "storage_unavailable", "Stream stopped: storage unavailable"
        ENDED_WHILE_STREAMING = "ended_streaming", "Event ended while streaming"

    class Delivery(models.TextChoices):
        NOT_SENT = "not_sent", "No webhook set"
        PENDING = "pending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Could not be delivered"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="alerts")
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivery = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.NOT_SENT)
    attempts = models.PositiveIntegerField(default=0, help_text="Posts to the webhook so far.")
    last_error = models.TextField(blank=True, help_text="Why the last post to the webhook failed.")
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["event", "-created_at"], name="alert_event_recent_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.event}"
