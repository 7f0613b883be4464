"""Embeds in posts: an address an editor pastes, from a provider the settings allow, is looked up once through
its provider's oEmbed endpoint (no redirects, within a time and size limit, public addresses only), its
thumbnail re-encoded into the pictures storage, and its player's address built by us from checked data; the
provider's own HTML is never stored or shown. Design: docs/embeds.md."""

import json
import re
import secrets
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from io import BytesIO

import httpx
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from publishing import pictures
from publishing.embed_providers import (
    AddressRefused,
    Provider,
    check_fetchable,
    literal_address,
    origin_of,
    provider_for,
)
from publishing.models import Embed, Post
from transcription.follow.addresses import is_public

JSON_TYPES = ("application/json", "text/json", "application/json+oembed")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")
MAX_DIMENSION = 10_000


class EmbedRefused(ValueError):
    """An address that cannot be embedded; the message says why, for the editor who pasted it."""


@dataclass
class Fetched:
    """What the provider told of an address, checked, and its thumbnail re-encoded; nothing stored yet."""

    provider: Provider
    url: str
    title: str
    author: str
    frame_src: str
    frame_width: int | None
    frame_height: int | None
    thumbnail: bytes | None = None
    thumbnail_size: tuple[int, int] | None = None
    thumbnail_note: str = ""


def plain(value: object, limit: int) -> str:
    """A provider's text as one clean line: no control or direction-overriding characters, at most `limit`."""
    if not isinstance(value, str):
        return ""
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


def _dimension(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and 1 <= value <= MAX_DIMENSION else None


def _client() -> httpx.Client:
    # No proxy from the environment: the address checked is the address connected to.
    return httpx.Client(
        timeout=httpx.Timeout(settings.EMBED_TIMEOUT_SECONDS),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "liveblog-embeds/1 (+oEmbed consumer)", "Accept-Encoding": "identity"},
    )


def _get(client: httpx.Client, url: str, *, origins: tuple[str, ...], types: tuple[str, ...], limit: int, what: str):
    """The body of a GET to `url`, once every check passes; EmbedRefused says which did not."""
    try:
        check_fetchable(url, origins)
    except AddressRefused as error:
        raise EmbedRefused(_("%(what)s: %(error)s") % {"what": what, "error": error}) from None
    seconds = settings.EMBED_TIMEOUT_SECONDS
    deadline = time.monotonic() + seconds
    slow = _("%(what)s: no complete answer within %(seconds)s s.") % {"what": what, "seconds": f"{seconds:g}"}
    try:
        with client.stream("GET", url) as response:
            _check_peer(response, url, what)
            _check_answer(response, types, limit, what)
            body = bytearray()
            for chunk in response.iter_raw():
                body += chunk
                if len(body) > limit:
                    raise EmbedRefused(_too_large(what, limit))
                if time.monotonic() > deadline:
                    raise EmbedRefused(slow)
    except httpx.TimeoutException:
        raise EmbedRefused(slow) from None
    except httpx.HTTPError as error:
        raise EmbedRefused(
            _("%(what)s: could not be reached (%(error)s).") % {"what": what, "error": type(error).__name__}
        ) from None
    return bytes(body)


