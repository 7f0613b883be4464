"""The Content-Security-Policy in real Chromium on a real Daphne: readers' pages, the widget on
another site, the studio going live and the admin (draft queue included) work under it with no
violation reported; the header is on every answer, cached ones too; only the embed page may be framed."""

import http.server
import threading
import wave
from pathlib import Path

import httpx
import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from publishing.models import Post
from readers.widget import embed_snippet
from tests.support.browser import log_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

# Playwright's init scripts run outside the page's policy, so this listener sees every violation.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = e.blockedURI || "inline";
  console.error("CSP violation: " + e.violatedDirective + " blocked " + where + " on " + e.documentURI);
});
"""


@pytest.fixture(scope="module")
def microphone(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mic") / "quiet.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(48000)
        wav.writeframes(b"\x00\x00" * 48000 * 3)
    return path


@pytest.fixture
def third_party_site(tmp_path):
    """Another origin, as a newspaper that embeds the widget would be."""
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def watched_context(browser, base_url: str, **options):
    """A browser context whose console lines (violations included) land in the returned list."""
    context = browser.new_context(base_url=base_url, **options)
    context.add_init_script(REPORT_VIOLATIONS)
    lines: list[str] = []
    context.on("console", lambda message: lines.append(message.text))
    context.on("weberror", lambda error: lines.append(f"page error: {error.error}"))
    return context, lines


def violations(lines: list[str]) -> list[str]:
    return [line for line in lines if "Content Security Policy" in line or "CSP violation" in line]


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response.ok, f"{path}: {response.status}"
    assert "Content-Security-Policy" in response.headers or "content-security-policy" in response.headers, path


def test_every_answer_carries_the_policy_and_only_the_embed_may_be_framed(daphne, event):
    post = Post.objects.create(event=event, body="Opening remarks.")
    post.publish()
    cache.clear()
    with httpx.Client(base_url=daphne) as http:
        for path in ("/", f"/events/{event.slug}/", f"/events/{event.slug}/posts.json?after=0", "/accounts/login/"):
            first, cached = http.get(path), http.get(path)
            for answer in (first, cached):
                policy = answer.headers["Content-Security-Policy"]
                assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, (path, policy)
        assert "frame-ancestors 'none'" in http.get("/admin/login/").headers["Content-Security-Policy"]
        for _ in range(2):  # rendered, then from the cache
            embed = http.get(f"/events/{event.slug}/embed/")
            assert "frame-ancestors *" in embed.headers["Content-Security-Policy"]
            assert "X-Frame-Options" not in embed.headers


def test_readers_pages_and_the_widget_on_another_site_report_no_violation(browser, daphne, event, third_party_site):
    post = Post.objects.create(event=event, body="Opening remarks.")
    post.publish()
    context, lines = watched_context(browser, daphne)
    page = context.new_page()
    for path in ("/", f"/events/{event.slug}/", f"/events/{event.slug}/posts/{post.pk}/"):
        visit(page, path)
    expect(page.locator("#event[data-connected]")).to_have_count(0)  # the permalink is static
    visit(page, f"/events/{event.slug}/")
    expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=15_000)  # socket and cursor allowed

    folder, site = third_party_site
    (folder / "story.html").write_text(
        f"<!doctype html><title>A newspaper</title><p>Our story.</p>{embed_snippet(daphne, event)}"
    )
    (folder / "framing.html").write_text(
        f'<!doctype html><title>A copycat</title><iframe src="{daphne}/events/{event.slug}/"></iframe>'
    )
    page.goto(f"{site}/story.html")
    widget = page.frame_locator("iframe")
    expect(widget.locator("#event[data-connected]")).to_have_count(1, timeout=15_000)
    expect(widget.locator("#posts")).to_contain_text("Opening remarks.")
    assert not violations(lines), lines

    with page.expect_console_message(lambda message: "frame-ancestors 'none'" in message.text, timeout=15_000):
        page.goto(f"{site}/framing.html")
    context.close()


def test_the_studio_goes_live_under_the_policy(browser, daphne, event, journalist):
    context, lines = watched_context(browser, daphne, permissions=["microphone"])
    page = log_in(context, daphne, "jo", "jo-password-123")
    visit(page, f"/studio/{event.slug}/")
    page.click("#go-live")
    expect(page.locator("#state")).to_have_text("live", timeout=15_000)  # worklet loaded, socket open
    page.click("#stop")
    expect(page.locator("#state")).to_have_text("stopped", timeout=20_000)
    assert not violations(lines), lines
    context.close()


def test_admin_and_the_draft_queue_report_no_violation(browser, daphne, event, editor):
    draft = Post.objects.create(event=event, body="A draft waiting for an editor.")
    published = Post.objects.create(event=event, body="Already out.")
    published.publish()
    context, lines = watched_context(browser, daphne)
    page = log_in(context, daphne, "ed", "ed-password-123", admin=True)
    for path in (
        "/admin/",
        "/admin/publishing/post/",
        f"/admin/publishing/post/{draft.pk}/change/",
        "/admin/publishing/post/queue/",
        f"/admin/publishing/post/queue/{event.pk}/",
        f"/admin/events/event/{event.pk}/change/",
        "/admin/events/event/add/",
        "/admin/transcription/segment/",
    ):
        visit(page, path)
        page.wait_for_load_state("networkidle")
    expect(page.locator("#changelist")).to_have_count(1)
    assert not violations(lines), lines
    context.close()
