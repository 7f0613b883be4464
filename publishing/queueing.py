"""Handing batches, alerts and quote clips to the Celery workers, by task name: what raises them stays
below publishing.tasks."""

from celery import current_app

DRAFT_BATCH = "publishing.tasks.draft_batch"
DRAFT_BATCHES = "publishing.tasks.draft_batches"
DELIVER_ALERT = "publishing.tasks.deliver_alert"
MAKE_QUOTE_CLIPS = "publishing.tasks.make_quote_clips"
SENT_DIRECTLY = 8  # batches up to this many get a message each from the tick; more go as one, fanned out by a worker


def enqueue_drafting(*batch_ids: int) -> None:
    """A message per batch for a few; one message for many (a tick over hundreds of events), which a worker fans
    out (publishing.tasks.draft_batches), so the beat never waits on a message per batch nor a few on a hop."""
    if len(batch_ids) > SENT_DIRECTLY:
        current_app.send_task(DRAFT_BATCHES, (list(batch_ids),))
    else:
        enqueue_each_drafting(batch_ids)


def enqueue_each_drafting(batch_ids) -> None:
    """A message per batch, each drafted, retried and backed off on its own."""
    _send_each(DRAFT_BATCH, batch_ids)


def _send_each(task: str, ids) -> None:
    """A message of `task` per id, over one broker connection for the lot."""
    with current_app.producer_or_acquire() as producer:
        for pk in ids:
            current_app.send_task(task, (pk,), producer=producer)


def enqueue_alert_delivery(alert_id: int) -> None:
    current_app.send_task(DELIVER_ALERT, (alert_id,))


def enqueue_quote_clips(*post_ids: int) -> None:
    _send_each(MAKE_QUOTE_CLIPS, post_ids)


DRAFT_SUMMARY = "publishing.tasks.draft_summary"


def enqueue_summary_drafting(summary_id: int) -> None:
    current_app.send_task(DRAFT_SUMMARY, (summary_id,))


TRANSLATE_POST = "publishing.tasks.translate_post"


def enqueue_translation(post_id: int) -> None:
    """A published post's reader editions, translated by the worker (publishing.translations)."""
    current_app.send_task(TRANSLATE_POST, (post_id,))
