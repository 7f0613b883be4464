"""Batches of segments and the posts drafted from them, with every change of their state."""

import logging
import re
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.db import DatabaseError, IntegrityError, OperationalError, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from events.languages import CODES as LANGUAGE_CODES
from events.languages import language_choices
from events.models import Event
from events.sentences import Sentence, as_stored, in_site_language, shown
from events.signals import event_changed
from publishing.embed_providers import providers as embed_providers
from publishing.queueing import (
    enqueue_alert_delivery,
    enqueue_drafting,
    enqueue_summary_drafting,
    enqueue_translation,
)
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


def sources_of(event: Event, segments: list[Segment]) -> Sources:
    """What a text drawn from these segments (in spoken order, sessions selected) may be traced to: their words as
    corrected by editors, the speaker names and labels, and the event's own details."""
    speakers = Speakers.for_event(event.pk)
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
    with translation.override(event.post_language):  # as the brief labels them for the drafter
        labels = {speakers.label(segment) for segment in segments} - {""}
    names = SpeakerName.objects.filter(session__event_id=event.pk).values_list("name", flat=True)
    zone = zoneinfo.ZoneInfo(event.timezone)
    return Sources(
        spoken,
        context=[*labels, *names, event.title, event.description, *event.glossary_terms, event.style_notes],
        dates=[moment.astimezone(zone) for moment in (event.starts_at, event.ends_at) if moment],
        language=event.post_language,
    )


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_correction(text: str) -> str:
    """A correction note as stored: plain text (pages escape it), without control characters or edge spaces."""
    text = _CONTROL_CHARACTERS.sub("", text).strip()
    if len(text) > CORRECTION_MAX_CHARS:
        raise ValueError(
            gettext("A correction note has at most %(limit)d characters, not %(count)d.")
            % {"limit": CORRECTION_MAX_CHARS, "count": len(text)}
        )
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
                # Each segment's own event's new batch: one subquery, where a CASE branch per event grows with the tick.
                new = Batch.objects.filter(pk__in=[b.pk for b in batches])
                owner = Subquery(new.filter(event_id=OuterRef("event_id")).values("pk"))
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
                    status=Batch.Status.PENDING, stopped_by_cap=False, lease_expires_at=lease_deadline()
                ):
                    retried += 1
                    transaction.on_commit(lambda pk=pk: enqueue_drafting(pk))
        return retried

    def requeue_stale(self) -> list[int]:
        """Batches no worker is drafting any more (lost message, killed worker): pending again, enqueued again."""
        lapsed = self.filter(
            status__in=[Batch.Status.PENDING, Batch.Status.DRAFTING], lease_expires_at__lt=timezone.now()
        )
        with transaction.atomic():
            # Locked as listed (SQLite: the transaction holds the write lock), so no worker claims one between the
            # list and the update; a row a worker is claiming right now is left to the next tick.
            requeued = list(lapsed.select_for_update(skip_locked=True).values_list("pk", flat=True)[:500])
            if requeued:
                lapsed.filter(pk__in=requeued).update(status=Batch.Status.PENDING, lease_expires_at=lease_deadline())
                transaction.on_commit(lambda: enqueue_drafting(*requeued))
        return requeued


