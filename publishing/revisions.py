"""No lost edits: a save made from a form older than the post's revision is refused, and both texts shown.

Every form that edits a post's text carries the revision it was opened at, checked inside the save's
transaction (the admin under select_for_update, the queue with a conditional UPDATE), so of two editors
saving from one revision the second is refused whatever the timing; saving again replaces the other text.
"""

from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from publishing.models import Post


def paragraphs(text: str):
    return format_html_join("", "<p>{}</p>", ((line,) for line in text.splitlines() if line.strip()))


@dataclass(frozen=True)
class Conflict:
    """An editor's text refused because `theirs` was saved after their form was opened."""

    theirs: Post
    headline: str
    body: str

    @property
    def by(self) -> str:
        editor = self.theirs.last_editor
        return (editor.get_full_name() or editor.get_username()) if editor else _("Someone")

    @property
    def message(self) -> str:
        return _(
            "Not saved: %(editor)s saved this post (revision %(revision)d) after you opened it. "
            "Your text is kept in the form, their version is beside it; save again to replace theirs."
        ) % {"editor": self.by, "revision": self.theirs.revision}

    def html(self):
        return format_html(
            '<div class="edit-conflict"><p>{}</p><div class="versions">'
            '<div class="theirs"><h4>{}</h4><p><strong>{}</strong></p>{}</div>'
            '<div class="yours"><h4>{}</h4><p><strong>{}</strong></p>{}</div></div></div>',
            self.message,
            _("Their version, saved (revision %(revision)d)") % {"revision": self.theirs.revision},
            self.theirs.headline,
            paragraphs(self.theirs.body),
            _("Yours, not saved"),
            self.headline,
            paragraphs(self.body),
        )


class EditConflict(Exception):
    def __init__(self, conflict: Conflict):
        super().__init__(conflict.message)
        self.conflict = conflict


def save_edit(post: Post, user, *, based_on: int, headline: str, body: str, **more) -> None:
    """post.edit, unless the post has moved past revision `based_on`: then EditConflict, and nothing saved."""
    with transaction.atomic():
        # A conditional UPDATE rather than a read then a write: of two saves from the same revision the
        # second waits for the first's row lock, then matches no row.
        if not Post.objects.filter(pk=post.pk, revision=based_on).update(revision=based_on):
            theirs = Post.objects.select_related("last_editor").get(pk=post.pk)
            raise EditConflict(Conflict(theirs, headline, body))
        post.refresh_from_db()  # under the lock: what others changed (status, pin) is kept
        post.edit(user, headline=headline, body=body, **more)


class RevisionCheckedForm(forms.ModelForm):
    """A post's change form that refuses a save from a revision older than the post's."""

    based_on_revision = forms.IntegerField(
        label=gettext_lazy("Based on revision"), widget=forms.HiddenInput, required=False, min_value=1
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["based_on_revision"] = self.instance.revision

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk is None:
            return data
        # In the admin's transaction: the row stays locked until this save commits.
        theirs = Post.objects.select_for_update().get(pk=self.instance.pk)
        if data.get("based_on_revision") != theirs.revision:
            conflict = Conflict(theirs, data.get("headline", ""), data.get("body", ""))
            # Shown again, the form carries the revision its editor has now seen.
            self.data = self.data.copy()
            self.data[self.add_prefix("based_on_revision")] = theirs.revision
            raise ValidationError(conflict.html(), code="edit_conflict")
        return data
