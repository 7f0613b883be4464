"""Readers' pages on a real Daphne in real Chromium: posts arrive without reload from admin and
from other processes, edits and removals follow, a cut socket catches up, no JavaScript still works."""

import json
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
import websockets
import websockets.sync.client as ws_client
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from events.roles import create_roles
from publishing.models import Post
from tests.support import factories
from tests.support.processes import ROOT, child_env, start_daphne

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARRIVES = 15_000  # ms: a functional bound, far above the 2 s the embedded mode is built for


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    create_roles()


@pytest.fixture
def reader(browser):
    contexts = []

    def open_page(url: str, **options):
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.goto(url)
        return page

    yield open_page
    for context in contexts:
        context.close()


def live_page(reader, url: str, **options):
    page = reader(url, **options)
    expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=ARRIVES)
    page.evaluate("window.__sameDocument = true")
    return page


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__sameDocument") is True


def in_another_process(code: str) -> None:
    """Run Django code in a separate process, as the Celery worker would: the Daphne serving the
    reader hears of it only through the database or the channel layer, never in memory."""
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=child_env(),
        check=True,
        timeout=120,
        capture_output=True,
    )


def test_reader_receives_posts_published_in_admin_and_by_another_process(browser, reader, daphne, event, editor):
    page = live_page(reader, f"{daphne}/events/{event.slug}/")
    draft = Post.objects.create(event=event, headline="From the newsroom", body="Approved by an editor.")

    admin = reader(f"{daphne}/admin/login/?next=/admin/publishing/post/")
    admin.fill("#id_username", "ed")
    admin.fill("#id_password", "ed-password-123")
    admin.click("input[type=submit]")
    admin.check(f"input[name=_selected_action][value='{draft.pk}']")
    admin.select_option("select[name=action]", "publish")
    admin.click("button[name=index]")
    expect(admin.locator(".messagelist")).to_be_visible()

    expect(page.locator(f"#post-{draft.pk}")).to_contain_text("Approved by an editor.", timeout=ARRIVES)

    in_another_process(
        f"""
        from publishing.models import Post
        post = Post.objects.create(event_id={event.pk}, headline="From the worker", body="Drafted and auto-published.")
        post.publish()
        """
    )
    worker_post = Post.objects.get(headline="From the worker")
    arrived = page.locator(f"#post-{worker_post.pk}")
    expect(arrived).to_contain_text("Drafted and auto-published.", timeout=ARRIVES)
    expect(arrived).to_contain_text("AI-assisted" if worker_post.ai_assisted else "Liveblog Newsroom")
    # newest first, each once
    ids = page.eval_on_selector_all("#posts article.post", "els => els.map(e => +e.dataset.id)")
    assert ids == [worker_post.pk, draft.pk]
    assert_not_reloaded(page)


def test_scrolled_down_reader_gets_a_banner_and_a_title_count(reader, daphne, event):
    start = timezone.now() - timedelta(hours=1)
    for n in range(12):
        post = factories.published_post(event, f"Earlier update {n}. " + "Plenty of words to make the page long. " * 12)
        Post.objects.filter(pk=post.pk).update(published_at=start + timedelta(minutes=n))
    page = live_page(reader, f"{daphne}/events/{event.slug}/", viewport={"width": 390, "height": 700})
    title = page.title()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")

    fresh = factories.published_post(event, "Something new happened.")
    banner = page.locator("#new-banner")
    expect(banner).to_be_visible(timeout=ARRIVES)
    expect(banner).to_contain_text("1 new update")
    expect(page).to_have_title(f"(1) {title}")
    expect(page.locator("#announcer")).to_have_text("1 new update")
    expect(page.locator(f"#post-{fresh.pk}")).to_be_hidden()

    second = factories.published_post(event, "And something else.")
    expect(banner).to_contain_text("2 new updates", timeout=ARRIVES)
    expect(page).to_have_title(f"(2) {title}")

    banner.click()
    expect(page.locator(f"#post-{second.pk}")).to_be_visible()
    expect(page.locator(f"#post-{fresh.pk}")).to_be_visible()
    expect(banner).to_be_hidden()
    expect(page).to_have_title(title)

    page.evaluate("window.scrollTo(0, 0)")
    third = factories.published_post(event, "Read at the top.")
    expect(page.locator(f"#post-{third.pk}")).to_be_visible(timeout=ARRIVES)  # slides straight in
    expect(banner).to_be_hidden()
    assert_not_reloaded(page)


