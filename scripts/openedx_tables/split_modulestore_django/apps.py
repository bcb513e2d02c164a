from django.apps import AppConfig


class SplitModulestoreDjangoConfig(AppConfig):
    name = "split_modulestore_django"
    label = "split_modulestore_django"
    # edx-platform's migrations create these tables with a 32-bit AutoField id.
    default_auto_field = "django.db.models.AutoField"
