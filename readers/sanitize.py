"""Post text made safe for every rendering. Drafts come from a language model and editors: both are
treated as untrusted, so HTML passes through nh3 with a small allowlist and plain text is escaped."""

import html

import nh3
from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe

TAGS = {"p", "br", "strong", "em", "b", "i", "a", "ul", "ol", "li", "blockquote", "q", "cite"}
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def body_html(text: str) -> SafeString:
    """Paragraphs from blank lines, line breaks kept, anything outside the allowlist removed."""
    return mark_safe(  # noqa: S308  (nh3 output is safe by construction)
        nh3.clean(
            linebreaks(text, autoescape=False),
            tags=TAGS,
            attributes=ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            link_rel="noopener noreferrer nofollow ugc",
        )
    )


def plain_text(text: str) -> str:
    """The words only, for JSON-LD, Open Graph and summaries: every tag dropped, entities decoded."""
    return html.unescape(nh3.clean(text, tags=set())).strip()


_JSON_IN_SCRIPT = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def json_for_script(text: str) -> SafeString:
    """JSON text that cannot close the <script> element it sits in."""
    return mark_safe(text.translate(_JSON_IN_SCRIPT))  # noqa: S308
