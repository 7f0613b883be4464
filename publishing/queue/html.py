"""What a draft's check shows the editor, in its queue and on its change form: the text with each untraced
quote, number and name highlighted, and why."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_lazy

from publishing.clips import where_said
from publishing.models import Post
from transcription.html import audio_player, stretch_player

_KIND_LABELS = {
    "quote": gettext_lazy("Quote not in the transcript"),
    "unsure": gettext_lazy("Quote with words the recognizer was unsure of"),
    "number": gettext_lazy("Number nobody said"),
    "name": gettext_lazy("Name nobody said"),
}


def quote_audio(post: Post) -> SafeString | str:
    """The audio of exactly a flashed quote's words, for the editor to hear before publishing."""
    said = where_said(post.traced_quotes[0]) if post.traced_quotes else None
    if said is None:
        return ""
    _quote, session_id, start, end = said
    return format_html('<p class="quote-audio">{} {}</p>', gettext("Hear it:"), stretch_player(session_id, start, end))


def check_html(post: Post) -> SafeString | str:
    """The check's result as stored with the draft: the mark, or the text with each untraced quote, number and
    name highlighted, then each one with why, and for quotes the closest passage and its audio."""
    if post.kind == Post.Kind.QUOTE and post.checked:
        return format_html(
            '<p class="quotes-checked quote-by-construction" title="{}">✓ {}</p>{}',
            gettext("Made from the stored transcript: the speaker's exact words, in their name, with their audio."),
            gettext("Quote, checked by construction"),
            quote_audio(post),
        )
    if post.batch is None and post.kind != Post.Kind.QUOTE:
        return ""
    if post.checked:
        return format_html(
            '<p class="quotes-checked" title="{}">✓ {}</p>',
            gettext(
                "Every quote is in the source transcript word for word, said with confidence; every number and name "
                "was said or is in the event's details."
            ),
            gettext("Quotes, numbers and names checked"),
        )
    if post.batch is None:  # a quote edited since it was flashed, traced again to its own lines
        segments = getattr(post, "ordered_quoted", None) or post.quoted_segments.select_related("session")
    else:
        segments = getattr(post.batch, "ordered_segments", None) or post.batch.segments.select_related("session")
    by_id = {segment.pk: segment for segment in segments}
    items = [item for item in post.untraced if isinstance(item, dict)]
    return format_html(
        '<div class="untraced"><p class="untraced-text">{}</p>{}</div>',
        highlighted(post.body, items),
        format_html_join("", "{}", ((_untraced_html(item, by_id),) for item in items)),
    )


def highlighted(body: str, items: list[dict]) -> SafeString:
    """`body`, escaped, with each untraced item's stretch in a <mark>."""
    pieces, at = [], 0
    for item in sorted(items, key=lambda item: item.get("start", -1)):
        start, end = item.get("start"), item.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and at <= start < end <= len(body)):
            continue
        pieces.append(
            format_html('{}<mark class="untraced-{}">{}</mark>', body[at:start], item["kind"], body[start:end])
        )
        at = end
    pieces.append(format_html("{}", body[at:]))
    return SafeString("".join(pieces))


def _untraced_html(item: dict, by_id: dict) -> SafeString:
    kind = item.get("kind", "quote")
    label = _KIND_LABELS.get(kind) or gettext("Not traced")
    text = item.get("text") or item.get("quote", "")
    shown = format_html("“{}”", text) if kind in ("quote", "unsure") else text
    details = ""
    if item.get("unsure"):
        unsure = ", ".join(f"“{word}”" for word in item["unsure"])
        details = format_html(" {}", gettext("Unsure of: %(words)s.") % {"words": unsure})
    closest = ""
    if kind in ("quote", "unsure"):
        players = format_html_join(
            " ", "{}", ((audio_player(by_id[pk]),) for pk in item.get("segments", []) if pk in by_id)
        )
        prefix = gettext("Closest passage") if kind == "quote" else gettext("As heard")
        closest = format_html("<p>{}: “{}” {}</p>", prefix, item.get("closest", ""), players)
    return format_html(
        '<div class="unverified-quote untraced-item"><p><strong>{}:</strong> {}{}</p>{}</div>',
        label,
        shown,
        details,
        closest,
    )