def test_edits_removals_and_pins_reach_the_open_page(reader, daphne, event, editor):
    kept = factories.published_post(event, "Original wording.", headline="Kept")
    dropped = factories.published_post(event, "About to be withdrawn.", headline="Dropped")
    rejected = factories.published_post(event, "About to be rejected.", headline="Rejected")
    page = live_page(reader, f"{daphne}/events/{event.slug}/")

    kept.edit(editor, headline="Kept", body="Corrected wording.")
    expect(page.locator(f"#post-{kept.pk}")).to_contain_text("Corrected wording.", timeout=ARRIVES)
    dropped.unpublish(editor)
    expect(page.locator(f"#post-{dropped.pk}")).to_have_count(0, timeout=ARRIVES)
    rejected.reject(editor)
    expect(page.locator(f"#post-{rejected.pk}")).to_have_count(0, timeout=ARRIVES)

    kept.set_pinned(editor, True)
    expect(page.locator(f"#pinned #pinned-post-{kept.pk}")).to_contain_text("Corrected wording.", timeout=ARRIVES)
    kept.set_key_event(editor, True)
    expect(page.locator("#key-events-list a")).to_have_attribute("href", f"#post-{kept.pk}", timeout=ARRIVES)
    kept.set_pinned(editor, False)
    expect(page.locator("#pinned")).to_be_hidden(timeout=ARRIVES)
    assert page.locator(f"#post-{kept.pk}").count() == 1
    assert_not_reloaded(page)


def test_renaming_and_ending_the_event_reach_the_open_page_and_widget(reader, daphne, event, editor):
    page = live_page(reader, f"{daphne}/events/{event.slug}/")
    widget = live_page(reader, f"{daphne}/events/{event.slug}/embed/")
    renamed = "Keynote: the <i>future</i> of news"

    admin = reader(f"{daphne}/admin/login/?next=/admin/events/event/{event.pk}/change/")
    admin.fill("#id_username", "ed")
    admin.fill("#id_password", "ed-password-123")
    admin.click("input[type=submit]")
    admin.fill("#id_title", renamed)
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist")).to_be_visible()

    expect(page.locator("h1")).to_have_text(renamed, timeout=ARRIVES)  # as text, not markup
    expect(page).to_have_title(f"Live: {renamed} · {settings.PUBLISHER_NAME}")
    expect(widget.locator("h1 a")).to_have_text(renamed, timeout=ARRIVES)
    expect(page.locator("#event-badge")).to_have_text("Live")

    in_another_process(f"from events.models import Event; Event.objects.get(pk={event.pk}).end()")
    for open_page in (page, widget):
        expect(open_page.locator("#event-badge")).to_have_text("Ended", timeout=ARRIVES)
        expect(open_page.locator("#event-badge")).to_have_class("ended-badge")
        assert open_page.locator("h1 i").count() == 0
        assert_not_reloaded(open_page)
    expect(page).to_have_title(f"{renamed} · {settings.PUBLISHER_NAME}")


def test_page_catches_up_after_the_socket_is_cut(reader, event, editor):
    process, port = start_daphne()
    try:
        edited = factories.published_post(event, "Before the outage.")
        removed = factories.published_post(event, "Withdrawn during the outage.")
        page = live_page(reader, f"http://127.0.0.1:{port}/events/{event.slug}/")

        process.kill()  # every socket cut at once, no goodbye
        expect(page.locator("#event[data-connected]")).to_have_count(0, timeout=ARRIVES)
        missed = factories.published_post(event, "Published while the reader was cut off.")
        edited.edit(editor, headline="", body="Edited during the outage.")
        removed.unpublish(editor)

        process, port = start_daphne(port=port)
        expect(page.locator(f"#post-{missed.pk}")).to_have_count(1, timeout=45_000)
        expect(page.locator(f"#post-{edited.pk}")).to_contain_text("Edited during the outage.")
        expect(page.locator(f"#post-{removed.pk}")).to_have_count(0)
        expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=ARRIVES)

        again = factories.published_post(event, "After the reconnect.")
        expect(page.locator(f"#post-{again.pk}")).to_have_count(1, timeout=ARRIVES)
        ids = page.eval_on_selector_all("#posts article.post", "els => els.map(e => +e.dataset.id)")
        assert ids == [again.pk, missed.pk, edited.pk]  # nothing missed, nothing twice
        assert_not_reloaded(page)
    finally:
        process.stop()


def test_without_sockets_the_page_polls_the_cursor_endpoint(browser, daphne, event):
    context = browser.new_context()
    try:
        # A browser (or a proxy-mangled page) without WebSocket at all.
        context.add_init_script("delete window.WebSocket")
        page = context.new_page()
        polled = []
        page.on("request", lambda request: polled.append(request.url) if "posts.json?after=" in request.url else None)
        page.goto(f"{daphne}/events/{event.slug}/")
        page.evaluate("window.__sameDocument = true")
        post = factories.published_post(event, "Arrived by polling.")
        expect(page.locator(f"#post-{post.pk}")).to_contain_text("Arrived by polling.", timeout=ARRIVES)
        assert polled, "the page never asked the cursor endpoint"
        assert page.locator("#event[data-connected]").count() == 0
        assert_not_reloaded(page)
    finally:
        context.close()


