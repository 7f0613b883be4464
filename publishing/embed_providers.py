"""The providers editors may embed from (settings.EMBED_PROVIDERS): the addresses each takes, and the origins its
oEmbed endpoint, thumbnails and player may be at. Every address the server fetches or a page frames passes here."""

import ipaddress
import re
import socket
import string
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from transcription.follow.addresses import is_public

PLAYER_KINDS = ("iframe", "address", "html")
MAX_ADDRESS_CHARS = 1000


class AddressRefused(ValueError):
    """An address the server will not fetch or frame; the message says why."""


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    endpoint: str
    params: tuple[tuple[str, str], ...]
    urls: tuple[re.Pattern, ...]
    frame_origins: frozenset[str]
    thumbnail_origins: tuple[str, ...]
    player: dict
    frame_height: int | None

    def match(self, address: str) -> re.Match | None:
        for pattern in self.urls:
            found = pattern.fullmatch(address)
            if found:
                return found
        return None

    def allows_frame(self, src: str) -> bool:
        """Whether a player at `src` may be framed: one of the provider's frame origins, no credentials."""
        try:
            return origin_of(src) in self.frame_origins
        except AddressRefused:
            return False

    def player_from_groups(self, template: str, groups: dict[str, str | None]) -> str:
        return template.format(**{name: quote(value or "", safe="@:.") for name, value in groups.items()})


def origin_of(url: str) -> str:
    """scheme://host[:port] of an http(s) URL, lower-cased, without the default port; refuses anything else."""
    if len(url) > MAX_ADDRESS_CHARS:
        raise AddressRefused(_("The address is too long."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused(_("The address is not a valid URL.")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused(_("Only http and https addresses are fetched."))
    if parts.username is not None or parts.password is not None:
        raise AddressRefused(_("An address with a user name or password is refused."))
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" if port in (None, default) else f"{parts.scheme}://{host}:{port}"


def _origin_matches(origin: str, allowed: str) -> bool:
    if "://*." in allowed:
        scheme, _, suffix = allowed.partition("://*.")
        return origin.startswith(f"{scheme}://") and origin.endswith(f".{suffix}") and ":" not in suffix
    return origin == allowed


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_fetchable(url: str, allowed_origins: tuple[str, ...]) -> str:
    """The URL's origin, once it is one the settings allow and it leads to a public address (SSRF): a private,
    loopback or link-local address only when the settings name it literally (an operator's own server, or a
    test's emulator on loopback), never through a host name that resolves to it."""
    origin = origin_of(url)
    if not any(_origin_matches(origin, allowed) for allowed in allowed_origins):
        raise AddressRefused(_("%(origin)s is not one of this provider's addresses.") % {"origin": origin})
    host = urlsplit(url).hostname or ""
    if literal_address(host) is not None:
        return origin  # named by the settings themselves, as an address
    port = urlsplit(url).port or (443 if url.startswith("https:") else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise AddressRefused(_("%(host)s could not be found.") % {"host": host}) from None
    if not found or not all(is_public(info[4][0]) for info in found):
        raise AddressRefused(_("%(host)s leads to a private network address; it is not fetched.") % {"host": host})
    return origin


def _compile(key: str, raw: dict) -> Provider:
    def need(field: str, kind: type):
        value = raw.get(field)
        if not isinstance(value, kind) or not value:
            raise ImproperlyConfigured(f"EMBED_PROVIDERS[{key!r}] needs {field!r} ({kind.__name__})")
        return value

    try:
        urls = tuple(re.compile(pattern) for pattern in need("urls", list))
        origin_of(need("endpoint", str))
        frame_origins = frozenset(origin_of(origin) for origin in need("frame_origins", list))
        thumbnails = tuple(raw.get("thumbnail_origins") or ())
        for allowed in thumbnails:
            origin_of(allowed.replace("://*.", "://"))
    except (re.error, AddressRefused, TypeError, AttributeError) as error:
        raise ImproperlyConfigured(f"EMBED_PROVIDERS[{key!r}]: {error}") from None
    player = need("player", dict)
    if player.get("from") not in PLAYER_KINDS:
        raise ImproperlyConfigured(f"EMBED_PROVIDERS[{key!r}]['player']['from'] must be one of {PLAYER_KINDS}")
    if player["from"] in ("address", "html") and not isinstance(player.get("src"), str):
        raise ImproperlyConfigured(f"EMBED_PROVIDERS[{key!r}]['player'] needs a 'src' template")
    if player["from"] == "html":
        try:
            player = {**player, "pattern": re.compile(need_in(player, "pattern", key))}
        except re.error as error:
            raise ImproperlyConfigured(f"EMBED_PROVIDERS[{key!r}]['player']['pattern']: {error}") from None
        need_in(player, "attribute", key)
    if player["from"] == "address":
        _check_fields(key, player["src"], urls)
    if player["from"] == "html":
        _check_fields(key, player["src"], (player["pattern"],))
    height = raw.get("frame_height")
    if height is not None and not (isinstance(height, int) and 50 <= height <= 4000):
        raise ImproperlyConfigured(f"EMBED_PROVIDERS[{key!r}]['frame_height'] must be 50 to 4000 pixels")
    params = raw.get("params") or {}
    return Provider(
        key=key,
        name=need("name", str),
        endpoint=raw["endpoint"],
        params=tuple((str(name), str(value)) for name, value in params.items()),
        urls=urls,
        frame_origins=frame_origins,
        thumbnail_origins=thumbnails,
        player=player,
        frame_height=height,
    )


def _check_fields(key: str, template: str, patterns: tuple[re.Pattern, ...]) -> None:
    """Every {name} of a player template is a named group of every pattern that feeds it."""
    try:
        fields = {name for _text, name, _spec, _conversion in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise ImproperlyConfigured(f"EMBED_PROVIDERS[{key!r}]['player']['src']: {error}") from None
    for pattern in patterns:
        if missing := fields - set(pattern.groupindex):
            raise ImproperlyConfigured(
                f"EMBED_PROVIDERS[{key!r}]: the player's {sorted(missing)} are not named groups of {pattern.pattern!r}"
            )


def need_in(player: dict, field: str, key: str):
    if not player.get(field):
        raise ImproperlyConfigured(f"EMBED_PROVIDERS[{key!r}]['player'] needs {field!r}")
    return player[field]


_compiled: tuple[object, dict[str, Provider]] | None = None


def providers() -> dict[str, Provider]:
    """The settings' providers, compiled once per settings object (tests swap it)."""
    global _compiled
    raw = settings.EMBED_PROVIDERS
    if _compiled is None or _compiled[0] is not raw:
        _compiled = (raw, {key: _compile(key, value) for key, value in raw.items()})
    return _compiled[1]


def provider_for(address: str) -> tuple[Provider, re.Match]:
    """The provider that takes this address, and the match; AddressRefused when none does."""
    if len(address) > MAX_ADDRESS_CHARS:
        raise AddressRefused(_("The address is too long."))
    for provider in providers().values():
        found = provider.match(address)
        if found:
            return provider, found
    raise AddressRefused(_("This address is not from a provider we embed."))


def provider_names() -> list[str]:
    return sorted({provider.name for provider in providers().values()})
