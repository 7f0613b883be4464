"""Celery tasks: the beat's batching tick, drafting a batch and the story so far, scheduled publishing, alert
delivery, quote clips."""

import logging
from collections.abc import Callable
from typing import TypeVar

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from publishing import alerts, batching, clips, drafting, queueing, summaries, translations
from publishing.drafters.base import DraftingUnavailable
from publishing.models import Batch, Post

log = logging.getLogger(__name__)
DRAFT_RETRIES = 5
T = TypeVar("T")


@shared_task(name="publishing.tasks.batch_live_events")
def batch_live_events() -> int:
    """Beat: claim due batches, and hand stale ones (lost message, killed worker) back to the queue."""
    batches = batching.tick()
    requeued = Batch.objects.requeue_stale()
    if requeued:
        log.info("re-enqueued stale batches %s", requeued)
    summaries.tick()  # the story so far, where it is due
    for post_id in translations.requeue_stale():  # reader editions a dead worker left
        translate_post.delay(post_id)
    return len(batches)


def _drafted(task, draft: Callable[..., T], pk: int) -> T:
    """`draft(pk)`, told whether this is its last try, retried with backoff while the drafter is unavailable."""
    try:
        return draft(pk, last_try=task.request.retries >= task.max_retries)
    except DraftingUnavailable as exc:
        countdown = max(exc.retry_after, settings.MAVERA_BACKOFF_SECONDS * 2 ** (task.request.retries + 1))
        raise task.retry(exc=exc, countdown=countdown) from None


@shared_task(bind=True, name="publishing.tasks.draft_batch", max_retries=DRAFT_RETRIES)
def draft_batch(self, batch_id: int) -> int | None:
    # Idempotent: a duplicate or redelivered message finds the batch claimed or done and does nothing.
    post = _drafted(self, drafting.draft_batch, batch_id)
    return post.pk if post else None


@shared_task(name="publishing.tasks.draft_batches")
def draft_batches(batch_ids: list[int]) -> int:
    """Fan a tick's claimed batches out here, not in the beat: a draft_batch message each. A redelivered message
    (a worker died mid-way) sends them again, and draft_batch drafts none of them twice."""
    queueing.enqueue_each_drafting(batch_ids)
    return len(batch_ids)


@shared_task(bind=True, name="publishing.tasks.draft_summary", max_retries=DRAFT_RETRIES)
def draft_summary(self, summary_id: int) -> int | None:
    """Draft one claimed version of the story so far; a duplicate message finds it claimed or done."""
    summary = _drafted(self, summaries.draft_summary, summary_id)
    return summary.pk if summary else None


@shared_task(bind=True, name="publishing.tasks.translate_post", max_retries=DRAFT_RETRIES)
def translate_post(self, post_id: int) -> int:
    """A published post's reader editions (publishing.translations); a duplicate message finds them done or taken."""
    return len(_drafted(self, translations.translate_post, post_id))


@shared_task(bind=True, name="publishing.tasks.deliver_alert", max_retries=None)
def deliver_alert(self, alert_id: int) -> None:
    """Post one alert to ALERT_WEBHOOK_URL, retried with backoff; the last failure is recorded on the alert."""
    try:
        alerts.deliver(alert_id)
    except alerts.DeliveryFailed as exc:
        if self.request.retries + 1 >= settings.ALERT_MAX_ATTEMPTS:
            alerts.gave_up(alert_id, str(exc))
            return
        raise self.retry(exc=exc, countdown=alerts.retry_in(self.request.retries)) from None


@shared_task(name="publishing.tasks.publish_due_posts")
def publish_due_posts() -> int:
    """Beat: publish the approved posts editors scheduled, once their time has come."""
    due = Post.objects.filter(status=Post.Status.APPROVED, publish_at__lte=timezone.now())
    count = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            # Still approved and due: an editor may have rejected or rescheduled it since it was listed.
            post = due.select_for_update().filter(pk=pk).first()
            if post is not None:
                post.publish()
                count += 1
    return count


@shared_task(name="publishing.tasks.make_quote_clips", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def make_quote_clips(post_id: int) -> int:
    """Cut a published post's traced quotes into public clips, here and not in the web process; a retry makes
    none twice. Returns the number made."""
    return len(clips.make_clips(post_id))
