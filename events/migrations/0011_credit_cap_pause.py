# The credit cap's pause as its figures, told in each reader's language (issue 30).

import re

from django.db import migrations, models

CAP_SENTENCE = re.compile(
    r"Credit cap of (\d+) reached: (\d+) credits used, (\d+) reserved, and a batch may need (\d+)\."
)


def figures_from_the_english_reason(apps, schema_editor) -> None:
    """A pause the cap set, stored as an English sentence until now, becomes its figures."""
    Event = apps.get_model("events", "Event")
    for pk, reason in Event.objects.filter(drafting_paused_reason__startswith="Credit cap of ").values_list(
        "pk", "drafting_paused_reason"
    ):
        if match := CAP_SENTENCE.fullmatch(reason):
            figures = dict(zip(("cap", "used", "reserved", "next_batch"), map(int, match.groups()), strict=True))
            Event.objects.filter(pk=pk).update(cap_pause=figures, drafting_paused_reason="")


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0010_translated_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="cap_pause",
            field=models.JSONField(blank=True, editable=False, null=True, verbose_name="credit cap pause"),
        ),
        migrations.RunPython(figures_from_the_english_reason, migrations.RunPython.noop),
    ]
