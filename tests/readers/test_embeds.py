"""Embeds (issue 29 point 3) against an oEmbed provider emulator on loopback: what is fetched and stored, how
each failure is refused with nothing stored, the allow-list and its private addresses (SSRF), what readers'
pages carry (escaped, a link without the script, a CSP that frames that provider only), and the editors' forms."""

import json
import re
from html import escape

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from PIL import Image

from publishing.embeds import EmbedRefused, add_embed, fetch, remove_embed
from publishing.models import Embed, Post, PostAction
from publishing.pictures import pictures_storage
from readers import changes
from tests.support import factories
from tests.support.admin import change_form_data
from tests.support.emulators.oembed import FAILURES, THUMBNAIL_FAILURES, Item, OEmbedEmulator
from tests.support.processes import settings_in_child

pytestmark = pytest.mark.django_db

VIDEO = "https://video.example/watch/abc"
HOSTILE_TITLE = '</figure><script>alert("title")</script>'
HOSTILE_AUTHOR = '"><img src=x onerror=alert(1)>'


def items() -> dict[str, Item]:
    return {
        "abc": Item("Keynote, in full", author_name="Conference TV"),
        "second": Item("The panel"),
        "hostile": Item(HOSTILE_TITLE, author_name=HOSTILE_AUTHOR),
        "post": Item("A post", type="link", thumbnail=False),
    }


