"""Both sockets on a real Daphne against a client that declares a message far larger than the socket
takes: refused with 1009 as soon as the frame's header arrives, its payload never read into memory.
And a reader socket that never says hello is closed."""

import json
from pathlib import Path

import pytest

from publishing.models import Post
from tests.support.emulators.studio import session_cookie
from tests.support.netclients import ReaderSocket, Socket, declare_huge_message
from tests.support.processes import start_daphne

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles")]

DECLARED = 1 << 30  # the frame's header says 1 GiB follows
SEND_AT_MOST = 64 << 20  # of which the client sends this much, or less if the server closes first
HELLO_TIMEOUT = "1"
NO_HELLO = 4408
MESSAGE_TOO_BIG = 1009


@pytest.fixture(scope="module")
def daphne(django_db_setup):
    process, port = start_daphne(READER_HELLO_TIMEOUT_SECONDS=HELLO_TIMEOUT)
    yield process, f"http://127.0.0.1:{port}"
    process.stop()
    process.assert_no_traceback()


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def publish(event, body: str) -> Post:
    post = Post.objects.create(event=event, body=body)
    post.publish()
    return post


def test_a_reader_socket_refuses_a_gibibyte_frame_before_reading_it(daphne, event):
    process, base = daphne
    publish(event, "Already there.")
    ReaderSocket(base, event.slug).wait_for(
        lambda m: m.get("posts")
    )  # the process's first reader, done before measuring
    before = resident_bytes(process.popen.pid)
    code, sent = declare_huge_message(
        f"{base.replace('http', 'ws')}/ws/events/{event.slug}/",
        origin=base,
        first=(json.dumps({"type": "hello", "cursor": 0}),),
        declared=DECLARED,
        send_at_most=SEND_AT_MOST,
    )
    grown = resident_bytes(process.popen.pid) - before
    assert code == MESSAGE_TOO_BIG, f"no 1009 after {sent} of the {DECLARED} declared bytes"
    assert sent < SEND_AT_MOST, "the close came only after everything was sent"
    assert grown < 16 << 20, f"Daphne grew by {grown} bytes"


def test_a_journalists_studio_socket_refuses_a_gibibyte_frame_before_reading_it(daphne, event, journalist):
    process, base = daphne
    before = resident_bytes(process.popen.pid)
    code, sent = declare_huge_message(
        f"{base.replace('http', 'ws')}/ws/studio/{event.slug}/",
        origin=base,
        cookie=session_cookie(journalist),
        declared=DECLARED,
        send_at_most=SEND_AT_MOST,
    )
    grown = resident_bytes(process.popen.pid) - before
    assert code == MESSAGE_TOO_BIG, f"no 1009 after {sent} of the {DECLARED} declared bytes"
    assert sent < SEND_AT_MOST, "the close came only after everything was sent"
    assert grown < 16 << 20, f"Daphne grew by {grown} bytes"


def test_a_studio_frame_a_little_over_the_audio_limit_still_gets_the_studios_own_error(daphne, event, journalist):
    """The WebSocket layer's limit sits above the studio's frame limit: the explained error still comes first."""
    _, base = daphne
    studio = Socket(
        f"{base.replace('http', 'ws')}/ws/studio/{event.slug}/", origin=base, cookie=session_cookie(journalist)
    )
    studio.ws.send(bytes(64 * 1024 + 2))
    error = studio.wait_for(lambda m: m["type"] == "error")
    assert error["code"] == "audio_before_start"
    assert studio.wait_closed() == 4001


def test_a_reader_socket_that_says_no_hello_is_closed(daphne, event):
    _, base = daphne
    earlier = ReaderSocket(base, event.slug)  # says hello at once
    silent = Socket(f"{base.replace('http', 'ws')}/ws/events/{event.slug}/", origin=base)
    assert silent.wait_closed() == NO_HELLO
    # The reader that said hello opened first, so its deadline would have passed first: it is still
    # open and still hears what is published.
    assert not earlier.closed
    post = publish(event, "After the deadline.")
    earlier.wait_for_posts({post.pk})
    earlier.close()
