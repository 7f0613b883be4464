"""Readers hear the quote in real Chromium, on a real Daphne: the play button after a quote, reached and pressed
from the keyboard, plays exactly the quote's clip; a post a live update brings has its own; without JavaScript
the quote links to the clip file."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect

from publishing.clips import clip_url, clips_storage
from publishing.models import QuoteClip
from tests.support import factories, framecoded
from tests.support.clips import QUOTE, quoted_post, traced
from tests.support.framecoded import RATE, STEP, pcm
from tests.support.processes import start_daphne

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker"),
]

ARRIVES = 15_000  # ms: a functional bound, far above what a live update or a five-second clip takes

# What Chromium itself decodes from the clip it played: duration and the frame codes at both ends.
DECODE = f"""async (audio) => {{
    const response = await fetch(audio.currentSrc);
    const data = await new OfflineAudioContext(1, 1, {RATE}).decodeAudioData(await response.arrayBuffer());
    const samples = data.getChannelData(0);
    const frame = (x) => Math.round(x * 32768 / {STEP});
    return {{duration: data.duration, first: frame(samples[0]), last: frame(samples[samples.length - 1])}};
}}"""


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def daphne(django_db_setup, media_root):
    process, port = start_daphne(MEDIA_ROOT=str(media_root))
    yield f"http://127.0.0.1:{port}"
    process.stop()
    process.assert_no_traceback()


@pytest.fixture(autouse=True)
def storages(settings, media_root, fresh_roles):
    """The archive and clips storages Daphne reads, written by this process as the web and worker would."""
    settings.MEDIA_ROOT = media_root
    settings.STORAGES = {
        **settings.STORAGES,
        "clips": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": media_root / "clips", "base_url": "/media/clips/"},
        },
    }


@pytest.fixture
def session(event, journalist):
    session = factories.stream_session(event, journalist, audio_seconds=20)
    # On a thread of its own: Playwright's event loop runs on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(framecoded.archive_audio, session.pk, pcm(0, 200)).result()
    session.refresh_from_db()
    return session


def tab_to(page, target) -> None:
    """Move the focus with Tab, as a keyboard user does, until it reaches `target`."""
    for _ in range(60):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    pytest.fail("the play button cannot be reached with Tab")


def test_a_reader_plays_the_quote_from_the_keyboard_and_a_live_post_brings_its_own(
    browser, daphne, event, session, editor
):
    event.readers_hear_quotes = True
    event.save()
    post = quoted_post(event, traced(session))
    post.publish(editor)
    clip = QuoteClip.objects.get(post=post)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    console: list[str] = []
    context.on("console", lambda message: console.append(message.text))
    page = context.new_page()
    page.goto(f"{daphne}/events/{event.slug}/")
    expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=ARRIVES)
    button = page.locator(f"#post-{post.pk} .body button.hear-quote")
    expect(button).to_have_accessible_name(f"Hear the quote: “{QUOTE}”")
    expect(button).to_have_attribute("aria-pressed", "false")

    tab_to(page, button)
    page.keyboard.press("Enter")
    audio = page.locator("audio.quote-player")
    page.wait_for_function("audio => audio.ended", arg=audio.element_handle(), timeout=ARRIVES)
    played = audio.evaluate("a => ({src: a.currentSrc, played: a.played.length ? a.played.end(0) : 0})")
    assert played["src"] == daphne + clip_url(clip)
    assert abs(played["played"] - 5.1) < 0.05  # 7.15 s to 12.25 s of the session, through to its end
    expect(button).to_have_attribute("aria-pressed", "false")
    heard = audio.evaluate(DECODE)
    assert abs(heard["duration"] - 5.1) < 0.01 and (heard["first"], heard["last"]) == (71, 122)

    # Space plays it again and stops it.
    page.keyboard.press(" ")
    expect(button).to_have_attribute("aria-pressed", "true")
    page.wait_for_function("audio => !audio.paused && audio.currentTime > 0", arg=audio.element_handle())
    page.keyboard.press(" ")
    expect(button).to_have_attribute("aria-pressed", "false")
    assert audio.evaluate("a => a.paused && !a.ended")

    live = quoted_post(event, traced(session, quote="Thank you", start=1.0, end=2.0), body="“Thank you”, she said.")
    live.publish(editor)
    arrived = page.locator(f"#post-{live.pk} .body button.hear-quote")
    expect(arrived).to_have_accessible_name("Hear the quote: “Thank you”", timeout=ARRIVES)
    arrived.click()
    page.wait_for_function("audio => audio.ended", arg=audio.element_handle(), timeout=ARRIVES)
    assert audio.evaluate("a => a.currentSrc") == daphne + clip_url(QuoteClip.objects.get(post=live))
    assert not [line for line in console if "Content Security Policy" in line or "Refused" in line]
    context.close()

    no_script = browser.new_context(java_script_enabled=False)
    page = no_script.new_page()
    page.goto(f"{daphne}/events/{event.slug}/")
    link = page.locator(f"#post-{post.pk} .body a.hear-quote")
    expect(link).to_have_accessible_name(f"Hear the quote: “{QUOTE}”")
    response = page.request.get(daphne + link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "audio/flac"
    assert response.body() == Path(clips_storage().path(clip.name)).read_bytes()
    no_script.close()