def test_the_page_is_complete_without_javascript(reader, daphne, event):
    start = timezone.now() - timedelta(hours=2)
    posts = []
    for n in range(23):
        post = factories.published_post(event, f"Update {n}.", headline=f"Headline {n}")
        Post.objects.filter(pk=post.pk).update(published_at=start + timedelta(minutes=n))
        posts.append(post)
    page = reader(f"{daphne}/events/{event.slug}/", java_script_enabled=False)
    expect(page.locator("h1")).to_have_text(event.title)
    expect(page.locator("#event-badge.live-badge")).to_have_text("Live")
    expect(page.locator("#posts article.post")).to_have_count(20)
    expect(page.locator("#posts article.post").first).to_contain_text("Headline 22")
    newest_time = (start + timedelta(minutes=22)).strftime("%H:%M UTC")  # in the event's zone, not the reader's
    expect(page.locator(f"#post-{posts[22].pk} time")).to_have_text(newest_time)
    assert page.locator("main").count() == 1 and page.locator("header[role=banner]").count() == 1

    page.click("text=Load older posts")
    expect(page.locator("#posts article.post")).to_have_count(3)
    expect(page.locator("#posts article.post").first).to_contain_text("Headline 2")


def test_hostile_post_stays_inert_in_the_browser(reader, daphne, event):
    page = live_page(reader, f"{daphne}/events/{event.slug}/")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    hostile = factories.published_post(
        event,
        'Look <script>window.pwned=1</script><img src=x onerror="window.pwned=2;alert(2)">'
        '<a href="javascript:window.pwned=3">click</a></script><script>alert(4)</script>',
        headline="<script>alert('h')</script>",
    )
    arrived = page.locator(f"#post-{hostile.pk}")
    expect(arrived).to_contain_text("<script>alert('h')</script>", timeout=ARRIVES)  # shown as text
    embed = reader(f"{daphne}/events/{event.slug}/embed/")
    embed.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    expect(embed.locator(f"#post-{hostile.pk}")).to_be_visible()
    reload = reader(f"{daphne}/events/{event.slug}/")
    expect(reload.locator(f"#post-{hostile.pk}")).to_be_visible()

    for view in (page, embed, reload):
        view.wait_for_timeout(300)  # let any onerror fire if it were there
        assert view.evaluate("window.pwned") is None
        assert view.locator("#posts script, #posts [onerror], #posts a[href^='javascript']").count() == 0
    data = json.loads(reload.locator('script[type="application/ld+json"]').text_content())
    assert data["liveBlogUpdate"][0]["articleBody"].startswith("Look")
    assert dialogs == []


def test_socket_is_read_only_and_speaks_only_hello(daphne, event):
    url = daphne.replace("http", "ws") + f"/ws/events/{event.slug}/"
    factories.published_post(event, "Already there.")
    for bad in ["hi", json.dumps({"type": "publish", "cursor": 0}), json.dumps({"type": "hello", "cursor": -1})]:
        with ws_client.connect(url, origin=daphne) as socket:
            socket.send(bad)
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                socket.recv(timeout=10)
            assert closed.value.rcvd.code == 4400
    with ws_client.connect(url, origin=daphne) as socket:
        socket.send(json.dumps({"type": "hello", "cursor": 0}))
        data = json.loads(socket.recv(timeout=10))
        assert data["after"] == 0 and [p["id"] for p in data["posts"]]
        socket.send(json.dumps({"type": "hello", "cursor": 0}))  # once only
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            socket.recv(timeout=10)
        assert closed.value.rcvd.code == 4400
    with ws_client.connect(daphne.replace("http", "ws") + "/ws/events/nope/", origin=daphne) as socket:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            socket.recv(timeout=10)
        assert closed.value.rcvd.code == 4404


def test_a_reader_joining_on_an_older_cursor_is_caught_up_and_both_hear_the_next_change(daphne, event):
    url = daphne.replace("http", "ws") + f"/ws/events/{event.slug}/"

    def ids(socket) -> list[int]:
        return [post["id"] for post in json.loads(socket.recv(timeout=10))["posts"]]

    first = factories.published_post(event, "First.")
    with ws_client.connect(url, origin=daphne) as early:
        early.send(json.dumps({"type": "hello", "cursor": 0}))
        seen = json.loads(early.recv(timeout=10))
        assert [post["id"] for post in seen["posts"]] == [first.pk]
        second = factories.published_post(event, "Second.")
        assert ids(early) == [second.pk]
        with ws_client.connect(url, origin=daphne) as late:  # behind the readers already here
            late.send(json.dumps({"type": "hello", "cursor": seen["cursor"]}))
            assert ids(late) == [second.pk]
            third = factories.published_post(event, "Third.")
            assert ids(early) == [third.pk]
            assert ids(late) == [third.pk]
