"""Which stream addresses may be followed: the schemes of livestreams only, and hosts on public networks only
unless STREAM_FOLLOW_ALLOW_PRIVATE (so a follow cannot reach inside the newsroom's network)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from django.utils.translation import gettext as _

from transcription.models import StreamFollow

# http and https carry HLS playlists and Icecast/HTTP audio.
DEFAULT_PORTS = {"http": 80, "https": 443, "rtmp": 1935, "rtmps": 443}
SCHEMES = (*DEFAULT_PORTS, "srt")
# What an SRT address may ask of ffmpeg: a caller's options only (a listener would open a port on the follower).
SRT_OPTIONS = {"streamid", "passphrase", "pbkeylen", "latency", "mode", "transtype"}
# 6to4 and NAT64 carry an IPv4 address inside an IPv6 one: that inner address is the one reached.
NAT64 = ipaddress.ip_network("64:ff9b::/96")

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):
    """A stream address that is not followed, with why in the journalist's words."""


@dataclass(frozen=True)
class Address:
    url: str
    scheme: str
    host: str  # as written, without brackets
    port: int


def parse(url: object) -> Address:
    """The address if its form may be followed (scheme, host, port, length), else AddressRefused."""
    if not isinstance(url, str) or not url.strip():
        raise AddressRefused(_("Paste the stream's address."))
    url = url.strip()
    if len(url) > StreamFollow.MAX_URL_CHARS:
        raise AddressRefused(
            _("The address is too long: at most %(limit)d characters.") % {"limit": StreamFollow.MAX_URL_CHARS}
        )
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise AddressRefused(_("The address has spaces or control characters in it."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused(_("This is not a valid address.")) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise AddressRefused(
            _(
                "Addresses starting %(scheme)s: are not followed. Paste an HLS (.m3u8) or Icecast address "
                "(http:// or https://), or an rtmp://, rtmps:// or srt:// address."
            )
            % {"scheme": scheme or "?"}
        )
    host = parts.hostname or ""
    if not host:
        raise AddressRefused(_("The address names no server."))
    if port is None:
        if scheme == "srt":
            raise AddressRefused(_("An srt:// address needs its port, as in srt://host:9000."))
        port = DEFAULT_PORTS[scheme]
    if port == 0:
        raise AddressRefused(_("This is not a valid address."))
    if scheme == "srt":
        _check_srt_options(parts.query)
    return Address(url=url, scheme=scheme, host=host, port=port)


def _check_srt_options(query: str) -> None:
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in SRT_OPTIONS:
            raise AddressRefused(
                _("The srt:// option %(option)s is not accepted; these are: %(options)s.")
                % {"option": key, "options": ", ".join(sorted(SRT_OPTIONS))}
            )
        if key == "mode" and value != "caller":
            raise AddressRefused(_("Only the caller mode of SRT is followed: the follower connects to the stream."))


def reached(ip: IP) -> IP:
    """The address a connection to `ip` really reaches: the IPv4 one inside a mapped, 6to4 or NAT64 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public(address: str) -> bool:
    """On the public internet: not private, loopback, link-local, shared, reserved, unspecified or multicast."""
    try:
        ip = reached(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        return False
    return ip.is_global and not ip.is_multicast


def allowed_ip(address: str, *, allow_private: bool) -> bool:
    return allow_private or is_public(address)


def resolve(host: str, port: int) -> list[str]:
    """Every address the host name leads to (the literal address itself for one), or AddressRefused."""
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise AddressRefused(_("The server %(host)s could not be found.") % {"host": host}) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise AddressRefused(_("The server %(host)s could not be found.") % {"host": host})
    return addresses


def check_addresses(host: str, addresses: list[str], *, allow_private: bool) -> None:
    """AddressRefused unless every address the host leads to may be reached."""
    if not all(allowed_ip(address, allow_private=allow_private) for address in addresses):
        raise AddressRefused(
            _(
                "%(host)s is on a private, loopback or link-local network: only streams on the public "
                "internet are followed."
            )
            % {"host": host}
        )


def check(url: object, *, allow_private: bool) -> tuple[Address, list[str]]:
    """The address and the checked addresses its host leads to now (blocking: resolves the host name)."""
    address = parse(url)
    addresses = resolve(address.host, address.port)
    check_addresses(address.host, addresses, allow_private=allow_private)
    return address, addresses
