"""Times on the reader page in real Chromium: in the reader's zone with JavaScript (posts, updates, corrections,
the end), recent posts as "N minutes ago" kept fresh with the time itself in the title, the zone named without
JavaScript, and the page's language from the event's."""

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from publishing.models import Post
from readers import changes
from tests.support import factories

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_roles"),
]

ARRIVES = 15_000  # ms
READER_ZONE = "Asia/Tokyo"  # +09:00 all year: no daylight saving to reckon with


@pytest.fixture
def london(event):
    event.timezone, event.language = "Europe/London", "en"
    event.save()
    return event


def clock(when, zone: str = READER_ZONE) -> str:
    return when.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%H:%M")


def test_times_are_the_readers_and_recent_ones_stay_relative_and_fresh(browser, daphne, london, editor):
    early = factories.published_post(london, "Doors open.", headline="Doors")
    Post.objects.filter(pk=early.pk).update(published_at=timezone.now() - timedelta(hours=13))
    recent = factories.published_post(london, "The keynote starts.", headline="Keynote")
    Post.objects.filter(pk=recent.pk).update(published_at=timezone.now() - timedelta(minutes=3))
    recent.refresh_from_db()
    recent.edit(editor, headline="Keynote", body="The keynote starts late.", correction="It started late.")
    changes.forget_state(london.slug)
    recent.refresh_from_db()
    early.refresh_from_db()

    context = browser.new_context(timezone_id=READER_ZONE, locale="en-GB")  # an "en" page, 24-hour clock
    try:
        page = context.new_page()
        page.clock.install()
        page.goto(f"{daphne}/events/{london.slug}/")
        expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=ARRIVES)
        assert page.evaluate("document.documentElement.lang") == "en"

        posted = page.locator(f"#post-{recent.pk} .permalink time")
        expect(posted).to_have_text("3 minutes ago")
        assert posted.get_attribute("datetime") == recent.published_at.isoformat()
        title = posted.get_attribute("title")
        assert clock(recent.published_at) in title and "GMT+9" in title, title
        expect(page.locator(f"#post-{recent.pk} .edited time")).to_have_text(clock(recent.updated_at))
        expect(page.locator(f"#post-{recent.pk} .correction time")).to_have_text(clock(recent.corrected_at))
        older = page.locator(f"#post-{early.pk} .permalink time")  # past the relative hours: its own time
        expect(older).to_contain_text(clock(early.published_at))
        expect(page.locator("#time-zone")).to_have_text(f"times in your time zone ({READER_ZONE})")

        page.clock.fast_forward("02:00")
        expect(posted).to_have_text("5 minutes ago")

        london.end(editor)
        london.refresh_from_db()
        ended = page.locator("#event-ended-at")
        expect(ended).to_be_visible(timeout=ARRIVES)
        expect(ended).to_contain_text(clock(london.ends_at))
        assert "GMT+9" in ended.get_attribute("title")
    finally:
        context.close()


def test_without_javascript_times_are_the_events_with_the_zone_named(browser, daphne, london, editor):
    post = factories.published_post(london, "The keynote starts.", headline="Keynote")
    post.edit(editor, headline="Keynote", body="The keynote starts late.", correction="It started late.")
    post.refresh_from_db()
    context = browser.new_context(timezone_id=READER_ZONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{daphne}/events/{london.slug}/")
        here = post.published_at.astimezone(zoneinfo.ZoneInfo("Europe/London"))
        zone = here.strftime("%Z")  # GMT or BST
        expect(page.locator(f"#post-{post.pk} .permalink time")).to_have_text(f"{here:%H:%M} {zone}")
        corrected = post.corrected_at.astimezone(zoneinfo.ZoneInfo("Europe/London"))
        expect(page.locator(f"#post-{post.pk} .correction time")).to_have_text(f"{corrected:%H:%M} {zone}")
        expect(page.locator("#time-zone")).to_have_text("times in Europe/London")
        assert page.evaluate("document.documentElement.lang") == "en"
    finally:
        context.close()