@pytest.fixture
def storage_dir(settings, tmp_path):
    """This test's own pictures storage, where thumbnails go."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "pictures": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media" / "pictures", "base_url": "/media/pictures/"},
        },
    }
    return tmp_path / "media" / "pictures"


@pytest.fixture
def oembed(settings, storage_dir):
    """The provider emulator, and the settings allowing it alone, with a short time limit."""
    with OEmbedEmulator(items=items(), slow_seconds=5.0) as emulator:
        settings.EMBED_PROVIDERS = {"emulated": emulator.provider()}
        settings.EMBED_TIMEOUT_SECONDS = 0.5
        cache.clear()
        yield emulator


@pytest.fixture
def post(event):
    return Post.objects.create(event=event, headline="Opening", body="The doors open.")


def stored_files(storage_dir) -> list[str]:
    return sorted(path.name for path in storage_dir.glob("*")) if storage_dir.exists() else []


# --- fetch and store -----------------------------------------------------------------------------------------


def test_an_address_is_fetched_once_and_stored_with_a_local_thumbnail(oembed, post, editor, storage_dir):
    embed = add_embed(post, f"  {VIDEO}  ", editor)

    assert (embed.url, embed.provider, embed.provider_name) == (VIDEO, "emulated", "Emulated Video")
    assert (embed.title, embed.author, embed.status) == ("Keynote, in full", "Conference TV", Embed.Status.READY)
    assert embed.frame_src == f"{oembed.origin}/player/abc"
    assert (embed.frame_width, embed.frame_height) == (640, 360)
    assert embed.thumbnail_note == "" and embed.fetched_at is not None
    # Asked once: the endpoint with the address, and the thumbnail; never the player.
    assert oembed.paths() == ["/oembed", "/thumbs/abc.jpg"]
    asked = oembed.requests[0]
    assert asked.query["url"] == [VIDEO] and asked.query["format"] == ["json"]
    # The thumbnail is ours: a JPEG re-encoded in the pictures storage, served under /media/pictures/.
    assert stored_files(storage_dir) == [embed.thumbnail]
    assert re.fullmatch(r"[0-9a-f]{32}-480w\.jpg", embed.thumbnail)
    with pictures_storage().open(embed.thumbnail) as file, Image.open(file) as image:
        assert (image.format, image.size) == ("JPEG", (480, 360))
    assert (embed.thumbnail_width, embed.thumbnail_height) == (480, 360)
    assert embed.thumbnail_url == f"/media/pictures/{embed.thumbnail}"
    # An edit of the post, on the record.
    post.refresh_from_db()
    assert post.revision == 2
    assert post.actions.filter(action=PostAction.Kind.EDITED, user=editor).exists()


def test_a_published_post_takes_its_embed_to_open_pages_by_the_live_push(oembed, event, editor):
    post = factories.published_post(event, "The keynote starts.", editor=editor)
    event.refresh_from_db()
    before = event.change_seq

    embed = add_embed(post, VIDEO, editor)

    event.refresh_from_db()
    assert event.change_seq > before
    answer = changes.changes_since(event, before)
    [pushed] = answer["posts"]
    assert pushed["id"] == post.pk
    assert f'data-embed="{embed.pk}"' in pushed["html"]
    assert f'data-src="{oembed.origin}/player/abc"' in pushed["html"]
    assert f'href="{VIDEO}"' in pushed["html"]


def test_a_link_only_answer_is_stored_as_a_card_without_a_player(oembed, post, editor, storage_dir):
    embed = add_embed(post, "https://video.example/watch/post", editor)
    assert (embed.status, embed.frame_src, embed.thumbnail) == (Embed.Status.LINK_ONLY, "", "")
    assert stored_files(storage_dir) == []


def test_removing_an_embed_takes_its_thumbnail_file_with_it(
    oembed, post, editor, storage_dir, django_capture_on_commit_callbacks
):
    embed = add_embed(post, VIDEO, editor)
    with django_capture_on_commit_callbacks(execute=True):
        assert remove_embed(post, embed.pk, editor) is True
    assert stored_files(storage_dir) == []
    assert remove_embed(post, embed.pk, editor) is False


def test_an_address_is_embedded_once_per_post_and_a_post_takes_a_few(oembed, post, editor, settings):
    add_embed(post, VIDEO, editor)
    with pytest.raises(EmbedRefused, match="embeds that address already"):
        add_embed(post, VIDEO, editor)
    settings.EMBEDS_PER_POST = 2
    add_embed(post, "https://video.example/watch/second", editor)
    oembed.forget()
    with pytest.raises(EmbedRefused, match="at most 2 embeds"):
        add_embed(post, "https://video.example/watch/post", editor)
    assert oembed.requests == []  # refused before asking the provider
    assert post.embeds.count() == 2


# --- failures: a clear reason, nothing stored ----------------------------------------------------------------

EXPECTED = {
    "404": r"has nothing at that address \(404\)",
    "500": r"answered with error 500",
    "401": r"does not allow it to be embedded \(401\)",
    "slow": r"no complete answer within 0\.5 s",
    "drip": r"no complete answer within 0\.5 s",
    "oversize": r"larger than 256 KB",
    "oversize_unannounced": r"larger than 256 KB",
    "malformed": r"not valid JSON",
    "not_oembed": r"not an oEmbed answer",
    "wrong_type": r"answered text/html, not application/json",
    "redirect": r"redirected elsewhere; redirects are not followed",
    "gzip": r"compressed",
}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failing_provider_gives_a_clear_error_and_nothing_is_stored(oembed, post, editor, storage_dir, failure):
    oembed.fail = failure
    with pytest.raises(EmbedRefused, match=EXPECTED[failure]) as refused:
        add_embed(post, VIDEO, editor)
    assert str(refused.value).startswith("Emulated Video's oEmbed: ")
    assert Embed.objects.count() == 0 and stored_files(storage_dir) == []
    post.refresh_from_db()
    assert post.revision == 1
    assert oembed.paths() == ["/oembed"]  # a redirect is not followed, no thumbnail is asked for


def test_an_address_the_provider_does_not_know_is_refused(oembed, post, editor):
    with pytest.raises(EmbedRefused, match=r"has nothing at that address \(404\)"):
        add_embed(post, "https://video.example/watch/nothing-here", editor)
    assert Embed.objects.count() == 0


@pytest.mark.parametrize("failure", THUMBNAIL_FAILURES)
def test_a_bad_thumbnail_is_left_out_and_the_embed_kept_saying_why(oembed, post, editor, storage_dir, failure):
    oembed.thumbnail_fail = failure
    embed = add_embed(post, VIDEO, editor)
    assert embed.status == Embed.Status.READY and embed.thumbnail == ""
    expected = {
        "404": r"has nothing at that address \(404\)",
        "not_image": r"not a JPEG, PNG or WebP picture",
        "svg": r"answered image/svg\+xml",
        "oversize": r"larger than 2048 KB",
        "slow": r"no complete answer within 0\.5 s",
    }[failure]
    assert re.search(expected, embed.thumbnail_note), embed.thumbnail_note
    assert embed.thumbnail_note.startswith("The thumbnail: ") or failure == "not_image"
    assert stored_files(storage_dir) == []


# --- the allow-list, and private addresses (SSRF) ------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "https://evil.example/watch/abc",
        "http://video.example/watch/abc",  # not https
        "https://video.example.evil.test/watch/abc",
        "https://video.example/watch/abc/../../admin",
        'https://video.example/watch/abc"><script>',
        "https://user:pass@video.example/watch/abc",
        "http://127.0.0.1:8000/admin/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://10.0.0.1/",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "",
    ],
)
def test_addresses_off_the_allow_list_are_refused_without_a_request(oembed, post, editor, address):
    with pytest.raises(EmbedRefused, match="not from a provider we embed"):
        add_embed(post, address or "   ", editor)
    assert oembed.requests == [] and Embed.objects.count() == 0


def test_the_emulators_own_address_is_refused_when_pasted(oembed, post, editor):
    with pytest.raises(EmbedRefused, match="not from a provider we embed"):
        fetch(f"{oembed.origin}/oembed?url={VIDEO}")
    assert oembed.requests == []


def test_a_thumbnail_elsewhere_is_never_fetched(oembed, post, editor):
    """A provider's answer cannot send our server to another address: not another loopback service, not the
    cloud's metadata address, not a private network."""
    with OEmbedEmulator(items=items()) as internal:
        for thumbnail in (
            f"{internal.origin}/thumbs/abc.jpg",
            "http://169.254.169.254/latest/meta-data/iam.jpg",
            "http://10.1.2.3/thumb.jpg",
            "file:///etc/passwd",
        ):
            oembed.thumbnail_url = thumbnail
            embed = add_embed(post, VIDEO, editor)
            assert embed.thumbnail == "", thumbnail
            assert re.search(r"not one of this provider's addresses|Only http and https", embed.thumbnail_note)
            embed.delete()
        assert internal.requests == []


