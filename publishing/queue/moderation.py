"""Editors' decisions on posts and failed batches: the form that checks one, and the handler that applies it.

The admin's changelist actions (publishing.admin) and the draft queue's buttons (publishing.queue.views) share
the table of one-click decisions (TRANSITIONS); the queue's other decisions (write, edit, schedule, retry,
pictures) each have a small handler. Every handler changes state through the models' own audited methods.
"""

import zoneinfo
from collections.abc import Callable
from typing import NamedTuple

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from events.models import QUEUE_BATCH_INTERVAL_SECONDS, Event
from publishing import embeds, pictures
from publishing.models import CORRECTION_MAX_CHARS, Batch, Post
from publishing.queue import summary as summary_decisions
from publishing.queue import translations as translation_decisions
from publishing.revisions import save_edit
from publishing.summaries import EDITED_POINTS_MAX_CHARS


class Transition(NamedTuple):
    permission: str  # the ModelAdmin's has_<permission>_permission decides who may
    done: str  # of several posts, with %(count)d (ngettext_lazy)
    done_one: str  # of one, with %(post)d
    apply: Callable[[Post, object], None]

    def done_message(self, count: int) -> str:
        return self.done % {"count": count}


def _done(singular: str, plural: str) -> str:
    return ngettext_lazy(singular, plural, "count")


# Every one-click decision on a post, shared by the changelist's actions and the queue page's buttons.
TRANSITIONS = {
    "approve": Transition(
        "change",
        _done("Approved %(count)d post.", "Approved %(count)d posts."),
        gettext_lazy("Post %(post)d: approve done."),
        lambda post, user: post.approve(user),
    ),
    "publish": Transition(
        "publish",
        _done("Published %(count)d post.", "Published %(count)d posts."),
        gettext_lazy("Post %(post)d: publish done."),
        lambda post, user: post.publish(user),
    ),
    "unpublish": Transition(
        "publish",
        _done("Unpublished %(count)d post.", "Unpublished %(count)d posts."),
        gettext_lazy("Post %(post)d: unpublish done."),
        lambda post, user: post.unpublish(user),
    ),
    "reject": Transition(
        "change",
        _done("Rejected %(count)d post.", "Rejected %(count)d posts."),
        gettext_lazy("Post %(post)d: reject done."),
        lambda post, user: post.reject(user),
    ),
    "pin": Transition(
        "publish",
        _done("Pinned %(count)d post.", "Pinned %(count)d posts."),
        gettext_lazy("Post %(post)d: pin done."),
        lambda post, user: post.set_pinned(user, True),
    ),
    "unpin": Transition(
        "publish",
        _done("Unpinned %(count)d post.", "Unpinned %(count)d posts."),
        gettext_lazy("Post %(post)d: unpin done."),
        lambda post, user: post.set_pinned(user, False),
    ),
    "key": Transition(
        "change",
        _done("Marked %(count)d post as a key event.", "Marked %(count)d posts as key events."),
        gettext_lazy("Post %(post)d: key event done."),
        lambda post, user: post.set_key_event(user, True),
    ),
    "unkey": Transition(
        "change",
        _done("Unmarked %(count)d post as a key event.", "Unmarked %(count)d posts as key events."),
        gettext_lazy("Post %(post)d: key event undone."),
        lambda post, user: post.set_key_event(user, False),
    ),
}


class Decision(NamedTuple):
    """A checked decision from the queue page, by a user allowed to take it."""

    user: object
    event: Event
    post: Post | None
    data: dict
    can_publish: bool


class Handler(NamedTuple):
    permission: str  # as in Transition
    apply: Callable[[Decision], str]  # returns what to tell the editor; raises ValidationError to refuse
    on_post: bool = True


def write(decision: Decision) -> str:
    post = Post(event=decision.event, headline=decision.data["headline"], body=decision.data["body"])
    post.write(decision.user)
    if decision.data["publish_now"] and decision.can_publish:
        post.publish(decision.user)
    return _("Post written.")


def edit(decision: Decision) -> str:
    try:
        save_edit(
            decision.post,
            decision.user,
            based_on=decision.data["revision"],
            headline=decision.data["headline"],
            body=decision.data["body"],
            correction=decision.data["correction"] or None,  # blank: the note readers see stays as it is
        )
    except ValueError as exc:  # a correction note on a post readers do not see, or one too long
        raise ValidationError(str(exc)) from None
    return _("Post %(post)d: edit done.") % {"post": decision.post.pk}


