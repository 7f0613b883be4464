"""Embeds on a real Daphne in real Chromium, against oEmbed provider emulators on loopback: the card asks nothing
of the provider until the reader presses its button, then shows the provider's player in a sandboxed frame that
the page's CSP allows for that provider only; a card a live update brings works the same way, one from a
provider the open page's CSP does not frame says to reload; without JavaScript the card is a link."""

import json

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from events.roles import create_roles
from publishing.embeds import add_embed
from tests.support import factories
from tests.support.axe import audit, blocking
from tests.support.emulators.oembed import Item, OEmbedEmulator
from tests.support.processes import start_daphne

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARRIVES = 15_000  # ms: a functional bound, far above what a live update or a frame's load takes
VIDEO = "https://video.example/watch/abc"
SANDBOX = "allow-scripts allow-same-origin allow-presentation allow-popups"


def items() -> dict[str, Item]:
    return {"abc": Item("Keynote, in full", author_name="Conference TV"), "later": Item("The panel, live")}


@pytest.fixture(scope="module")
def oembed():
    with OEmbedEmulator(items=items()) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def other():
    """A second provider, whose player is framed from another origin (localhost rather than 127.0.0.1)."""
    with OEmbedEmulator(items=items(), name="Other Video", host="other.example") as emulator:
        emulator.player_origin = f"http://localhost:{emulator.port}"
        yield emulator


@pytest.fixture(scope="module")
def providers(oembed, other) -> dict:
    return {"emulated": oembed.provider(), "other": other.provider()}


@pytest.fixture(scope="module")
def daphne(django_db_setup, providers):
    """A real Daphne whose settings allow the two emulated providers as well as the default ones."""
    process, port = start_daphne(EMBED_EXTRA_PROVIDERS=json.dumps(providers))
    yield f"http://127.0.0.1:{port}"
    process.stop()
    process.assert_no_traceback()


@pytest.fixture(autouse=True)
def _fresh(transactional_db, settings, providers, oembed, other):
    cache.clear()
    create_roles()
    settings.EMBED_PROVIDERS = providers
    oembed.forget()
    other.forget()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    console: list[str] = []
    context.on("console", lambda message: console.append(message.text))
    context.console = console
    yield context
    context.close()


def open_page(context, url: str):
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.asked = asked
    response = page.goto(url)
    expect(page.locator("#event[data-connected]")).to_have_count(1, timeout=ARRIVES)
    return page, response.headers["content-security-policy"]


def test_the_card_loads_the_player_only_on_a_click_in_a_sandboxed_frame_the_csp_allows(
    context, daphne, oembed, other, event, editor
):
    post = factories.published_post(event, "The keynote, from the start.", headline="Watch it", editor=editor)
    embed = add_embed(post, VIDEO, editor)
    oembed.forget()

    page, policy = open_page(context, f"{daphne}/events/{event.slug}/")
    assert f"frame-src {oembed.origin}" in policy
    assert other.player_origin not in policy and "localhost" not in policy

    figure = page.locator(f"#post-{post.pk} figure.embed")
    card = figure.locator("a.embed-card")
    expect(card).to_have_attribute("href", VIDEO)
    expect(figure.locator(".embed-provider")).to_have_text("Emulated Video")
    expect(figure.locator(".embed-title")).to_have_text("Keynote, in full")
    thumbnail = figure.locator("img.embed-thumb")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert thumbnail.evaluate("img => img.currentSrc").endswith(f"/media/pictures/{embed.thumbnail}")
    button = figure.get_by_role("button", name="Load Emulated Video content")
    expect(button).to_be_visible()

    # Nothing asked of the provider yet: not by the page (thumbnail, scripts, fonts), not seen by the provider.
    assert not [url for url in page.asked if url.startswith(oembed.origin)], page.asked
    assert oembed.requests == []

    button.click()
    frame = figure.locator("iframe.embed-frame")
    expect(frame).to_have_attribute("sandbox", SANDBOX)
    expect(frame).to_have_attribute("src", f"{oembed.origin}/player/abc")
    expect(frame).to_have_attribute("title", "Emulated Video content: Keynote, in full")
    expect(page.frame_locator(f"#post-{post.pk} iframe.embed-frame").locator("#playing")).to_have_text(
        "Playing abc", timeout=ARRIVES
    )
    expect(card).to_be_hidden()
    assert oembed.paths() == ["/player/abc"]
    assert frame.evaluate("el => document.activeElement === el")
    assert not [line for line in context.console if "Content Security Policy" in line or "Refused" in line]


