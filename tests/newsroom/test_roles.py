import pytest
from django.contrib.auth.models import Group

from events.roles import EDITORS, JOURNALISTS, can_stream, is_editor, is_journalist

pytestmark = pytest.mark.django_db


def test_the_migration_creates_both_groups():
    assert set(Group.objects.filter(name__in=[JOURNALISTS, EDITORS]).values_list("name", flat=True)) == {
        JOURNALISTS,
        EDITORS,
    }


def test_journalists_stream_but_do_not_publish(journalist):
    assert journalist.has_perm("transcription.stream_audio")
    assert not journalist.has_perm("publishing.publish_post")
    assert not journalist.has_perm("publishing.change_post")
    assert is_journalist(journalist) and not is_editor(journalist)


def test_editors_moderate_and_publish_but_do_not_stream(editor):
    for perm in ("publishing.change_post", "publishing.publish_post", "publishing.add_post", "publishing.change_batch"):
        assert editor.has_perm(perm), perm
    assert not editor.has_perm("transcription.stream_audio")
    assert not editor.has_perm("publishing.delete_post")
    assert is_editor(editor)


def test_a_journalist_streams_only_to_assigned_events(event, journalist, other_journalist, editor, reader):
    assert can_stream(journalist, event)
    assert not can_stream(other_journalist, event)
    assert not can_stream(editor, event)
    assert not can_stream(reader, event)
    event.journalists.add(other_journalist)
    assert can_stream(other_journalist, event)
