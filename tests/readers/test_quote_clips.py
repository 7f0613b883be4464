"""Readers hear the quote (issue 24 point 6): public clips of checked quotes, cut from the private archive when
a post is published on an event that allows it, taken down with the post, its quote, the switch or the audio;
and the reader pages' player after each quote, a link to the clip without JavaScript."""

import io
import json
import re
from datetime import timedelta
from html import unescape

import pytest
import soundfile
from django.core.cache import cache
from django.utils import timezone

from events.models import Event
from publishing import tasks
from publishing.clips import clip_url
from publishing.models import Post, QuoteClip
from readers.quote_players import body_with_players
from readers.sanitize import body_html
from tests.support import factories, framecoded
from tests.support.clips import QUOTE, quoted_post, traced
from tests.support.framecoded import RATE, frames_in, pcm
from tests.support.processes import settings_in_child
from transcription.archive import audio
from transcription.models import StreamSession
from transcription.tasks import purge_expired_audio

# Clips are made and their files deleted once a change commits, and the archive is written from threads.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_roles", "worker")]


@pytest.fixture(autouse=True)
def clips_dir(settings, tmp_path):
    """This test's own audio archive and clips storage, side by side as in the embedded default."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "clips": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media" / "clips", "base_url": "/media/clips/"},
        },
    }
    cache.clear()
    return tmp_path / "media" / "clips"


@pytest.fixture
def hearing(event) -> Event:
    event.readers_hear_quotes = True
    event.save()
    return event


@pytest.fixture
def session(event, journalist) -> StreamSession:
    """Twenty seconds of archived audio; each 100 ms frame n holds the code n (tests.support.framecoded)."""
    session = factories.stream_session(event, journalist, audio_seconds=20)
    framecoded.archive_audio(session.pk, pcm(0, 200))
    session.refresh_from_db()
    return session


def clip_files(clips_dir) -> list[str]:
    return sorted(path.name for path in clips_dir.glob("*")) if clips_dir.exists() else []


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def decoded(path) -> bytes:
    samples, rate = soundfile.read(io.BytesIO(path.read_bytes()), dtype="int16")
    assert rate == RATE
    return samples.tobytes()


def test_publishing_cuts_each_quote_from_the_archive_into_a_public_clip_once(
    client, hearing, session, editor, clips_dir, worker
):
    post = quoted_post(hearing, traced(session))
    post.publish(editor)

    assert worker == [("publishing.tasks.make_quote_clips", (post.pk,))]
    clip = QuoteClip.objects.get(post=post)
    assert (clip.index, clip.quote, clip.session_id) == (0, QUOTE, session.pk)
    assert (clip.start, clip.end) == (pytest.approx(7.15), pytest.approx(12.25))  # 0.15 s either side
    assert clip_files(clips_dir) == [clip.name] and re.fullmatch(r"[0-9a-f]{32}\.flac", clip.name)
    # Lossless: exactly the archive's samples of that stretch, frames 7.1 s to 12.2 s.
    held = decoded(clips_dir / clip.name)
    assert held == audio.read_pcm(session.pk, clip.start, clip.end, RATE)
    assert frames_in(held) == list(range(71, 123))

    response = client.get(clip_url(clip))
    assert response.status_code == 200 and response["Content-Type"] == "audio/flac"
    assert response.content == (clips_dir / clip.name).read_bytes()
    assert "public" in response["Cache-Control"] and response["Accept-Ranges"] == "bytes"
    part = client.get(clip_url(clip), HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and part.content == (clips_dir / clip.name).read_bytes()[:100]
    # The archive itself stays private.
    chunk = audio.list_chunks(session.pk)[0].name
    assert client.get(f"/media/{chunk}").status_code == 404
    assert client.get(f"/media/clips/../{chunk}").status_code == 404

    # A retried or duplicate task makes no second clip.
    assert tasks.make_quote_clips.apply(args=(post.pk,)).get() == 0
    assert QuoteClip.objects.filter(post=post).count() == 1 and clip_files(clips_dir) == [clip.name]


def test_no_clip_without_the_switch_or_from_another_events_audio(event, session, editor, journalist, clips_dir):
    off = quoted_post(event, traced(session))
    off.publish(editor)
    assert not QuoteClip.objects.exists() and clip_files(clips_dir) == []

    other = factories.live_event(journalist, title="Elsewhere", slug="elsewhere", readers_hear_quotes=True)
    foreign = quoted_post(other, traced(session))  # a session of `event`, not of this post's event
    too_long = quoted_post(other, traced(session, start=0.0, end=61.0))
    foreign.publish(editor)
    too_long.publish(editor)
    assert not QuoteClip.objects.exists() and clip_files(clips_dir) == []

    event.readers_hear_quotes = True
    event.save()  # the same quote, on its own event, once the editor allows it
    assert list(QuoteClip.objects.values_list("post_id", flat=True)) == [off.pk] and len(clip_files(clips_dir)) == 1


def test_unpublishing_rejecting_or_deleting_the_post_takes_its_clips_down(client, hearing, session, editor, clips_dir):
    post = quoted_post(hearing, traced(session), traced(session, quote="the treaty", start=9.0, end=10.0))
    post.publish(editor)
    first = list(QuoteClip.objects.filter(post=post))
    assert [clip.index for clip in first] == [0, 1] and len(clip_files(clips_dir)) == 2

    post.unpublish(editor)
    assert not QuoteClip.objects.exists() and clip_files(clips_dir) == []
    assert all(client.get(clip_url(clip)).status_code == 404 for clip in first)

    post.publish(editor)
    again = list(QuoteClip.objects.filter(post=post))
    assert len(again) == 2 and not {clip.name for clip in again} & {clip.name for clip in first}
    post.reject(editor)
    assert not QuoteClip.objects.exists() and clip_files(clips_dir) == []

    post.publish(editor)
    assert QuoteClip.objects.filter(post=post).count() == 2
    Post.objects.get(pk=post.pk).delete()
    assert not QuoteClip.objects.exists() and clip_files(clips_dir) == []


def test_an_edited_quote_or_the_switch_turned_off_takes_clips_down_and_readers_see_it(
    client, hearing, session, editor, clips_dir
):
    post = quoted_post(hearing, traced(session))
    post.publish(editor)
    old = QuoteClip.objects.get(post=post)

    post.traced_quotes = [traced(session, quote="The treaty", start=9.5, end=10.5)]
    post.edit(editor, headline="", body="“The treaty”, she says, is signed.")
    new = QuoteClip.objects.get(post=post)
    assert new.quote == "The treaty" and new.name != old.name and clip_files(clips_dir) == [new.name]
    assert frames_in(decoded(clips_dir / new.name)) == list(range(93, 107))

    post.refresh_from_db()
    seen_at = post.change_seq
    hearing.readers_hear_quotes = False
    hearing.save()
    assert not QuoteClip.objects.exists() and clip_files(clips_dir) == []
    post.refresh_from_db()
    assert post.change_seq > seen_at  # open pages get the post again, without its player
    answer = json.loads(client.get(f"/events/{hearing.slug}/posts.json", {"after": seen_at}).content)
    assert [p["id"] for p in answer["posts"]] == [post.pk] and "hear-quote" not in answer["posts"][0]["html"]

    hearing.readers_hear_quotes = True
    hearing.save()  # turned on again: the worker clips the published posts' quotes
    assert QuoteClip.objects.filter(post=post).count() == 1


def test_the_audio_purge_takes_down_the_clips_of_the_sessions_it_purges(
    hearing, session, other_journalist, editor, clips_dir
):
    kept = factories.stream_session(hearing, other_journalist)
    framecoded.archive_audio(kept.pk, pcm(0, 50))
    post = quoted_post(hearing, traced(session), traced(kept, quote="Thank you", start=1.0, end=2.0))
    post.publish(editor)
    assert QuoteClip.objects.filter(post=post).count() == 2
    post.refresh_from_db()
    seen_at = post.change_seq

    hearing.audio_retention_days = 2
    hearing.save()
    long_ago = timezone.now() - timedelta(days=10)
    StreamSession.objects.filter(pk=session.pk).update(
        status=StreamSession.Status.ENDED, started_at=long_ago - timedelta(hours=1), ended_at=long_ago
    )
    assert purge_expired_audio() == 1

    left = QuoteClip.objects.get(post=post)
    assert left.session_id == kept.pk and clip_files(clips_dir) == [left.name]
    post.refresh_from_db()
    assert post.change_seq > seen_at
    post.set_key_event(editor, True)  # saved again: nothing to cut the purged quote from
    assert QuoteClip.objects.filter(post=post).count() == 1


def test_reader_pages_put_a_player_right_after_the_quote_that_links_to_the_clip(client, hearing, session, editor):
    post = quoted_post(hearing, traced(session))
    post.publish(editor)
    clip = QuoteClip.objects.get(post=post)
    player = (
        f'“{QUOTE}”<a class="hear-quote" href="/media/clips/{clip.name}" type="audio/flac" '
        f'aria-label="Hear the quote: “{QUOTE}”" title="Hear the quote: “{QUOTE}”">'
        '<span aria-hidden="true">▶</span></a> The hall applauded.'
    )

    page = client.get(f"/events/{hearing.slug}/")
    html = page.content.decode()
    assert player in html
    assert 'src="/static/readers/quote-player.js"' in html
    assert "media-src 'self'" in page["Content-Security-Policy"]
    assert player in client.get(f"/events/{hearing.slug}/posts/{post.pk}/").content.decode()
    assert player in client.get(f"/events/{hearing.slug}/embed/").content.decode()
    # Live pushes and the cursor catch-up carry the same post HTML.
    answer = json.loads(client.get(f"/events/{hearing.slug}/posts.json", {"after": 0}).content)
    assert player in answer["posts"][0]["html"]


def test_quotes_are_found_in_the_text_only_and_everything_is_escaped(hearing, session):
    body = (
        '<a href="https://example.org/" title="“We ratify”">Source</a> said “the treaty is signed”, '
        "<em>“We ratify</em>\nthe treaty” <script>alert(1)</script> and <b>“less < more & so”</b> then "
        '<a href="https://example.org/q">“in a link”</a> end'
    )
    post = quoted_post(
        hearing,
        traced(session, quote="We ratify</em>\nthe treaty"),
        traced(session, quote="less < more & so", start=1.0, end=2.0),
        traced(session, quote="in a link", start=3.0, end=4.0),
        traced(session, quote="never said here", start=5.0, end=6.0),
        body=body,
    )
    clips = [
        QuoteClip.objects.create(
            post=post, index=n, quote=t["quote"], session=session, start=t["start"], end=t["end"], name=f"{n}.flac"
        )
        for n, t in enumerate(post.traced_quotes)
    ]
    html = str(body_with_players(post, hearing))

    assert html.count('class="hear-quote"') == 3 and clips[3].name not in html
    assert 'title="“We ratify”" rel="noopener noreferrer nofollow ugc">Source</a>' in html  # no tag is touched
    assert "said “the treaty is signed”, <em>" in html  # nor a quote without a clip
    assert '<em>“We ratify</em><br>the treaty”<a class="hear-quote" href="/media/clips/0.flac"' in html
    assert "“less &lt; more &amp; so”<a class=" in html and "<script>" not in html
    assert '“in a link”</a><a class="hear-quote" href="/media/clips/2.flac"' in html  # after the link, not in it
    assert 'aria-label="Hear the quote: “less &lt; more &amp; so”"' in html
    # Besides the players, the words readers see are the sanitised body's, character for character.
    without_players = re.sub(r'<a class="hear-quote"[^>]*>.*?</a>', "", html)
    assert text_of(without_players) == text_of(str(body_html(body)))


def test_the_event_admin_has_the_switch_next_to_auto_publish(admin_client, event):
    page = admin_client.get(f"/admin/events/event/{event.pk}/change/").content.decode()
    assert page.index('name="auto_publish"') < page.index('name="readers_hear_quotes"') < page.index('"credit_cap"')
    assert "Let readers hear quotes" in page


def test_media_src_allows_the_clips_origin_only_when_it_is_another():
    elsewhere = settings_in_child(
        {"CLIPS_URL": "https://clips.example.net/live/"}, "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['media-src']"
    )
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "'self'" in elsewhere.stdout and "'https://clips.example.net'" in elsewhere.stdout
    local = settings_in_child({}, "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['media-src'], s.STORAGES['clips']")
    assert "[\"'self'\"]" in local.stdout and "/media/clips/" in local.stdout and "clips'" in local.stdout
    bad = settings_in_child({"CLIPS_URL": "ftp://clips.example.net/"}, "s.CLIPS_URL")
    assert bad.returncode != 0 and "CLIPS_URL must be a path or an http(s) URL" in bad.stderr
