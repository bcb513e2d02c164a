from django.apps import AppConfig


class VideoConfigConfig(AppConfig):
    name = "video_config"
    label = "video_config"
    # edx-platform's migrations create these tables with a 32-bit AutoField id.
    default_auto_field = "django.db.models.AutoField"
