"""Speakers: a diarized final split into one result per speaker, names given per session, and the labels
every transcript shows (studio, exports, the draft queue, the drafters' brief).

A label is the provider's number, shown as "Speaker 0" until someone names it, in the language of whoever reads it
(the drafters' brief: the event's). Each connection numbers its speakers afresh, so after a reconnect or resume
`Labels` shifts them past every label the session used: a name never passes to a new voice. Where sessions are shown
together, an unnamed speaker is qualified by its journalist ("Speaker 0 (jo)").
"""

from __future__ import annotations

import dataclasses
import functools
import unicodedata
from collections import Counter

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from transcription.models import Segment, SpeakerName, StreamSession
from transcription.speech.base import Transcript

MAX_LABEL = 999  # a few speakers per connection, shifted past the session's labels at each reconnect


class BadSpeakerName(ValueError):
    pass


def split_by_speaker(result: Transcript) -> list[Transcript]:
    """`result` as one result per run of words by the same speaker, each timed by its own words."""
    runs: list[list[dict]] = []
    for word in result.words:
        if runs and word.get("speaker") == runs[-1][0].get("speaker"):
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) < 2:
        return [result]
    parts = []
    for number, words in enumerate(runs):
        last = number == len(runs) - 1
        parts.append(
            dataclasses.replace(
                result,
                text=" ".join(w.get("punctuated_word") or w["word"] for w in words),
                start=result.start if number == 0 else words[0]["start"],
                end=result.end if last else words[-1]["end"],
                # A pause or a flush ends only the last run.
                speech_final=result.speech_final and last,
                from_finalize=result.from_finalize and last,
                confidence=_mean_confidence(words, result.confidence),
                speaker=words[0].get("speaker"),
                words=words,
            )
        )
    return parts


class Labels:
    """One relay's speaker labels: the provider's numbers on the current connection, shifted past
    every label its session used before that connection."""

    def __init__(self, first_free: int = 0):
        self.first_free = first_free  # one past every label used so far
        self.shift = first_free

    def new_connection(self) -> None:
        self.shift = self.first_free

    def relabel(self, result: Transcript) -> Transcript:
        words = [{**w, "speaker": self._label(w["speaker"])} if "speaker" in w else w for w in result.words]
        return dataclasses.replace(result, speaker=self._label(result.speaker), words=words)

    def _label(self, number) -> int | None:
        """A provider's number as this session's label; None for no number or one no provider sends."""
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= MAX_LABEL - self.shift:
            return None
        label = self.shift + number
        self.first_free = max(self.first_free, label + 1)
        return label


def first_free_label(session_id: int) -> int:
    """One past every speaker label the session's segments and names use: where a resumed session's
    new connection starts numbering."""
    stored = Segment.objects.filter(session_id=session_id).aggregate(label=Max("speaker"))["label"]
    named = SpeakerName.objects.filter(session_id=session_id).aggregate(label=Max("label"))["label"]
    used = [label for label in (stored, named) if label is not None]
    return max(used) + 1 if used else 0


def _mean_confidence(words: list[dict], fallback: float | None) -> float | None:
    scores = [w["confidence"] for w in words if isinstance(w.get("confidence"), int | float)]
    return round(sum(scores) / len(scores), 4) if scores else fallback


def clean_name(name) -> str:
    """The name as stored, or BadSpeakerName saying why not."""
    if not isinstance(name, str):
        raise BadSpeakerName(_("A speaker's name must be text."))
    cleaned = " ".join("".join(c for c in name if unicodedata.category(c)[0] != "C").split())
    if len(cleaned) > SpeakerName.MAX_LENGTH:
        raise BadSpeakerName(_("A speaker's name is at most %(limit)d characters.") % {"limit": SpeakerName.MAX_LENGTH})
    return cleaned


def check_label(label) -> int:
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label <= MAX_LABEL:
        raise BadSpeakerName(
            _("speaker must be a speaker number from a transcript message (0 to %(most)d).") % {"most": MAX_LABEL}
        )
    return label


