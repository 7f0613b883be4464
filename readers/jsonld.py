"""schema.org LiveBlogPosting for search engines, built from the same posts the page shows."""

import json
from typing import Any

from django.conf import settings

from events.models import Event
from publishing.models import Post, Summary
from readers import editions
from readers.changes import absolute, author_label, correction_note, post_picture, summary_text
from readers.sanitize import json_for_script, plain_text


def live_blog_posting(
    event: Event, posts: list[Post], base: str, *, summary: Summary | None = None, edition: str = ""
) -> dict[str, Any]:
    """`summary`: the story so far readers see, which is the page's description when there is one; `edition`: the
    reader edition the page is (its posts dressed by readers.editions), "" for the original."""
    original = absolute(event.get_absolute_url(), base)
    page = original + editions.query(edition)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "@id": page,
        "url": page,
        "inLanguage": edition or event.post_language,
        "headline": event.title,
        "description": summary_text(summary) or plain_text(event.description) or event.title,
        "coverageStartTime": event.starts_at.isoformat(),
        "datePublished": event.starts_at.isoformat(),
        "dateModified": max([event.updated_at, *(post.updated_at for post in posts)]).isoformat(),
        "publisher": {
            "@type": "Organization",
            "name": settings.PUBLISHER_NAME,
            "logo": {"@type": "ImageObject", "url": absolute(settings.PUBLISHER_LOGO_URL, base)},
        },
        "liveBlogUpdate": [blog_posting(event, post, base, edition) for post in posts],
    }
    if edition:
        data["translationOfWork"] = {"@id": original}
    elif event.editions:
        data["workTranslation"] = [
            {"@id": original + editions.query(code), "inLanguage": code} for code in event.editions
        ]
    if event.status == Event.Status.ENDED and event.ends_at is not None:
        data["coverageEndTime"] = event.ends_at.isoformat()
    return data


def blog_posting(event: Event, post: Post, base: str, edition: str = "") -> dict[str, Any]:
    body = plain_text(post.body)
    author = author_label(post)
    update: dict[str, Any] = {
        "@type": "BlogPosting",
        "headline": (plain_text(post.headline) or body)[:110],
        "url": absolute(f"{event.get_absolute_url()}{editions.query(edition)}#post-{post.pk}", base),
        "datePublished": post.published_at.isoformat(),
        "dateModified": post.updated_at.isoformat(),
        "articleBody": body,
        "author": {"@type": "Organization" if post.ai_assisted or post.author is None else "Person", "name": author},
    }
    shown = getattr(post, "edition_note", None)
    if shown is not None:
        update["inLanguage"] = shown.lang
        if shown.translated:
            update["translationOfWork"] = {"@id": absolute(f"{event.get_absolute_url()}#post-{post.pk}", base)}
    note = correction_note(post, event)
    if note is not None:
        update["correction"] = {"@type": "CorrectionComment", "text": note["text"], "datePublished": note["at"]}
    picture = post_picture(post)
    if picture is not None:
        update["image"] = {
            "@type": "ImageObject",
            "url": absolute(picture.src, base),
            "width": picture.width,
            "height": picture.height,
            "caption": picture.caption or picture.alt_text,
        }
    return update


def script_text(data: dict[str, Any]) -> str:
    return json_for_script(json.dumps(data, ensure_ascii=False))
