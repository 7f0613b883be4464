"""The pages as a German Chromium shows them once their scripts have run, on a Daphne whose German is the
pseudo-locale: the studio live and after Stop, the draft queue, the reader page of a German event. Every word the
scripts write comes from the translation framework (inside ⟦…⟧); times and numbers are the browser's own German."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from publishing.models import Post
from tests.i18n.conftest import PEOPLE_AND_BRANDS
from tests.support.audio import SENTENCES, speech_wav
from tests.support.browser import log_in
from tests.support.emulators.studio import session_cookie
from tests.support.processes import start_daphne
from tests.support.pseudo import unmarked

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SOON = 20_000  # ms
GERMAN = {"locale": "de-DE"}  # Chromium's language: its Accept-Language and navigator.languages

# What a person reads on the page as it stands: its title, every text node and the attributes read aloud or shown
# as tips. Left out: scripts, the transcript and text boxes (people's words), the microphones (their own names), and
# <time>, which the browser's Intl writes in the page's language (checked on its own below).
SHOWN = """() => {
  const skip = 'script, style, template, textarea, time, #transcript, .quote-text, #mic option:not([value=""])';
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (parent && !parent.closest(skip)) texts.push(walker.currentNode.data);
  }
  const attributes = [];
  for (const el of document.body.querySelectorAll("[title], [alt], [placeholder], [aria-label]")) {
    if (el.closest(skip)) continue;
    for (const name of ["title", "alt", "placeholder", "aria-label"]) {
      const value = el.getAttribute(name);
      if (value && !(el.tagName === "IMG" && ["True", "False", "None", "Search"].includes(value))) {
        attributes.push(`${el.tagName.toLowerCase()}[${name}]: ${value}`);
      }
    }
  }
  for (const el of document.body.querySelectorAll("input[type=submit], input[type=button]")) {
    attributes.push(`input[value]: ${el.value}`);
  }
  return { text: texts.join("  "), attributes };
}"""


def left_in_english(page, allowed: tuple[str, ...] = ()) -> list[str]:
    shown = page.evaluate(SHOWN)
    allowed = (*allowed, *PEOPLE_AND_BRANDS)
    found = unmarked(shown["text"], allowed)
    for attribute in shown["attributes"]:
        tag_and_name, value = attribute.split(": ", 1)
        found += [f"{tag_and_name}: {chunk}" for chunk in unmarked(value, allowed)]
    return found


@pytest.fixture(scope="module")
def microphone(tmp_path_factory):
    return speech_wav(tmp_path_factory.mktemp("mic") / "microphone.wav", SENTENCES[:2], rate=48000)


@pytest.fixture(scope="module")
def pseudo_daphne(django_db_setup, pseudo_locale):
    """A Daphne whose German is the pseudo-locale (EXTRA_LOCALE_PATHS comes before the committed catalogs)."""
    process, port = start_daphne(EXTRA_LOCALE_PATHS=str(pseudo_locale))
    yield f"http://127.0.0.1:{port}"
    process.stop()
    process.assert_no_traceback()


def test_the_studio_live_and_after_stop(browser, pseudo_daphne, coverage, journalist):
    """In a German journalist's language, whatever the event's: here an English talk (the offline recognizer's)."""
    event = coverage["event"]
    event.language = "en"
    event.save()
    context = browser.new_context(base_url=pseudo_daphne, permissions=["microphone"], **GERMAN)
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(journalist), "url": pseudo_daphne}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/studio/{event.slug}/")
    posts = Post.objects.filter(event=event).count()
    expect(page.locator("#drafts li")).to_have_count(posts, timeout=SOON)  # drawn by the script from drafts.json
    seen = {"loaded": left_in_english(page)}

    page.click("#go-live")
    expect(page.locator("#state")).to_have_attribute("data-state", "live", timeout=SOON)
    expect(page.locator("#mic-check")).not_to_have_attribute("data-check", "off", timeout=SOON)  # level judged
    expect(page.locator("#countdown")).to_contain_text("⟦")
    seen["live"] = left_in_english(page)

    page.click("#stop")
    expect(page.locator("#state")).to_have_attribute("data-state", "stopped", timeout=SOON)
    expect(page.locator("#recap")).to_be_visible(timeout=SOON)
    expect(page.locator("#recap-dropped")).to_contain_text("⟦")
    seen["stopped"] = left_in_english(page)
    context.close()
    assert not any(seen.values()), seen
    assert not errors, errors


def test_the_draft_queue(browser, pseudo_daphne, coverage, editor):
    event = coverage["event"]
    context = browser.new_context(**GERMAN)
    page = log_in(context, pseudo_daphne, "ed", "ed-password-123", admin=True)
    page.goto(f"{pseudo_daphne}/admin/publishing/post/queue/{event.pk}/")
    expect(page.locator("#queue[data-connected]")).to_have_count(1, timeout=SOON)
    page.click("#queue-keys-open")
    expect(page.locator("#queue-keys")).to_be_visible()
    left = left_in_english(page)
    context.close()
    assert not left, left


def test_the_reader_page_of_a_german_event(browser, pseudo_daphne, coverage):
    event = coverage["event"]
    context = browser.new_context(**GERMAN)
    page = context.new_page()
    page.goto(f"{pseudo_daphne}/events/{event.slug}/")
    expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=SOON)
    assert page.evaluate("document.documentElement.lang") == "de"
    left = left_in_english(page)
    # The newest post's time, as German writes "now".
    now = page.evaluate("new Intl.RelativeTimeFormat('de', { numeric: 'auto' }).format(0, 'second')")
    times = page.locator("time[data-format=relative]").all_inner_texts()
    context.close()
    assert not left, left
    assert now in times, times