class Batch(models.Model):
    """Segments sent together for drafting. Each segment belongs to at most one batch."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DRAFTING = "drafting", _("Drafting")
        DRAFTED = "drafted", _("Drafted")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="batches", verbose_name=_("event"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True, verbose_name=_("status")
    )
    is_final = models.BooleanField(
        default=False, help_text=_("Flushed when a stream stopped or the event ended."), verbose_name=_("final batch")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    # last_error as its msgid and arguments (events.sentences), for each editor's language; None: shown as stored.
    error_sentence = models.JSONField(null=True, blank=True, editable=False, verbose_name=_("last error sentence"))
    provider = models.CharField(
        max_length=32, blank=True, help_text=_("Drafter that answered: mavera or offline."), verbose_name=_("provider")
    )
    endpoint = models.CharField(max_length=32, blank=True, verbose_name=_("endpoint"))
    request_id = models.CharField(max_length=128, blank=True, verbose_name=_("request ID"))
    credits_used = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("credits used"))
    # Held against the event's credit cap while this batch is being drafted under a live lease (publishing.credits).
    credits_reserved = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("credits reserved"))
    # Failed because the credit cap paused drafting: queued again once the cap has room (publishing.credits).
    stopped_by_cap = models.BooleanField(default=False, editable=False, verbose_name=_("stopped by the credit cap"))
    latency_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("latency (ms)"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))
    drafting_started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("drafting started at"))
    # Pending: when to enqueue again if no worker picked it up. Drafting: when a dead worker's claim lapses.
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("lease expires at"))
    brief_parts = models.PositiveIntegerField(
        default=1,
        help_text=_("Parts a long transcript was drafted in: summarised in steps, never cut."),
        verbose_name=_("brief parts"),
    )
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    objects = BatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "drafting", "drafted", "failed"]), name="batch_status_valid"
            ),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(last_error=""), name="failed_batch_has_error"),
        ]

    def __str__(self) -> str:
        return gettext("Batch %(number)s · %(event)s · %(status)s") % {
            "number": self.pk,
            "event": self.event,
            "status": self.get_status_display(),
        }

    def transcript(self) -> str:
        return " ".join(segment.text for segment in self.segments.in_order())

    def why_failed(self) -> str:
        """Why it failed, in the active language (technical detail, such as the drafter's answer, as recorded)."""
        if self.stopped_by_cap:
            return gettext("Stopped by the credit cap: drafted once the cap has room.")
        return shown(self.error_sentence, self.last_error)

    def trace(self, text: str) -> Trace:
        """`text`'s quotes, numbers and names looked up in what this batch's speakers said (as corrected by
        editors), the speaker names and the event's own details."""
        return trace(text, self.sources())

    def sources(self) -> Sources:
        return sources_of(self.event, list(self.segments.in_order().select_related("session")))

    # --- State changes after the claim. Each one applies only while this worker still holds the batch. ---

    def fail(self, message: str | Sentence, *, alert: bool = True, by_cap: bool = False) -> None:
        """Failed, for an editor to retry; `alert` False when the desk knows why already (drafting paused);
        `by_cap` when the credit cap stopped it."""
        failed = Batch.objects.filter(pk=self.pk, status=self.Status.DRAFTING).update(
            status=self.Status.FAILED,
            stopped_by_cap=by_cap,
            last_error=in_site_language(message)[:2000] or "failed",
            error_sentence=as_stored(message),
            finished_at=timezone.now(),
            lease_expires_at=None,
        )
        if failed and alert:  # the alert is the one line the console shows
            said = Sentence.gettext("Batch %(number)d failed: %(message)s", number=self.pk, message=message)
            Alert.objects.raise_alert(Alert.Kind.BATCH_FAILED, self.event_id, said)
        else:
            log.debug("batch %s failed: %s", self.pk, message)

    def hand_back(self, message: str, retry_in: float) -> None:
        """Back to pending for a later attempt; the sweep re-enqueues it if the retry message is lost."""
        Batch.objects.filter(pk=self.pk, status=self.Status.DRAFTING).update(
            status=self.Status.PENDING,
            last_error=message[:2000],
            error_sentence=None,
            lease_expires_at=timezone.now() + timedelta(seconds=retry_in + settings.DRAFTING_LEASE_SECONDS),
        )

    def mark_drafted(self, **recorded) -> None:
        """Drafted, with what the drafter reported (provider, credits, latency…)."""
        Batch.objects.filter(pk=self.pk).update(
            status=self.Status.DRAFTED,
            last_error="",
            error_sentence=None,
            finished_at=timezone.now(),
            lease_expires_at=None,
            **recorded,
        )

    def mark_drafted_again(self, credits_used) -> None:
        """A repeated attempt found the post saved already: only what it was billed is added."""
        Batch.objects.filter(pk=self.pk).update(
            status=self.Status.DRAFTED, lease_expires_at=None, credits_used=credits_used
        )


class PostQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Post.Status.PUBLISHED)

    def create_drafted(self, batch: Batch, body: str, held: list[Sentence], checked: Trace) -> "Post":
        """The batch's draft; `held`: why it waits for an editor (publishing.drafting.hold_reasons), [] when it need
        not."""
        post = self.create(
            event=batch.event,
            batch=batch,
            kind=Post.Kind.DRAFTED,
            body=body,
            ai_assisted=True,
            hold_reason=held_in_site_language(held),
            hold_sentences=[reason.as_json() for reason in held],
            checked=checked.passed,
            untraced=checked.untraced,
            traced_quotes=checked.traced_quotes,
            **spoken_between(batch.segments.all()),
        )
        post._log(None, PostAction.Kind.DRAFTED)
        # A picture the journalist sent from the studio goes with the event's next draft.
        waiting = Picture.objects.waiting(batch.event_id).values_list("pk", flat=True).first()
        if waiting is not None:
            Picture.objects.filter(pk=waiting, post__isnull=True).update(post=post)
        return post


def in_one_sentence(reasons: list[str]) -> str:
    """Why a draft is held, in one sentence: "It has 15 words, fewer than 40; …"; "" for no reason."""
    text = "; ".join(reasons)
    return text[:1].upper() + text[1:] + "." if text else ""


def held_in_site_language(held: list[Sentence]) -> str:
    """Why a draft is held, as stored beside its sentences for search, logs and rows read before they were kept."""
    text = in_one_sentence([in_site_language(reason) for reason in held])
    return text[: Post._meta.get_field("hold_reason").max_length]


def spoken_between(segments) -> dict:
    """`spoken_from` and `spoken_until` of a post drawn from `segments`: its first word and its last."""
    times = [(s.spoken_at, s.spoken_at + timedelta(seconds=max(0.0, s.end - s.start))) for s in segments if s.spoken_at]
    if not times:
        return {}
    return {"spoken_from": min(t[0] for t in times), "spoken_until": max(t[1] for t in times)}


