"""Stream sessions and their segments in the database: plain functions the relay calls off the event loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from events.models import Event
from transcription.models import Segment, StreamSession
from transcription.models import spoken_at as spoken_by_stream_time
from transcription.protocol import Close, StudioError
from transcription.speakers import session_names, speaker_label
from transcription.speech.base import Transcript

OPEN = (StreamSession.Status.LIVE, StreamSession.Status.PAUSED)


@dataclass(frozen=True)
class Opened:
    id: int
    audio_seconds: float
    reconnects: int
    dropped_audio_seconds: float
    request_ids: tuple[str, ...]
    resumed: bool
    started_at: datetime
    last_spoken_at: datetime | None  # of the session's latest words, when resumed


def open_session(event_id: int, journalist_id: int, provider: str, *, resume: int | None = None) -> Opened:
    """Resume the journalist's open session `resume`, or end any stale one and begin a new session."""
    with transaction.atomic():
        if Event.objects.filter(pk=event_id, status=Event.Status.ENDED).exists():
            raise StudioError(Close.EVENT_ENDED, _("This event has ended; it takes no more audio."))
        if resume is not None:
            session = (
                StreamSession.objects.select_for_update()
                .filter(pk=resume, event_id=event_id, journalist_id=journalist_id, status__in=OPEN)
                .first()
            )
            if session is None:
                raise _not_resumable(resume)
            session.status = StreamSession.Status.LIVE
            session.reconnects += 1
            session.save(update_fields=["status", "reconnects"])
            last_spoken_at = Segment.objects.filter(session=session).aggregate(at=Max("spoken_at"))["at"]
        else:
            StreamSession.objects.filter(event_id=event_id, journalist_id=journalist_id, status__in=OPEN).update(
                status=StreamSession.Status.ENDED, ended_at=timezone.now()
            )
            session = StreamSession.objects.create(event_id=event_id, journalist_id=journalist_id, provider=provider)
            last_spoken_at = None
    return Opened(
        id=session.pk,
        audio_seconds=session.audio_seconds,
        reconnects=session.reconnects,
        dropped_audio_seconds=session.dropped_audio_seconds,
        request_ids=tuple(session.request_ids),
        resumed=resume is not None,
        started_at=session.started_at,
        last_spoken_at=last_spoken_at,
    )


def check_resumable(session_id: int, event_id: int, journalist_id: int) -> None:
    """StudioError unless the session is this journalist's open session of this event: only its owner resumes it."""
    if not StreamSession.objects.filter(
        pk=session_id, event_id=event_id, journalist_id=journalist_id, status__in=OPEN
    ).exists():
        raise _not_resumable(session_id)


def _not_resumable(session_id: int) -> StudioError:
    return StudioError(
        Close.UNKNOWN_SESSION, _("Session %(session)d is not an open session of yours here.") % {"session": session_id}
    )


def store_final(
    session_id: int,
    event_id: int,
    result: Transcript,
    *,
    after: Segment | None = None,
    spoken_at: datetime | None = None,
) -> Segment:
    """Store a final as the session's next segment, never before the previous one; one INSERT given `after`
    and `spoken_at`, else (or after a takeover's clash) under the session's row lock."""
    if after is not None and spoken_at is not None:
        try:
            with transaction.atomic():
                segment = next_segment(session_id, event_id, result, after=after, spoken_at=spoken_at)
                segment.save(force_insert=True)
                return segment
        except IntegrityError:
            pass
    with transaction.atomic():
        # The row lock serialises writers of one session (the old and new relay during a takeover).
        started_at = StreamSession.objects.select_for_update().values_list("started_at", flat=True).get(pk=session_id)
        last = Segment.objects.filter(session_id=session_id).aggregate(
            sequence=Max("sequence"), end=Max("end"), spoken_at=Max("spoken_at")
        )
        sequence = 0 if last["sequence"] is None else last["sequence"] + 1
        previous_end = last["end"] or 0.0
        spoken_at = spoken_at or spoken_by_stream_time(started_at, max(result.start, previous_end))
        if last["spoken_at"] is not None:
            spoken_at = max(spoken_at, last["spoken_at"])  # a takeover's words never sort before the earlier ones
        segment = _segment(session_id, event_id, result, sequence, previous_end, spoken_at)
        segment.save(force_insert=True)
        return segment


def next_segment(session_id: int, event_id: int, result: Transcript, *, after: Segment, spoken_at: datetime) -> Segment:
    """The unsaved segment of `result` that follows `after`: what `store_final` inserts when no other
    relay stored in between."""
    return _segment(session_id, event_id, result, after.sequence + 1, after.end, spoken_at)


def insert_segments(segments: list[Segment]) -> None:
    """Insert unsaved segments (`next_segment`'s) in one statement and give each its primary key;
    IntegrityError if any is taken."""
    # This thread's connection itself: every use of the `connection` proxy looks it up again.
    database = connections[DEFAULT_DB_ALIAS]
    if not database.features.can_return_rows_from_bulk_insert:
        Segment.objects.bulk_create(segments)
        return
    sql, params = insert_statement(segments, database)
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    set_inserted_keys(segments, keys, database.alias)