def _too_large(what: str, limit: int) -> str:
    return _("%(what)s: the answer is larger than %(kb)d KB.") % {"what": what, "kb": limit // 1024}


def _check_peer(response: httpx.Response, url: str, what: str) -> None:
    """The address actually connected to, checked again: a name that resolved to a public address a moment ago
    may resolve elsewhere now."""
    if literal_address(httpx.URL(url).host or "") is not None:
        return  # an address the settings name literally, checked before connecting
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer or not is_public(peer[0]):
        raise EmbedRefused(_("%(what)s: the server is on a private network address; refused.") % {"what": what})


def _check_answer(response: httpx.Response, types: tuple[str, ...], limit: int, what: str) -> None:
    status = response.status_code
    if 300 <= status < 400:
        raise EmbedRefused(
            _("%(what)s: the provider redirected elsewhere; redirects are not followed.") % {"what": what}
        )
    if status == 404:
        raise EmbedRefused(_("%(what)s: the provider has nothing at that address (404).") % {"what": what})
    if status in (401, 403):
        raise EmbedRefused(
            _("%(what)s: the provider does not allow it to be embedded (%(status)d).")
            % {"what": what, "status": status}
        )
    if status != 200:
        raise EmbedRefused(
            _("%(what)s: the provider answered with error %(status)d.") % {"what": what, "status": status}
        )
    content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type not in types:
        raise EmbedRefused(
            _("%(what)s: the provider answered %(type)s, not %(expected)s.")
            % {"what": what, "type": content_type or _("no content type"), "expected": " or ".join(types)}
        )
    if response.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity"):
        raise EmbedRefused(_("%(what)s: the answer is compressed, though we asked for it plain.") % {"what": what})
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise EmbedRefused(_too_large(what, limit))


class _Markup(HTMLParser):
    """The iframes' src and the attributes of a provider's oEmbed html, read, never rendered."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.iframes: list[str] = []
        self.attributes: dict[str, str] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if value is not None:
                self.attributes.setdefault(name, value)
                if tag == "iframe" and name == "src":
                    self.iframes.append(value.strip())


def _player(provider: Provider, found: re.Match, data: dict) -> str:
    """The player's address, built by us: from the oEmbed html's iframe, or the address's groups, or an
    attribute of the html, as the provider's settings say; "" when the provider offers no player."""
    kind = provider.player["from"]
    html = data.get("html") if isinstance(data.get("html"), str) else ""
    if kind == "iframe":
        if data.get("type") not in ("video", "rich"):
            return ""
        frames = _Markup(html).iframes
        if not frames:
            raise EmbedRefused(_("The provider's answer has no player we can show."))
        src = frames[0]
    elif kind == "address":
        src = provider.player_from_groups(provider.player["src"], found.groupdict())
    else:
        value = _Markup(html).attributes.get(provider.player["attribute"], "")
        matched = provider.player["pattern"].fullmatch(value)
        if not matched:
            raise EmbedRefused(_("The provider's answer has no player we can show."))
        src = provider.player_from_groups(provider.player["src"], matched.groupdict())
    try:
        origin_of(src)
    except AddressRefused as error:
        raise EmbedRefused(_("The provider's player: %(error)s") % {"error": error}) from None
    if not provider.allows_frame(src) or any(ch in src for ch in "\"'<> \\\n\t"):
        raise EmbedRefused(_("The provider's player is at an address we do not frame."))
    return src


def _oembed(client: httpx.Client, provider: Provider, url: str) -> dict:
    endpoint = httpx.URL(provider.endpoint).copy_merge_params({**dict(provider.params), "url": url, "format": "json"})
    what = _("%(provider)s's oEmbed") % {"provider": provider.name}
    body = _get(
        client,
        str(endpoint),
        origins=(origin_of(provider.endpoint),),
        types=JSON_TYPES,
        limit=settings.EMBED_MAX_RESPONSE_BYTES,
        what=what,
    )
    try:
        data = json.loads(body)
    except ValueError:
        raise EmbedRefused(_("%(what)s: the answer is not valid JSON.") % {"what": what}) from None
    if not isinstance(data, dict) or data.get("type") not in ("video", "rich", "photo", "link"):
        raise EmbedRefused(_("%(what)s: the answer is not an oEmbed answer.") % {"what": what})
    return data


def _thumbnail(client: httpx.Client, provider: Provider, data: dict, fetched: Fetched) -> None:
    """The provider's thumbnail, fetched from its thumbnail origins only, decoded as a picture and re-encoded; a
    problem with it is noted, and the embed goes on without it."""
    url = data.get("thumbnail_url")
    if not isinstance(url, str) or not url:
        return
    try:
        body = _get(
            client,
            url,
            origins=provider.thumbnail_origins,
            types=IMAGE_TYPES,
            limit=settings.EMBED_THUMBNAIL_MAX_BYTES,
            what=_("The thumbnail"),
        )
        fetched.thumbnail, fetched.thumbnail_size = reencode(body)
    except EmbedRefused as error:
        fetched.thumbnail_note = str(error)[:300]


def reencode(body: bytes) -> tuple[bytes, tuple[int, int]]:
    """A thumbnail checked as a real JPEG, PNG or WebP within the picture limits, made upright, at most
    EMBED_THUMBNAIL_WIDTH wide, as a JPEG without metadata."""
    try:
        image, _format = pictures.open_checked(ContentFile(body, name="thumbnail"))
        image = ImageOps.exif_transpose(image).convert("RGB")
    except pictures.PictureRefused:
        raise EmbedRefused(_("The thumbnail is not a JPEG, PNG or WebP picture we can read.")) from None
    except (OSError, ValueError):
        raise EmbedRefused(_("The thumbnail could not be read.")) from None
    width = settings.EMBED_THUMBNAIL_WIDTH
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS)
    out = BytesIO()
    image.save(out, "JPEG", quality=82, progressive=True)
    return out.getvalue(), image.size