class Post(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")

    class Kind(models.TextChoices):
        DRAFTED = "drafted", _("AI draft")
        WRITTEN = "written", _("Hand-written")
        # A speaker's exact words from stored segments, flashed from the studio (publishing.authored).
        QUOTE = "quote", _("Quote")

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="posts", verbose_name=_("event"))
    # One-to-one: the database refuses a second post for a batch, whatever retries happen.
    batch = models.OneToOneField(
        Batch, null=True, blank=True, on_delete=models.PROTECT, related_name="post", verbose_name=_("batch")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.WRITTEN, verbose_name=_("kind"))
    headline = models.CharField(max_length=200, blank=True, verbose_name=_("headline"))
    body = models.TextField(verbose_name=_("body"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True, verbose_name=_("status")
    )
    publish_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Publish automatically at this time."), verbose_name=_("publish at")
    )
    published_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("published at"))
    pinned = models.BooleanField(default=False, verbose_name=_("pinned"))
    key_event = models.BooleanField(default=False, verbose_name=_("key event"))
    ai_assisted = models.BooleanField(default=False, verbose_name=_("ai assisted"))
    hold_reason = models.CharField(
        _("held for an editor because"),
        max_length=300,
        blank=True,
        help_text=_("A generated draft that waits for an editor even on an auto-publishing event."),
    )
    # hold_reason (in the site's language) as the msgid and arguments of each reason (events.sentences), for each
    # editor's language (why_held()); [] on drafts held before they were kept, which show hold_reason.
    hold_sentences = models.JSONField(default=list, blank=True, editable=False, verbose_name=_("hold reasons"))
    checked = models.BooleanField(
        _("quotes, numbers and names checked"),
        default=False,
        help_text=_("A draft whose every quote, number and name is in what was said or in the event's own data."),
    )
    untraced = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Quotes, numbers and names not traced to what was said, with why."),
        verbose_name=_("untraced"),
    )
    traced_quotes = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Quotes found in the transcript, with where they were said."),
        verbose_name=_("traced quotes"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="authored_posts",
        verbose_name=_("author"),
    )
    # A quote's source: the segments it was flashed from, which an edit of its text is traced to again.
    quoted_segments = models.ManyToManyField(
        "transcription.Segment", blank=True, related_name="quoted_in", verbose_name=_("quoted segments")
    )
    spoken_from = models.DateTimeField(
        _("first words spoken"), null=True, blank=True, editable=False, help_text=_("When its first words were said.")
    )
    spoken_until = models.DateTimeField(
        _("last words spoken"), null=True, blank=True, editable=False, help_text=_("When its last words were said.")
    )
    last_editor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="edited_posts",
        verbose_name=_("last editor"),
    )
    revision = models.PositiveIntegerField(default=1, verbose_name=_("revision"))
    correction = models.TextField(
        _("correction note"),
        max_length=CORRECTION_MAX_CHARS,
        blank=True,
        help_text=_("Shown to readers under the published post with the time it was made. Plain text."),
    )
    corrected_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("corrected at"))
    change_seq = models.PositiveBigIntegerField(
        default=0, db_index=True, editable=False, verbose_name=_("change number")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
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
            models.CheckConstraint(condition=Q(kind__in=["drafted", "written", "quote"]), name="post_kind_valid"),
            # A quote's source is its own segments (traced_quotes), never a batch.
            models.CheckConstraint(condition=~Q(kind="quote") | Q(batch__isnull=True), name="quote_post_has_no_batch"),
        ]
        indexes = [models.Index(fields=["event", "change_seq"], name="post_event_change_idx")]
        permissions = [
            ("publish_post", "Can publish, unpublish and pin posts"),
            ("publish_own_post", "Can publish their own studio posts at once, on events that allow it"),
        ]

    def __str__(self) -> str:
        return self.headline or self.body[:60]

    def get_absolute_url(self) -> str:
        return reverse("events:post", args=[self.event.slug, self.pk])

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def why_held(self) -> str:
        """Why it waits for an editor, in the active language ("" when it does not)."""
        reasons = [shown(stored, "") for stored in self.hold_sentences]
        if not reasons or not all(reasons):
            return self.hold_reason
        return in_one_sentence(reasons)

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
            self._follow_editions(was_visible, content_changed, retold="headline" in before or "body" in before)

    def _follow_editions(self, was_visible: bool, content_changed: bool, *, retold: bool) -> None:
        """Reader editions follow the post: translated once committed when it is published or its words change;
        a new revision that leaves its words as they were (a picture, a correction note) keeps its translations."""
        if not (self.is_published and self.event.editions):
            return
        if retold or not was_visible:
            post_id = self.pk
            transaction.on_commit(lambda: enqueue_translation(post_id), robust=True)
        elif content_changed:
            PostTranslation.objects.filter(post=self, source_revision=self.revision - 1).update(
                source_revision=self.revision
            )

    def edit(self, user, *, headline: str, body: str, correction: str | None = None) -> None:
        """Change the text; `correction`, when given and new, is the note readers see under a published post."""
        correction = None if correction is None else clean_correction(correction)
        corrected = correction is not None and correction != self.correction
        if corrected and not self.is_published:
            raise ValueError(gettext("Only a published post takes a correction note: edit a draft freely."))
        if headline == self.headline and body == self.body and not corrected:
            return
        changes = {}
        if body != self.body and (self.batch_id is not None or self.kind == self.Kind.QUOTE):
            # The mark is for the text the editor sees: an edited draft is traced again (shown, not blocking).
            checked = self.trace(body)
            changes = {"checked": checked.passed, "untraced": checked.untraced, "traced_quotes": checked.traced_quotes}
        if corrected:
            changes |= {"correction": correction, "corrected_at": timezone.now() if correction else None}
        kind = PostAction.Kind.CORRECTED if corrected and correction else PostAction.Kind.EDITED
        self._apply(user, kind, content_changed=True, headline=headline, body=body, **changes)

    def trace(self, text: str) -> Trace:
        """`text` traced to this post's source: its batch, or for a quote the segments it was flashed from."""
        if self.batch_id is not None:
            return self.batch.trace(text)
        segments = self.quoted_segments.filter(event_id=self.event_id).select_related("session").in_order()
        return trace(text, sources_of(self.event, list(segments)))

    def picture_changed(self, user) -> None:
        """A picture added, replaced or removed: a new revision, and readers told if they can see the post."""
        self._apply(user, PostAction.Kind.EDITED, content_changed=True)

    def embeds_changed(self, user) -> None:
        """An embed added or removed: as with a picture (publishing.embeds)."""
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
        event_id = self.event_id
        # The story so far may be due with this post: claimed once committed, drafted by the worker.
        transaction.on_commit(lambda: claim_summary_after_publish(event_id), robust=True)

    def unpublish(self, user) -> None:
        self._apply(user, PostAction.Kind.UNPUBLISHED, status=self.Status.APPROVED, pinned=False)

    def reject(self, user) -> None:
        self._apply(user, PostAction.Kind.REJECTED, status=self.Status.REJECTED, pinned=False, publish_at=None)

    def schedule(self, user, when) -> None:
        """Publish at `when` (None: not at all). Scheduling is a decision to publish, so it approves the post."""
        if self.is_published:
            raise ValueError(gettext("This post is published already."))
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
        CREATED = "created", _("Created")
        DRAFTED = "drafted", _("Drafted")
        EDITED = "edited", _("Edited")
        CORRECTED = "corrected", _("Edited with a correction note")
        APPROVED = "approved", _("Approved")
        PUBLISHED = "published", _("Published")
        UNPUBLISHED = "unpublished", _("Unpublished")
        REJECTED = "rejected", _("Rejected")
        SCHEDULED = "scheduled", _("Scheduled")
        PINNED = "pinned", _("Pinned")
        UNPINNED = "unpinned", _("Unpinned")
        MARKED_KEY = "marked_key", _("Marked key event")
        UNMARKED_KEY = "unmarked_key", _("Unmarked key event")
        OVERRODE_CHECK = "overrode_check", _("Approved against the check")
        EVENT_LIVE = "event_live", _("Event went live")
        EVENT_ENDED = "event_ended", _("Event ended")

    # The actions on the event itself, which concern no post.
    EVENT_KINDS = (Kind.EVENT_LIVE, Kind.EVENT_ENDED)

    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="actions", verbose_name=_("post")
    )
    event = models.ForeignKey(
        "events.Event", on_delete=models.CASCADE, related_name="post_actions", verbose_name=_("event")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("user")
    )
    action = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("action"))
    # An edit's or a correction's changed TEXT_FIELDS, as they were and as they became.
    before = models.JSONField(_("text before"), default=dict, blank=True, editable=False)
    after = models.JSONField(_("text after"), default=dict, blank=True, editable=False)
    at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("at"))

    objects = PostActionQuerySet.as_manager()

    class Meta:
        verbose_name = _("post action")
        verbose_name_plural = _("post actions")
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
        return gettext("%(action)s by %(who)s") % {
            "action": self.get_action_display(),
            "who": self.user or gettext("system"),
        }


