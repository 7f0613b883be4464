"""The push service emulator in a process of its own, so it decrypts on a core the sender is not using: it makes
the browsers' subscriptions, then answers the bench's questions over a pipe."""

from tests.support.emulators.push import PushService


def serve(conn, application_server_key: str, count: int) -> None:
    with PushService() as service:
        made = [service.subscribe(application_server_key) for _ in range(count)]
        conn.send([(s.endpoint, s.p256dh, s.auth) for s in made])
        while True:
            command = conn.recv()
            if command == "stop":
                return
            with service.lock:
                deliveries, refusals = list(service.deliveries), list(service.refusals)
                if command == "reset":
                    service.deliveries.clear()
                    service.refusals.clear()
            conn.send(
                {
                    "delivered": len(deliveries),
                    "distinct": len({d.token for d in deliveries}),
                    "first_at": min((d.at for d in deliveries), default=None),
                    "last_at": max((d.at for d in deliveries), default=None),
                    "refusals": [(r.status, r.reason) for r in refusals[:5]],
                    "refused": len(refusals),
                    "payloads": sorted({d.payload.decode() for d in deliveries})[:3],
                    "connections": service.connections,
                }
            )
