"""Readers hear the quote: on events that allow it, each traced quote of a published post is cut from its
session's private archive into a public clip, which goes when the post, the quote, the switch or the audio goes.

Clips are FLAC: lossless, so a clip holds exactly the archive's samples, smaller than WAV (every reader may
download it), and Chromium, Firefox and Safari all play it in <audio>.
"""

import math
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet

from events.models import Event
from events.signals import event_changed
from publishing.models import Post, QuoteClip
from publishing.queueing import enqueue_quote_clips
from transcription.archive import audio
from transcription.models import StreamSession

PADDING_SECONDS = 0.15  # a breath either side, so the first and last words are not clipped
MAX_QUOTE_SECONDS = 60.0  # longer is no quote: so long a stretch of the private archive never goes public
SLACK_SECONDS = 0.001


def clips_storage() -> Storage:
    return storages["clips"]


def clip_url(clip: QuoteClip) -> str:
    return clips_storage().url(clip.name)


def wants_clips(post: Post, event: Event) -> bool:
    return post.status == Post.Status.PUBLISHED and event.readers_hear_quotes


def where_said(traced: object) -> tuple[str, int, float, float] | None:
    """A traced quote's text, session and stretch, or None for an entry that is not one."""
    if not isinstance(traced, dict):
        return None
    quote, session, start, end = (traced.get(key) for key in ("quote", "session", "start", "end"))
    if not isinstance(quote, str) or not quote.strip() or type(session) is not int:
        return None
    if not all(type(value) in (int, float) and math.isfinite(value) for value in (start, end)):
        return None
    if not 0 <= start < end or end - start > MAX_QUOTE_SECONDS:
        return None
    return quote, session, float(start), float(end)


def matches(clip: QuoteClip, traced: object) -> bool:
    """Whether the clip still holds this traced quote: the same words from the same session and stretch, padded."""
    said = where_said(traced)
    if said is None:
        return False
    quote, session, start, end = said
    return (
        clip.quote == quote
        and clip.session_id == session
        and abs(clip.start - max(0.0, start - PADDING_SECONDS)) <= SLACK_SECONDS
        and start < clip.end <= end + PADDING_SECONDS + SLACK_SECONDS
    )


def quotes_of(post: Post) -> list:
    return post.traced_quotes if isinstance(post.traced_quotes, list) else []


def traced_at(post: Post, index: int) -> object:
    quotes = quotes_of(post)
    return quotes[index] if index < len(quotes) else None


def cut(post: Post, index: int) -> QuoteClip | None:
    """The clip of the post's traced quote `index`, its file saved; None when there is no audio to cut."""
    said = where_said(traced_at(post, index))
    if said is None:
        return None
    quote, session_id, start, end = said
    # Only a session of the post's own event: no other event's audio is ever made public through a post.
    rate = (
        StreamSession.objects.filter(pk=session_id, event_id=post.event_id)
        .values_list("audio_sample_rate", flat=True)
        .first()
    )
    if not rate:
        return None
    archived = audio.archived_frames(session_id) / rate
    first, last = max(0.0, start - PADDING_SECONDS), min(archived, end + PADDING_SECONDS)
    if last <= start:
        return None  # never archived, or purged already
    flac = audio.encode_flac(audio.read_pcm(session_id, first, last, rate), rate)
    # A new unguessable name for every clip: files never change, and no one finds a clip before its post is out.
    name = clips_storage().save(f"{secrets.token_hex(16)}.flac", ContentFile(flac))
    return QuoteClip(post=post, index=index, quote=quote, session_id=session_id, start=first, end=last, name=name)


def make_clips(post_id: int) -> list[QuoteClip]:
    """A clip for each traced quote of the published post that has none (the worker's part); idempotent."""
    post = Post.objects.select_related("event").filter(pk=post_id).first()
    if post is None or not wants_clips(post, post.event):
        return []
    have = set(post.quote_clips.values_list("index", flat=True))
    made: list[QuoteClip] = []
    try:
        for index in range(len(quotes_of(post))):
            if index not in have and (clip := cut(post, index)) is not None:
                made.append(clip)
        recorded = _record(post.pk, post.event_id, made)
    except BaseException:
        delete_files([clip.name for clip in made])
        raise
    kept = {clip.name for clip in recorded}
    delete_files([clip.name for clip in made if clip.name not in kept])
    return recorded


