"""Full-text search over transcript segments, on SQLite and PostgreSQL alike."""

from django.db import connection
from django.db.models import Q, QuerySet


def search_segments(segments: QuerySet, query: str) -> QuerySet:
    """Segments matching every word of ``query``; on PostgreSQL also stemmed matches, best first."""
    words = query.split()
    if not words:
        return segments
    every_word = Q()
    for word in words:
        every_word &= Q(text__icontains=word)
    if connection.vendor != "postgresql":
        return segments.filter(every_word)
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    # Stemmed English matching finds "ratified" for "ratify"; the plain substring match keeps names
    # and other languages findable.
    vector = SearchVector("text", config="english")
    search = SearchQuery(query, config="english", search_type="websearch")
    return (
        segments.annotate(search_document=vector, search_rank=SearchRank(vector, search))
        .filter(every_word | Q(search_document=search))
        .order_by("-search_rank", "session_id", "sequence")
    )
