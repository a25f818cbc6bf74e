"""The new summaries (UseMonth, CardValidity) are empty until the next build: forget the last build,
so that every figure is read from the register until then, and the next build summarises
everything (stats/summary.py)."""

from django.db import migrations


def forget_builds(apps, schema_editor):
    apps.get_model("stats", "SummaryState").objects.using(schema_editor.connection.alias).all().delete()


class Migration(migrations.Migration):
    dependencies = [("stats", "0003_card_validity")]

    operations = [migrations.RunPython(forget_builds, migrations.RunPython.noop)]