class PictureQuerySet(models.QuerySet):
    def waiting(self, event_id: int):
        """Pictures a journalist sent from the studio that no post has taken yet, oldest first."""
        return self.filter(event_id=event_id, post__isnull=True).order_by("created_at", "pk")


class Picture(models.Model):
    """A post's picture: renditions only, re-encoded without metadata. One sent from the studio waits with
    its event (no post) until the event's next draft takes it."""

    event = models.ForeignKey(
        "events.Event", on_delete=models.CASCADE, related_name="pictures", verbose_name=_("event")
    )
    post = models.OneToOneField(
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="picture", verbose_name=_("post")
    )
    alt_text = models.CharField(
        max_length=300,
        help_text=_("What the picture shows, for readers who cannot see it. Required."),
        verbose_name=_("alt text"),
    )
    caption = models.CharField(max_length=300, blank=True, verbose_name=_("caption"))
    credit = models.CharField(max_length=120, blank=True, verbose_name=_("credit"))
    width = models.PositiveIntegerField(help_text=_("Of the largest rendition."), verbose_name=_("width"))
    height = models.PositiveIntegerField(help_text=_("Of the largest rendition."), verbose_name=_("height"))
    # [{"name": <file in the pictures storage>, "width": …, "height": …}, …], narrowest first
    renditions = models.JSONField(default=list, verbose_name=_("renditions"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pictures",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = PictureQuerySet.as_manager()

    class Meta:
        verbose_name = _("picture")
        verbose_name_plural = _("pictures")
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

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="quote_clips", verbose_name=_("post"))
    index = models.PositiveSmallIntegerField(
        help_text=_("The quote's place in the post's traced quotes."), verbose_name=_("index")
    )
    quote = models.TextField(verbose_name=_("quote"))
    session = models.ForeignKey(
        "transcription.StreamSession", on_delete=models.CASCADE, related_name="quote_clips", verbose_name=_("session")
    )
    start = models.FloatField(help_text=_("Seconds from the start of the session's audio."), verbose_name=_("start"))
    end = models.FloatField(verbose_name=_("end"))
    name = models.CharField(max_length=255, help_text=_("The file in the clips storage."), verbose_name=_("name"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("quote clip")
        verbose_name_plural = _("quote clips")
        ordering = ["post_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["post", "index"], name="quote_clip_unique_per_post_index"),
            models.CheckConstraint(condition=Q(start__gte=0) & Q(end__gt=F("start")), name="quote_clip_times_ordered"),
        ]

    def __str__(self) -> str:
        return self.quote[:60]


class AlertQuerySet(models.QuerySet):
    def raise_alert(self, kind: str, event_id: int, message: str | Sentence) -> "Alert":
        """Record the alert, a Sentence to be shown in each editor's language; its delivery is a task enqueued on
        commit, so a dead webhook holds up nothing, and a broker that refuses the task is logged, not raised."""
        webhook = bool(settings.ALERT_WEBHOOK_URL)
        text = in_site_language(message)
        alert = self.create(
            kind=kind,
            event_id=event_id,
            message=text[:2000],
            sentence=as_stored(message),
            delivery=Alert.Delivery.PENDING if webhook else Alert.Delivery.NOT_SENT,
        )
        log.warning("alert %s (%s) for event %s: %s", alert.pk, kind, event_id, text)
        if webhook:
            transaction.on_commit(lambda: enqueue_alert_delivery(alert.pk), robust=True)
        return alert


class Alert(models.Model):
    """Something the desk must hear of at once: shown in admin and the event's queue, posted to the webhook."""

    class Kind(models.TextChoices):
        BATCH_FAILED = "batch_failed", _("Batch failed")
        STREAM_FAILED = "stream_failed", _("Stream failed")
        DRAFTING_PAUSED = "drafting_paused", _("Drafting paused by the credit cap")
        STORAGE_UNAVAILABLE = "storage_unavailable", _("Stream stopped: storage unavailable")
        ENDED_WHILE_STREAMING = "ended_streaming", _("Event ended while streaming")

    class Delivery(models.TextChoices):
        NOT_SENT = "not_sent", _("No webhook set")
        PENDING = "pending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Could not be delivered")

    kind = models.CharField(max_length=32, choices=Kind.choices, verbose_name=_("kind"))
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="alerts", verbose_name=_("event"))
    # In the site's language, for the log, the webhook and search; `sentence` (events.sentences) writes it out in
    # each editor's (text()), and is None on rows raised before it was kept.
    message = models.TextField(verbose_name=_("message"))
    sentence = models.JSONField(null=True, blank=True, editable=False, verbose_name=_("message sentence"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))
    delivery = models.CharField(
        max_length=16, choices=Delivery.choices, default=Delivery.NOT_SENT, verbose_name=_("delivery")
    )
    attempts = models.PositiveIntegerField(
        default=0, help_text=_("Posts to the webhook so far."), verbose_name=_("attempts")
    )
    last_error = models.TextField(
        blank=True, help_text=_("Why the last post to the webhook failed."), verbose_name=_("last error")
    )
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["event", "-created_at"], name="alert_event_recent_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.event}"

    def text(self) -> str:
        """The message in the active language."""
        return shown(self.sentence, self.message)


# --- The story so far (publishing.summaries drafts and publishes it; docs/architecture.md, *The story so far*) ---

# Published posts an event needs before the beat or a publish drafts its first summary (an editor may ask sooner).
SUMMARY_MIN_POSTS = 3
SUMMARY_MIN_POINTS = 3
SUMMARY_MAX_POINTS = 5
SUMMARY_POINT_MAX_CHARS = 300
_EPOCH = datetime(1970, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))


