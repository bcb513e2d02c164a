//! edx-val's tables (`edxval/models.py`), on SQLite or MySQL/MariaDB alike. The tables are
//! created by edx-val's own Django migrations; this module only reads and inserts rows.
//!
//! Functions take a connection so that the same statements run alone or inside the one
//! transaction that commits a video.

use std::collections::BTreeMap;

use model::CourseKey;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};

use super::settings::Secret;

/// A video row as edx-val knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Video {
    pub id: i64,
    pub edx_video_id: String,
    pub status: String,
}

/// One language of a video's transcripts: its storage key in the transcripts bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoTranscript {
    pub language_code: String,
    pub transcript: String,
    pub file_format: String,
    pub provider: String,
}

impl VideoTranscript {
    /// A transcript as the migration records them: SJSON, provider `Custom`.
    pub fn custom_sjson(language_code: &str, storage_key: &str) -> Self {
        Self { language_code: language_code.into(), transcript: storage_key.into(), file_format: "sjson".into(), provider: "Custom".into() }
    }
}

pub async fn connect(url: &Secret) -> Result<AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    // The build has both of rustls's crypto providers (the S3 client brings aws-lc-rs), and
    // sqlx's `ssl-mode=VERIFY_CA` asks rustls for the process's default, which rustls cannot
    // pick then. Ring is the one sqlx itself uses; an earlier choice stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options: AnyConnectOptions = url.expose().parse()?;
    AnyPoolOptions::new().max_connections(8).connect_with(options).await
}

/// How the pool's connections travel, for `check`: TLS and its version, or in the clear.
pub async fn transport(pool: &AnyPool) -> Result<String, sqlx::Error> {
    if pool.connect_options().database_url.scheme() == "sqlite" {
        return Ok("a local SQLite file".into());
    }
    let version: Option<(String, String)> = sqlx::query_as("SHOW SESSION STATUS LIKE 'Ssl_version'").fetch_optional(pool).await?;
    Ok(match version {
        Some((_, version)) if !version.is_empty() => format!("over {version}"),
        _ => "in the clear (no TLS; add ssl-mode=VERIFY_IDENTITY&ssl-ca=… to the URL)".into(),
    })
}

/// A transaction that writes. On SQLite it takes the write lock at `BEGIN IMMEDIATE`: a
/// deferred transaction that reads first and then writes cannot wait for a busy database and
/// fails with `database is locked`, while an immediate one waits out the busy timeout.
pub async fn begin_write(pool: &AnyPool) -> Result<Transaction<'static, Any>, sqlx::Error> {
    if pool.connect_options().database_url.scheme() == "sqlite" { pool.begin_with("BEGIN IMMEDIATE").await } else { pool.begin().await }
}

pub async fn video(conn: &mut AnyConnection, edx_video_id: &str) -> Result<Option<Video>, sqlx::Error> {
    let row = sqlx::query("SELECT id, edx_video_id, status FROM edxval_video WHERE edx_video_id = ?").bind(edx_video_id).fetch_optional(conn).await?;
    row.map(|row| Ok(Video { id: row.try_get(0)?, edx_video_id: row.try_get(1)?, status: row.try_get(2)? })).transpose()
}

/// The courses linked to the video (`edxval_coursevideo`): the course that uploaded it, and the
/// reruns `copy_course_videos` gave it to.
pub async fn linked_courses(conn: &mut AnyConnection, video_id: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT course_id FROM edxval_coursevideo WHERE video_id = ? ORDER BY course_id").bind(video_id).fetch_all(conn).await
}

/// The video's transcripts by language code.
pub async fn transcripts(conn: &mut AnyConnection, video_id: i64) -> Result<BTreeMap<String, VideoTranscript>, sqlx::Error> {
    let rows = sqlx::query("SELECT language_code, transcript, file_format, provider FROM edxval_videotranscript WHERE video_id = ?")
        .bind(video_id)
        .fetch_all(conn)
        .await?;
    rows.into_iter()
        .map(|row| {
            let transcript = VideoTranscript {
                language_code: row.try_get(0)?,
                transcript: row.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                file_format: row.try_get(2)?,
                provider: row.try_get(3)?,
            };
            Ok((transcript.language_code.clone(), transcript))
        })
        .collect()
}

pub struct NewVideo<'a> {
    pub edx_video_id: &'a str,
    pub client_video_id: &'a str,
    pub status: &'a str,
    pub duration: f64,
}

