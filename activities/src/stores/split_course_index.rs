//! edx-platform's SQL copy of the split modulestore's course index
//! (`split_modulestore_django_splitmodulestorecourseindex`, `common/djangoapps/split_modulestore_django`).
//! Since 2022 edx-platform reads a course's branch heads from this table when it exists and
//! writes them to both it and `modulestore.active_versions`; installations without the table
//! use only MongoDB.

use bson::Bson;
use bson::oid::ObjectId;
use model::{Branch, CourseKey};
use sqlx::{AnyConnection, AnyPool, Row};

use super::edxval;
use super::modulestore::Modulestore;

/// Which index holds a course's heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadIndex {
    Sql,
    Mongo,
}

/// A branch's head as edx-platform reads it: the SQL course index where it has a row for the
/// course, else MongoDB's `active_versions`; with the index it came from. `None` when the course
/// or the branch is gone.
pub async fn current_head(
    modulestore: &Modulestore,
    sql: &AnyPool,
    course: &CourseKey,
    branch: Branch,
) -> Result<Option<(ObjectId, HeadIndex)>, String> {
    match head(sql, course, branch).await.map_err(|e| e.to_string())? {
        Some(hex) if hex.is_empty() => Ok(None),
        Some(hex) => match ObjectId::parse_str(&hex) {
            Ok(id) => Ok(Some((id, HeadIndex::Sql))),
            Err(e) => Err(format!("the SQL course index holds {hex:?} as the {branch} head of {course}: {e}")),
        },
        None => match modulestore.split_head(course, branch).await.map_err(|e| e.to_string())? {
            Some(Bson::ObjectId(id)) => Ok(Some((id, HeadIndex::Mongo))),
            Some(other) => Err(format!("the {branch} head of {course} is {other}, not an ObjectId")),
            None => Ok(None),
        },
    }
}

fn is_missing_table(error: &sqlx::Error) -> bool {
    match error {
        // MySQL/MariaDB: ER_NO_SUCH_TABLE (SQLSTATE 42S02); SQLite has no code for it.
        sqlx::Error::Database(db) => db.code().as_deref() == Some("42S02") || db.message().contains("no such table"),
        _ => false,
    }
}

/// The branch head the SQL index records for the course: `Ok(None)` when the installation has
/// no such table or the table no row for the course (then MongoDB's index is the truth).
pub async fn head(sql: &AnyPool, course: &CourseKey, branch: Branch) -> Result<Option<String>, sqlx::Error> {
    let query = match branch {
        Branch::Draft => "SELECT draft_version FROM split_modulestore_django_splitmodulestorecourseindex WHERE course_id = ?",
        Branch::Published => "SELECT published_version FROM split_modulestore_django_splitmodulestorecourseindex WHERE course_id = ?",
    };
    match sqlx::query(query).bind(course.to_string()).fetch_optional(sql).await {
        Ok(row) => row.map(|row| row.try_get::<String, _>(0)).transpose(),
        Err(error) if is_missing_table(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

/// `move_head` of the draft branch: set `draft_version` where it is still the one read.
const MOVE_DRAFT_HEAD: &str =
    "UPDATE split_modulestore_django_splitmodulestorecourseindex SET draft_version = ? WHERE course_id = ? AND draft_version = ?";

/// Moves the branch head from `from` to `to` if it is still `from`, and records the change in
/// the index's history table as django-simple-history does for edx-platform's own saves
/// (`history_type` `~`, "Updated draft branch"); false when someone moved the head first.
/// `last_update` is left alone, in the row and in the history: edx-platform drops a save whose
/// `last_update` moved under it ("Collision in Split Mongo"), so bumping it would make an
/// author's concurrent Studio save vanish. Left alone, the author's save wins, and the
/// migration's validation finds the block without its id.
pub async fn move_head(sql: &AnyPool, course: &CourseKey, branch: Branch, from: &str, to: &str) -> Result<bool, sqlx::Error> {
    let (update, reason) = match branch {
        Branch::Draft => (MOVE_DRAFT_HEAD, "Updated draft branch"),
        Branch::Published => (
            "UPDATE split_modulestore_django_splitmodulestorecourseindex SET published_version = ? WHERE course_id = ? AND published_version = ?",
            "Updated published branch",
        ),
    };
    let mut tx = edxval::begin_write(sql).await?;
    let done = sqlx::query(update).bind(to).bind(course.to_string()).bind(from).execute(&mut *tx).await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    record_history(&mut tx, &course.to_string(), reason).await?;
    tx.commit().await?;
    Ok(true)
}

/// The history row of the index row's current state; nothing on installations whose index has
/// no history table yet.
async fn record_history(conn: &mut AnyConnection, course_id: &str, reason: &str) -> Result<(), sqlx::Error> {
    let history = sqlx::query(
        "INSERT INTO split_modulestore_django_historicalsplitmodulestorecourseindex \
         (id, objectid, course_id, org, draft_version, published_version, library_version, wiki_slug, base_store, edited_on, last_update, \
          edited_by_id, history_date, history_change_reason, history_type, history_user_id) \
         SELECT id, objectid, course_id, org, draft_version, published_version, library_version, wiki_slug, base_store, edited_on, last_update, \
          edited_by_id, ?, ?, '~', NULL FROM split_modulestore_django_splitmodulestorecourseindex WHERE course_id = ?",
    )
    .bind(edxval::utc_now())
    .bind(reason)
    .bind(course_id)
    .execute(conn)
    .await;
    match history {
        Err(error) if !is_missing_table(&error) => Err(error),
        _ => Ok(()),
    }
}

/// `move_head`'s statements for a course id no row has (`check`, inside a transaction it rolls
/// back): the server checks the grants all the same. False when the installation has no index.
pub async fn probe_writes(conn: &mut AnyConnection, course_id: &str) -> Result<bool, sqlx::Error> {
    let update = sqlx::query(MOVE_DRAFT_HEAD).bind(course_id).bind(course_id).bind(course_id).execute(&mut *conn).await;
    match update {
        Err(error) if is_missing_table(&error) => return Ok(false),
        Err(error) => return Err(error),
        Ok(_) => {}
    }
    record_history(conn, course_id, "check").await?;
    Ok(true)
}
