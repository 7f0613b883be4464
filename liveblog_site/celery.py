"""The Celery app: configuration from Django settings, tasks found in the apps, and the beat's schedule."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")

app = Celery("liveblog")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_configure.connect
def stop_unless_prepared(sender: Celery, **kwargs) -> None:
    """Before the settings are read: a worker or beat on a data folder nobody prepared stops in one line."""
    # Imported here: the package imports this module, and `python -m liveblog_site.datadir` must find it unloaded.
    from liveblog_site import datadir

    datadir.exit_unless_prepared()


@app.on_after_finalize.connect
def schedule_periodic_tasks(sender: Celery, **kwargs) -> None:
    from django.conf import settings

    tick = settings.BATCH_TICK_SECONDS
    # A tick that waited longer than two ticks is stale: the next one does its work, so drop it.
    sender.add_periodic_task(
        tick,
        sender.signature("publishing.tasks.batch_live_events", options={"expires": max(2 * tick, 1.0)}),
        name="batch live events",
    )
    sender.add_periodic_task(10.0, sender.signature("publishing.tasks.publish_due_posts"), name="publish due posts")
    compress = settings.AUDIO_COMPRESS_SECONDS
    # Likewise a compression pass that waited a whole interval: the next pass compresses what it would have.
    sender.add_periodic_task(
        compress,
        sender.signature("transcription.tasks.compress_archived_audio", options={"expires": compress}),
        name="compress archived audio",
    )
    sender.add_periodic_task(
        24 * 3600.0, sender.signature("transcription.tasks.purge_expired_audio"), name="purge expired audio"
    )
    # Readers' alerts whose worker died or whose message was lost: sent again (readers.alerts.requeue_stale).
    sender.add_periodic_task(
        60.0, sender.signature("readers.tasks.requeue_stale_alerts", options={"expires": 60.0}), name="requeue alerts"
    )
