"""Journalists as authors over HTTP (issue 28): a quote flashed from the studio's transcript and a journalist's own
post. The server takes the words from the stored segments only, checks every choice (the journalist's own
session of the event, consecutive lines of one named speaker, bounded), and publishes at once only where the
event's editor allows it and the journalist holds the permission."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from events.models import Event
from events.roles import JOURNALISTS
from publishing.models import Post, PostAction
from tests.support.factories import live_event, segment, stream_session
from transcription.models import SpeakerName, StreamSession

pytestmark = pytest.mark.django_db


def words(text: str, start: float, step: float = 0.5, confidence: float = 0.99, speaker: int = 0) -> list[dict]:
    """Provider words for `text`, one every `step` seconds from `start`."""
    return [
        {
            "word": w.strip(",.").lower(),
            "punctuated_word": w,
            "start": start + i * step,
            "end": start + i * step + step * 0.8,
            "confidence": confidence,
            "speaker": speaker,
        }
        for i, w in enumerate(text.split())
    ]


def line(session, sequence: int, text: str, start: float, *, speaker: int | None = 0, **fields):
    step = 0.5
    return segment(
        session,
        text,
        sequence=sequence,
        start=start,
        end=start + step * len(text.split()),
        speaker=speaker,
        words=fields.pop("words", None) or words(text, start, step, speaker=speaker or 0),
        confidence=0.99,
        **fields,
    )


@pytest.fixture
def stream(event, journalist):
    Event.objects.filter(pk=event.pk).update(diarize=True)
    session = stream_session(event, journalist)
    SpeakerName.objects.create(session=session, label=0, name="Ada Lovelace")
    lines = [
        line(session, 0, "Good morning, everyone.", 0.0),
        line(session, 1, "Real-time speech will change how we report.", 2.0),
        line(session, 2, "Every word is checked before it goes out.", 6.5),
        line(session, 3, "Thank you.", 11.0, speaker=1),
    ]
    return session, lines


def flash(client, event, *segments, **more):
    data = {"segment": [str(s.pk if hasattr(s, "pk") else s) for s in segments], **more}
    return client.post(f"/studio/{event.slug}/quotes/", data)


def test_a_line_becomes_a_quote_in_the_speakers_name_checked_by_construction(client, event, journalist, stream):
    session, lines = stream
    client.force_login(journalist)
    answer = flash(client, event, lines[1])
    assert answer.status_code == 201, answer.content
    assert answer.json()["message"] == "Quote sent to the editors' queue."
    post = Post.objects.get()
    assert post.kind == Post.Kind.QUOTE and post.status == Post.Status.DRAFT
    assert post.body == "“Real-time speech will change how we report.” — Ada Lovelace"
    assert post.checked and post.untraced == [] and not post.ai_assisted and post.hold_reason == ""
    assert post.author == journalist and post.batch is None
    [said] = post.traced_quotes
    assert said == {
        "quote": "Real-time speech will change how we report.",
        "session": session.pk,
        "start": 2.0,
        "end": 5.4,  # the last word's end: 2.0 + 6 * 0.5 + 0.4
        "segments": [lines[1].pk],
    }
    assert list(post.quoted_segments.all()) == [lines[1]]
    # The check agrees, run again on the stored text.
    assert post.trace(post.body).passed
    assert PostAction.objects.filter(post=post, action=PostAction.Kind.CREATED, user=journalist).exists()
    summary = answer.json()["post"]
    assert summary["kind"] == "quote" and summary["author"] == "jo" and summary["state"] == "waiting"
    shown = client.get(f"/studio/{event.slug}/drafts.json").json()["drafts"]
    assert shown[0]["id"] == post.pk and shown[0]["kind"] == "quote" and shown[0]["author"] == "jo"


def test_a_stretch_across_lines_with_chosen_words_quotes_exactly_those_words_and_their_audio(
    client, event, journalist, stream
):
    _session, lines = stream
    client.force_login(journalist)
    # From "will" (word 2 of line 1) to "checked" (word 3 of line 2).
    answer = flash(client, event, lines[1], lines[2], first_word="2", last_word="3")
    assert answer.status_code == 201, answer.content
    post = Post.objects.get()
    assert post.body == "“will change how we report. Every word is checked” — Ada Lovelace"
    [said] = post.traced_quotes
    assert said["start"] == 3.0  # "will": 2.0 + 2 * 0.5
    assert said["end"] == 8.4  # "checked": 6.5 + 3 * 0.5 + 0.4
    assert said["segments"] == [lines[1].pk, lines[2].pk]
    assert post.checked


def test_the_client_never_supplies_the_words(client, event, journalist, stream):
    _session, lines = stream
    client.force_login(journalist)
    answer = flash(client, event, lines[0], text="We will cut every job.", quote="We will cut every job.")
    assert answer.status_code == 201
    assert Post.objects.get().body == "“Good morning, everyone.” — Ada Lovelace"


def test_pressing_twice_makes_one_post(client, event, journalist, stream):
    _session, lines = stream
    client.force_login(journalist)
    first = flash(client, event, lines[0])
    again = flash(client, event, lines[0])
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["post"]["id"] == first.json()["post"]["id"] and Post.objects.count() == 1
    assert flash(client, event, lines[0], last_word="1").status_code == 201  # other words: another quote


@pytest.mark.parametrize(
    ("choose", "why"),
    [
        (lambda lines: [lines[0], lines[2]], "consecutive"),
        (lambda lines: [lines[2], lines[3]], "one speaker"),
        (lambda lines: [], "Choose the lines"),
        (lambda lines: [lines[0], lines[0]], "once"),
        (lambda lines: ["abc"], "whole number"),
        (lambda lines: ["99999999"], "whole number"),
        (lambda lines: [424242], "your own stream"),
    ],
)
def test_a_choice_that_is_no_quote_is_refused(client, event, journalist, stream, choose, why):
    _session, lines = stream
    client.force_login(journalist)
    answer = flash(client, event, *choose(lines))
    assert answer.status_code == 400 and why in answer.json()["error"], answer.content
    assert not Post.objects.exists()


@pytest.mark.parametrize(("first", "last"), [("9", ""), ("", "9"), ("3", "1"), ("-1", ""), ("1.5", ""), ("0x1", "")])
def test_word_indices_outside_the_lines_are_refused(client, event, journalist, stream, first, last):
    _session, lines = stream
    client.force_login(journalist)
    answer = flash(client, event, lines[1], first_word=first, last_word=last)
    assert answer.status_code == 400 and not Post.objects.exists()


def test_another_journalists_session_and_another_events_lines_are_refused(
    client, event, journalist, other_journalist, stream
):
    event.journalists.add(other_journalist)
    theirs = stream_session(event, other_journalist)
    SpeakerName.objects.create(session=theirs, label=0, name="Grace Hopper")
    their_line = line(theirs, 0, "Nobody quotes me.", 0.0)
    elsewhere = live_event(journalist, title="Elsewhere", slug="elsewhere", diarize=True)
    other_session = stream_session(elsewhere, journalist)
    SpeakerName.objects.create(session=other_session, label=0, name="Ada Lovelace")
    other_event_line = line(other_session, 0, "Said at another event.", 0.0)
    client.force_login(journalist)
    for chosen in ([their_line], [other_event_line], [stream[1][0], other_event_line]):
        answer = flash(client, event, *chosen)
        assert answer.status_code == 400 and "your own stream" in answer.json()["error"]
    assert not Post.objects.exists()


def test_lines_of_two_sessions_are_refused(client, event, journalist, stream):
    session, lines = stream
    session.status = "ended"
    session.save()
    later = stream_session(event, journalist)
    SpeakerName.objects.create(session=later, label=0, name="Ada Lovelace")
    next_line = line(later, 4, "And one more thing.", 20.0)
    client.force_login(journalist)
    answer = flash(client, event, lines[2], next_line)
    assert answer.status_code == 400 and "one session" in answer.json()["error"]


def test_an_unnamed_speaker_or_none_at_all_is_refused(client, event, journalist, stream):
    session, lines = stream
    no_speaker = line(session, 4, "Words nobody is labelled for.", 13.0, speaker=None)
    client.force_login(journalist)
    unnamed = flash(client, event, lines[3])
    assert unnamed.status_code == 400 and "Name Speaker 1 first" in unnamed.json()["error"]
    nobody = flash(client, event, no_speaker)
    assert nobody.status_code == 400 and "no speaker" in nobody.json()["error"]
    assert not Post.objects.exists()


def test_too_many_lines_too_many_words_or_too_long_is_refused(client, event, journalist):
    Event.objects.filter(pk=event.pk).update(diarize=True)
    session = stream_session(event, journalist)
    SpeakerName.objects.create(session=session, label=0, name="Ada Lovelace")
    many = [line(session, n, "Short line here.", n * 2.0) for n in range(9)]
    client.force_login(journalist)
    answer = flash(client, event, *many)
    assert answer.status_code == 400 and "at most 8 lines" in answer.json()["error"]
    # A long breath: one line of 70 seconds.
    slow = line(
        session, 9, "A very slow sentence indeed.", 30.0, words=words("A very slow sentence indeed.", 30.0, 17.5)
    )
    answer = flash(client, event, slow)
    assert answer.status_code == 400 and "at most 60 seconds" in answer.json()["error"]
    wordy = line(session, 10, " ".join(["word"] * 151), 120.0, words=words(" ".join(["word"] * 151), 120.0, 0.1))
    answer = flash(client, event, wordy)
    assert answer.status_code == 400 and "at most 150 words" in answer.json()["error"]
    assert not Post.objects.exists()


def test_words_the_recognizer_was_unsure_of_are_not_put_in_the_speakers_mouth(client, event, journalist):
    Event.objects.filter(pk=event.pk).update(diarize=True)
    session = StreamSession.objects.create(event=event, journalist=journalist, provider="deepgram")
    SpeakerName.objects.create(session=session, label=0, name="Ada Lovelace")
    heard = words("We cut forty jobs.", 0.0)
    heard[2]["confidence"] = 0.3
    unsure = line(session, 0, "We cut forty jobs.", 0.0, words=heard)
    client.force_login(journalist)
    answer = flash(client, event, unsure)
    assert answer.status_code == 400 and "unsure of “forty”" in answer.json()["error"]
    assert not Post.objects.exists()


def allowed_to_publish(journalist):
    journalist.user_permissions.add(Permission.objects.get(codename="publish_own_post"))


def test_it_goes_live_at_once_only_where_the_editor_allows_it_and_the_journalist_may(client, event, journalist, stream):
    _session, lines = stream
    assert Group.objects.get(name=JOURNALISTS).permissions.filter(codename="publish_own_post").exists()
    client.force_login(journalist)
    assert flash(client, event, lines[0]).json()["post"]["state"] == "waiting"  # the event does not allow it

    Event.objects.filter(pk=event.pk).update(journalists_publish=True)
    answer = flash(client, event, lines[1])
    assert answer.json()["message"] == "Quote published." and answer.json()["post"]["state"] == "published"
    post = Post.objects.get(pk=answer.json()["post"]["id"])
    assert post.is_published and post.published_at is not None
    assert PostAction.objects.filter(post=post, action=PostAction.Kind.PUBLISHED, user=journalist).exists()
    reader = Client().get(f"/events/{event.slug}/")
    assert "Real-time speech will change how we report." in reader.content.decode()

    # Without the permission (taken from the group), it waits for an editor even there.
    Group.objects.get(name=JOURNALISTS).permissions.remove(Permission.objects.get(codename="publish_own_post"))
    client.force_login(type(journalist).objects.get(pk=journalist.pk))
    assert flash(client, event, lines[2]).json()["post"]["state"] == "waiting"


def test_an_edited_quote_is_traced_again_to_its_own_lines(client, event, journalist, editor, stream):
    _session, lines = stream
    client.force_login(journalist)
    flash(client, event, lines[1])
    post = Post.objects.get()
    post.edit(editor, headline="", body="“Real-time speech will end reporting.” — Ada Lovelace")
    post.refresh_from_db()
    assert not post.checked and post.untraced[0]["kind"] == "quote"
    post.edit(editor, headline="Keynote", body="“Real-time speech will change how we report,” said Ada Lovelace.")
    post.refresh_from_db()
    assert post.checked and post.traced_quotes[0]["segments"] == [lines[1].pk]


# --- who may, and how --------------------------------------------------------------------------------


def test_only_the_events_own_journalist_logged_in_may_post(client, event, journalist, other_journalist, editor, stream):
    _session, lines = stream
    anonymous = flash(client, event, lines[0])
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert client.post(f"/studio/{event.slug}/posts/", {"body": "Hi"}).status_code == 302
    for user in (other_journalist, editor):
        client.force_login(user)
        assert flash(client, event, lines[0]).status_code == 403
        assert client.post(f"/studio/{event.slug}/posts/", {"body": "Hi"}).status_code == 403
    client.force_login(journalist)
    assert client.get(f"/studio/{event.slug}/quotes/").status_code == 405
    assert client.post("/studio/no-such-event/quotes/", {"segment": [lines[0].pk]}).status_code == 404
    assert not Post.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(event, journalist, stream):
    _session, lines = stream
    client = Client(enforce_csrf_checks=True)
    client.force_login(journalist)
    assert flash(client, event, lines[0]).status_code == 403
    assert client.post(f"/studio/{event.slug}/posts/", {"body": "Hi"}).status_code == 403
    assert not Post.objects.exists()
    page = client.get(f"/studio/{event.slug}/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    assert flash(client, event, lines[0], csrfmiddlewaretoken=token).status_code == 201
    assert client.post(f"/studio/{event.slug}/posts/", {"body": "Hi", "csrfmiddlewaretoken": token}).status_code == 201


# --- a journalist's own post ---------------------------------------------------------------------------


def test_a_journalists_own_post_goes_to_the_queue_under_their_name_unchecked_and_not_held(client, event, journalist):
    client.force_login(journalist)
    answer = client.post(f"/studio/{event.slug}/posts/", {"body": "  The hall is full: 400 people.\r\nMore soon.\x07 "})
    assert answer.status_code == 201 and answer.json()["message"] == "Post sent to the editors' queue."
    post = Post.objects.get()
    assert post.body == "The hall is full: 400 people.\nMore soon."
    assert post.kind == Post.Kind.WRITTEN and post.author == journalist and not post.ai_assisted
    assert post.hold_reason == "" and post.untraced == [] and post.status == Post.Status.DRAFT
    assert answer.json()["post"]["kind"] == "written" and answer.json()["post"]["author"] == "jo"


def test_a_journalists_post_is_bounded_and_sanitized_when_rendered(client, event, journalist):
    Event.objects.filter(pk=event.pk).update(journalists_publish=True)
    client.force_login(journalist)
    assert client.post(f"/studio/{event.slug}/posts/", {"body": "  \n "}).status_code == 400
    too_long = client.post(f"/studio/{event.slug}/posts/", {"body": "x" * 1001})
    assert too_long.status_code == 400 and "at most 1000 characters" in too_long.json()["error"]
    answer = client.post(
        f"/studio/{event.slug}/posts/", {"body": 'Live <script>alert(1)</script><img src=x onerror="alert(2)">'}
    )
    assert answer.json()["message"] == "Post published."
    page = Client().get(f"/events/{event.slug}/").content.decode()
    assert "Live" in page and "<script>alert(1)" not in page and "onerror" not in page
    assert '<span class="byline">jo</span>' in page


def test_the_studio_page_offers_quotes_and_a_post_box_saying_where_they_go(client, event, journalist):
    client.force_login(journalist)
    page = client.get(f"/studio/{event.slug}/").content.decode()
    assert 'id="post-quote"' in page and 'aria-keyshortcuts="Q"' in page
    assert f'data-quote-url="/studio/{event.slug}/quotes/"' in page
    assert 'action="/studio/keynote/posts/"' in page and "Send to the editors" in page
    assert '<script id="studio-words" type="application/json">' in page
    Event.objects.filter(pk=event.pk).update(journalists_publish=True)
    page = client.get(f"/studio/{event.slug}/").content.decode()
    assert "A quote goes live at once" in page and ">Publish</button>" in page
