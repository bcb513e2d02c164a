//! The course log and the course flag, in edx-platform's SQL database (where edx-val's tables
//! are too): `video_config_migrationenqueuedcourse`, `video_config_coursevideotranscriptenabledflag`
//! (append-only, the newest row per course wins), and the migration's own tables:
//!
//! * `transcript_migrator_course_run`: one row per course run (run number, state, counts,
//!   start and end);
//! * `transcript_migrator_video_failure`: every failed video of a run, with its reason;
//! * `transcript_migrator_ledger`: what each run created (see `ledger`).
//!
//! The migration creates its own tables when they are missing; it never alters edx-platform's.

use model::contract::course::{BeginCourseRun, FinishCourseRun, FlagOutcome, RecordFailures};
use sqlx::{AnyConnection, AnyPool, Row};

use super::edxval::{self, utc_now};
use super::ledger::{self, Entry};

/// Plain types both SQLite and MySQL/MariaDB take as they are.
const CREATE: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS transcript_migrator_course_run (
        course_id VARCHAR(255) NOT NULL,
        run_number INTEGER NOT NULL,
        workflow_id VARCHAR(512) NOT NULL,
        first_run_id VARCHAR(64) NOT NULL,
        state VARCHAR(16) NOT NULL,
        started VARCHAR(32) NOT NULL,
        finished VARCHAR(32) NULL,
        videos INTEGER NOT NULL DEFAULT 0,
        videos_migrated INTEGER NOT NULL DEFAULT 0,
        videos_failed INTEGER NOT NULL DEFAULT 0,
        transcripts_migrated INTEGER NOT NULL DEFAULT 0,
        validation_failures INTEGER NOT NULL DEFAULT 0,
        counts TEXT NULL,
        PRIMARY KEY (course_id, run_number)
    )",
    "CREATE TABLE IF NOT EXISTS transcript_migrator_video_failure (
        course_id VARCHAR(255) NOT NULL,
        run_number INTEGER NOT NULL,
        usage_key VARCHAR(255) NOT NULL,
        message TEXT NOT NULL,
        recorded VARCHAR(32) NOT NULL
    )",
];

/// Creates the course log's tables and the ledger's (`ledger`) where they are missing.
pub async fn ensure_tables(sql: &AnyPool) -> Result<(), sqlx::Error> {
    for statement in CREATE.into_iter().chain([ledger::CREATE]) {
        sqlx::query(statement).execute(sql).await?;
    }
    Ok(())
}

/// Opens the run (or finds the one a lost answer opened) and records the course as enqueued.
pub async fn begin(sql: &AnyPool, run: &BeginCourseRun) -> Result<u32, sqlx::Error> {
    ensure_tables(sql).await?;
    let course = run.course_key.to_string();
    let mut tx = edxval::begin_write(sql).await?;
    let existing = sqlx::query("SELECT run_number FROM transcript_migrator_course_run WHERE workflow_id = ? AND first_run_id = ?")
        .bind(&run.workflow_id)
        .bind(&run.first_run_id)
        .fetch_optional(&mut *tx)
        .await?;
    let number = match existing {
        Some(row) => row.try_get::<i64, _>(0)? as u32,
        None => {
            let last = sqlx::query("SELECT COALESCE(MAX(run_number), 0) FROM transcript_migrator_course_run WHERE course_id = ?")
                .bind(&course)
                .fetch_one(&mut *tx)
                .await?
                .try_get::<i64, _>(0)?;
            let number = last as u32 + 1;
            sqlx::query("INSERT INTO transcript_migrator_course_run (course_id, run_number, workflow_id, first_run_id, state, started) VALUES (?, ?, ?, ?, 'running', ?)")
            .bind(&course)
            .bind(i64::from(number))
            .bind(&run.workflow_id)
            .bind(&run.first_run_id)
            .bind(utc_now())
            .execute(&mut *tx)
            .await?;
            number
        }
    };
    enqueue(&mut tx, &course, number).await?;
    tx.commit().await?;
    Ok(number)
}