def schedule(decision: Decision) -> str:
    try:
        decision.post.schedule(decision.user, decision.data["publish_at"])
    except ValueError as exc:  # published already
        raise ValidationError(str(exc)) from None
    return _("Post %(post)d: schedule done.") % {"post": decision.post.pk}


def set_interval(decision: Decision) -> str:
    if decision.event.status != Event.Status.LIVE:
        raise ValidationError(_("The batch interval is set here while the event is live."))
    try:
        decision.event.set_batch_interval(decision.data["interval"])
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    return _("Batch interval: %(seconds)d s, from the next batch.") % {"seconds": decision.data["interval"]}


def retry(decision: Decision) -> str:
    retried = Batch.objects.filter(pk=decision.data["batch"], event=decision.event).retry_failed()
    return _("Batch sent back for drafting.") if retried else _("That batch is not failed any more.")


def add_picture(decision: Decision) -> str:
    data = decision.data
    try:
        pictures.add_picture(
            data["picture"],
            event=decision.event,
            post=decision.post,
            alt_text=data["alt_text"],
            caption=data["caption"],
            credit=data["credit"],
            user=decision.user,
        )
    except pictures.PictureRefused as exc:
        raise ValidationError(str(exc)) from None
    return _("Post %(post)d: picture added.") % {"post": decision.post.pk}


def attach_picture(decision: Decision) -> str:
    if not pictures.attach_waiting_picture(decision.data["waiting_picture"], decision.post, decision.user):
        raise ValidationError(_("That picture is not waiting any more: another post has it."))
    return _("Post %(post)d: picture from the studio added.") % {"post": decision.post.pk}


def remove_picture(decision: Decision) -> str:
    removed = pictures.remove_picture(decision.post, decision.user)
    message = _("Post %(post)d: picture removed.") if removed else _("Post %(post)d has no picture.")
    return message % {"post": decision.post.pk}


def add_embed(decision: Decision) -> str:
    try:
        embed = embeds.add_embed(decision.post, decision.data["embed_url"], decision.user)
    except embeds.EmbedRefused as exc:
        raise ValidationError(str(exc)) from None
    done = _("Post %(post)d: %(provider)s embedded.") % {"post": decision.post.pk, "provider": embed.provider_name}
    if embed.thumbnail_note:
        done += " " + _("Without its thumbnail: %(why)s") % {"why": embed.thumbnail_note}
    return done


def remove_embed(decision: Decision) -> str:
    if not embeds.remove_embed(decision.post, decision.data["embed"], decision.user):
        raise ValidationError(_("That embed is not in this post any more."))
    return _("Post %(post)d: embed removed.") % {"post": decision.post.pk}


def _one_click(op: str) -> Handler:
    transition = TRANSITIONS[op]

    def apply(decision: Decision) -> str:
        transition.apply(decision.post, decision.user)
        return transition.done_one % {"post": decision.post.pk}

    return Handler(transition.permission, apply)


HANDLERS = {
    "write": Handler("add", write, on_post=False),
    "edit": Handler("change", edit),
    "schedule": Handler("publish", schedule),
    "retry": Handler("retry", retry, on_post=False),
    "interval": Handler("interval", set_interval, on_post=False),
    "picture": Handler("change", add_picture),
    "attach_picture": Handler("change", attach_picture),
    "remove_picture": Handler("change", remove_picture),
    "embed": Handler("change", add_embed),
    "remove_embed": Handler("change", remove_embed),
    **{op: _one_click(op) for op in TRANSITIONS},
    # The story so far (publishing.queue.summary): only an editor who may publish posts puts it live.
    "summary_request": Handler("change", summary_decisions.request, on_post=False),
    "summary_edit": Handler("change", summary_decisions.edit, on_post=False),
    "summary_reject": Handler("change", summary_decisions.reject, on_post=False),
    "summary_publish": Handler("publish", summary_decisions.publish, on_post=False),
    "summary_withdraw": Handler("publish", summary_decisions.withdraw, on_post=False),
    # A reader edition held for an editor (publishing.queue.translations): approving it puts it before readers.
    "translation_approve": Handler("publish", translation_decisions.approve, on_post=False),
    "translation_reject": Handler("change", translation_decisions.reject, on_post=False),
}
NEEDS_TEXT = {"write", "edit"}