def test_live_cards_load_and_one_from_a_provider_the_page_does_not_frame_says_to_reload(
    context, daphne, oembed, other, event, editor
):
    first = factories.published_post(event, "The keynote.", editor=editor)
    add_embed(first, VIDEO, editor)
    page, policy = open_page(context, f"{daphne}/events/{event.slug}/")
    assert f"frame-src {oembed.origin}" in policy

    later = factories.published_post(event, "Now the panel.", editor=editor)
    add_embed(later, "https://video.example/watch/later", editor)
    elsewhere = factories.published_post(event, "Elsewhere, the panel too.", editor=editor)
    add_embed(elsewhere, "https://other.example/watch/later", editor)
    oembed.forget()
    other.forget()

    arrived = page.locator(f"#post-{later.pk} figure.embed")
    expect(arrived.locator(".embed-title")).to_have_text("The panel, live", timeout=ARRIVES)
    arrived.get_by_role("button", name="Load Emulated Video content").click()
    expect(page.frame_locator(f"#post-{later.pk} iframe.embed-frame").locator("#playing")).to_have_text(
        "Playing later", timeout=ARRIVES
    )

    blocked = page.locator(f"#post-{elsewhere.pk} figure.embed")
    expect(blocked.locator(".embed-title")).to_have_text("The panel, live", timeout=ARRIVES)
    blocked.get_by_role("button", name="Load Other Video content").click()
    expect(blocked.locator(".embed-blocked")).to_be_visible(timeout=ARRIVES)
    expect(blocked.locator("iframe")).to_have_count(0)
    expect(blocked.locator("a.embed-card")).to_have_attribute("href", "https://other.example/watch/later")
    assert other.requests == []  # the CSP stopped the frame before any request

    # Reloaded, the page frames both providers, and the player loads.
    response = page.reload()
    assert other.player_origin in response.headers["content-security-policy"]
    page.locator(f"#post-{elsewhere.pk} figure.embed").get_by_role("button", name="Load Other Video content").click()
    expect(page.frame_locator(f"#post-{elsewhere.pk} iframe.embed-frame").locator("#playing")).to_have_text(
        "Playing later", timeout=ARRIVES
    )


def test_without_javascript_the_card_is_a_link_to_the_original(browser, daphne, oembed, event, editor):
    post = factories.published_post(event, "The keynote.", editor=editor)
    add_embed(post, VIDEO, editor)
    oembed.forget()
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.route(VIDEO, lambda route: route.fulfill(status=200, content_type="text/html", body="<p>The original</p>"))
        page.goto(f"{daphne}/events/{event.slug}/")
        figure = page.locator(f"#post-{post.pk} figure.embed")
        expect(figure.locator("button.embed-load")).to_be_hidden()
        expect(figure.locator("iframe")).to_have_count(0)
        figure.locator("a.embed-card").click()
        expect(page.locator("p")).to_have_text("The original")
        assert page.url == VIDEO
        assert oembed.requests == []
    finally:
        context.close()


def test_the_card_and_the_loaded_player_pass_axe(browser, daphne, oembed, event, editor):
    """No serious or critical WCAG 2.1 A/AA failure on a page with an embed, as a card and once loaded by the
    keyboard alone."""
    post = factories.published_post(event, "The keynote.", headline="Watch it", editor=editor)
    add_embed(post, VIDEO, editor)
    context = browser.new_context(bypass_csp=True)  # for axe's injected script only
    try:
        page = context.new_page()
        page.goto(f"{daphne}/events/{event.slug}/")
        figure = page.locator(f"#post-{post.pk} figure.embed")
        expect(figure.locator("button.embed-load")).to_be_visible()
        assert blocking(audit(page)) == []
        figure.locator("a.embed-card").focus()
        page.keyboard.press("Tab")  # from the card's link to its button, then the keyboard alone
        expect(figure.locator("button.embed-load")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.frame_locator(f"#post-{post.pk} iframe.embed-frame").locator("#playing")).to_have_text(
            "Playing abc", timeout=ARRIVES
        )
        assert blocking(audit(page)) == []
    finally:
        context.close()
