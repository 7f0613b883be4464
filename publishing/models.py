from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone

from events.signals import event_changed


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
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    drafting_started_at = models.DateTimeField(null=True, blank=True)
    # Pending: when to enqueue again if no worker picked it up. Drafting: when a dead worker's claim lapses.
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    brief_parts = models.PositiveIntegerField(
        default=1, help_text="Parts a long transcript was drafted in: summarised in steps, never cut."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

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


class PostQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Post.Status.PUBLISHED)

    def drafts(self):
        return self.filter(status=Post.Status.DRAFT)

    def credits_used(self, event) -> int:
        return Batch.objects.filter(event=event).aggregate(total=Sum("credits_used"))["total"] or 0


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
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="authored_posts"
    )
    last_editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="edited_posts"
    )
    revision = models.PositiveIntegerField(default=1)
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

    def _apply(self, user, action: str, *, content_changed: bool = False, **changes) -> None:
        with transaction.atomic():
            was_visible = Post.objects.filter(pk=self.pk, status=self.Status.PUBLISHED).exists() if self.pk else False
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
            PostAction.objects.create(post=self, user=user if getattr(user, "pk", None) else None, action=action)
            if readers_see_it:
                seq, event_id, slug = self.change_seq, self.event_id, self.event.slug
                transaction.on_commit(
                    lambda: event_changed.send(sender=Post, event_id=event_id, slug=slug, change_seq=seq)
                )

    def edit(self, user, *, headline: str, body: str) -> None:
        if headline == self.headline and body == self.body:
            return
        self._apply(user, PostAction.Kind.EDITED, content_changed=True, headline=headline, body=body)

    def approve(self, user) -> None:
        self._apply(user, PostAction.Kind.APPROVED, status=self.Status.APPROVED)

    def publish(self, user=None) -> None:
        if self.is_published:
            return
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
        self._apply(user, PostAction.Kind.SCHEDULED, **changes)

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


class PostAction(models.Model):
    """Who did what to a post, and when."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        DRAFTED = "drafted", "Drafted"
        EDITED = "edited", "Edited"
        APPROVED = "approved", "Approved"
        PUBLISHED = "published", "Published"
        UNPUBLISHED = "unpublished", "Unpublished"
        REJECTED = "rejected", "Rejected"
        SCHEDULED = "scheduled", "Scheduled"
        PINNED = "pinned", "Pinned"
        UNPINNED = "unpinned", "Unpinned"
        MARKED_KEY = "marked_key", "Marked key event"
        UNMARKED_KEY = "unmarked_key", "Unmarked key event"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="actions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.user or 'system'}"
