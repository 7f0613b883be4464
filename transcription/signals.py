"""What happens to a stream that the apps above transcription act on, without transcription importing them."""

from django.dispatch import Signal

# Sent once a stream session has ended for good (stopped or failed, not paused) and its finals are
# stored, with event_id and session_id: publishing drafts what the last beat did not take.
stream_ended = Signal()
