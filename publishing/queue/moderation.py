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

from events.models import Event
from publishing import pictures
from publishing.models import CORRECTION_MAX_CHARS, Batch, Post
from publishing.revisions import save_edit


class Transition(NamedTuple):
    permission: str  # the ModelAdmin's has_<permission>_permission decides who may
    done: str
    apply: Callable[[Post, object], None]


# Every one-click decision on a post, shared by the changelist's actions and the queue page's buttons.
TRANSITIONS = {
    "approve": Transition("change", "Approved", lambda post, user: post.approve(user)),
    "publish": Transition("publish", "Published", lambda post, user: post.publish(user)),
    "unpublish": Transition("publish", "Unpublished", lambda post, user: post.unpublish(user)),
    "reject": Transition("change", "Rejected", lambda post, user: post.reject(user)),
    "pin": Transition("publish", "Pinned", lambda post, user: post.set_pinned(user, True)),
    "unpin": Transition("publish", "Unpinned", lambda post, user: post.set_pinned(user, False)),
    "key": Transition("change", "Marked", lambda post, user: post.set_key_event(user, True)),
    "unkey": Transition("change", "Unmarked", lambda post, user: post.set_key_event(user, False)),
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
    return "Post written."


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
    return f"Post {decision.post.pk}: edit done."


def schedule(decision: Decision) -> str:
    try:
        decision.post.schedule(decision.user, decision.data["publish_at"])
    except ValueError as exc:  # published already
        raise ValidationError(str(exc)) from None
    return f"Post {decision.post.pk}: schedule done."


def retry(decision: Decision) -> str:
    retried = Batch.objects.filter(pk=decision.data["batch"], event=decision.event).retry_failed()
    return "Batch sent back for drafting." if retried else "That batch is not failed any more."


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
    return f"Post {decision.post.pk}: picture added."


def attach_picture(decision: Decision) -> str:
    if not pictures.attach_waiting_picture(decision.data["waiting_picture"], decision.post, decision.user):
        raise ValidationError("That picture is not waiting any more: another post has it.")
    return f"Post {decision.post.pk}: picture from the studio added."


def remove_picture(decision: Decision) -> str:
    removed = pictures.remove_picture(decision.post, decision.user)
    return f"Post {decision.post.pk}: picture removed." if removed else f"Post {decision.post.pk} has no picture."


def _one_click(op: str) -> Handler:
    transition = TRANSITIONS[op]

    def apply(decision: Decision) -> str:
        transition.apply(decision.post, decision.user)
        return f"Post {decision.post.pk}: {op} done."

    return Handler(transition.permission, apply)


HANDLERS = {
    "write": Handler("add", write, on_post=False),
    "edit": Handler("change", edit),
    "schedule": Handler("publish", schedule),
    "retry": Handler("retry", retry, on_post=False),
    "picture": Handler("change", add_picture),
    "attach_picture": Handler("change", attach_picture),
    "remove_picture": Handler("change", remove_picture),
    **{op: _one_click(op) for op in TRANSITIONS},
}
NEEDS_TEXT = {"write", "edit"}


class ModerationForm(forms.Form):
    """One decision from the draft queue: which action, and the inputs that action needs."""

    op = forms.ChoiceField(
        choices=[(op, op) for op in HANDLERS],
        error_messages={"required": "Choose an action.", "invalid_choice": "Unknown action %(value)r."},
    )
    post = forms.IntegerField(required=False, min_value=1)
    batch = forms.IntegerField(
        required=False, min_value=1, error_messages={"invalid": "Give the batch to retry by its number."}
    )
    headline = forms.CharField(required=False)
    body = forms.CharField(required=False)
    revision = forms.IntegerField(required=False, min_value=1)  # the one the edit form was opened at
    correction = forms.CharField(
        required=False,
        max_length=CORRECTION_MAX_CHARS,
        error_messages={
            "max_length": "A correction note has at most %(limit_value)d characters (it has %(show_value)d)."
        },
    )
    publish_at = forms.CharField(required=False)
    publish_now = forms.BooleanField(required=False)
    picture = forms.FileField(required=False)
    alt_text = forms.CharField(required=False, max_length=300)
    caption = forms.CharField(required=False, max_length=300)
    credit = forms.CharField(required=False, max_length=120)
    waiting_picture = forms.IntegerField(required=False, min_value=1)

    def __init__(self, data, files=None, *, event: Event) -> None:
        super().__init__(data, files)
        self.event = event

    def clean_headline(self) -> str:
        return self.cleaned_data["headline"][: Post._meta.get_field("headline").max_length]

    def clean(self) -> dict:
        data = super().clean()
        op = data.get("op")
        if op in NEEDS_TEXT and not data.get("body"):
            self.add_error("body", "A post needs some text.")
        if op == "schedule":
            data["publish_at"] = self._publish_time(data.get("publish_at", ""))
        if op == "edit" and data.get("revision") is None and "body" not in self.errors:
            self.add_error("revision", "Reload the queue: this form does not say which revision it edits.")
        if op == "retry" and data.get("batch") is None and "batch" not in self.errors:
            self.add_error("batch", "Give the batch to retry by its number.")
        if op == "picture":
            if not data.get("picture"):
                self.add_error("picture", "Choose a picture to add.")
            if not data.get("alt_text", "").strip():
                self.add_error("alt_text", "Describe the picture in its alt text: readers who cannot see it need it.")
        if op == "attach_picture" and data.get("waiting_picture") is None and "waiting_picture" not in self.errors:
            self.add_error("waiting_picture", "Choose a picture from the studio.")
        return data

    def _publish_time(self, text: str):
        try:
            when = parse_datetime(text.strip())
        except ValueError:  # well formed but no such time, e.g. a 13th month
            when = None
        if when is None:
            raise ValidationError("Give the publish time as YYYY-MM-DD HH:MM.")
        if timezone.is_naive(when):
            when = timezone.make_aware(when, zoneinfo.ZoneInfo(self.event.timezone))
        return when

    def first_error(self) -> str:
        return next(message for messages in self.errors.values() for message in messages)
