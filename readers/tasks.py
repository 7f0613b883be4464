"""Celery tasks: an alert for readers cut into batches, each batch sent, and lapsed batches handed back."""

from celery import shared_task

from readers import alerts


@shared_task(name="readers.tasks.fan_out_alert")
def fan_out_alert(alert_id: int) -> int:
    """Idempotent: a duplicate or redelivered message finds the alert fanned out and does nothing."""
    return len(alerts.fan_out(alert_id))


@shared_task(name="readers.tasks.send_alert_batch")
def send_alert_batch(batch_id: int) -> int:
    """Sends one batch if this worker claims it; subscribers answered 429 or 5xx get it again later. Returns how many
    were delivered."""
    result = alerts.send_batch(batch_id)
    if result is None:
        return 0
    if result.retry_in is not None:
        alerts.enqueue_batches([batch_id], countdown=result.retry_in)
    return result.delivered


@shared_task(name="readers.tasks.requeue_stale_alerts")
def requeue_stale_alerts() -> int:
    return len(alerts.requeue_stale())