def _record(post_id: int, event_id: int, made: list[QuoteClip]) -> list[QuoteClip]:
    """The clips still wanted saved. Under the event's and the post's row locks (in Post._apply's order), so an
    unpublish, an edit or the switch turned off meanwhile either waits for this or is seen by it."""
    if not made:
        return []
    with transaction.atomic():
        event = Event.objects.select_for_update().filter(pk=event_id).first()
        post = Post.objects.select_for_update().filter(pk=post_id).first()
        if event is None or post is None or not wants_clips(post, event):
            return []
        recorded = []
        for clip in made:
            if not matches(clip, traced_at(post, clip.index)):
                continue
            try:
                with transaction.atomic():
                    clip.save()
            except IntegrityError:
                continue  # a retried or duplicate task made this one first
            recorded.append(clip)
        if recorded:
            show_again([post.pk], event)
    return recorded


def show_again(post_ids: list[int], event: Event) -> None:
    """These posts, whose clips changed, each take a new change number: pages and open readers render them again.
    Call inside the transaction that changed them."""
    for pk in post_ids:
        Post.objects.filter(pk=pk).update(change_seq=event.next_change_seq())
    if post_ids:
        event_id, slug, seq = event.pk, event.slug, event.change_seq
        transaction.on_commit(lambda: event_changed.send(sender=Post, event_id=event_id, slug=slug, change_seq=seq))


def take_down(clips: QuerySet) -> int:
    """Delete these clips (their files go on commit) and show their published posts again; returns how many."""
    with transaction.atomic():
        rows = list(clips.values_list("pk", "post_id", "post__event_id"))
        # Each event's row first, as every change readers see takes it first: no deadlock with a publish.
        for event in Event.objects.select_for_update().filter(pk__in={row[2] for row in rows}).order_by("pk"):
            QuoteClip.objects.filter(pk__in=[pk for pk, _, of in rows if of == event.pk]).delete()
            posts = {post_id for _, post_id, of in rows if of == event.pk}
            show_again(list(Post.objects.published().filter(pk__in=posts).values_list("pk", flat=True)), event)
    return len(rows)


def delete_files(names: list[str]) -> None:
    storage = clips_storage()
    for name in names:
        storage.delete(name)


def clip_deleted_receiver(sender, instance: QuoteClip, **kwargs) -> None:
    """However a clip row goes (with its post, its quote, its session or the switch), its file goes once that
    commits; a rollback keeps both."""
    name = instance.name
    transaction.on_commit(lambda: delete_files([name]), robust=True)


def post_clips_receiver(sender, instance: Post, raw: bool = False, **kwargs) -> None:
    """A saved post keeps only the clips of what readers see of it; a worker makes those it lacks after commit.
    Whatever saved it (Post._apply) gives it the change number that shows readers the difference."""
    if raw:
        return
    clips = QuoteClip.objects.filter(post_id=instance.pk)
    if not wants_clips(instance, instance.event):
        clips.delete()
        return
    have = list(clips.only("pk", "index", "quote", "session_id", "start", "end"))
    stale = [clip.pk for clip in have if not matches(clip, traced_at(instance, clip.index))]
    if stale:
        QuoteClip.objects.filter(pk__in=stale).delete()
    if len(have) - len(stale) < len(quotes_of(instance)):
        post_id = instance.pk
        transaction.on_commit(lambda: enqueue_quote_clips(post_id), robust=True)


def event_switch_receiver(sender, instance: Event, created: bool = False, raw: bool = False, **kwargs) -> None:
    """The event's switch: turned off, its clips go at once; on, a worker clips its published posts' quotes."""
    if raw or created:
        return
    if not instance.readers_hear_quotes:
        take_down(QuoteClip.objects.filter(post__event_id=instance.pk))
        return
    posts = Post.objects.published().filter(event_id=instance.pk).annotate(made=Count("quote_clips"))
    lacking = [
        pk
        for pk, quotes, made in posts.values_list("pk", "traced_quotes", "made")
        if isinstance(quotes, list) and len(quotes) > made
    ]
    if lacking:
        transaction.on_commit(lambda: enqueue_quote_clips(*lacking), robust=True)


def audio_purged_receiver(sender, session_ids: list[int], **kwargs) -> None:
    """The retention purge deleted these sessions' audio: their public clips go too."""
    take_down(QuoteClip.objects.filter(session_id__in=session_ids))
