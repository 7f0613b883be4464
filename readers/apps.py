"""The readers' pages: the public live blog, its feeds, API and widget, and the live push to open pages."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from events.signals import event_changed


class ReadersConfig(AppConfig):
    name = "readers"
    verbose_name = _("Readers' pages")

    def ready(self) -> None:
        from readers import alerts
        from readers.live import event_changed_receiver

        event_changed.connect(event_changed_receiver, dispatch_uid="readers-announce-event-change")
        # Key events and new stories so far become alerts for the readers who asked (Web Push).
        event_changed.connect(alerts.event_changed_receiver, dispatch_uid="readers-alert-subscribers")
