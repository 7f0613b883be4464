"""Who may open the studio page and its socket."""

import pytest

from tests.emulators.studio import Studio

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles")]


def test_the_assigned_journalist_gets_the_studio(client, event, journalist):
    client.force_login(journalist)
    response = client.get(f"/studio/{event.slug}/")
    assert response.status_code == 200
    assert b'id="go-live"' in response.content and b"/static/studio/studio.js" in response.content


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
