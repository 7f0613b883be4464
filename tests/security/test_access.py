"""The security sweep: every URL, admin page and WebSocket route, for every role, gets exactly what the
role allows; every form carries a CSRF token and a POST without one is refused.

The tables are the specification. A URL added to the project without a row here fails
`test_every_url_is_in_the_table`, so nobody ships a page whose access nobody decided."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from events.models import Event
from events.roles import create_roles
from liveblog_site.asgi import application
from liveblog_site.routing import reader_routes, staff_routes
from publishing.clips import clips_storage
from publishing.models import Alert, Batch, Post, QuoteClip
from publishing.pictures import add_picture
from tests.support import factories
from tests.support.emulators.studio import Studio, session_cookie
from tests.support.framecoded import archive_audio, pcm
from tests.support.pictures import jpeg, upload
from transcription.models import SegmentCorrection

ROLES = ("anonymous", "reader", "journalist", "other_journalist", "editor")
ANON, READER, JOURNO, OTHER, EDITOR = ROLES

# What a role gets: an HTTP status, or a redirect to a login page.
LOGIN = "login"  # 302 to /accounts/login/
ADMIN_LOGIN = "admin-login"  # 302 to /admin/login/


def everyone(outcome) -> dict[str, object]:
    return dict.fromkeys(ROLES, outcome)


PUBLIC = everyone(200)
ADMIN_STAFF_ONLY = {ANON: ADMIN_LOGIN, READER: ADMIN_LOGIN, JOURNO: ADMIN_LOGIN, OTHER: ADMIN_LOGIN}
# Archived audio and transcript exports: the event's journalists and its editors, never the public.
REVIEWERS = {ANON: 403, READER: 403, JOURNO: 200, OTHER: 403, EDITOR: 200}


# What the studio shows around a stream (drafts, a session's recap): log in first; then the event's
# journalists and the editors.
STUDIO_FOLLOWERS = {ANON: LOGIN, READER: 403, JOURNO: 200, OTHER: 403, EDITOR: 200}


def studio_for(assigned: str) -> dict[str, object]:
    """The studio: log in first; then only the journalist assigned to the event (editors do not stream)."""
    return {ANON: LOGIN, **{role: 200 if role == assigned else 403 for role in ROLES[1:]}}


def editor_gets(outcome) -> dict[str, object]:
    return {**ADMIN_STAFF_ONLY, EDITOR: outcome}


def model_admin(changelist=200, add=200, change=200, delete=403, history=200) -> dict[str, dict[str, object]]:
    """The five standard admin pages of a model, by what an editor may do with it."""
    return {
        "": editor_gets(changelist),
        "add/": editor_gets(add),
        "{pk}/history/": editor_gets(history),
        "{pk}/delete/": editor_gets(delete),
        "{pk}/change/": editor_gets(change),
        "{pk}/": editor_gets(302),  # the bare object URL redirects to its change page
    }


@dataclass(frozen=True)
class Row:
    route: str  # the pattern as Django lists it
    url: str  # a concrete URL for it, formatted with the objects below
    expect: dict[str, object]


def admin_rows() -> list[Row]:
    rows = [
        Row("admin/", "/admin/", editor_gets(200)),
        Row("admin/login/", "/admin/login/", {**everyone(200), EDITOR: 302}),  # staff are sent on to the index
        Row("admin/logout/", "/admin/logout/", {**everyone(302), EDITOR: 405}),  # a POST; non-staff go to the index
        Row("admin/password_change/", "/admin/password_change/", editor_gets(200)),
        Row("admin/password_change/done/", "/admin/password_change/done/", editor_gets(200)),
        Row("admin/autocomplete/", "/admin/autocomplete/", editor_gets(403)),
        Row("admin/jsi18n/", "/admin/jsi18n/", editor_gets(200)),
        Row("admin/r/<path:content_type_id>/<path:object_id>/", "/admin/r/{event_ct}/{event}/", editor_gets(302)),
        Row("admin/auth/user/<id>/password/", "/admin/auth/user/{user}/password/", editor_gets(403)),
        Row("admin/publishing/post/queue/", "/admin/publishing/post/queue/", editor_gets(200)),
        Row("admin/publishing/post/queue/<int:event_id>/", "/admin/publishing/post/queue/{event}/", editor_gets(200)),
        Row("admin/(?P<url>.*)$", "/admin/no-such-page/", editor_gets(404)),
        # Go live and End event: POST only (the change form's and the queue's buttons).
        Row("admin/events/event/<int:pk>/lifecycle/", "/admin/events/event/{event}/lifecycle/", editor_gets(405)),
    ]
    app_list = "admin/^(?P<app_label>auth|transcription|publishing|events)/$"
    rows += [
        Row(app_list, "/admin/auth/", editor_gets(404)),  # editors have no say over accounts
        Row(app_list, "/admin/events/", editor_gets(200)),
        Row(app_list, "/admin/transcription/", editor_gets(200)),
        Row(app_list, "/admin/publishing/", editor_gets(200)),
    ]
    models = {
        "auth/group": ("group", model_admin(403, 403, 403, 403, 403)),
        "auth/user": ("user", model_admin(403, 403, 403, 403, 403)),
        "events/event": ("event", model_admin()),
        # Sessions, corrections and batches are records: read, never written by hand.
        "transcription/streamsession": ("session", model_admin(add=403)),
        "transcription/segment": ("segment", model_admin(add=403)),
        "transcription/segmentcorrection": ("correction", model_admin(add=403)),
        "publishing/post": ("post", model_admin()),
        "publishing/batch": ("batch", model_admin(add=403)),
        # Alerts are records too, and nobody writes or deletes them by hand.
        "publishing/alert": ("alert", model_admin(add=403)),
        # And so is who did what.
        "publishing/postaction": ("action", model_admin(add=403)),
    }
    for model, (key, pages) in models.items():
        for suffix, expect in pages.items():
            route = f"admin/{model}/" + suffix.replace("{pk}", "<path:object_id>")
            rows.append(Row(route, f"/admin/{model}/" + suffix.replace("{pk}", "{" + key + "}"), expect))
    return rows


PICTURE_ROUTE = r"^media/pictures/(?P<name>[0-9a-f]{32}-[0-9]{1,4}w\.(?:jpg|png|webp))$"
CLIP_ROUTE = r"^media/clips/(?P<name>[0-9a-f]{32}\.flac)$"


def site_rows() -> list[Row]:
    return [
        Row("", "/", PUBLIC),
        Row("healthz", "/healthz", PUBLIC),
        Row("accounts/login/", "/accounts/login/", PUBLIC),
        Row("accounts/logout/", "/accounts/logout/", everyone(405)),
        # Each person's language (tests/i18n): their own page, Django's cookie switch (a POST), the scripts' words.
        Row("accounts/language/", "/accounts/language/", {**everyone(200), ANON: LOGIN}),
        Row("i18n/setlang/", "/i18n/setlang/", everyone(302)),  # a GET changes nothing, back to where one was
        Row(r"^jsi18n/(?P<language>[A-Za-z0-9-]{2,20})\.js$", "/jsi18n/de.js", PUBLIC),
        Row("studio/<slug:slug>/", "/studio/{slug}/", studio_for(JOURNO)),
        Row("studio/<slug:slug>/drafts.json", "/studio/{slug}/drafts.json", STUDIO_FOLLOWERS),
        Row("studio/<slug:slug>/drafts/<int:post_id>/", "/studio/{slug}/drafts/{draft}/", STUDIO_FOLLOWERS),
        Row(
            "studio/<slug:slug>/sessions/<int:session_id>/recap.json",
            "/studio/{slug}/sessions/{session}/recap.json",
            STUDIO_FOLLOWERS,
        ),
        Row(
            "studio/<slug:slug>/",
            "/studio/{private_slug}/",
            studio_for(OTHER),
        ),
        Row(
            "studio/<slug:slug>/",
            "/studio/no-such-event/",
            {**everyone(404), ANON: LOGIN},
        ),
        Row("transcripts/segments/<int:pk>/audio.wav", "/transcripts/segments/{segment}/audio.wav", REVIEWERS),
        Row("transcripts/sessions/<int:pk>/audio.flac", "/transcripts/sessions/{session}/audio.flac", REVIEWERS),
        Row(
            "transcripts/sessions/<int:pk>/stretch.wav",
            "/transcripts/sessions/{session}/stretch.wav?start=0.5&end=2.5",
            REVIEWERS,
        ),
        Row(
            "transcripts/sessions/<int:pk>/transcript.<str:fmt>",
            "/transcripts/sessions/{session}/transcript.srt",
            REVIEWERS,
        ),
        Row(
            "transcripts/events/<slug:slug>/transcript.<str:fmt>",
            "/transcripts/events/{slug}/transcript.vtt",
            REVIEWERS,
        ),
        Row("transcripts/events/<slug:slug>/posts.md", "/transcripts/events/{slug}/posts.md", REVIEWERS),
        Row("events/<slug:slug>/", "/events/{slug}/", PUBLIC),
        Row("events/<slug:slug>/", "/events/{private_slug}/", everyone(404)),  # not public: not there
        Row("events/<slug:slug>/posts/<int:post_id>/", "/events/{slug}/posts/{post}/", PUBLIC),
        Row("events/<slug:slug>/posts/<int:post_id>/", "/events/{slug}/posts/{draft}/", everyone(404)),
        Row("events/<slug:slug>/posts.json", "/events/{slug}/posts.json?after=0", PUBLIC),
        Row("events/<slug:slug>/posts.json", "/events/{private_slug}/posts.json?after=0", everyone(404)),
        Row("events/<slug:slug>/older.json", "/events/{slug}/older.json?before={post}", PUBLIC),
        Row("events/<slug:slug>/older.json", "/events/{slug}/older.json?before=999", everyone(400)),  # no such post
        Row("events/<slug:slug>/later.json", "/events/{slug}/later.json?after={post}", PUBLIC),
        Row("events/<slug:slug>/later.json", "/events/{slug}/later.json?after={post}&view=all", PUBLIC),
        Row("events/<slug:slug>/later.json", "/events/{slug}/later.json?after={post}&view=nope", everyone(400)),
        Row("events/<slug:slug>/later.json", "/events/{private_slug}/later.json?after=1", everyone(404)),
        Row("events/<slug:slug>/feed.atom", "/events/{slug}/feed.atom", PUBLIC),
        Row("events/<slug:slug>/feed.atom", "/events/{private_slug}/feed.atom", everyone(404)),
        # A reader edition's feed: public for the event's reader languages (tests/languages), else not there.
        Row("events/<slug:slug>/feed/<str:lang>.atom", "/events/{slug}/feed/xx.atom", everyone(404)),
        Row("events/<slug:slug>/feed/<str:lang>.atom", "/events/{private_slug}/feed/en.atom", everyone(404)),
        Row("events/<slug:slug>/embed/", "/events/{slug}/embed/", PUBLIC),
        # Alerts for readers: JSON POSTs with a CSRF token from alerts/token (tests/readers/test_alerts.py).
        Row("events/<slug:slug>/alerts/subscribe", "/events/{slug}/alerts/subscribe", everyone(405)),
        Row("events/<slug:slug>/alerts/unsubscribe", "/events/{slug}/alerts/unsubscribe", everyone(405)),
        Row("events/<slug:slug>/alerts/status", "/events/{slug}/alerts/status", everyone(405)),
        Row("alerts/token", "/alerts/token", PUBLIC),
        Row("push-sw.js", "/push-sw.js", PUBLIC),
        Row("static/events/widget.js", "/static/events/widget.js", everyone(301)),  # the widget's old address
        Row("api/events.json", "/api/events.json", PUBLIC),
        Row("api/events/<slug:slug>.json", "/api/events/{slug}.json", PUBLIC),
        Row("api/events/<slug:slug>.json", "/api/events/{private_slug}.json", everyone(404)),
        # Pictures are public; the pattern admits rendition names only (test_pictures tries the rest).
        Row(PICTURE_ROUTE, "/media/pictures/{picture}", PUBLIC),
        Row(PICTURE_ROUTE, "/media/pictures/" + "0" * 32 + "-480w.jpg", everyone(404)),
        # Quote clips are public; the pattern admits clip names only (test_quote_clips tries the archive's).
        Row(CLIP_ROUTE, "/media/clips/{clip}", PUBLIC),
        Row(CLIP_ROUTE, "/media/clips/" + "0" * 32 + ".flac", everyone(404)),
        Row("studio/<slug:slug>/pictures/", "/studio/{slug}/pictures/", {**everyone(405), ANON: LOGIN}),  # a POST
        Row("studio/<slug:slug>/quotes/", "/studio/{slug}/quotes/", {**everyone(405), ANON: LOGIN}),  # a POST
        Row("studio/<slug:slug>/posts/", "/studio/{slug}/posts/", {**everyone(405), ANON: LOGIN}),  # a POST
        Row("studio/<slug:slug>/follow/", "/studio/{slug}/follow/", {**everyone(405), ANON: LOGIN}),  # a POST
        Row("studio/<slug:slug>/follow/stop/", "/studio/{slug}/follow/stop/", {**everyone(405), ANON: LOGIN}),  # a POST
    ]


TABLE = site_rows() + admin_rows()

# The archive writes from its own thread, so these tests commit: transactional, with the roles put back.
pytestmark = pytest.mark.django_db(transaction=True)


def all_routes(patterns=None, prefix: str = "") -> set[str]:
    routes: set[str] = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            routes |= all_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            routes.add(prefix + str(pattern.pattern))
    return routes


def test_every_url_is_in_the_table():
    listed = {row.route for row in TABLE}
    missing = all_routes() - listed
    assert not missing, f"URLs nobody decided access for: add rows to TABLE for {sorted(missing)}"
    assert not listed - all_routes(), f"rows for URLs that no longer exist: {sorted(listed - all_routes())}"


def test_every_socket_route_is_in_the_table():
    assert {str(route.pattern) for route in [*staff_routes, *reader_routes]} == {
        "ws/studio/<slug:slug>/",
        "ws/studio/<slug:slug>/follow/",  # tests/follow/test_socket.py: the event's journalists only
        "ws/events/<slug:slug>/",
        "ws/queue/<int:event_id>/",
    }


@pytest.fixture
def world(roles_again, event, journalist, other_journalist, editor, reader):
    private = Event.objects.create(
        title="Closed meeting", slug="closed-meeting", is_public=False, status=Event.Status.LIVE,
        starts_at=timezone.now() - timedelta(minutes=5),
    )  # fmt: skip
    private.journalists.add(other_journalist)
    session = factories.stream_session(event, journalist)
    archive_audio(session.pk, pcm(0, 40))
    segment = factories.segment(session, "Opening words.", start=0, end=3)
    correction = SegmentCorrection.objects.create(segment=segment, editor=editor, before="Opening", after="Opening.")
    batch = Batch.objects.create(event=event)
    post = Post.objects.create(event=event, batch=batch, body="The keynote opens.")
    post.publish()
    picture = add_picture(upload(jpeg(600, 400)), event=event, post=post, alt_text="The stage")
    clip_name = clips_storage().save(f"{secrets.token_hex(16)}.flac", ContentFile(b"fLaC"))
    QuoteClip.objects.create(post=post, index=0, quote="Opening.", session=session, start=0, end=3, name=clip_name)
    draft = Post.objects.create(event=event, body="Not yet.")
    alert = Alert.objects.create(kind=Alert.Kind.BATCH_FAILED, event=event, message="Mavera answered 500.")
    return {
        "slug": event.slug,
        "private_slug": private.slug,
        "event": event.pk,
        "event_ct": ContentType.objects.get_for_model(Event).pk,
        "session": session.pk,
        "segment": segment.pk,
        "correction": correction.pk,
        "batch": batch.pk,
        "alert": alert.pk,
        "action": post.actions.first().pk,
        "post": post.pk,
        "draft": draft.pk,
        "picture": picture.renditions[0]["name"],
        "clip": clip_name,
        "user": journalist.pk,
        "group": Group.objects.get(name="Editors").pk,
        "users": {ANON: None, READER: reader, JOURNO: journalist, OTHER: other_journalist, EDITOR: editor},
    }


def outcome(response) -> object:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if location.startswith("/accounts/login/"):
            return LOGIN
    return response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_it_is_allowed(role, world):
    client = Client()
    if world["users"][role] is not None:
        client.force_login(world["users"][role])
    wrong = []
    for row in TABLE:
        url = row.url.format(**world)
        got = outcome(client.get(url))
        if got != row.expect[role]:
            wrong.append(f"{url}: expected {row.expect[role]}, got {got}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_the_private_exports_do_not_leak_into_public_caches(world):
    client = Client()
    client.force_login(world["users"][JOURNO])
    for row in TABLE:
        if row.expect is REVIEWERS:
            response = client.get(row.url.format(**world))
            assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], row.url


# --- CSRF -------------------------------------------------------------------------------------------

POST_FORM = re.compile(rb"<form\b[^>]*method=[\"']?post[^>]*>(.*?)</form>", re.I | re.S)


@pytest.mark.parametrize("role", [ANON, JOURNO, EDITOR])
def test_every_form_carries_a_csrf_token(role, world):
    client = Client()
    if world["users"][role] is not None:
        client.force_login(world["users"][role])
    seen = 0
    for row in TABLE:
        if row.expect[role] != 200:
            continue
        response = client.get(row.url.format(**world))
        if not response["Content-Type"].startswith("text/html"):
            continue
        for form in POST_FORM.findall(response.content):
            seen += 1
            assert b'name="csrfmiddlewaretoken"' in form, f"{row.url}: a form without a CSRF token"
    assert seen, "no forms found: the sweep looked at nothing"


@pytest.mark.parametrize("role", [ANON, JOURNO, EDITOR])
def test_a_post_without_the_token_is_refused_everywhere(role, world):
    client = Client(enforce_csrf_checks=True)
    if world["users"][role] is not None:
        client.force_login(world["users"][role])
    before = (Post.objects.count(), Event.objects.count(), Post.objects.published().count())
    for row in TABLE:
        url = row.url.format(**world)
        response = client.post(url, {"op": "publish", "post": world["draft"], "title": "x", "body": "x"})
        assert response.status_code == 403 and b"CSRF" in response.content, f"{url} took a POST without a token"
    assert (Post.objects.count(), Event.objects.count(), Post.objects.published().count()) == before


def test_the_same_post_with_the_token_works(world):
    """The control for the test above: the refusal was the token, not the request."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"][EDITOR])
    page = client.get(f"/admin/publishing/post/queue/{world['event']}/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    response = client.post(
        f"/admin/publishing/post/queue/{world['event']}/",
        {"op": "publish", "post": world["draft"], "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert Post.objects.get(pk=world["draft"]).is_published


# --- WebSockets -------------------------------------------------------------------------------------

STUDIO_SOCKET = {ANON: False, READER: False, JOURNO: True, OTHER: False, EDITOR: False}
QUEUE_SOCKET = {ANON: False, READER: False, JOURNO: False, OTHER: False, EDITOR: True}


@pytest.fixture
def roles_again(transactional_db):
    create_roles()  # an earlier transactional test's flush may have dropped them


@pytest.mark.parametrize("role", ROLES)
async def test_the_studio_socket_admits_only_the_assigned_journalist(
    role, roles_again, event, journalist, other_journalist, editor, reader
):
    users = {ANON: None, READER: reader, JOURNO: journalist, OTHER: other_journalist, EDITOR: editor}
    studio = Studio(event.slug, users[role])
    assert await studio.connect() is STUDIO_SOCKET[role]
    if STUDIO_SOCKET[role]:
        await studio.disconnect()
        hostile = Studio(event.slug, users[role], origin="https://evil.example")
        assert await hostile.connect() is False  # a page on another site cannot use the journalist's cookie


@pytest.mark.parametrize("role", ROLES)
async def test_the_queue_socket_admits_only_staff_who_change_posts(
    role, roles_again, event, journalist, other_journalist, editor, reader
):
    user = {ANON: None, READER: reader, JOURNO: journalist, OTHER: other_journalist, EDITOR: editor}[role]
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        key = await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()))
    queue = WebsocketCommunicator(application, f"/ws/queue/{event.pk}/", headers=headers)
    connected, _ = await queue.connect(timeout=10)
    assert connected is QUEUE_SOCKET[role]
    await queue.disconnect()


async def test_the_readers_socket_is_open_to_all_but_only_for_public_events(roles_again, event):
    private = await sync_to_async(Event.objects.create)(
        title="Closed", slug="closed", is_public=False, status=Event.Status.LIVE, starts_at=timezone.now()
    )
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    public = WebsocketCommunicator(application, f"/ws/events/{event.slug}/", headers=headers)
    assert (await public.connect(timeout=10))[0]
    await public.send_to(text_data='{"type": "hello", "cursor": 0}')
    await public.send_to(text_data='{"type": "publish", "post": 1}')  # readers never write
    closed = await public.receive_output(timeout=10)
    while closed["type"] != "websocket.close":
        closed = await public.receive_output(timeout=10)
    assert closed["code"] == 4400
    hidden = WebsocketCommunicator(application, f"/ws/events/{private.slug}/", headers=headers)
    await hidden.connect(timeout=10)
    assert (await hidden.receive_output(timeout=10)) == {"type": "websocket.close", "code": 4404}
