"""heartbeat: the Hub sends each reader an unsolicited Pong and tells Daphne it has pinged it (DaphneSocket's
keep_alive, in server.writes); off, Daphne's own pings (--ping-interval) keep reader sockets alive."""

from server import active

HEARTBEAT = b"\x8a\x00"  # FIN + Pong, no payload, unmasked: a one-way heartbeat nobody answers (RFC 6455 5.5.3)
DEAD_PEER_MS = 60_000


def heartbeat_on() -> bool:
    """Whether the Hub sends readers the heartbeat; when not, Daphne's own pings keep sockets alive."""
    return active("heartbeat")
