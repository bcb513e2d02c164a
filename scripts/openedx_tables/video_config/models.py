"""
The three tables of edx-platform's video_config app that the transcript migration writes or reads.
Mirrors openedx/core/djangoapps/video_config/models.py (fields only).
"""
from config_models.models import ConfigurationModel
from django.db.models import BooleanField, PositiveIntegerField
from model_utils.models import TimeStampedModel
from opaque_keys.edx.django.models import CourseKeyField


class VideoTranscriptEnabledFlag(ConfigurationModel):
    """The global switch: with it off, releases that read the course flag ignore it."""
    enabled_for_all_courses = BooleanField(default=False)


class CourseVideoTranscriptEnabledFlag(ConfigurationModel):
    """Per-course switch to edx-val/S3 transcripts. Append-only: the newest row per course wins."""
    KEY_FIELDS = ('course_id',)

    course_id = CourseKeyField(max_length=255, db_index=True)


class MigrationEnqueuedCourse(TimeStampedModel):
    """Courses enqueued for the transcript migration."""
    course_id = CourseKeyField(db_index=True, primary_key=True, max_length=255)
    command_run = PositiveIntegerField(default=0)
