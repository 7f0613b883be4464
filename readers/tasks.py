"""Celery tasks: an alert for readers cut into batches, each batch sent, and lapsed batches handed back."""

from celery import shared_task

from readers import alerts


@shared_task(name="readers.tasks.fan_out_alert")
def fan_out_alert(alert_id: int) -> int:
    """Idempotent: a duplicate or redelivered message finds the alert fanned out and does nothing."""
    return len(alerts.fan_out(alert_id))


@shared_task(name="readers.tasks.send_alert_batch")
def send_alert_batch(batch_id: int) -> int:
    """Sends one batch if this worker claims it, then the alert's batches no worker has started; subscribers answered
    429 or 5xx get theirs again later. Returns how many were delivered."""
    delivered = 0
    for sent_id, result in alerts.send_batches(batch_id):
        if result.retry_in is not None:
            alerts.enqueue_batches([sent_id], countdown=result.retry_in)
        delivered += result.delivered
    return delivered


@shared_task(name="readers.tasks.requeue_stale_alerts")
def requeue_stale_alerts() -> int:
    return len(alerts.requeue_stale())
