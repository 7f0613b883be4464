# The event's language end to end, and its reader editions (issue 30, points 2 and 3).

from django.db import migrations, models

import events.languages

KNOWN = ("en", "de", "fr", "es", "it", "pt", "nl", "multi")


def known_languages(apps, schema_editor) -> None:
    """A language the list does not offer becomes its base language when offered ("de-CH": "de"), else English."""
    Event = apps.get_model("events", "Event")
    for pk, language in Event.objects.exclude(language__in=KNOWN).values_list("pk", "language"):
        base = language.split("-")[0].lower()
        Event.objects.filter(pk=pk).update(language=base if base in KNOWN else "en")


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0008_summary_settings"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="reader_languages",
            field=events.languages.LanguageListField(
                help_text="Each published post is also translated automatically into these languages, for readers "
                "who choose one.",
                verbose_name="reader editions",
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="speech_languages",
            field=events.languages.LanguageListField(
                help_text="With several languages: the ones spoken, at least two; posts are written in the first "
                "ticked.",
                verbose_name="languages spoken",
            ),
        ),
        migrations.RunPython(known_languages, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="event",
            name="language",
            field=models.CharField(
                choices=events.languages.speech_choices,
                default="en",
                help_text="What the speakers speak: the recognizer listens for it and posts are written in it.",
                max_length=16,
                verbose_name="language",
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.CheckConstraint(
                condition=models.Q(("language__in", KNOWN)),
                name="event_language_known",
            ),
        ),
    ]
