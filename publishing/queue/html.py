"""What a draft's check shows the editor, in its queue and on its change form: the text with each untraced
quote, number and name highlighted, and why."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from publishing.models import Post
from transcription.html import audio_player

_KIND_LABELS = {
    "quote": "Quote not in the transcript",
    "unsure": "Quote with words the recognizer was unsure of",
    "number": "Number nobody said",
    "name": "Name nobody said",
}


def check_html(post: Post) -> SafeString | str:
    """The check's result as stored with the draft: the mark, or the text with each untraced quote, number and
    name highlighted, then each one with why, and for quotes the closest passage and its audio."""
    if post.batch is None:
        return ""
    if post.checked:
        return format_html(
            '<p class="quotes-checked" title="{}">✓ Quotes, numbers and names checked</p>',
            "Every quote is in the source transcript word for word, said with confidence; every number and name "
            "was said or is in the event's details.",
        )
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
    label = _KIND_LABELS.get(kind, "Not traced")
    text = item.get("text") or item.get("quote", "")
    shown = format_html("“{}”", text) if kind in ("quote", "unsure") else text
    details = ""
    if item.get("unsure"):
        details = format_html(" Unsure of: {}.", ", ".join(f"“{word}”" for word in item["unsure"]))
    closest = ""
    if kind in ("quote", "unsure"):
        players = format_html_join(
            " ", "{}", ((audio_player(by_id[pk]),) for pk in item.get("segments", []) if pk in by_id)
        )
        prefix = "Closest passage" if kind == "quote" else "As heard"
        closest = format_html("<p>{}: “{}” {}</p>", prefix, item.get("closest", ""), players)
    return format_html(
        '<div class="unverified-quote untraced-item"><p><strong>{}:</strong> {}{}</p>{}</div>',
        label,
        shown,
        details,
        closest,
    )
