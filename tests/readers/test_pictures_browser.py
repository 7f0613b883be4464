"""Pictures in posts on a real Daphne in real Chromium: the reader page shows a post's picture as a
responsive image with its alt text and size, it loads (served under /media/pictures/, allowed by the
CSP), a picture a live update brings is shown the same way, and a journalist's picture sent from the
studio page reaches the editors' queue."""

from io import BytesIO

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import expect

from events.roles import create_roles
from publishing.models import Picture, Post
from publishing.pictures import add_picture
from tests.support import factories
from tests.support.browser import log_in

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARRIVES = 15_000  # ms: a functional bound, far above what a live update takes


@pytest.fixture(autouse=True)
def _fresh(transactional_db):
    cache.clear()
    create_roles()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    console: list[str] = []
    context.on("console", lambda message: console.append(message.text))
    context.console = console
    yield context
    context.close()


def photo(width: int = 2000, height: int = 1000) -> SimpleUploadedFile:
    data = BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(data, "JPEG")
    return SimpleUploadedFile("stage.jpg", data.getvalue(), content_type="image/jpeg")


def assert_shown_as_responsive_picture(img, picture: Picture) -> None:
    expect(img).to_have_attribute("alt", picture.alt_text)
    expect(img).to_have_attribute("srcset", picture.srcset)
    expect(img).to_have_attribute("width", str(picture.width))
    expect(img).to_have_attribute("height", str(picture.height))
    expect(img).to_have_attribute("loading", "lazy")
    expect(img).to_have_attribute("decoding", "async")
    img.scroll_into_view_if_needed()
    # Loaded from one of its renditions, and laid out at the picture's shape before and after loading.
    img.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle(), timeout=ARRIVES)
    current = img.evaluate("img => img.currentSrc")
    assert any(current.endswith(rendition["name"]) for rendition in picture.renditions), current
    box = img.bounding_box()
    assert abs(box["width"] / box["height"] - picture.width / picture.height) < 0.02


def test_reader_page_shows_the_picture_and_a_live_update_carries_one(context, daphne, event, editor):
    post = factories.published_post(event, "The hall fills up.", headline="Doors open")
    picture = add_picture(
        photo(), event=event, post=post, alt_text="A full hall seen from the stage", caption="Day one"
    )

    page = context.new_page()
    page.goto(f"{daphne}/events/{event.slug}/")
    expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=ARRIVES)
    page.evaluate("window.__sameDocument = true")
    figure = page.locator(f"#post-{post.pk} figure.picture")
    expect(figure.locator("figcaption")).to_have_text("Day one")
    assert_shown_as_responsive_picture(figure.locator("img"), picture)

    draft = Post.objects.create(event=event, headline="On stage", body="The keynote begins.")
    live_picture = add_picture(photo(1200, 900), event=event, post=draft, alt_text="The speaker at the lectern")
    draft.refresh_from_db()
    draft.publish(editor)
    arrived = page.locator(f"#post-{draft.pk} figure.picture img")
    expect(arrived).to_have_count(1, timeout=ARRIVES)
    assert_shown_as_responsive_picture(arrived, live_picture)
    assert page.evaluate("window.__sameDocument") is True
    assert not [line for line in context.console if "CSP violation" in line or "Refused" in line]


def test_a_picture_sent_from_the_studio_reaches_the_queue(context, daphne, event, editor, tmp_path):
    studio = log_in(context, daphne, "jo", "jo-password-123")
    studio.goto(f"{daphne}/studio/{event.slug}/")
    expect(studio.locator("#picture-file")).to_have_attribute("accept", "image/*")
    expect(studio.locator("#picture-camera")).to_have_attribute("capture", "user")

    not_a_picture = tmp_path / "notes.jpg"
    not_a_picture.write_text("meeting notes, not a picture")
    studio.set_input_files("#picture-file", str(not_a_picture))
    studio.fill("#picture-alt", "Notes")
    studio.click("#picture-send")
    expect(studio.locator("#picture-status")).to_contain_text("not a JPEG, PNG or WebP", timeout=ARRIVES)

    sent = tmp_path / "panel.jpg"
    sent.write_bytes(photo(1600, 1200).read())
    studio.set_input_files("#picture-camera", str(sent))
    studio.fill("#picture-alt", "The panel on stage")
    studio.click("#picture-send")
    expect(studio.locator("#picture-status")).to_contain_text("goes to the editors", timeout=ARRIVES)
    picture = Picture.objects.get(alt_text="The panel on stage")
    assert picture.post is None and picture.uploaded_by.username == "jo"

    queue = log_in(context, daphne, "ed", "ed-password-123", admin=True)
    queue.goto(f"{daphne}/admin/publishing/post/queue/{event.pk}/")
    thumbnail = queue.locator(f"#waiting-picture-{picture.pk} img")
    expect(thumbnail).to_have_attribute("alt", "The panel on stage")
    queue.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
