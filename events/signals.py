"""What happens to an event that the apps above events act on, without events importing them."""

from django.dispatch import Signal

# Sent once a change readers can see has committed, with event_id, slug and change_seq: the
# readers' pages (readers.live) tell the open pages.
event_changed = Signal()

# Sent once an event has ended, with event_id: publishing drafts what the last beat did not take.
event_ended = Signal()