class ModerationForm(forms.Form):
    """One decision from the draft queue: which action, and the inputs that action needs."""

    op = forms.ChoiceField(
        choices=[(op, op) for op in HANDLERS],
        error_messages={
            "required": gettext_lazy("Choose an action."),
            "invalid_choice": gettext_lazy("Unknown action %(value)r."),
        },
    )
    post = forms.IntegerField(required=False, min_value=1)
    batch = forms.IntegerField(
        required=False, min_value=1, error_messages={"invalid": gettext_lazy("Give the batch to retry by its number.")}
    )
    headline = forms.CharField(required=False)
    body = forms.CharField(required=False)
    revision = forms.IntegerField(required=False, min_value=1)  # the one the edit form was opened at
    correction = forms.CharField(
        required=False,
        max_length=CORRECTION_MAX_CHARS,
        error_messages={
            "max_length": gettext_lazy(
                "A correction note has at most %(limit_value)d characters (it has %(show_value)d)."
            )
        },
    )
    interval = forms.IntegerField(
        required=False,
        min_value=QUEUE_BATCH_INTERVAL_SECONDS[0],
        max_value=QUEUE_BATCH_INTERVAL_SECONDS[1],
        error_messages={
            "invalid": gettext_lazy("Give the batch interval in whole seconds."),
            "min_value": gettext_lazy("The batch interval is at least %(limit_value)s seconds."),
            "max_value": gettext_lazy("The batch interval is at most %(limit_value)s seconds."),
        },
    )
    summary = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    translation = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    points = forms.CharField(required=False, max_length=EDITED_POINTS_MAX_CHARS)
    override = forms.BooleanField(required=False)
    publish_at = forms.CharField(required=False)
    publish_now = forms.BooleanField(required=False)
    picture = forms.FileField(required=False)
    alt_text = forms.CharField(required=False, max_length=300)
    caption = forms.CharField(required=False, max_length=300)
    credit = forms.CharField(required=False, max_length=120)
    waiting_picture = forms.IntegerField(required=False, min_value=1)
    embed_url = forms.CharField(required=False, max_length=1000)
    embed = forms.IntegerField(required=False, min_value=1)

    def __init__(self, data, files=None, *, event: Event) -> None:
        super().__init__(data, files)
        self.event = event

    def clean_headline(self) -> str:
        return self.cleaned_data["headline"][: Post._meta.get_field("headline").max_length]

    def clean(self) -> dict:
        data = super().clean()
        op = data.get("op")
        if op in NEEDS_TEXT and not data.get("body"):
            self.add_error("body", _("A post needs some text."))
        if op == "schedule":
            data["publish_at"] = self._publish_time(data.get("publish_at", ""))
        if op == "edit" and data.get("revision") is None and "body" not in self.errors:
            self.add_error("revision", _("Reload the queue: this form does not say which revision it edits."))
        if op == "interval" and data.get("interval") is None and "interval" not in self.errors:
            self.add_error("interval", _("Give the batch interval in whole seconds."))
        if op in summary_decisions.NEEDS_SUMMARY and data.get("summary") is None and "summary" not in self.errors:
            self.add_error("summary", _("Reload the queue: this form does not say which version it is for."))
        needs_translation = op in translation_decisions.NEEDS_TRANSLATION
        if needs_translation and data.get("translation") is None and "translation" not in self.errors:
            self.add_error("translation", _("Reload the queue: this form does not say which translation it is for."))
        if op == "summary_edit" and not data.get("points") and "points" not in self.errors:
            self.add_error("points", _("Write at least one point, one a line."))
        if op == "retry" and data.get("batch") is None and "batch" not in self.errors:
            self.add_error("batch", _("Give the batch to retry by its number."))
        if op == "picture":
            if not data.get("picture"):
                self.add_error("picture", _("Choose a picture to add."))
            if not data.get("alt_text", "").strip():
                self.add_error(
                    "alt_text", _("Describe the picture in its alt text: readers who cannot see it need it.")
                )
        if op == "embed" and not data.get("embed_url", "").strip() and "embed_url" not in self.errors:
            self.add_error("embed_url", _("Paste the address of the video or post to embed."))
        if op == "remove_embed" and data.get("embed") is None and "embed" not in self.errors:
            self.add_error("embed", _("Choose the embed to remove."))
        if op == "attach_picture" and data.get("waiting_picture") is None and "waiting_picture" not in self.errors:
            self.add_error("waiting_picture", _("Choose a picture from the studio."))
        return data

    def _publish_time(self, text: str):
        try:
            when = parse_datetime(text.strip())
        except ValueError:  # well formed but no such time, e.g. a 13th month
            when = None
        if when is None:
            raise ValidationError(_("Give the publish time as YYYY-MM-DD HH:MM."))
        if timezone.is_naive(when):
            when = timezone.make_aware(when, zoneinfo.ZoneInfo(self.event.timezone))
        return when

    def first_error(self) -> str:
        return next(message for messages in self.errors.values() for message in messages)
