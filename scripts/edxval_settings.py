"""
Minimal Django settings for edx-val on the local stack (migrations and read-back through edxval.api).
Reads the variables of <run>/stack.env from the environment.
"""
import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pymysql

# PyMySQL stands in for mysqlclient, so no libmysqlclient is needed.
pymysql.install_as_MySQLdb()

sys.path.insert(0, str(Path(__file__).resolve().parent / "openedx_tables"))

# Protects nothing: no sessions, no signed cookies on this local stack.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "local-stack-not-secret")
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "edxval",
    "video_config",
    "split_modulestore_django",
]


def _database(url):
    u = urlsplit(url)
    if u.scheme == "sqlite":
        # sqlite:///abs/path (URL form); a sqlite:////abs/path spelling is accepted too.
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": "/" + u.path.lstrip("/")}
    if u.scheme in ("mysql", "mariadb"):
        # The migrator's TLS parameters (sqlx's, MySQL's names), for PyMySQL.
        query = {key: values[-1] for key, values in parse_qs(u.query).items()}
        mode = query.get("ssl-mode", "PREFERRED").upper()
        options = {"charset": "utf8mb4"}
        if mode in ("REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"):
            ssl = {"ca": query["ssl-ca"]} if "ssl-ca" in query else {}
            options["ssl"] = dict(ssl, check_hostname=mode == "VERIFY_IDENTITY", verify_mode=mode != "REQUIRED")
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": u.path.lstrip("/"),
            "USER": unquote(u.username or ""),
            "PASSWORD": unquote(u.password or ""),
            "HOST": u.hostname or "127.0.0.1",
            "PORT": str(u.port or 3306),
            "OPTIONS": options,
        }
    raise ValueError(f"EDXVAL_DATABASE_URL: unsupported scheme {u.scheme!r}")


DATABASES = {"default": _database(os.environ["EDXVAL_DATABASE_URL"])}

# edx-val looks up STORAGES["video_transcripts"], then VIDEO_TRANSCRIPTS_SETTINGS (edxval/utils.py).
# The legacy form is the one edx-platform's own settings use.
# A site's own storage settings, as the migrator reads them (S3_LOCATION, TRANSCRIPTS_DIRECTORY_PREFIX,
# S3_SERVER_SIDE_ENCRYPTION): django-storages' `location` and `object_parameters`, edx-val's prefix.
_sse = os.environ.get("S3_SERVER_SIDE_ENCRYPTION")
_object_parameters = {"ServerSideEncryption": _sse} if _sse else {}
if os.environ.get("S3_SSE_KMS_KEY_ID"):
    _object_parameters["SSEKMSKeyId"] = os.environ["S3_SSE_KMS_KEY_ID"]
VIDEO_TRANSCRIPTS_SETTINGS = {
    "DIRECTORY_PREFIX": os.environ.get("TRANSCRIPTS_DIRECTORY_PREFIX", "video-transcripts/"),
    "STORAGE_CLASS": "storages.backends.s3.S3Storage",
    "STORAGE_KWARGS": {
        "location": os.environ.get("S3_LOCATION", ""),
        "object_parameters": _object_parameters,
        "bucket_name": os.environ.get("S3_BUCKET", "edxval-transcripts"),
        "endpoint_url": os.environ.get("S3_ENDPOINT_URL"),
        "region_name": os.environ.get("S3_REGION", "us-east-1"),
        "access_key": os.environ.get("AWS_ACCESS_KEY_ID"),
        "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
        "addressing_style": "path",
        "signature_version": "s3v4",
        "default_acl": None,
        "file_overwrite": False,
    },
}
VIDEO_IMAGE_SETTINGS = {"DIRECTORY_PREFIX": "video-images/"}
TRANSCRIPT_LANG_CACHE_TIMEOUT = 0
