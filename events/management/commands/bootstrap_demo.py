"""Creates the demo newsroom: one event, one journalist, one editor. Safe to run again."""

import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.utils import timezone

from events.models import Event
from events.roles import EDITORS, JOURNALISTS


class Command(BaseCommand):
    help = "Create (or keep) the demo event, journalist and editor, and print their logins."

    def handle(self, *args, **options):
        logins_file = settings.DATA_DIR / "demo-logins.json"
        logins = json.loads(logins_file.read_text()) if logins_file.exists() else {}
        User = get_user_model()
        users = {}
        for username, group, staff in (("journalist", JOURNALISTS, False), ("editor", EDITORS, True)):
            user = User.objects.filter(username=username).first()
            if user is None:
                # An account that exists is someone's: its password, groups and flags stay as they are.
                password = secrets.token_urlsafe(12)
                user = User.objects.create_user(username, password=password, is_staff=staff)
                user.groups.add(Group.objects.get(name=group))
                logins[username] = password
            users[username] = user
        logins_file.write_text(json.dumps(logins, indent=2))
        logins_file.chmod(0o600)

        event, _ = Event.objects.get_or_create(
            slug="demo-keynote",
            defaults={
                "title": "Demo keynote",
                "description": "A demo event: go live from the studio and watch the blog write itself.",
                "status": Event.Status.LIVE,
                "starts_at": timezone.now() - timedelta(minutes=5),
                "auto_publish": True,
                "glossary": "Liveblog\nDeepgram\nMavera",
            },
        )
        event.journalists.add(users["journalist"])

        self.stdout.write(self.style.SUCCESS("Demo newsroom ready."))
        unknown = "(an existing account: its password is not changed)"
        self.stdout.write(
            f"  Journalist  {'journalist':<10} / {logins.get('journalist', unknown)}  → /studio/{event.slug}/"
        )
        self.stdout.write(f"  Editor      {'editor':<10} / {logins.get('editor', unknown)}  → /admin/")
        self.stdout.write(f"  Readers     {event.get_absolute_url()}")
