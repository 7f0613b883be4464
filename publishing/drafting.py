"""Turning a claimed batch into at most one post, whatever retries, duplicates or dead workers happen; and the
drafter call every kind of drafting makes (a batch, the story so far, a reader edition), billed, failed or handed
back."""

import html
import logging
import re
from collections.abc import Callable

import nh3
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from events.models import Event
from events.sentences import Sentence
from publishing import credits
from publishing.brief import Brief, build_brief
from publishing.drafters.base import Draft, Drafter, DraftingFailed, DraftingUnavailable, get_drafter
from publishing.models import Batch, Post, PostTranslation, Summary
from publishing.tracing import NAME, NUMBER, QUOTE, UNSURE

log = logging.getLogger(__name__)
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_SCRIPT_SCHEME = re.compile(r"(?i)\b(?:javascript|vbscript|data)\s*:")
_MARKDOWN_MARKS = re.compile(r"^\s{0,3}(?:#{1,6}\s+|[*-]\s+|>\s*)|\*\*|__", re.MULTILINE)
# A Markdown block quote with no quotation marks of its own: kept as a quotation, so it is checked as one.
_BLOCK_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]*([^\n\"“”„«»‹›「」『』]*\w[^\n\"“”„«»‹›「」『』]*?)[ \t]*$", re.MULTILINE)
_EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_WEB_ADDRESS = re.compile(
    r"(?i)\b[a-z][a-z0-9+.-]*://\S+"  # any scheme
    r"|\bwww\.\S+"
    r"|\b(?:[a-z0-9-]+\.)+[a-z]{2,24}\b(?:/\S*)?"  # a bare host name
    r"|\b[a-z0-9-]+ dot (?:com|org|net|io|info|app|dev)\b"  # spoken, as a transcript has it
)


def clean_text(text: str) -> str:
    """Plain text with no markup left in it, even behind entities or markdown links: generated text is
    untrusted, and the stored post must be inert for every use (feeds, JSON, the studio, copy and paste)."""
    text = _MARKDOWN_LINK.sub(r"\1", text)
    while True:
        cleaned = html.unescape(nh3.clean(text, tags=set()))
        if cleaned == text:
            break
        text = cleaned
    text = _SCRIPT_SCHEME.sub("", text)
    text = _BLOCK_QUOTE.sub(r"“\1”", text)
    text = _MARKDOWN_MARKS.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()


# Why a draft with untraced items of each kind is held, given how many and the first.
_UNTRACED_REASONS: dict[str, Callable[[int, str], Sentence]] = {
    QUOTE: lambda count, example: Sentence.ngettext(
        "%(count)d quote is not in the transcript (“%(example)s”)",
        "%(count)d quotes are not in the transcript (“%(example)s”)",
        count,
        example=example,
    ),
    UNSURE: lambda count, example: Sentence.ngettext(
        "%(count)d quote has words the recognizer was unsure of (“%(example)s”)",
        "%(count)d quotes have words the recognizer was unsure of (“%(example)s”)",
        count,
        example=example,
    ),
    NUMBER: lambda count, example: Sentence.ngettext(
        "%(count)d number was not said (%(example)s)",
        "%(count)d numbers were not said (%(example)s)",
        count,
        example=example,
    ),
    NAME: lambda count, example: Sentence.ngettext(
        "%(count)d name was not said (%(example)s)",
        "%(count)d names were not said (%(example)s)",
        count,
        example=example,
    ),
}


def _untraced_reasons(untraced: list[dict]) -> list[Sentence]:
    reasons = []
    for kind, reason in _UNTRACED_REASONS.items():
        items = [item["text"] for item in untraced if item["kind"] == kind]
        if items:
            shown = items[0] if len(items[0]) <= 60 else items[0][:59] + "…"
            reasons.append(reason(len(items), shown))
    return reasons


def hold_reasons(text: str, untraced: list[dict] = ()) -> list[Sentence]:
    """Why a generated draft must wait for an editor, even on an auto-publishing event ([] when it need not): an
    untraced quote, number or name, an address, or a length far from the brief's. Each written out for each editor
    when shown (Post.why_held)."""
    reasons = _untraced_reasons(untraced)
    if email := _EMAIL_ADDRESS.search(text):
        reasons.append(Sentence.gettext("it contains an e-mail address (%(address)s)", address=email.group()[:60]))
    if web := _WEB_ADDRESS.search(_EMAIL_ADDRESS.sub(" ", text)):
        reasons.append(Sentence.gettext("it contains a web address (%(address)s)", address=web.group()[:60]))
    words = len(text.split())
    if words < settings.HOLD_DRAFTS_UNDER_WORDS:
        under = settings.HOLD_DRAFTS_UNDER_WORDS
        reasons.append(Sentence.gettext("it has %(count)d words, fewer than %(under)d", count=words, under=under))
    elif words > settings.HOLD_DRAFTS_OVER_WORDS:
        over = settings.HOLD_DRAFTS_OVER_WORDS
        reasons.append(Sentence.gettext("it has %(count)d words, more than %(over)d", count=words, over=over))
    return reasons


def draft_batch(batch_id: int, *, last_try: bool = False) -> Post | None:
    """Draft one batch: its post, or None when another attempt owns or finished it, or it failed. Raises
    DraftingUnavailable (batch handed back) to be tried later, except on the last try, when the batch fails."""
    batch = Batch.objects.start_drafting(batch_id)
    if batch is None:
        return None
    drafter, brief = get_drafter(), build_brief(batch)
    if credits.reserve(batch, drafter.max_credits(brief)):
        return None  # paused: the batch failed with the reason
    try:
        post = _draft_reserved(batch, drafter, brief, last_try)
    finally:
        credits.release(batch)
    credits.pause_when_full(batch.event)
    return post


def _draft_reserved(batch: Batch, drafter: Drafter, brief: Brief, last_try: bool) -> Post | None:
    draft = call_drafter(batch, lambda: drafter.draft(brief), last_try=last_try)
    if draft is None:
        return None
    body = clean_text(draft.body)
    if not body:
        batch.fail(Sentence.gettext("%(provider)s answered with no usable text", provider=draft.provider))
        return None
    return save_post(batch, draft, body)


def call_drafter(row: Batch | Summary | PostTranslation, call: Callable[[], Draft], *, last_try: bool) -> Draft | None:
    """The drafter's answer for a claimed row; None when it failed (the row failed with why, what it billed added).
    DraftingUnavailable: the row is handed back and it is raised again, except on the last try (the row fails)."""
    try:
        return call()
    except DraftingFailed as exc:
        credits.bill(row, exc.credits_used)
        row.fail(str(exc))
    except DraftingUnavailable as exc:
        credits.bill(row, exc.credits_used)
        if not last_try:
            row.hand_back(str(exc), exc.retry_after)
            raise
        row.fail(Sentence.gettext("Drafting unavailable, gave up: %(error)s", error=str(exc)))
    return None


def billed_call(
    row: Summary | PostTranslation, event: Event, most: int, call: Callable[[], Draft], *, last_try: bool
) -> Draft | None:
    """One call for a version of the story so far or a reader edition, within the event's credit cap: `most`
    reserved first, what it billed added after; None when the cap or the call refused it (the row failed with why)."""
    if credits.reserve_call(row, event, most):
        return None  # paused: the row failed with the reason
    try:
        draft = call_drafter(row, call, last_try=last_try)
    finally:
        credits.release(row)
    if draft is not None:
        credits.bill(row, draft.credits_used)
        credits.pause_when_full(event)
    return draft


def save_post(batch: Batch, draft: Draft, body: str) -> Post | None:
    """Insert the batch's post. The one-to-one on Post.batch refuses a second one: that means already done."""
    recorded = {
        "provider": draft.provider,
        "endpoint": draft.endpoint,
        "request_id": draft.request_id[:128],
        # A repeated call may be billed again (Mavera has no idempotency key), so credits add up.
        "credits_used": Coalesce(F("credits_used"), Value(0)) + draft.credits_used,
        "latency_ms": draft.latency_ms,
        "brief_parts": draft.parts,
    }
    try:
        with transaction.atomic():
            checked = batch.trace(body)
            held = hold_reasons(body, checked.untraced)
            post = Post.objects.create_drafted(batch, body, held, checked)
            batch.mark_drafted(**recorded)
            transaction.on_commit(lambda: _log_drafted(batch, post, draft))  # before a publish's own line
            if batch.event.auto_publish and not held:
                post.publish()
    except IntegrityError:
        batch.mark_drafted_again(recorded["credits_used"])
        log.info("batch %s already has its post", batch.pk)
        return None
    return post


def _log_drafted(batch: Batch, post: Post, draft: Draft) -> None:
    """The batch drafted, in one line; and when its post waits for an editor, why."""
    post_is = f"post {post.pk}, {len(post.body.split())} words, {draft.credits_used} credits ({draft.provider})"
    log.info("batch %s drafted on %s: %s", batch.pk, batch.event.slug, post_is)
    if post.hold_reason:
        log.info("post %s held for an editor: %s", post.pk, post.hold_reason)
