"""Readers' profiles become classifiers: a bias, topic weights and counts of each kind of
rating. Every profile is fitted again (its fitted_at emptied), by beat's fit_profiles or by
the next send that needs it."""

from django.db import migrations, models


def refit_all(apps, schema_editor):
    apps.get_model("digest", "ReaderProfile").objects.update(fitted_at=None, terms={})


class Migration(migrations.Migration):
    dependencies = [("digest", "0015_deliverypaper_no_index_by_paper")]

    operations = [
        migrations.RemoveField(model_name="readerprofile", name="ratings"),
        migrations.AddField(
            model_name="readerprofile", name="bias", field=models.FloatField(default=0.0)
        ),
        migrations.AddField(
            model_name="readerprofile",
            name="topics",
            field=models.JSONField(
                default=dict, help_text="The weight of each topic's tag score: {topic id: weight}."
            ),
        ),
        migrations.AddField(
            model_name="readerprofile", name="likes", field=models.PositiveIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="readerprofile",
            name="dislikes",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="readerprofile",
            name="terms",
            field=models.JSONField(
                default=dict, help_text="The weight of each term: {term: weight}."
            ),
        ),
        migrations.RunPython(refit_all, migrations.RunPython.noop),
    ]
