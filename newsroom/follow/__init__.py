"""The studio's *Follow stream*: a journalist asks a follower process to cover a talk from its livestream
(transcription.follow), stops it, and watches its transcript on the page. Design: docs/follow-streams.md."""
