"""The transcript and audio for an event's journalists and editors: exports, who may see them, their views."""