def test_a_provider_named_by_a_host_that_leads_to_a_private_address_is_refused(oembed, post, editor, settings):
    """Only an address the settings name literally may be private (here, the emulator's): a name that resolves to
    one (DNS pointing inward) is refused before connecting."""
    settings.EMBED_PROVIDERS = {"emulated": oembed.provider(endpoint=f"http://localhost:{oembed.port}/oembed")}
    with pytest.raises(EmbedRefused, match="localhost leads to a private network address"):
        add_embed(post, VIDEO, editor)
    assert oembed.requests == []


def test_a_player_at_another_origin_or_not_http_is_refused(oembed, post, editor, settings):
    oembed.player_origin = "https://evil.example"
    settings.EMBED_PROVIDERS = {"emulated": oembed.provider(frame_origins=[oembed.origin])}
    with pytest.raises(EmbedRefused, match="player is at an address we do not frame"):
        add_embed(post, VIDEO, editor)
    oembed.player_origin = None
    oembed.items["abc"].html = '<iframe src="javascript:alert(1)"></iframe>'
    with pytest.raises(EmbedRefused, match="Only http and https"):
        add_embed(post, VIDEO, editor)
    oembed.items["abc"].html = "<blockquote>No player here</blockquote><script src=https://evil.example/x.js></script>"
    with pytest.raises(EmbedRefused, match="no player we can show"):
        add_embed(post, VIDEO, editor)
    assert Embed.objects.count() == 0


def test_the_providers_html_is_never_kept_only_the_player_address_built_from_it(oembed, post, editor):
    oembed.items["abc"].html = (
        f'<script src="https://evil.example/x.js"></script><iframe src="{oembed.origin}/player/abc" '
        'onload="alert(1)"></iframe>'
    )
    embed = add_embed(post, VIDEO, editor)
    assert embed.frame_src == f"{oembed.origin}/player/abc"
    stored = json.dumps(list(Embed.objects.values()), default=str)
    assert "evil.example" not in stored and "onload" not in stored


def test_a_player_built_from_the_address_or_an_attribute(oembed, post, editor, settings):
    """X's and Mastodon's players come from the address, Bluesky's from an attribute of its answer."""
    settings.EMBED_PROVIDERS = {
        "by-address": oembed.provider(player={"from": "address", "src": f"{oembed.origin}/player/{{id}}?x=1"}),
    }
    assert add_embed(post, VIDEO, editor).frame_src == f"{oembed.origin}/player/abc?x=1"
    oembed.items[
        "second"
    ].html = '<blockquote data-bluesky-uri="at://did:plc:abc123/app.bsky.feed.post/3kx7">…</blockquote>'
    settings.EMBED_PROVIDERS = {
        "by-attribute": oembed.provider(
            player={
                "from": "html",
                "attribute": "data-bluesky-uri",
                "pattern": r"at://(?P<did>did:plc:[a-z0-9]+)/app\.bsky\.feed\.post/(?P<rkey>[a-z0-9]+)",
                "src": f"{oembed.origin}/player/{{did}}/{{rkey}}",
            }
        ),
    }
    embed = add_embed(post, "https://video.example/watch/second", editor)
    assert embed.frame_src == f"{oembed.origin}/player/did:plc:abc123/3kx7"


