//! Every write a run makes in edx-platform's SQL database, tried by `check` in one transaction
//! that is then rolled back: a database user that lacks a grant the migration needs is found
//! before a run, not by a run whose steps retry for ever.

use sqlx::AnyPool;

use super::edxval::{self, NewVideo, VideoTranscript, utc_now};
use super::{course_log, split_course_index};

/// Ok with notes (tables an installation may lack) when every write is granted; else the
/// refused statement and the server's answer.
pub async fn probe_writes(pool: &AnyPool) -> Result<Vec<String>, String> {
    // Each run creates the migrator's own tables when missing: the same statement, here.
    course_log::ensure_tables(pool).await.map_err(|e| format!("CREATE TABLE IF NOT EXISTS transcript_migrator_course_run: {e}"))?;
    let mut tx = edxval::begin_write(pool).await.map_err(|e| format!("BEGIN: {e}"))?;
    let probe = format!("transcript-migrator-check-{}", uuid::Uuid::new_v4().simple());
    let refused = |statement: &'static str| move |e: sqlx::Error| format!("{statement}: {e}");
    let video = NewVideo { edx_video_id: &probe, client_video_id: "transcript-migrator check", status: "external", duration: 0.0 };
    let video_id = edxval::create_video(&mut tx, &video).await.map_err(refused("INSERT INTO edxval_video"))?;
    edxval::create_transcript(&mut tx, video_id, &VideoTranscript::custom_sjson("en", &probe))
        .await
        .map_err(refused("INSERT INTO edxval_videotranscript"))?;
    let now = utc_now();
    sqlx::query("INSERT INTO video_config_coursevideotranscriptenabledflag (change_date, enabled, course_id, changed_by_id) VALUES (?, ?, ?, NULL)")
        .bind(&now)
        .bind(false)
        .bind(&probe)
        .execute(&mut *tx)
        .await
        .map_err(refused("INSERT INTO video_config_coursevideotranscriptenabledflag"))?;
    sqlx::query("INSERT INTO video_config_migrationenqueuedcourse (created, modified, course_id, command_run) VALUES (?, ?, ?, 0)")
        .bind(&now)
        .bind(&now)
        .bind(&probe)
        .execute(&mut *tx)
        .await
        .map_err(refused("INSERT INTO video_config_migrationenqueuedcourse"))?;
    sqlx::query(
        "INSERT INTO transcript_migrator_course_run (course_id, run_number, workflow_id, first_run_id, state, started) VALUES (?, 0, ?, ?, 'check', ?)",
    )
    .bind(&probe)
    .bind(&probe)
    .bind(&probe)
    .bind(&now)
    .execute(&mut *tx)
    .await
    .map_err(refused("INSERT INTO transcript_migrator_course_run"))?;
    sqlx::query("INSERT INTO transcript_migrator_video_failure (course_id, run_number, usage_key, message, recorded) VALUES (?, 0, ?, 'check', ?)")
        .bind(&probe)
        .bind(&probe)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(refused("INSERT INTO transcript_migrator_video_failure"))?;
    for (statement, table) in [
        ("UPDATE transcript_migrator_course_run SET finished = ? WHERE course_id = ?", "UPDATE transcript_migrator_course_run"),
        ("UPDATE video_config_migrationenqueuedcourse SET modified = ? WHERE course_id = ?", "UPDATE video_config_migrationenqueuedcourse"),
    ] {
        sqlx::query(statement).bind(&now).bind(&probe).execute(&mut *tx).await.map_err(refused(table))?;
    }
    let mut notes = Vec::new();
    let indexed =
        split_course_index::probe_writes(&mut tx, &probe).await.map_err(refused("UPDATE split_modulestore_django_splitmodulestorecourseindex"))?;
    if !indexed {
        notes.push("no SQL course index (split heads are moved in MongoDB)".to_string());
    }
    tx.rollback().await.map_err(|e| format!("ROLLBACK: {e}"))?;
    Ok(notes)
}
