"""The readers' pages: the public live blog, its feeds, API and widget, and the live push to open pages."""

from django.apps import AppConfig

from events.signals import event_changed


class ReadersConfig(AppConfig):
    name = "readers"
    verbose_name = "Readers' pages"

    def ready(self) -> None:
        from readers.live import event_changed_receiver

        event_changed.connect(event_changed_receiver, dispatch_uid="readers-announce-event-change")