# --- what readers get ----------------------------------------------------------------------------------------


def page(client: Client, url: str):
    response = client.get(url)
    assert response.status_code == 200
    return response, response.content.decode()


def test_the_card_escapes_hostile_text_and_without_the_script_is_a_link(oembed, event, editor):
    post = factories.published_post(event, "Watch this.", editor=editor)
    embed = add_embed(post, "https://video.example/watch/hostile", editor)
    assert (embed.title, embed.author) == (HOSTILE_TITLE, HOSTILE_AUTHOR)

    _response, html = page(Client(), event.get_absolute_url())
    assert "<script>alert" not in html and "<img src=x" not in html
    assert escape(HOSTILE_TITLE, quote=True) in html or escape(HOSTILE_TITLE) in html
    card = re.search(r'<figure class="embed".*?</figure>', html, re.S).group(0)
    assert 'href="https://video.example/watch/hostile"' in card
    assert re.search(r'<a class="embed-card" href="[^"]+" rel="external nofollow noopener noreferrer">', card)
    assert f'src="/media/pictures/{embed.thumbnail}"' in card  # our copy: nothing from the provider
    assert oembed.origin not in card.replace(f'data-src="{oembed.origin}/player/hostile"', "")
    assert 'class="embed-load"' in card and "Load Emulated Video content" in card

    _response, permalink = page(Client(), post.get_absolute_url())
    assert "<script>alert" not in permalink and 'class="embed-card"' in permalink


def test_the_page_csp_frames_the_providers_of_its_embeds_only(oembed, event, editor, settings):
    plain = Client().get(event.get_absolute_url())["Content-Security-Policy"]
    assert "frame-src" not in plain

    post = factories.published_post(event, "Watch this.", editor=editor)
    add_embed(post, VIDEO, editor)
    draft = Post.objects.create(event=event, body="Not yet.")
    settings.EMBED_PROVIDERS = {
        **settings.EMBED_PROVIDERS,
        "other": oembed.provider(frame_origins=["https://other.example"]),
    }
    Embed.objects.create(
        post=draft, url="https://video.example/watch/second", provider="other", provider_name="Other",
        title="Unpublished", frame_src="https://other.example/player/second",
    )  # fmt: skip
    cache.clear()  # the test's transaction never commits, so nothing forgot the event's cached state

    for url in (event.get_absolute_url(), reverse("events:embed", args=[event.slug]), post.get_absolute_url()):
        response, _html = page(Client(), url)
        policy = response["Content-Security-Policy"]
        assert f"frame-src {oembed.origin}" in policy, (url, policy)
        assert "other.example" not in policy and "frame-src *" not in policy
        assert "default-src 'self'" in policy and "script-src 'self'" in policy


def test_a_provider_taken_off_the_allow_list_leaves_a_link_and_frames_nothing(oembed, event, editor, settings):
    post = factories.published_post(event, "Watch this.", editor=editor)
    add_embed(post, VIDEO, editor)
    settings.EMBED_PROVIDERS = {}
    cache.clear()
    response, html = page(Client(), post.get_absolute_url())
    assert "frame-src" not in response["Content-Security-Policy"]
    assert f'href="{VIDEO}"' in html and "data-src" not in html and "embed-load" not in html


def test_a_link_only_card_has_no_button(oembed, event, editor):
    post = factories.published_post(event, "Read this.", editor=editor)
    add_embed(post, "https://video.example/watch/post", editor)
    response, html = page(Client(), post.get_absolute_url())
    assert 'href="https://video.example/watch/post"' in html
    assert "embed-load" not in html and "frame-src" not in response["Content-Security-Policy"]


# --- editors' forms ------------------------------------------------------------------------------------------


def test_the_post_form_embeds_an_address_or_says_why_not(oembed, post, editor, client):
    client.force_login(editor)
    url = reverse("admin:publishing_post_change", args=[post.pk])
    assert "Emulated Video" in client.get(url).content.decode()  # the help text names the providers

    refused = client.post(url, change_form_data(client, post) | {"embed_url": "https://evil.example/watch/abc"})
    assert refused.status_code == 200
    assert "not from a provider we embed" in refused.content.decode()
    assert Embed.objects.count() == 0

    saved = client.post(url, change_form_data(client, post) | {"embed_url": VIDEO})
    assert saved.status_code == 302
    embed = Embed.objects.get(post=post)
    assert embed.title == "Keynote, in full"
    assert "Keynote, in full" in client.get(url).content.decode()

    removed = client.post(url, change_form_data(client, post) | {"remove_embeds": [embed.pk]})
    assert removed.status_code == 302 and not Embed.objects.filter(post=post).exists()


