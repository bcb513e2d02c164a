//! edx-platform's SQL copy of the split modulestore's course index
//! (`split_modulestore_django_splitmodulestorecourseindex`, `common/djangoapps/split_modulestore_django`).
//! Since 2022 edx-platform reads a course's branch heads from this table when it exists and
//! writes them to both it and `modulestore.active_versions`; installations without the table
//! use only MongoDB.

use sqlx::{AnyPool, Row};
use workflows::{Branch, CourseKey};

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

/// Moves the branch head from `from` to `to` if it is still `from`; false when someone moved it
/// first. `last_update` is left alone, so an author's concurrent Studio save still goes through
/// (and wins): the migration's validation then finds the block without its id.
pub async fn compare_and_set_head(sql: &AnyPool, course: &CourseKey, branch: Branch, from: &str, to: &str) -> Result<bool, sqlx::Error> {
    let query = match branch {
        Branch::Draft => {
            "UPDATE split_modulestore_django_splitmodulestorecourseindex SET draft_version = ? WHERE course_id = ? AND draft_version = ?"
        }
        Branch::Published => {
            "UPDATE split_modulestore_django_splitmodulestorecourseindex SET published_version = ? WHERE course_id = ? AND published_version = ?"
        }
    };
    let done = sqlx::query(query).bind(to).bind(course.to_string()).bind(from).execute(sql).await?;
    Ok(done.rows_affected() == 1)
}
