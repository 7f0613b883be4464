"""Following a livestream: a journalist's stream address pulled through ffmpeg by a follower process into the
same relay, storage and archive as the studio's microphone. Design: docs/follow-streams.md."""
