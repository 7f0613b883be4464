"""What happens to a stream that the apps above transcription act on, without transcription importing them."""

from django.dispatch import Signal

# Sent once a stream session has ended for good (stopped or failed, not paused) and its finals are
# stored, with event_id and session_id: publishing drafts what the last beat did not take.
stream_ended = Signal()

# Sent when a stream's speech provider gave up on it, or storage stayed unavailable past its bound (the session
# then fails), with event_id, session_id, message (an events.sentences.Sentence) and reason
# ("provider" or "storage"): publishing alerts the desk.
stream_failed = Signal()

# Sent when the retention purge has deleted sessions' audio, with session_ids: publishing takes down the
# public clips cut from it.
audio_purged = Signal()
