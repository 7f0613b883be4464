"""Who may open the studio page and its socket."""

import pytest
from asgiref.sync import sync_to_async

from tests.support.emulators.deepgram import silence, word_audio
from tests.support.emulators.studio import Studio
from transcription.models import Segment, StreamSession
from transcription.protocol import Close

# Each test gets its own audio archive folder: session ids restart, and a resume reads what is archived.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles", "media")]


def test_the_assigned_journalist_gets_the_studio(client, event, journalist):
    client.force_login(journalist)
    response = client.get(f"/studio/{event.slug}/")
    assert response.status_code == 200
    assert b'id="go-live"' in response.content and b"/static/newsroom/studio/page.js" in response.content


def test_it_sends_anonymous_users_to_log_in(client, event):
    response = client.get(f"/studio/{event.slug}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/studio/")


def test_it_refuses_a_journalist_not_assigned_to_the_event(client, event, other_journalist):
    client.force_login(other_journalist)
    assert client.get(f"/studio/{event.slug}/").status_code == 403


def test_it_refuses_an_editor_who_is_not_a_journalist(client, event, editor):
    client.force_login(editor)
    assert client.get(f"/studio/{event.slug}/").status_code == 403


async def test_the_socket_accepts_the_assigned_journalist(event, journalist):
    studio = Studio(event.slug, journalist)
    assert await studio.connect()
    await studio.disconnect()


async def test_the_socket_refuses_anonymous_users(event):
    assert not await Studio(event.slug, None).connect()


async def test_the_socket_refuses_other_journalists(event, other_journalist):
    assert not await Studio(event.slug, other_journalist).connect()


async def test_the_socket_refuses_a_cross_origin_page(event, journalist):
    assert not await Studio(event.slug, journalist, origin="https://evil.example").connect()


async def test_the_socket_refuses_an_unknown_event(journalist):
    assert not await Studio("no-such-event", journalist).connect()


def spoken(ids: list[int]) -> bytes:
    return word_audio(ids) + silence(0.5)


@sync_to_async
def assign(event, journalist) -> None:
    event.journalists.add(journalist)


@sync_to_async
def stored_words(session_id: int) -> list[str]:
    return " ".join(
        Segment.objects.filter(session_id=session_id).order_by("sequence").values_list("text", flat=True)
    ).split()


async def test_a_colleague_cannot_resume_or_stop_a_live_stream(deepgram, event, journalist, other_journalist):
    await assign(event, other_journalist)
    owner = Studio(event.slug, journalist)
    assert await owner.connect()
    ready = await owner.start()
    await owner.audio(spoken([1, 2, 3]))
    await owner.wait_for(lambda m: m["type"] == "transcript" and m["is_final"] and "word3" in m["text"])

    colleague = Studio(event.slug, other_journalist)
    assert await colleague.connect()
    refused = await colleague.start(session=ready["session"], last_sequence=-1)
    assert refused == {
        "type": "error",
        "code": "unknown_session",
        "message": f"Session {ready['session']} is not an open session of yours here.",
    }
    assert await colleague.wait_closed() == Close.UNKNOWN_SESSION
    assert colleague.finals() == [], "none of the owner's transcript is replayed to a colleague"

    # The owner's stream goes on: what is said after the attempt is stored too.
    await owner.audio(spoken([4, 5, 6]))
    await owner.wait_for(lambda m: m["type"] == "transcript" and m["is_final"] and "word6" in m["text"])
    assert (await owner.stop())["session"] == ready["session"]
    assert await stored_words(ready["session"]) == [f"word{i}" for i in range(1, 7)]
    session = await StreamSession.objects.aget(pk=ready["session"])
    assert session.journalist_id == journalist.pk and session.reconnects == 0
    assert session.status == StreamSession.Status.ENDED
    await colleague.disconnect()
    await owner.disconnect()


async def test_a_refused_resume_leaves_the_journalists_own_stream_its_lease(
    deepgram, event, journalist, other_journalist
):
    await assign(event, other_journalist)
    owner = Studio(event.slug, journalist)
    assert await owner.connect()
    owners_session = (await owner.start())["session"]
    own = Studio(event.slug, other_journalist)
    assert await own.connect()
    assert (await own.start())["type"] == "ready"

    colleague = Studio(event.slug, other_journalist)
    assert await colleague.connect()
    assert (await colleague.start(session=owners_session))["code"] == "unknown_session"
    # The journalist's own stream still holds the one stream they may have here.
    third = Studio(event.slug, other_journalist)
    assert await third.connect()
    assert (await third.start())["code"] == "concurrent_stream"
    await own.stop()
    await owner.stop()
    for studio in (owner, own, colleague, third):
        await studio.disconnect()