pub async fn create_video(conn: &mut AnyConnection, video: &NewVideo<'_>) -> Result<i64, sqlx::Error> {
    let result = sqlx::query("INSERT INTO edxval_video (created, edx_video_id, client_video_id, duration, status) VALUES (?, ?, ?, ?, ?)")
        .bind(utc_now())
        .bind(video.edx_video_id)
        .bind(video.client_video_id)
        .bind(video.duration)
        .bind(video.status)
        .execute(&mut *conn)
        .await?;
    match result.last_insert_id() {
        Some(id) => Ok(id),
        None => self::video(conn, video.edx_video_id).await?.map(|v| v.id).ok_or(sqlx::Error::RowNotFound),
    }
}

/// Links the video to the course unless it already is.
pub async fn link_course_video(conn: &mut AnyConnection, course: &CourseKey, video_id: i64) -> Result<bool, sqlx::Error> {
    let course_id = course.to_string();
    let exists = sqlx::query("SELECT 1 FROM edxval_coursevideo WHERE course_id = ? AND video_id = ?")
        .bind(&course_id)
        .bind(video_id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if !exists {
        sqlx::query("INSERT INTO edxval_coursevideo (course_id, video_id, is_hidden) VALUES (?, ?, ?)")
            .bind(course_id)
            .bind(video_id)
            .bind(false)
            .execute(conn)
            .await?;
    }
    Ok(!exists)
}

pub async fn create_transcript(conn: &mut AnyConnection, video_id: i64, transcript: &VideoTranscript) -> Result<(), sqlx::Error> {
    let now = utc_now();
    sqlx::query(
        "INSERT INTO edxval_videotranscript (created, modified, transcript, language_code, provider, file_format, video_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&now)
    .bind(&now)
    .bind(&transcript.transcript)
    .bind(&transcript.language_code)
    .bind(&transcript.provider)
    .bind(&transcript.file_format)
    .bind(video_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether any transcript row names the object `key`.
pub async fn names_object(conn: &mut AnyConnection, key: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("SELECT 1 FROM edxval_videotranscript WHERE transcript = ?").bind(key).fetch_optional(conn).await?.is_some())
}

/// Deletes the video's transcript row in `language` if it still names `key`; whether it did.
pub async fn delete_transcript(conn: &mut AnyConnection, video_id: i64, language: &str, key: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM edxval_videotranscript WHERE video_id = ? AND language_code = ? AND transcript = ?")
        .bind(video_id)
        .bind(language)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// What refers to a video in edx-val: (table, rows) of its transcripts, course links and
/// encodings, where there are any.
pub async fn video_references(conn: &mut AnyConnection, video_id: i64) -> Result<Vec<(&'static str, usize)>, sqlx::Error> {
    let mut found = Vec::new();
    let counts = [
        ("edxval_videotranscript", "SELECT COUNT(*) FROM edxval_videotranscript WHERE video_id = ?"),
        ("edxval_coursevideo", "SELECT COUNT(*) FROM edxval_coursevideo WHERE video_id = ?"),
        ("edxval_encodedvideo", "SELECT COUNT(*) FROM edxval_encodedvideo WHERE video_id = ?"),
    ];
    for (table, statement) in counts {
        let count: i64 = sqlx::query_scalar(statement).bind(video_id).fetch_one(&mut *conn).await?;
        if count > 0 {
            found.push((table, count as usize));
        }
    }
    Ok(found)
}

pub async fn delete_video(conn: &mut AnyConnection, video_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM edxval_video WHERE id = ?").bind(video_id).execute(conn).await?;
    Ok(())
}

/// The current UTC time as Django stores a datetime with `USE_TZ = True` on both SQLite and
/// MySQL: `YYYY-MM-DD HH:MM:SS.ffffff`.
pub fn utc_now() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format_utc(now.as_secs() as i64, now.subsec_micros())
}

/// A time given in Unix milliseconds, in the same form as `utc_now`.
pub fn format_datetime(unix_millis: i64) -> String {
    format_utc(unix_millis.div_euclid(1000), (unix_millis.rem_euclid(1000) * 1000) as u32)
}

fn format_utc(unix_seconds: i64, micros: u32) -> String {
    let (days, second_of_day) = (unix_seconds.div_euclid(86_400), unix_seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (second_of_day / 3600, second_of_day % 3600 / 60, second_of_day % 60);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}.{micros:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_datetime_format() {
        assert_eq!(format_utc(0, 0), "1970-01-01 00:00:00.000000");
        assert_eq!(format_utc(951_782_400, 5), "2000-02-29 00:00:00.000005");
        assert_eq!(format_utc(1_795_349_045, 123_456), "2026-11-22 12:04:05.123456");
    }
}