class SummaryQuerySet(models.QuerySet):
    def current(self, event_id: int) -> "Summary | None":
        """The version readers see, if any."""
        return self.filter(event_id=event_id, status=Summary.Status.PUBLISHED).first()

    def waiting(self, event_id: int) -> "Summary | None":
        """The drafted version waiting for an editor, if any."""
        return self.filter(event_id=event_id, status=Summary.Status.DRAFT).order_by("-version").first()

    def due(self, now: datetime | None = None) -> list[tuple[int, str]]:
        """Live events whose story so far is due, with why, in one query: N new published posts since the last
        summary, or M minutes and at least one; never while one is being drafted or drafting is paused."""
        now = now or timezone.now()
        latest = self.filter(event=OuterRef("pk")).order_by("-version").values("created_at")[:1]
        published = Post.objects.filter(event=OuterRef("pk"), status=Post.Status.PUBLISHED)
        counted = published.order_by().values("event").annotate(n=Count("pk")).values("n")
        rows = (
            Event.objects.live()
            .drafting_on()
            .annotate(
                last_summary=Subquery(latest),
                busy=Exists(self.filter(event=OuterRef("pk"), status__in=Summary.IN_PROGRESS)),
                total=Coalesce(Subquery(counted), 0),
            )
            .filter(busy=False, total__gte=SUMMARY_MIN_POSTS)
            .annotate(
                new=Coalesce(
                    Subquery(
                        published.filter(published_at__gt=Coalesce(OuterRef("last_summary"), Value(_EPOCH)))
                        .order_by()
                        .values("event")
                        .annotate(n=Count("pk"))
                        .values("n")
                    ),
                    0,
                )
            )
            .values_list("pk", "starts_at", "last_summary", "new", "summary_every_posts", "summary_every_minutes")
        )
        due = []
        for pk, starts_at, last, new, every_posts, every_minutes in rows:
            trigger = _summary_trigger(new, last or starts_at, every_posts, every_minutes, now)
            if trigger:
                due.append((pk, trigger))
        return due

    def claim(self, event_id: int, *, trigger: str = "", now: datetime | None = None) -> "Summary | None":
        """A new version to draft, if one is due (or an editor asked: trigger EDITOR), claimed once under the event's
        row lock; the database's one-in-progress and per-version constraints refuse a racing second claim."""
        now = now or timezone.now()
        try:
            with transaction.atomic():
                event = Event.objects.select_for_update().filter(pk=event_id).first()
                if event is None or event.drafting_paused:
                    return None
                if self.filter(event_id=event_id, status__in=Summary.IN_PROGRESS).exists():
                    return None
                last = self.filter(event_id=event_id).order_by("-version").first()
                published = Post.objects.published().filter(event_id=event_id)
                total = published.count()
                if trigger != Summary.Trigger.EDITOR:
                    new = published.filter(published_at__gt=last.created_at).count() if last else total
                    reference = last.created_at if last else event.starts_at
                    every = (event.summary_every_posts, event.summary_every_minutes)
                    trigger = _summary_trigger(new, reference, *every, now) if total >= SUMMARY_MIN_POSTS else ""
                if not trigger or not total:
                    return None
                summary = self.create(
                    event_id=event_id,
                    version=last.version + 1 if last else 1,
                    trigger=trigger,
                    created_at=now,
                    lease_expires_at=lease_deadline(),
                )
                transaction.on_commit(lambda: _enqueue_summary(summary.pk))
        except (IntegrityError, OperationalError):
            return None  # another claimer took it (or a deadlock rolled this one back): one draft per trigger
        return summary

    def start_drafting(self, summary_id: int) -> "Summary | None":
        """Claim the version for this worker: a compare-and-set on its status, with a lease a dead worker loses."""
        now = timezone.now()
        claimable = Q(status=Summary.Status.PENDING) | Q(status=Summary.Status.DRAFTING, lease_expires_at__lt=now)
        claimed = self.filter(claimable, pk=summary_id).update(
            status=Summary.Status.DRAFTING, attempts=F("attempts") + 1, lease_expires_at=lease_deadline()
        )
        return self.select_related("event").get(pk=summary_id) if claimed else None

    def requeue_stale(self) -> list[int]:
        """Versions no worker is drafting any more (lost message, killed worker): pending again, enqueued again."""
        lapsed = self.filter(status__in=Summary.IN_PROGRESS, lease_expires_at__lt=timezone.now())
        requeued = []
        for pk in list(lapsed.values_list("pk", flat=True)[:500]):
            with transaction.atomic():
                if lapsed.filter(pk=pk).update(status=Summary.Status.PENDING, lease_expires_at=lease_deadline()):
                    requeued.append(pk)
                    transaction.on_commit(lambda pk=pk: _enqueue_summary(pk))
        return requeued


