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
    let (p, n) = (probe.as_str(), now.as_str());
    // (what is tried, the statement, its values): every row names the probe, no real course.
    let writes: [(&str, &'static str, Vec<&str>); 10] = [
        (
            "INSERT INTO video_config_coursevideotranscriptenabledflag",
            "INSERT INTO video_config_coursevideotranscriptenabledflag (change_date, enabled, course_id, changed_by_id) VALUES (?, 0, ?, NULL)",
            vec![n, p],
        ),
        (
            "INSERT INTO video_config_migrationenqueuedcourse",
            "INSERT INTO video_config_migrationenqueuedcourse (created, modified, course_id, command_run) VALUES (?, ?, ?, 0)",
            vec![n, n, p],
        ),
        (
            "INSERT INTO transcript_migrator_course_run",
            "INSERT INTO transcript_migrator_course_run (course_id, run_number, workflow_id, first_run_id, state, started) VALUES (?, 0, ?, ?, 'check', ?)",
            vec![p, p, p, n],
        ),
        (
            "INSERT INTO transcript_migrator_video_failure",
            "INSERT INTO transcript_migrator_video_failure (course_id, run_number, usage_key, message, recorded) VALUES (?, 0, ?, 'check', ?)",
            vec![p, p, n],
        ),
        ("UPDATE transcript_migrator_course_run", "UPDATE transcript_migrator_course_run SET finished = ? WHERE course_id = ?", vec![n, p]),
        (
            "UPDATE video_config_migrationenqueuedcourse",
            "UPDATE video_config_migrationenqueuedcourse SET modified = ? WHERE course_id = ?",
            vec![n, p],
        ),
        (
            "INSERT INTO transcript_migrator_ledger",
            "INSERT INTO transcript_migrator_ledger (course_id, run_number, kind, usage_key, language_code, branch, edx_video_id, storage_key, \
             source_file, sha256, size, recorded) VALUES (?, 0, 'check', ?, '', '', ?, ?, '', '', 0, ?)",
            vec![p, p, p, p, n],
        ),
        // What `rollback` does: the ledger's stamp, and the rows it takes back.
        ("UPDATE transcript_migrator_ledger", "UPDATE transcript_migrator_ledger SET undone = ? WHERE course_id = ?", vec![n, p]),
        ("DELETE FROM edxval_videotranscript", "DELETE FROM edxval_videotranscript WHERE transcript = ?", vec![p]),
        ("DELETE FROM edxval_video", "DELETE FROM edxval_video WHERE edx_video_id = ?", vec![p]),
    ];
    for (what, statement, values) in writes {
        let query = values.into_iter().fold(sqlx::query(statement), |query, value| query.bind(value));
        query.execute(&mut *tx).await.map_err(|e| format!("{what}: {e}"))?;
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
