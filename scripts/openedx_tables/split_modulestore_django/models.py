"""
edx-platform's SQL copy of the split modulestore's course index, which edx-platform reads the
branch heads from (the migration moves a head when it writes an edx_video_id back into a block).
Mirrors common/djangoapps/split_modulestore_django/models.py (fields only; the
simple_history table is left out).
"""
from django.db import models
from opaque_keys.edx.django.models import LearningContextKeyField


class SplitModulestoreCourseIndex(models.Model):
    """A course's index: the structure version at the head of each branch."""
    objectid = models.CharField(max_length=24, null=False, blank=False, unique=True)
    course_id = LearningContextKeyField(max_length=255, db_index=True, unique=True, null=False)
    org = models.CharField(max_length=255, db_index=True)
    draft_version = models.CharField(max_length=24, null=False, blank=True)
    published_version = models.CharField(max_length=24, null=False, blank=True)
    library_version = models.CharField(max_length=24, null=False, blank=True)
    wiki_slug = models.CharField(max_length=255, db_index=True, blank=True)
    base_store = models.CharField(max_length=20, blank=False, choices=[("mongodb", "MongoDB"), ("django", "Django - not implemented yet")])
    edited_by_id = models.IntegerField(null=True)
    edited_on = models.DateTimeField()
    last_update = models.DateTimeField()

    class Meta:
        ordering = ["course_id"]
        verbose_name_plural = "Split modulestore course indexes"


class HistoricalSplitModulestoreCourseIndex(models.Model):
    """The django-simple-history table of the index (edx-platform's `history = HistoricalRecords()`),
    column for column as its migration creates it: a copy of the row per change."""
    id = models.IntegerField(db_index=True)
    objectid = models.CharField(max_length=24, db_index=True)
    course_id = LearningContextKeyField(max_length=255, db_index=True)
    org = models.CharField(max_length=255, db_index=True)
    draft_version = models.CharField(max_length=24, blank=True)
    published_version = models.CharField(max_length=24, blank=True)
    library_version = models.CharField(max_length=24, blank=True)
    wiki_slug = models.CharField(max_length=255, db_index=True, blank=True)
    base_store = models.CharField(max_length=20)
    edited_on = models.DateTimeField()
    last_update = models.DateTimeField()
    history_id = models.AutoField(primary_key=True)
    history_date = models.DateTimeField()
    history_change_reason = models.CharField(max_length=100, null=True)
    history_type = models.CharField(max_length=1, choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")])
    edited_by_id = models.IntegerField(null=True)
    history_user_id = models.IntegerField(null=True)

    class Meta:
        db_table = "split_modulestore_django_historicalsplitmodulestorecourseindex"