def _summary_trigger(new: int, since: datetime, every_posts: int, every_minutes: int, now: datetime) -> str:
    if new >= every_posts:
        return Summary.Trigger.POSTS
    if new and now - since >= timedelta(minutes=every_minutes):
        return Summary.Trigger.MINUTES
    return ""


def _enqueue_summary(summary_id: int) -> None:
    try:
        enqueue_summary_drafting(summary_id)
    except Exception as exc:  # the version waits with its lease: the beat's requeue_stale sends it again
        log.warning("summary %s not enqueued yet (%s): it is sent again once its lease lapses", summary_id, exc)


def claim_summary_after_publish(event_id: int) -> None:
    """After a publish commits: the story so far, if that post makes it due (drafted by the worker). The publish
    stands whatever happens here; the beat's tick finds what a failure here missed."""
    try:
        Summary.objects.claim(event_id)
    except DatabaseError as exc:
        log.warning("no summary claimed for event %s after a publish (%s): the beat looks again", event_id, exc)


class Summary(models.Model):
    """One version of an event's story so far: 3-5 points drafted from its published posts, which only an editor
    publishes; earlier versions are kept."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be drafted")
        DRAFTING = "drafting", _("Being drafted")
        DRAFT = "draft", _("Waiting for an editor")
        PUBLISHED = "published", _("Published")
        REPLACED = "replaced", _("Replaced by a later version")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        POSTS = "posts", _("New published posts")
        MINUTES = "minutes", _("Time since the last summary")
        EDITOR = "editor", _("An editor asked for it")

    IN_PROGRESS = (Status.PENDING, Status.DRAFTING)

    event = models.ForeignKey(
        "events.Event", on_delete=models.CASCADE, related_name="summaries", verbose_name=_("event")
    )
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    trigger = models.CharField(_("drafted because of"), max_length=16, choices=Trigger.choices)
    points = models.JSONField(_("points"), default=list, blank=True)
    source_post_ids = models.JSONField(_("drafted from the published posts"), default=list, blank=True)
    checked = models.BooleanField(_("quotes, numbers and names checked"), default=False)
    untraced = models.JSONField(
        _("untraced"), default=list, blank=True, help_text=_("Each untraced quote, number or name, with its point.")
    )
    overrode_check = models.BooleanField(_("published against the check"), default=False)
    created_at = models.DateTimeField(_("claimed at"), default=timezone.now, db_index=True)
    drafted_at = models.DateTimeField(_("drafted at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="published_summaries",
        verbose_name=_("published by"),
    )
    # Readers' cursor: publishing or withdrawing takes the event's next change number (Event.next_change_seq).
    change_seq = models.PositiveBigIntegerField(default=0, editable=False, verbose_name=_("change number"))
    provider = models.CharField(max_length=32, blank=True, verbose_name=_("provider"))
    endpoint = models.CharField(max_length=32, blank=True, verbose_name=_("endpoint"))
    request_id = models.CharField(max_length=128, blank=True, verbose_name=_("request ID"))
    credits_used = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("credits used"))
    credits_reserved = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("credits reserved"))
    latency_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("latency (ms)"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("lease expires at"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    # last_error as its msgid and arguments (events.sentences), for each editor's language; None: shown as stored.
    error_sentence = models.JSONField(null=True, blank=True, editable=False, verbose_name=_("last error sentence"))

    objects = SummaryQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("story so far")
        verbose_name_plural = _("stories so far")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending",
                        "drafting",
                        "draft",
                        "published",
                        "replaced",
                        "withdrawn",
                        "rejected",
                        "failed",
                    ]
                ),
                name="summary_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(trigger__in=["posts", "minutes", "editor"]), name="summary_trigger_valid"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="summary_version_positive"),
            models.UniqueConstraint(fields=["event", "version"], name="summary_one_per_event_version"),
            # One version drafted at a time, and one readers see: the claim's and the publish's compare-and-set.
            models.UniqueConstraint(
                fields=["event"], condition=Q(status__in=["pending", "drafting"]), name="summary_one_in_progress"
            ),
            models.UniqueConstraint(fields=["event"], condition=Q(status="published"), name="summary_one_published"),
            # Never published without an editor: who and when, always.
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False, published_by__isnull=False),
                name="published_summary_has_editor",
            ),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(last_error=""), name="failed_summary_has_error"),
        ]
        indexes = [models.Index(fields=["event", "status"], name="summary_event_status_idx")]

    def __str__(self) -> str:
        return f"{self.event} · v{self.version} · {self.get_status_display()}"

    @property
    def is_held(self) -> bool:
        """Waits for an editor's explicit override: an untraced item, or too few points."""
        return bool(self.untraced) or len(self.points) < SUMMARY_MIN_POINTS

    # --- State changes after the claim: each applies only while this worker still holds the version. ---

    def why_failed(self) -> str:
        """Why it failed, in the active language (technical detail, such as the drafter's answer, as recorded)."""
        return shown(self.error_sentence, self.last_error)

    def fail(self, message: str | Sentence) -> None:
        text = in_site_language(message)
        Summary.objects.filter(pk=self.pk, status=self.Status.DRAFTING).update(
            status=self.Status.FAILED,
            last_error=text[:2000] or "failed",
            error_sentence=as_stored(message),
            lease_expires_at=None,
        )
        log.info("summary %s of event %s failed: %s", self.pk, self.event_id, text)

    def hand_back(self, message: str, retry_in: float) -> None:
        Summary.objects.filter(pk=self.pk, status=self.Status.DRAFTING).update(
            status=self.Status.PENDING,
            last_error=message[:2000],
            error_sentence=None,
            lease_expires_at=timezone.now() + timedelta(seconds=retry_in + settings.DRAFTING_LEASE_SECONDS),
        )


