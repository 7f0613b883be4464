"""The studio's follow socket /ws/studio/<slug>/follow/: only the event's journalists, from the site's own pages;
it sends the journalist's follow and its stored finals as the studio socket's messages, and takes nothing."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from liveblog_site.asgi import application
from tests.support.emulators.studio import session_cookie
from tests.support.factories import segment, stream_session
from transcription.follow import notices
from transcription.models import StreamFollow

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(slug: str, user=None, origin: str = "http://localhost") -> tuple[bool, WebsocketCommunicator]:
    headers = [(b"origin", origin.encode()), (b"host", b"localhost")]
    if user is not None:
        key = await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()))
    socket = WebsocketCommunicator(application, f"/ws/studio/{slug}/follow/", headers=headers)
    connected, _ = await socket.connect(timeout=10)
    return connected, socket


async def receive(socket: WebsocketCommunicator) -> dict:
    return json.loads(await socket.receive_from(timeout=10))


@pytest.mark.parametrize("who", ["anonymous", "reader", "other_journalist", "editor", "journalist"])
async def test_only_the_events_journalists_may_watch_their_follow(
    who, fresh_roles, event, journalist, other_journalist, editor, reader
):
    user = {"anonymous": None, "reader": reader, "other_journalist": other_journalist, "editor": editor}.get(
        who, journalist
    )
    connected, socket = await connect(event.slug, user)
    assert connected is (who == "journalist")
    await socket.disconnect()
    if who == "journalist":
        hostile_ok, hostile = await connect(event.slug, user, origin="https://evil.example")
        assert hostile_ok is False  # a page on another site cannot use the journalist's cookie
        await hostile.disconnect()


async def test_it_sends_the_follow_its_finals_and_each_change(fresh_roles, event, journalist, other_journalist):
    session = await sync_to_async(stream_session)(event, journalist)
    await sync_to_async(segment)(session, "Good evening.", sequence=0, start=0, end=1)
    follow = await StreamFollow.objects.acreate(
        event=event, journalist=journalist, url="https://93.184.215.14/live.m3u8", status="live", session=session
    )
    # Another journalist's follow of the same event is not this page's.
    await StreamFollow.objects.acreate(event=event, journalist=other_journalist, url="https://93.184.215.14/b.m3u8")
    connected, socket = await connect(event.slug, journalist)
    assert connected
    final, state = await receive(socket), await receive(socket)
    assert (final["type"], final["is_final"]) == ("transcript", True)
    assert (final["text"], final["sequence"]) == ("Good evening.", 0)
    assert (state["type"], state["id"], state["status"], state["session"]) == ("follow", follow.pk, "live", session.pk)

    await sync_to_async(segment)(session, "Welcome.", sequence=1, start=1, end=2)
    await StreamFollow.objects.filter(pk=follow.pk).aupdate(status="retrying", detail="The stream dropped.", attempts=1)
    await notices.tell_page(event.pk, journalist.pk)
    final, state = await receive(socket), await receive(socket)
    assert (final["text"], final["sequence"]) == ("Welcome.", 1)
    assert (state["status"], state["detail"], state["attempts"]) == ("retrying", "The stream dropped.", 1)

    # What the relay says and nothing stores goes through as it is; a stored final is read, in order.
    interim = {"type": "transcript", "is_final": False, "text": "and now", "start": 2.0, "end": 2.4}
    await notices.tell_page(event.pk, journalist.pk, interim)
    assert await receive(socket) == interim

    await socket.send_to(text_data='{"type": "stop"}')
    assert (await socket.receive_output(timeout=10))["code"] == 4400  # it takes nothing: Stop is a POST
    await socket.disconnect()


async def test_a_page_opened_with_no_follow_running_hears_of_one_started(fresh_roles, event, journalist):
    await StreamFollow.objects.acreate(
        event=event, journalist=journalist, url="https://93.184.215.14/old.m3u8", status="stopped"
    )
    connected, socket = await connect(event.slug, journalist)
    assert connected
    assert await socket.receive_nothing(timeout=1.5)  # an old follow is not shown
    follow = await StreamFollow.objects.acreate(event=event, journalist=journalist, url="https://93.184.215.14/a.m3u8")
    await notices.tell_page(event.pk, journalist.pk)
    started = await receive(socket)
    assert (started["id"], started["status"]) == (follow.pk, "starting")
    await socket.disconnect()