def name_speaker(session_id: int, label: int, name: str) -> str:
    """Name the session's speaker `label`; an empty name forgets it. The name as stored."""
    label, name = check_label(label), clean_name(name)
    if not name:
        SpeakerName.objects.filter(session_id=session_id, label=label).delete()
    else:
        SpeakerName.objects.update_or_create(session_id=session_id, label=label, defaults={"name": name})
    return name


def session_names(session_id: int) -> dict[int, str]:
    return dict(SpeakerName.objects.filter(session_id=session_id).values_list("label", "name"))


def named_message(label: int, name: str) -> dict:
    """The studio's `speaker_named` message: `name` as stored, "" when forgotten."""
    return {"type": "speaker_named", "speaker": label, "name": name, "speaker_name": speaker_label(label, name)}


def names_group(session_id: int) -> str:
    """The channel layer group of the session's running relay, wherever it runs."""
    return f"speakers-{session_id}"


async def announce_names(session_id: int) -> None:
    """Tell the session's running relay that its speakers' names changed: it reads them again."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(names_group(session_id), {"type": "speakers.changed"})


def announce_names_on_commit(session_id: int) -> None:
    """`announce_names` from synchronous code (the admin), once its transaction commits."""
    transaction.on_commit(functools.partial(async_to_sync(announce_names), session_id), robust=True)


def speaker_label(label: int | None, name: str = "", qualifier: str = "") -> str:
    """The speaker's name, else "Speaker 0" in the active language (qualified: "Speaker 0 (jo)"); "" for none."""
    if label is None:
        return ""
    if name:
        return name
    if qualifier:
        return _("Speaker %(number)s (%(journalist)s)") % {"number": label, "journalist": qualifier}
    return _("Speaker %(number)s") % {"number": label}


@dataclasses.dataclass(frozen=True)
class Qualifier:
    """Who streamed a session, for its unnamed speakers where sessions are shown together."""

    journalist: str
    session_id: int | None = None  # where that journalist has several sessions of the event

    def __str__(self) -> str:
        if self.session_id is None:
            return self.journalist
        return _("%(journalist)s, session %(session)s") % {"journalist": self.journalist, "session": self.session_id}


class Speakers:
    """The speaker labels of one session, or of every session of one event: `label(segment)`."""

    def __init__(self, names: dict[tuple[int, int], str], qualifiers: dict[int, Qualifier]):
        self.names = names
        self.qualifiers = qualifiers

    @classmethod
    def for_session(cls, session_id: int) -> Speakers:
        return cls({(session_id, label): name for label, name in session_names(session_id).items()}, {})

    @classmethod
    def for_event(cls, event_id: int) -> Speakers:
        """Qualified by journalist when the event has several sessions, and by session id too where one
        journalist has several."""
        sessions = list(
            StreamSession.objects.filter(event_id=event_id).values_list("pk", "journalist_id", "journalist__username")
        )
        names = {
            (session_id, label): name
            for session_id, label, name in SpeakerName.objects.filter(session__event_id=event_id).values_list(
                "session_id", "label", "name"
            )
        }
        if len(sessions) < 2:
            return cls(names, {})
        per_journalist = Counter(journalist for _pk, journalist, _name in sessions)
        qualifiers = {
            pk: Qualifier(name, pk if per_journalist[journalist] > 1 else None) for pk, journalist, name in sessions
        }
        return cls(names, qualifiers)

    def label(self, segment: Segment) -> str:
        """The segment's speaker as a person reads it, in the active language; "" for none."""
        if segment.speaker is None:
            return ""
        qualifier = self.qualifiers.get(segment.session_id)
        return speaker_label(segment.speaker, self.name(segment), str(qualifier) if qualifier else "")

    def name(self, segment: Segment) -> str:
        """The name given to the segment's speaker, or "" while they are known only by number."""
        return self.names.get((segment.session_id, segment.speaker), "")
