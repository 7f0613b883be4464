"""Reader editions: each published post translated into the event's reader languages by the drafting provider.

Translated in the worker once a publish or an edit of the post's words commits (Post._follow_editions), one call per
language, its credits reserved and billed against the event's cap. A translation never carries what the original
lacks: its numbers must have the values of the original's (and lose none), its names must be written in the original;
one that differs is held for an editor (the draft queue). A drafter that does not translate (the offline one) leaves
readers the original, with a note. Design: docs/architecture.md, *Reader editions*.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from events.models import Event
from events.sentences import Sentence
from events.signals import event_changed
from publishing.brief import build_translation_brief
from publishing.drafters.base import Drafter, DraftingUnavailable, get_drafter
from publishing.drafting import billed_call, clean_text
from publishing.models import Post, PostTranslation
from publishing.names import is_common, names, words_of
from publishing.numbers import numbers_in
from publishing.signals import translation_changed
from publishing.tracing import calendar_words

log = logging.getLogger(__name__)

Status = PostTranslation.Status
NUMBER, NUMBER_LOST, NAME = "number", "number_lost", "name"
# Said in words, these are articles or ordinals as often as numbers ("ein", "the second"): not compared.
_SMALL_WORDS = {1.0, 2.0}


class TranslationRefused(Exception):
    """An editor's decision the translation's state does not allow; the message is for them."""


# --- The check: the translation against its original. ---


def _compared(text: str, language: str):
    """The numbers of `text` that are compared: in digits, or in words when more than two."""
    return [n for n in numbers_in(text, language) if any(c.isdigit() for c in n.text) or n.values - _SMALL_WORDS]


def differences(original: str, source: str, translated: str, target: str, *, glossary: list[str] = ()) -> list[dict]:
    """What the translation says that the original does not: numbers of other values, names not written in it, and
    numbers of the original it lost. Each with its place in `translated` (a lost number: in `original`)."""
    found: list[dict] = []
    theirs = _compared(original, source)
    ours = _compared(translated, target)
    original_values = {value for number in theirs for value in number.values}
    translated_values = {value for number in ours for value in number.values}
    for number in ours:
        if not number.values & original_values:
            found.append({"kind": NUMBER, "text": number.text, "start": number.start, "end": number.end})
    for number in theirs:
        if not number.values & translated_values:
            found.append({"kind": NUMBER_LOST, "text": number.text, "start": number.start, "end": number.end})
    known = set(words_of(original)) | {word for term in glossary for word in words_of(term)}
    source_months, source_days = calendar_words(source)
    target_months, target_days = calendar_words(target)
    # A month or weekday the original names may be named in the translation's own words.
    for theirs_names, ours_names in ((source_months, target_months), (source_days, target_days)):
        known |= {ours_names[i] for i, name in enumerate(theirs_names) if name in known}
    for name in names(translated, target):
        # A capitalised common word of the target language ("German", "Chancellor") is not taken for a name.
        missing = [word for word in name.words if word not in known and not is_common(word, target)]
        if missing:
            found.append({"kind": NAME, "text": name.text, "start": name.start, "end": name.end})
    return sorted(found, key=lambda item: (item["kind"] == NUMBER_LOST, item["start"]))


def parse_answer(text: str, *, has_headline: bool) -> tuple[str, str]:
    """(headline, body) of the provider's answer: the first line is the headline when the original has one."""
    text = clean_text(text)
    if not has_headline:
        return "", text
    head, _, rest = text.partition("\n")
    if not rest.strip():  # one line only: no headline was told apart
        return "", text
    return head.strip()[: PostTranslation._meta.get_field("headline").max_length], rest.strip()


# --- Translating, in the worker. ---


def translate_post(post_id: int, *, last_try: bool = False) -> list[PostTranslation]:
    """Every reader edition of a published post that lacks its current words. Raises DraftingUnavailable (the
    translations handed back) to be tried again later, except on the last try."""
    post = Post.objects.select_related("event").filter(pk=post_id, status=Post.Status.PUBLISHED).first()
    if post is None:
        return []
    drafter = get_drafter()
    if not drafter.translates:
        return []  # readers get the original, with a note
    done = []
    unavailable: DraftingUnavailable | None = None
    for language in post.event.editions:
        try:
            translation = translate(post, language, drafter, last_try=last_try)
        except DraftingUnavailable as exc:
            unavailable = exc
            continue
        if translation is not None:
            done.append(translation)
    if unavailable is not None:
        raise unavailable
    return done