def test_the_draft_queue_embeds_and_removes(oembed, post, editor, client):
    client.force_login(editor)
    queue = reverse("admin:publishing_post_queue", args=[post.event_id])
    failed = client.post(queue, {"op": "embed", "post": post.pk, "embed_url": "http://169.254.169.254/"}, follow=True)
    assert "not from a provider we embed" in failed.content.decode() and Embed.objects.count() == 0

    oembed.fail = "500"
    failed = client.post(queue, {"op": "embed", "post": post.pk, "embed_url": VIDEO}, follow=True)
    assert "answered with error 500" in failed.content.decode() and Embed.objects.count() == 0

    oembed.fail = None
    done = client.post(queue, {"op": "embed", "post": post.pk, "embed_url": VIDEO}, follow=True)
    assert f"Post {post.pk}: Emulated Video embedded." in done.content.decode()
    embed = Embed.objects.get(post=post)
    assert f'href="{VIDEO}"' in done.content.decode() and embed.thumbnail_url in done.content.decode()

    client.post(queue, {"op": "remove_embed", "post": post.pk, "embed": embed.pk})
    assert not Embed.objects.filter(post=post).exists()


# --- settings ------------------------------------------------------------------------------------------------


def test_mastodon_instances_and_extra_providers_come_from_the_environment():
    extra = {"youtube": None, "house": {"name": "House TV"}}
    result = settings_in_child(
        {"EMBED_MASTODON_INSTANCES": "social.example,news.example", "EMBED_EXTRA_PROVIDERS": json.dumps(extra)},
        "sorted(s.EMBED_PROVIDERS)",
    )
    assert result.returncode == 0, result.stderr
    keys = result.stdout.strip()
    assert "'mastodon-social.example'" in keys and "'mastodon-news.example'" in keys
    assert "'mastodon-mastodon.social'" not in keys and "'youtube'" not in keys and "'house'" in keys
    assert "'instagram'" not in keys  # only with a Meta access token

    bad = settings_in_child({"EMBED_EXTRA_PROVIDERS": "{not json"}, "1")
    assert bad.returncode != 0 and "EMBED_EXTRA_PROVIDERS must be a JSON object" in bad.stderr


def test_a_malformed_provider_stops_the_start(settings):
    settings.EMBED_PROVIDERS = {"broken": {"name": "Broken", "endpoint": "ftp://x", "urls": ["("], "player": {}}}
    with pytest.raises(SystemCheckError, match=r"publishing\.E002"):
        call_command("check")


def test_the_default_providers_take_their_own_addresses_only():
    from publishing.embed_providers import provider_for, providers

    assert providers()  # the settings' own, compiled
    for address, key in (
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "youtube"),
        ("https://youtu.be/dQw4w9WgXcQ?t=42", "youtube"),
        ("https://vimeo.com/76979871", "vimeo"),
        ("https://x.com/nasa/status/1234567890123456789", "x"),
        ("https://twitter.com/nasa/status/1234567890123456789", "x"),
        ("https://bsky.app/profile/bsky.app/post/3l6oveex3ii2l", "bluesky"),
        ("https://mastodon.social/@Gargron/109381230129122311", "mastodon-mastodon.social"),
    ):
        assert provider_for(address)[0].key == key, address
    for address in (
        "https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "https://evil.example/?https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "http://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://x.com/nasa/status/123/../../../redirect",
    ):
        with pytest.raises(ValueError, match="not from a provider we embed"):
            provider_for(address)


@pytest.mark.portable
def test_the_database_refuses_an_embed_whose_status_player_or_thumbnail_disagree(post):
    good = {"post": post, "provider": "emulated", "provider_name": "Emulated Video", "title": "A video"}
    for url, wrong in (
        ("https://video.example/watch/a", {"status": "ready", "frame_src": ""}),
        ("https://video.example/watch/b", {"status": "link", "frame_src": "https://video.example/player/b"}),
        ("https://video.example/watch/c", {"status": "playing", "frame_src": ""}),
        ("https://video.example/watch/d", {"status": "link", "thumbnail": "0" * 32 + "-480w.jpg"}),
        ("https://video.example/watch/e", {"status": "link", "title": ""}),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Embed.objects.create(url=url, **{**good, **wrong})
    Embed.objects.create(url=VIDEO, status="link", **good)
    with pytest.raises(IntegrityError), transaction.atomic():
        Embed.objects.create(url=VIDEO, status="link", **good)