def fetch(address: str) -> Fetched:
    """What the provider says of the address; EmbedRefused when it is not allowed or the provider fails."""
    address = address.strip()
    try:
        provider, found = provider_for(address)
    except AddressRefused as error:
        raise EmbedRefused(str(error)) from None
    with _client() as client:
        data = _oembed(client, provider, address)
        frame_src = _player(provider, found, data)
        author = plain(data.get("author_name"), 200)
        fetched = Fetched(
            provider=provider,
            url=address,
            title=plain(data.get("title"), 300) or author or provider.name,
            author=author,
            frame_src=frame_src,
            frame_width=_dimension(data.get("width")) if frame_src and not provider.frame_height else None,
            frame_height=provider.frame_height or (_dimension(data.get("height")) if frame_src else None),
        )
        _thumbnail(client, provider, data, fetched)
    return fetched


def check_room(post: Post | None, address: str) -> None:
    """Refuses a second copy of an address in a post, and more than EMBEDS_PER_POST embeds."""
    if post is None or post.pk is None:
        return
    embeds = Embed.objects.filter(post=post)
    if embeds.filter(url=address.strip()).exists():
        raise EmbedRefused(_("This post embeds that address already."))
    if embeds.count() >= settings.EMBEDS_PER_POST:
        raise EmbedRefused(
            _("A post has at most %(count)d embeds: remove one first.") % {"count": settings.EMBEDS_PER_POST}
        )


def store(fetched: Fetched, post: Post, user) -> Embed:
    """The fetched embed saved with the post (a new revision, readers told); its thumbnail file goes again if
    the row cannot be saved."""
    storage = pictures.pictures_storage()
    name = ""
    if fetched.thumbnail:
        width = fetched.thumbnail_size[0]
        name = storage.save(f"{secrets.token_hex(16)}-{width}w.jpg", ContentFile(fetched.thumbnail))
    try:
        with transaction.atomic():
            check_room(Post.objects.select_for_update().get(pk=post.pk), fetched.url)
            embed = Embed.objects.create(
                post=post,
                url=fetched.url,
                provider=fetched.provider.key,
                provider_name=fetched.provider.name,
                title=fetched.title,
                author=fetched.author,
                thumbnail=name,
                thumbnail_width=fetched.thumbnail_size[0] if name else None,
                thumbnail_height=fetched.thumbnail_size[1] if name else None,
                thumbnail_note=fetched.thumbnail_note,
                frame_src=fetched.frame_src,
                frame_width=fetched.frame_width,
                frame_height=fetched.frame_height,
                status=Embed.Status.READY if fetched.frame_src else Embed.Status.LINK_ONLY,
                fetched_at=timezone.now(),
            )
            post.embeds_changed(user)
    except BaseException:
        if name:
            storage.delete(name)
        raise
    return embed


def add_embed(post: Post, address: str, user) -> Embed:
    """Look the address up and embed it in the post; EmbedRefused (nothing stored) when it cannot be."""
    check_room(post, address)
    return store(fetch(address), post, user)


def remove_embed(post: Post, embed_id: int, user) -> bool:
    with transaction.atomic():
        deleted, _count = Embed.objects.filter(post=post, pk=embed_id).delete()
        if deleted:
            post.embeds_changed(user)
    return bool(deleted)


def embed_deleted_receiver(sender, instance: Embed, **kwargs) -> None:
    """However an embed goes (removed, or with its post or event), its thumbnail file goes once that commits."""
    name = instance.thumbnail
    if name:
        transaction.on_commit(lambda: pictures.pictures_storage().delete(name), robust=True)