def _claim(post: Post, language: str) -> PostTranslation | None:
    """The (post, language) row, pending for the post's revision under this worker's lease; None when it is done
    already for these words or another worker holds it."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.DRAFTING_LEASE_SECONDS)
    try:
        row, created = PostTranslation.objects.get_or_create(
            post=post,
            language=language,
            defaults={"source_revision": post.revision, "lease_expires_at": lease, "attempts": 1},
        )
    except IntegrityError:  # another worker made it first
        return None
    if created:
        return row
    done = row.source_revision == post.revision and row.status in (Status.READY, Status.HELD)
    if done:
        return None
    taken = (
        PostTranslation.objects.filter(pk=row.pk)
        .exclude(status=Status.PENDING, source_revision=post.revision, lease_expires_at__gt=now)
        .update(
            status=Status.PENDING,
            source_revision=post.revision,
            lease_expires_at=lease,
            attempts=row.attempts + 1,
            last_error="",
        )
    )
    if not taken:
        return None
    row.refresh_from_db()
    return row


def translate(post: Post, language: str, drafter: Drafter, *, last_try: bool = False) -> PostTranslation | None:
    """One reader edition of the post's current words: ready, held for an editor, or failed with why."""
    row = _claim(post, language)
    if row is None:
        return None
    brief = build_translation_brief(post, language)
    draft = billed_call(
        row, post.event, drafter.max_credits_per_call, lambda: drafter.translate(brief), last_try=last_try
    )
    if draft is None:
        return None
    headline, body = parse_answer(draft.body, has_headline=bool(brief.headline))
    if not body:
        row.fail(Sentence.gettext("%(provider)s answered with no text", provider=draft.provider))
        return None
    source_language = post.event.post_language
    original = f"{brief.headline}\n{brief.body}" if brief.headline else brief.body
    translated = f"{headline}\n{body}" if headline else body
    untraced = differences(original, source_language, translated, language, glossary=brief.glossary)
    # Places in the stored body, after the headline and its line break (a lost number's: in `original`).
    shift = len(headline) + 1 if headline else 0
    for item in untraced:
        if item["kind"] != NUMBER_LOST:
            item["start"], item["end"] = item["start"] - shift, item["end"] - shift
    return _save(row, post.event_id, brief, headline, body, untraced, draft)


def _save(
    row: PostTranslation, event_id: int, brief, headline: str, body: str, untraced: list[dict], draft
) -> PostTranslation | None:
    """Ready (readers told) or held (the queue told), if the post still says what was translated."""
    status = Status.HELD if untraced else Status.READY
    with transaction.atomic():
        # The event's row first, as an edit of a published post takes it (Event.next_change_seq): no edit of the
        # post's words can commit between this read and the save.
        Event.objects.select_for_update().filter(pk=event_id).first()
        post = Post.objects.select_related("event").filter(pk=row.post_id).first()
        same_words = post is not None and (post.headline.strip(), post.body.strip()) == (brief.headline, brief.body)
        if not same_words or not post.is_published:
            # Edited or unpublished meanwhile: the task of the new words translates those.
            PostTranslation.objects.filter(pk=row.pk, status=Status.PENDING).update(lease_expires_at=timezone.now())
            return None
        saved = PostTranslation.objects.filter(pk=row.pk, status=Status.PENDING).update(
            status=status,
            headline=headline,
            body=body,
            source_revision=post.revision,
            checked=not untraced,
            untraced=untraced,
            provider=draft.provider,
            request_id=draft.request_id[:128],
            latency_ms=draft.latency_ms,
            last_error="",
            lease_expires_at=None,
        )
        if not saved:
            return None
        if status == Status.READY:
            readers_see(post)
        transaction.on_commit(lambda: translation_changed.send(sender=PostTranslation, event_id=event_id), robust=True)
    log.info(
        "post %s translated into %s (%s)%s",
        row.post_id,
        row.language,
        draft.provider,
        f": held, {len(untraced)} difference(s)" if untraced else "",
    )
    return PostTranslation.objects.get(pk=row.pk)


def readers_see(post: Post) -> None:
    """Inside a transaction: the post takes the event's next change number, so every open page and cursor gets
    it again (each edition in its own words)."""
    event = post.event
    seq = event.next_change_seq()
    Post.objects.filter(pk=post.pk).update(change_seq=seq)
    event_id, slug = event.pk, event.slug
    transaction.on_commit(lambda: event_changed.send(sender=Post, event_id=event_id, slug=slug, change_seq=seq))


def requeue_stale() -> list[int]:
    """Beat: published posts whose translation was left pending a whole lease past its lease (a dead worker, a lost
    retry) are sent again; the first worker to claim it takes it, the others find it taken."""
    overdue = timezone.now() - timedelta(seconds=settings.DRAFTING_LEASE_SECONDS)
    stale = PostTranslation.objects.filter(
        status=Status.PENDING, lease_expires_at__lt=overdue, post__status=Post.Status.PUBLISHED
    )
    return sorted(set(stale.values_list("post_id", flat=True)[:1000]))


# --- An editor's decisions on a held translation, from the draft queue. ---


def _held(translation_id: int, event: Event) -> PostTranslation:
    row = (
        PostTranslation.objects.select_for_update()
        .select_related("post__event")
        .filter(pk=translation_id, post__event=event)
        .first()
    )
    if row is None or row.status != Status.HELD or row.source_revision != row.post.revision:
        raise TranslationRefused(gettext("That translation is not waiting any more: reload the queue."))
    return row


def approve(translation_id: int, event: Event, user) -> PostTranslation:
    """Readers of its edition get it, on the editor's word, recorded on it."""
    with transaction.atomic():
        row = _held(translation_id, event)
        PostTranslation.objects.filter(pk=row.pk).update(status=Status.READY, decided_by=user)
        if row.post.is_published:
            readers_see(row.post)
        transaction.on_commit(lambda: translation_changed.send(sender=PostTranslation, event_id=event.pk), robust=True)
    log.info("translation %s of post %s into %s approved by %s", row.pk, row.post_id, row.language, user)
    return PostTranslation.objects.get(pk=row.pk)


def reject(translation_id: int, event: Event, user) -> None:
    """Readers of its edition keep the original, with a note."""
    with transaction.atomic():
        row = _held(translation_id, event)
        PostTranslation.objects.filter(pk=row.pk).update(
            status=Status.FAILED, decided_by=user, last_error=gettext("Rejected by an editor.")
        )
        transaction.on_commit(lambda: translation_changed.send(sender=PostTranslation, event_id=event.pk), robust=True)
    log.info("translation %s of post %s into %s rejected by %s", row.pk, row.post_id, row.language, user)
