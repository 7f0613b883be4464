"""Which stream addresses a journalist may follow: livestream schemes only, a bounded length, and hosts on the
public internet only unless the operator allows private networks (STREAM_FOLLOW_ALLOW_PRIVATE)."""

import pytest

from transcription.follow.addresses import AddressRefused, check, is_public, parse
from transcription.follow.source import ffmpeg_args, rtmp_tcurl, with_host

PUBLIC = "93.184.215.14"  # a literal public address: no name to look up, so no network needed


@pytest.mark.parametrize(
    "url",
    [
        f"https://{PUBLIC}/live/stream.m3u8",
        f"http://{PUBLIC}:8000/radio.mp3",
        f"rtmp://{PUBLIC}/live/keynote",
        f"rtmps://{PUBLIC}:443/live/keynote",
        f"srt://{PUBLIC}:9000?streamid=keynote&mode=caller",
        f"HTTPS://{PUBLIC}/Live.m3u8",
        f"https://user:secret@{PUBLIC}/live.m3u8",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/live.m3u8",
    ],
)
def test_livestream_addresses_on_the_public_internet_are_followed(url):
    address, found = check(url, allow_private=False)
    assert address.scheme in {"http", "https", "rtmp", "rtmps", "srt"}
    assert found and all(is_public(ip) for ip in found)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("file:///etc/passwd", "file:"),
        ("ftp://93.184.215.14/talk.mp3", "ftp:"),
        ("data:audio/wav;base64,UklGRg==", "data:"),
        ("gopher://93.184.215.14/1", "gopher:"),
        ("rtsp://93.184.215.14/live", "rtsp:"),
        ("concat:https://a/1.ts|https://b/2.ts", "concat:"),
        ("javascript:alert(1)", "javascript:"),
        ("/var/media/talk.wav", "?:"),
    ],
)
def test_other_schemes_are_refused_saying_which_are_followed(url, said):
    with pytest.raises(AddressRefused) as refused:
        parse(url)
    assert said in str(refused.value) and "rtmp://" in str(refused.value) and "srt://" in str(refused.value)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1", "127.8.9.10", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "[::1]", "[fe80::1]", "[fc00::5]", "[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]",
        "[64:ff9b::a00:1]", "[2002:a00:1::]", "localhost",
    ],
)  # fmt: skip
def test_private_loopback_and_link_local_hosts_are_refused_unless_allowed(host):
    url = f"https://{host}/live.m3u8"
    with pytest.raises(AddressRefused, match="private, loopback or link-local network"):
        check(url, allow_private=False)
    check(url, allow_private=True)


def test_a_host_name_is_refused_when_any_of_its_addresses_is_private():
    # localhost leads to 127.0.0.1 (and ::1): every address is checked, not only the first.
    with pytest.raises(AddressRefused, match="localhost"):
        check("http://localhost:8000/live.m3u8", allow_private=False)


def test_a_name_that_leads_nowhere_is_refused():
    with pytest.raises(AddressRefused, match="could not be found"):
        check("https://no-such-host.invalid/live.m3u8", allow_private=True)


def test_the_address_length_is_bounded():
    long_url = f"https://{PUBLIC}/" + "a" * 2100
    with pytest.raises(AddressRefused, match="at most 2048 characters"):
        parse(long_url)
    parse(f"https://{PUBLIC}/" + "a" * (2048 - len(f"https://{PUBLIC}/")))


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("", "Paste the stream's address"),
        (None, "Paste the stream's address"),
        (f"https://{PUBLIC}/live stream.m3u8", "spaces or control characters"),
        (f"https://{PUBLIC}/live\n.m3u8", "spaces or control characters"),
        ("https:///live.m3u8", "names no server"),
        (f"https://{PUBLIC}:99999/live.m3u8", "not a valid address"),
        (f"srt://{PUBLIC}?streamid=a", "needs its port"),
        (f"srt://{PUBLIC}:9000?mode=listener", "caller mode"),
        (f"srt://{PUBLIC}:9000?localport=9000", "option localport is not accepted"),
    ],
)
def test_malformed_addresses_are_refused_with_why(url, said):
    with pytest.raises(AddressRefused, match=said):
        parse(url)


def test_ffmpeg_may_open_only_the_schemes_network_protocols():
    address, found = check(f"https://{PUBLIC}/live.m3u8", allow_private=False)
    args = ffmpeg_args(address, found[0], "http://follow:key@127.0.0.1:9", timeout_seconds=5)
    whitelist = args[args.index("-protocol_whitelist") + 1].split(",")
    assert "file" not in whitelist and "data" not in whitelist and "concat" not in whitelist
    assert args[args.index("-http_proxy") + 1] == "http://follow:key@127.0.0.1:9"  # every connection checked there


def test_rtmp_and_srt_connect_to_the_address_checked_not_the_name_again():
    address, _found = check(f"rtmp://{PUBLIC}:1935/live/keynote", allow_private=False)
    args = ffmpeg_args(address, "93.184.215.99", "http://unused", timeout_seconds=5)
    assert args[args.index("-i") + 1] == "rtmp://93.184.215.99:1935/live/keynote"
    assert with_host("srt://stream.example:9000?streamid=a", "2001:db8::1") == "srt://[2001:db8::1]:9000?streamid=a"
    assert with_host("rtmp://user:pw@stream.example/app/key", "1.2.3.4") == "rtmp://user:pw@1.2.3.4/app/key"


@pytest.mark.parametrize(
    ("path", "app"),
    [("/live/keynote", "live"), ("/app/instance/keynote", "app/instance"), ("/live", "live"),
     ("/vod/mp4:talk.mp4", "vod"), ("/ondemand/talk", "ondemand")],
)  # fmt: skip
def test_the_rtmp_server_still_hears_the_host_name_it_was_asked_for(path, app):
    address = parse(f"rtmp://stream.example.org{path}")
    assert rtmp_tcurl(address) == f"rtmp://stream.example.org:1935/{app}"