class Embed(models.Model):
    """A video or social post shown in a post: its oEmbed data as fetched once (publishing.embeds), a local copy
    of its thumbnail, and the player's address our server built; readers load the player only on a click."""

    class Status(models.TextChoices):
        READY = "ready", _("Card and player")
        LINK_ONLY = "link", _("Card only: the provider offers no player")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="embeds", verbose_name=_("post"))
    url = models.URLField(_("address"), max_length=1000, help_text=_("As the editor pasted it."))
    provider = models.CharField(
        max_length=80, help_text=_("Its key in settings.EMBED_PROVIDERS."), verbose_name=_("provider")
    )
    provider_name = models.CharField(max_length=80, verbose_name=_("provider name"))
    title = models.CharField(max_length=300, verbose_name=_("title"))
    author = models.CharField(max_length=200, blank=True, verbose_name=_("author"))
    # A file in the pictures storage, re-encoded from the provider's thumbnail ("" when there was none to keep).
    thumbnail = models.CharField(max_length=255, blank=True, verbose_name=_("thumbnail"))
    thumbnail_width = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("thumbnail width"))
    thumbnail_height = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("thumbnail height"))
    thumbnail_note = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("Why the provider's thumbnail was not kept, if it was not."),
        verbose_name=_("thumbnail note"),
    )
    frame_src = models.URLField(_("player address"), max_length=1000, blank=True)
    frame_width = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("frame width"))
    frame_height = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("frame height"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.READY, verbose_name=_("status"))
    fetched_at = models.DateTimeField(default=timezone.now, verbose_name=_("fetched at"))

    class Meta:
        verbose_name = _("embed")
        verbose_name_plural = _("embeds")
        ordering = ["post_id", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["ready", "link"]), name="embed_status_valid"),
            models.CheckConstraint(
                condition=Q(status="ready", frame_src__startswith="http") | Q(status="link", frame_src=""),
                name="embed_player_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(thumbnail="")
                | Q(
                    thumbnail_width__isnull=False,
                    thumbnail_height__isnull=False,
                    thumbnail_width__gte=1,
                    thumbnail_height__gte=1,
                ),
                name="embed_thumbnail_has_size",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="embed_has_title"),
            models.UniqueConstraint(fields=["post", "url"], name="embed_unique_address_per_post"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_name}: {self.title[:60]}"

    @property
    def player_src(self) -> str:
        """The player's address, while its provider is still allowed and still frames from there; else ""
        (readers then get the card as a link only)."""
        provider = embed_providers().get(self.provider)
        if self.status != self.Status.READY or provider is None or not provider.allows_frame(self.frame_src):
            return ""
        return self.frame_src

    @property
    def thumbnail_url(self) -> str:
        return storages["pictures"].url(self.thumbnail) if self.thumbnail else ""