/// `MigrationEnqueuedCourse`: one row per course, holding its latest run.
async fn enqueue(conn: &mut AnyConnection, course: &str, number: u32) -> Result<(), sqlx::Error> {
    let now = utc_now();
    let updated = sqlx::query("UPDATE video_config_migrationenqueuedcourse SET command_run = ?, modified = ? WHERE course_id = ?")
        .bind(i64::from(number))
        .bind(&now)
        .bind(course)
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() == 0 {
        sqlx::query("INSERT INTO video_config_migrationenqueuedcourse (created, modified, course_id, command_run) VALUES (?, ?, ?, ?)")
            .bind(&now)
            .bind(&now)
            .bind(course)
            .bind(i64::from(number))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Appends the failures not yet recorded (a retried call records nothing twice).
pub async fn record_failures(sql: &AnyPool, record: &RecordFailures) -> Result<(), sqlx::Error> {
    let course = record.course_key.to_string();
    let mut tx = edxval::begin_write(sql).await?;
    for failure in &record.failures {
        let known =
            sqlx::query("SELECT 1 FROM transcript_migrator_video_failure WHERE course_id = ? AND run_number = ? AND usage_key = ? AND message = ?")
                .bind(&course)
                .bind(i64::from(record.run_number))
                .bind(failure.usage_key.to_string())
                .bind(&failure.message)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if !known {
            sqlx::query("INSERT INTO transcript_migrator_video_failure (course_id, run_number, usage_key, message, recorded) VALUES (?, ?, ?, ?, ?)")
                .bind(&course)
                .bind(i64::from(record.run_number))
                .bind(failure.usage_key.to_string())
                .bind(&failure.message)
                .bind(utc_now())
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await
}

/// Whether the course's newest flag row is enabled (`None` without rows).
pub async fn flag(conn: &mut AnyConnection, course: &str) -> Result<Option<bool>, sqlx::Error> {
    let row = sqlx::query("SELECT CASE WHEN enabled THEN 1 ELSE 0 END FROM video_config_coursevideotranscriptenabledflag WHERE course_id = ? ORDER BY change_date DESC, id DESC LIMIT 1")
    .bind(course)
    .fetch_optional(conn)
    .await?;
    row.map(|row| row.try_get::<i64, _>(0).map(|v| v == 1)).transpose()
}

/// Appends a flag row: the newest row decides, as edx-platform's `ConfigurationModel` reads it.
pub async fn insert_flag(conn: &mut AnyConnection, course: &str, enabled: bool) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO video_config_coursevideotranscriptenabledflag (change_date, enabled, course_id, changed_by_id) VALUES (?, ?, ?, NULL)")
        .bind(utc_now())
        .bind(enabled)
        .bind(course)
        .execute(conn)
        .await?;
    Ok(())
}

/// `insert_flag`, for an operator's `flags enable|disable`.
pub async fn append_flag(sql: &AnyPool, course: &model::CourseKey, enabled: bool) -> Result<(), sqlx::Error> {
    let mut conn = sql.acquire().await?;
    insert_flag(&mut conn, &course.to_string(), enabled).await
}

/// A validated run's cut-over is done: the flag goes on (with its ledger row) unless it is on,
/// and the run is closed `succeeded`; answers whether a flag row was appended.
pub async fn switch_on(sql: &AnyPool, course: &model::CourseKey, run_number: u32) -> Result<bool, sqlx::Error> {
    let course_id = course.to_string();
    let mut tx = edxval::begin_write(sql).await?;
    let appended = flag(&mut tx, &course_id).await? != Some(true);
    if appended {
        insert_flag(&mut tx, &course_id, true).await?;
        ledger::record(&mut tx, &Entry::new(course, run_number, ledger::FLAG)).await?;
    }
    sqlx::query("UPDATE transcript_migrator_course_run SET state = 'succeeded', finished = ? WHERE course_id = ? AND run_number = ?")
        .bind(utc_now())
        .bind(&course_id)
        .bind(i64::from(run_number))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(appended)
}

/// Closes the run and, when it passed and the flag is not on yet, appends an enabled flag row.
pub async fn finish(sql: &AnyPool, finish: &FinishCourseRun) -> Result<FlagOutcome, sqlx::Error> {
    let course = finish.course_key.to_string();
    let counts = &finish.counts;
    let mut tx = edxval::begin_write(sql).await?;
    sqlx::query(
        "UPDATE transcript_migrator_course_run SET state = ?, finished = ?, videos = ?, videos_migrated = ?, videos_failed = ?, \
         transcripts_migrated = ?, validation_failures = ?, counts = ? WHERE course_id = ? AND run_number = ?",
    )
    .bind(match (finish.passed, finish.switched) {
        (true, true) => "succeeded",
        (true, false) => "validated",
        (false, _) => "failed",
    })
    .bind(utc_now())
    .bind(i64::from(counts.videos))
    .bind(i64::from(counts.migrated))
    .bind(i64::from(counts.failed))
    .bind(i64::from(counts.transcripts_migrated))
    .bind(i64::from(counts.validation_failures))
    .bind(serde_json::to_string(counts).unwrap_or_default())
    .bind(&course)
    .bind(i64::from(finish.run_number))
    .execute(&mut *tx)
    .await?;
    let enabled = flag(&mut tx, &course).await? == Some(true);
    let mut outcome = FlagOutcome { enabled, appended: false };
    if finish.passed && finish.switched && !enabled {
        insert_flag(&mut tx, &course, true).await?;
        outcome = FlagOutcome { enabled: true, appended: true };
        ledger::record(&mut tx, &Entry::new(&finish.course_key, finish.run_number, ledger::FLAG)).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}
