import opaque_keys.edx.django.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("split_modulestore_django", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalSplitModulestoreCourseIndex",
            fields=[
                ("id", models.IntegerField(db_index=True)),
                ("objectid", models.CharField(db_index=True, max_length=24)),
                ("course_id", opaque_keys.edx.django.models.LearningContextKeyField(db_index=True, max_length=255)),
                ("org", models.CharField(db_index=True, max_length=255)),
                ("draft_version", models.CharField(blank=True, max_length=24)),
                ("published_version", models.CharField(blank=True, max_length=24)),
                ("library_version", models.CharField(blank=True, max_length=24)),
                ("wiki_slug", models.CharField(blank=True, db_index=True, max_length=255)),
                ("base_store", models.CharField(max_length=20)),
                ("edited_on", models.DateTimeField()),
                ("last_update", models.DateTimeField()),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField()),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                ("history_type", models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1)),
                ("edited_by_id", models.IntegerField(null=True)),
                ("history_user_id", models.IntegerField(null=True)),
            ],
            options={"db_table": "split_modulestore_django_historicalsplitmodulestorecourseindex"},
        ),
    ]
