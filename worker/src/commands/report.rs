//! `report`: what the migration did to courses, from the ledger and the course log, one row per
//! video and language, as CSV or JSON Lines: course, run, usage key, `edx_video_id`, language,
//! outcome (`migrated`, `rolled back`, `failed`), storage key, SHA-256, size, reason.

use activities::stores::ledger::{self, is_missing_table};
use model::CourseKey;
use serde::Serialize;
use sqlx::{AnyPool, Row};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    pub course: String,
    pub run: u32,
    pub usage_key: String,
    pub edx_video_id: String,
    pub language: String,
    pub outcome: String,
    pub key: String,
    pub sha256: String,
    pub size: u64,
    pub reason: String,
    pub recorded: String,
}

pub const COLUMNS: [&str; 11] = ["course", "run", "usage_key", "edx_video_id", "language", "outcome", "key", "sha256", "size", "reason", "recorded"];

impl ReportRow {
    fn fields(&self) -> [String; 11] {
        [
            self.course.clone(),
            self.run.to_string(),
            self.usage_key.clone(),
            self.edx_video_id.clone(),
            self.language.clone(),
            self.outcome.clone(),
            self.key.clone(),
            self.sha256.clone(),
            self.size.to_string(),
            self.reason.clone(),
            self.recorded.clone(),
        ]
    }
}

/// The course's rows: its transcripts in the ledger, then its failed videos.
pub async fn rows(sql: &AnyPool, course: &CourseKey) -> anyhow::Result<Vec<ReportRow>> {
    let mut rows: Vec<ReportRow> = ledger::entries(sql, course)
        .await?
        .into_iter()
        .filter(|e| e.kind == ledger::TRANSCRIPT)
        .map(|e| ReportRow {
            course: e.course_id,
            run: e.run_number,
            usage_key: e.usage_key,
            edx_video_id: e.edx_video_id,
            language: e.language_code,
            outcome: if e.undone.is_some() { "rolled back" } else { "migrated" }.into(),
            key: e.storage_key,
            sha256: e.sha256,
            size: e.size,
            reason: e.undone.map(|at| format!("rolled back at {at}")).unwrap_or_default(),
            recorded: e.recorded,
        })
        .collect();
    let failures = sqlx::query(
        "SELECT run_number, usage_key, message, recorded FROM transcript_migrator_video_failure WHERE course_id = ? ORDER BY run_number, usage_key",
    )
    .bind(course.to_string())
    .fetch_all(sql)
    .await;
    let failures = match failures {
        Err(error) if is_missing_table(&error) => Vec::new(),
        failures => failures?,
    };
    for row in failures {
        rows.push(ReportRow {
            course: course.to_string(),
            run: row.try_get::<i64, _>(0)? as u32,
            usage_key: row.try_get(1)?,
            edx_video_id: String::new(),
            language: String::new(),
            outcome: "failed".into(),
            key: String::new(),
            sha256: String::new(),
            size: 0,
            reason: row.try_get(2)?,
            recorded: row.try_get(3)?,
        });
    }
    Ok(rows)
}

/// One CSV line, quoted where a field needs it (RFC 4180).
pub fn csv_line(fields: &[String]) -> String {
    let quoted = fields.iter().map(|field| match field.contains([',', '"', '\n', '\r']) {
        true => format!("\"{}\"", field.replace('"', "\"\"")),
        false => field.clone(),
    });
    quoted.collect::<Vec<_>>().join(",")
}

pub fn print(rows: &[ReportRow], json_lines: bool) {
    if json_lines {
        for row in rows {
            println!("{}", serde_json::to_string(row).expect("a report row serializes"));
        }
    } else {
        println!("{}", COLUMNS.join(","));
        for row in rows {
            println!("{}", csv_line(&row.fields()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_where_needed() {
        let line = csv_line(&["a".into(), "b,c".into(), "say \"hi\"".into(), "two\nlines".into()]);
        assert_eq!(line, "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\"");
    }
}
