"""Posts quoting archived speech, as the trace of a draft records each quote."""

from publishing.models import Post

QUOTE = "We ratify the treaty today."
BODY = f"The minister was firm: “{QUOTE}” The hall applauded."


def traced(session, quote=QUOTE, start=7.3, end=12.1) -> dict:
    return {"quote": quote, "session": session.pk, "start": start, "end": end, "segments": []}


def quoted_post(event, *quotes: dict, body: str = BODY) -> Post:
    return Post.objects.create(event=event, body=body, traced_quotes=list(quotes))
