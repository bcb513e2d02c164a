import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("video_config", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="VideoTranscriptEnabledFlag",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("change_date", models.DateTimeField(auto_now_add=True, verbose_name="Change date")),
                ("enabled", models.BooleanField(default=False, verbose_name="Enabled")),
                ("enabled_for_all_courses", models.BooleanField(default=False)),
                ("changed_by", models.ForeignKey(editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL, verbose_name="Changed by")),
            ],
            options={"ordering": ("-change_date",), "abstract": False},
        ),
    ]
