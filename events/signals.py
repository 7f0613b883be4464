"""What happens to an event that the apps above events act on, without events importing them."""

from django.dispatch import Signal

# Sent once a change readers can see has committed, with event_id, slug and change_seq: the
# readers' pages (readers.live) tell the open pages.
event_changed = Signal()

# Sent once an event has gone live, with event_id and user (who made it live, or None).
event_went_live = Signal()

# Sent once an event has ended, with event_id and user (None when code ended it): the studios still
# streaming finish, and publishing drafts the final batch once they have.
event_ended = Signal()
