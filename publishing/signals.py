"""What happens in publishing that its own modules act on without importing each other."""

from django.dispatch import Signal

# Sent once a change to an event's story so far has committed (drafted, edited, published, rejected, withdrawn),
# with event_id: the event's open draft queues look again (publishing.queue.live).
summary_changed = Signal()

# Sent once a change to a post's reader edition has committed (translated, held, approved, rejected), with event_id:
# the event's open draft queues look again (publishing.queue.live).
translation_changed = Signal()