class PostTranslation(models.Model):
    """A published post in one reader language (Event.reader_languages): translated by the drafting provider from
    one revision of the post, and checked against it; readers get it only while it is ready for that revision."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Being translated")
        READY = "ready", _("Ready for readers")
        HELD = "held", _("Held for an editor")
        FAILED = "failed", _("Not translated")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="translations", verbose_name=_("post"))
    language = models.CharField(_("language"), max_length=8, choices=language_choices)
    headline = models.CharField(_("headline"), max_length=200, blank=True)
    body = models.TextField(_("text"), blank=True)
    source_revision = models.PositiveIntegerField(_("translated from revision"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    checked = models.BooleanField(
        _("numbers and names checked"),
        default=False,
        help_text=_("Every number has the value of one in the original, and every name is written in it."),
    )
    untraced = models.JSONField(
        _("differences"), default=list, blank=True, help_text=_("Numbers and names that differ from the original.")
    )
    last_error = models.TextField(_("last error"), blank=True)
    provider = models.CharField(_("provider"), max_length=32, blank=True)
    request_id = models.CharField(_("request ID"), max_length=128, blank=True)
    credits_used = models.PositiveIntegerField(_("credits used"), null=True, blank=True)
    # Held against the event's credit cap while being translated under a live lease (publishing.credits).
    credits_reserved = models.PositiveIntegerField(default=0, editable=False)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved or rejected by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["post", "language"]
        verbose_name = _("post translation")
        verbose_name_plural = _("post translations")
        constraints = [
            models.UniqueConstraint(fields=["post", "language"], name="one_translation_per_post_language"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "ready", "held", "failed"]), name="post_translation_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(language__in=list(LANGUAGE_CODES)), name="post_translation_language_known"
            ),
            models.CheckConstraint(condition=Q(source_revision__gte=1), name="post_translation_revision_positive"),
            # Readers or an editor see its text: there is some.
            models.CheckConstraint(
                condition=~Q(status__in=["ready", "held"]) | ~Q(body=""), name="post_translation_has_text"
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(last_error=""), name="failed_post_translation_has_error"
            ),
        ]
        indexes = [models.Index(fields=["status"], name="post_translation_status_idx")]

    def __str__(self) -> str:
        return f"{self.post_id} · {self.language} · {self.get_status_display()}"

    def shows_for(self, post: Post) -> bool:
        """Whether readers get this text for `post` as it is now: ready, and of its current revision."""
        return self.status == self.Status.READY and self.source_revision == post.revision

    # --- State changes after the claim: each applies only while it is still pending. ---

    def fail(self, message: str | Sentence) -> None:
        """Failed, readers keep the original; why in the site's language (no page shows it, the log does)."""
        text = in_site_language(message)
        PostTranslation.objects.filter(pk=self.pk, status=self.Status.PENDING).update(
            status=self.Status.FAILED, last_error=text[:2000] or "failed", lease_expires_at=None
        )
        log.info("translation %s of post %s into %s failed: %s", self.pk, self.post_id, self.language, text)

    def hand_back(self, message: str, retry_in: float) -> None:
        """Still pending: the task's retry claims it again (or the beat, past a lease, if that retry is lost)."""
        PostTranslation.objects.filter(pk=self.pk, status=self.Status.PENDING).update(
            last_error=message[:2000], lease_expires_at=timezone.now()
        )