def insert_statement(segments: list[Segment], database) -> tuple[str, list]:
    """One INSERT of unsaved segments, RETURNING id, session and sequence, and its parameters, each value
    converted by its field as `bulk_create` does; `database` is only read for its conversions."""
    fields = _inserted_fields()
    params = [field.get_db_prep_save(field.pre_save(row, True), database) for row in segments for field in fields]
    return _insert_sql(database, len(segments)), params


def set_inserted_keys(segments: list[Segment], keys: list[tuple[int, int, int]], alias: str) -> None:
    """Give inserted segments their primary keys, from `insert_statement`'s RETURNING rows."""
    # Matched by (session, sequence), which is unique: the order of RETURNING's rows is not promised.
    by_place = {(session_id, sequence): pk for pk, session_id, sequence in keys}
    for segment in segments:
        segment.pk = by_place[segment.session_id, segment.sequence]
        segment._state.adding = False
        segment._state.db = alias


def _inserted_fields() -> list:
    return [field for field in Segment._meta.concrete_fields if not field.primary_key]


_INSERTS: dict[tuple[str, int], str] = {}


def _insert_sql(database, rows: int) -> str:
    """The INSERT of `rows` segments for `database`'s vendor, RETURNING each one's id, session and sequence."""
    key = (database.vendor, rows)
    if key not in _INSERTS:
        quote = database.ops.quote_name
        columns = ", ".join(quote(field.column) for field in _inserted_fields())
        row = f"({', '.join(['%s'] * len(_inserted_fields()))})"
        values = ", ".join([row] * rows)
        returning = ", ".join(quote(Segment._meta.get_field(name).column) for name in ("id", "session", "sequence"))
        _INSERTS[key] = f"INSERT INTO {quote(Segment._meta.db_table)} ({columns}) VALUES {values} RETURNING {returning}"  # noqa: S608  (names from the model, values as parameters)
    return _INSERTS[key]


def _segment(
    session_id: int, event_id: int, result: Transcript, sequence: int, previous_end: float, spoken_at: datetime
) -> Segment:
    start = max(result.start, previous_end)
    return Segment(
        session_id=session_id,
        event_id=event_id,
        sequence=sequence,
        text=result.text,
        start=start,
        end=max(result.end, start),
        confidence=result.confidence,
        speaker=result.speaker,
        words=result.words,
        spoken_at=spoken_at,
    )


def final_message(segment: Segment, speaker_names: dict[int, str] | None = None) -> dict:
    """A stored final as the studio's transcript message, live or replayed to a resuming client."""
    name = (speaker_names or {}).get(segment.speaker, "")
    return {
        "type": "transcript",
        "is_final": True,
        "text": segment.text,
        "start": segment.start,
        "end": segment.end,
        "segment": segment.pk,
        "sequence": segment.sequence,
        "speaker": segment.speaker,
        "name": name,  # the speaker's given name, or "": the page labels the speaker in its reader's language
        "speaker_name": speaker_label(segment.speaker, name),
    }


def finals_after(session_id: int, sequence: int, *, limit: int | None = None) -> list[dict]:
    """The session's stored finals after `sequence` (at most `limit`), as transcript messages: what a
    resuming client missed."""
    segments = list(Segment.objects.filter(session_id=session_id, sequence__gt=sequence).order_by("sequence")[:limit])
    if not segments:
        return []
    names = session_names(session_id)
    return [final_message(segment, names) for segment in segments]


def record_progress(
    session_id: int, *, audio_seconds: float, reconnects: int, dropped_audio_seconds: float, request_ids: list[str]
) -> None:
    figures = {
        "audio_seconds": audio_seconds,
        "reconnects": reconnects,
        "dropped_audio_seconds": dropped_audio_seconds,
        "request_ids": request_ids,
    }
    database = connections[DEFAULT_DB_ALIAS]
    sql, params = progress_statement(session_id, figures, database)
    with database.cursor() as cursor:
        cursor.execute(sql, params)


def progress_statement(session_id: int, figures: dict, database) -> tuple[str, list]:
    """The UPDATE of a session's figures and its parameters, converted as the ORM does; the writer
    (`record_progress`) or, on SQLite, the event loop (`loopstore`) runs it."""
    quote = database.ops.quote_name
    fields = [StreamSession._meta.get_field(name) for name in figures]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    params = [field.get_db_prep_save(figures[field.name], database) for field in fields]
    table, key = quote(StreamSession._meta.db_table), quote(StreamSession._meta.pk.column)
    return f"UPDATE {table} SET {assignments} WHERE {key} = %s", [*params, session_id]  # noqa: S608  (names from the model)


def set_status(session_id: int, status: str, *, error: str = "") -> None:
    changes: dict = {"status": status}
    if status in (StreamSession.Status.ENDED, StreamSession.Status.FAILED):
        changes["ended_at"] = timezone.now()
    if error:
        changes["last_error"] = error
    StreamSession.objects.filter(pk=session_id, status__in=OPEN).update(**changes)
