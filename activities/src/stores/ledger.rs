//! The ledger: what each course run created, in the migration's own table
//! `transcript_migrator_ledger`, beside the course log. It outlives Temporal's retention, and
//! `report`, `verify` and `rollback` read it.
//!
//! A row is one thing a run made, by `kind`:
//! * `transcript`: an edx-val transcript row and its object (storage key, SHA-256, size, source
//!   file), recorded in the commit's own SQL transaction;
//! * `external_video`: an edx-val video the commit created, in the same transaction;
//! * `write_back`: an `edx_video_id` written into one branch of a block, recorded before the
//!   write (a row whose write never happened finds the block without our id);
//! * `flag`: the enabled flag row the run appended, in the transaction that appends it.
//!
//! A rollback stamps the rows it undid with `undone`.

use model::CourseKey;
use sqlx::{AnyConnection, AnyPool, Row};

use super::edxval::utc_now;

/// One key per thing a run made, so that a retried step records nothing twice. Plain types that
/// SQLite and MySQL/MariaDB both take; the key fits InnoDB's 3072 bytes in utf8mb4.
pub const CREATE: &str = "CREATE TABLE IF NOT EXISTS transcript_migrator_ledger (
    course_id VARCHAR(255) NOT NULL,
    run_number INTEGER NOT NULL,
    kind VARCHAR(16) NOT NULL,
    usage_key VARCHAR(255) NOT NULL,
    language_code VARCHAR(50) NOT NULL,
    branch VARCHAR(16) NOT NULL,
    edx_video_id VARCHAR(100) NOT NULL,
    storage_key VARCHAR(255) NOT NULL,
    source_file VARCHAR(255) NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    size BIGINT NOT NULL,
    recorded VARCHAR(32) NOT NULL,
    undone VARCHAR(32) NULL,
    PRIMARY KEY (course_id, run_number, kind, usage_key, language_code, branch)
)";

pub const TRANSCRIPT: &str = "transcript";
pub const EXTERNAL_VIDEO: &str = "external_video";
pub const WRITE_BACK: &str = "write_back";
pub const FLAG: &str = "flag";

/// One row of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    pub course_id: String,
    pub run_number: u32,
    pub kind: String,
    pub usage_key: String,
    pub language_code: String,
    pub branch: String,
    pub edx_video_id: String,
    pub storage_key: String,
    pub source_file: String,
    pub sha256: String,
    pub size: u64,
    pub recorded: String,
    pub undone: Option<String>,
}

impl Entry {
    pub fn new(course: &CourseKey, run_number: u32, kind: &str) -> Self {
        Self { course_id: course.to_string(), run_number, kind: kind.into(), ..Self::default() }
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds the ledger's key, in its order: course, run, kind, usage key, language, branch.
fn bind_key<'q>(query: AnyQuery<'q>, entry: &'q Entry) -> AnyQuery<'q> {
    query
        .bind(&entry.course_id)
        .bind(i64::from(entry.run_number))
        .bind(&entry.kind)
        .bind(&entry.usage_key)
        .bind(&entry.language_code)
        .bind(&entry.branch)
}

/// Records `entry` unless the ledger has it already (a retried step).
pub async fn record(conn: &mut AnyConnection, entry: &Entry) -> Result<(), sqlx::Error> {
    let known = bind_key(
        sqlx::query(
            "SELECT 1 FROM transcript_migrator_ledger WHERE course_id = ? AND run_number = ? AND kind = ? AND usage_key = ? AND language_code = ? AND branch = ?",
        ),
        entry,
    )
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    if known {
        return Ok(());
    }
    let insert = sqlx::query(
        "INSERT INTO transcript_migrator_ledger (course_id, run_number, kind, usage_key, language_code, branch, edx_video_id, storage_key, \
         source_file, sha256, size, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    bind_key(insert, entry)
        .bind(&entry.edx_video_id)
        .bind(&entry.storage_key)
        .bind(&entry.source_file)
        .bind(&entry.sha256)
        .bind(entry.size as i64)
        .bind(utc_now())
        .execute(conn)
        .await?;
    Ok(())
}

/// Every row of the course, oldest run first (none when the ledger does not exist yet).
pub async fn entries(sql: &AnyPool, course: &CourseKey) -> Result<Vec<Entry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT course_id, run_number, kind, usage_key, language_code, branch, edx_video_id, storage_key, source_file, sha256, size, recorded, undone \
         FROM transcript_migrator_ledger WHERE course_id = ? ORDER BY run_number, usage_key, kind, language_code, branch",
    )
    .bind(course.to_string())
    .fetch_all(sql)
    .await;
    let rows = match rows {
        Err(error) if is_missing_table(&error) => return Ok(Vec::new()),
        rows => rows?,
    };
    rows.into_iter()
        .map(|row| {
            Ok(Entry {
                course_id: row.try_get(0)?,
                run_number: row.try_get::<i64, _>(1)? as u32,
                kind: row.try_get(2)?,
                usage_key: row.try_get(3)?,
                language_code: row.try_get(4)?,
                branch: row.try_get(5)?,
                edx_video_id: row.try_get(6)?,
                storage_key: row.try_get(7)?,
                source_file: row.try_get(8)?,
                sha256: row.try_get(9)?,
                size: row.try_get::<i64, _>(10)? as u64,
                recorded: row.try_get(11)?,
                undone: row.try_get(12)?,
            })
        })
        .collect()
}

/// Stamps the rows of the course that a rollback undid.
pub async fn mark_undone(conn: &mut AnyConnection, entry: &Entry) -> Result<(), sqlx::Error> {
    let update = sqlx::query(
        "UPDATE transcript_migrator_ledger SET undone = ? WHERE course_id = ? AND run_number = ? AND kind = ? AND usage_key = ? \
         AND language_code = ? AND branch = ? AND undone IS NULL",
    );
    bind_key(update.bind(utc_now()), entry).execute(conn).await?;
    Ok(())
}

/// A read of a table that nothing has created yet: the migration never ran there.
pub fn is_missing_table(error: &sqlx::Error) -> bool {
    let text = error.to_string();
    text.contains("no such table") || text.contains("doesn't exist")
}
