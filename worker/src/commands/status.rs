//! `status` and `watch`: one line on where a batch or a course run stands, gh-ost style:
//! courses and videos done of total, rate, time left, paused or not, failures. `watch` prints it
//! again every few seconds until the run ends, then its outcome.

use std::time::Duration;

use temporalio_client::{Client, WorkflowExecutionStatus, WorkflowQueryOptions};
use workflows::controller::{Control, Throughput};
use workflows::migrate_course::MigrateCourse;
use workflows::migrate_courses::MigrateCourses;

use super::{Target, status_of};

/// Where a run stands, in one line, and whether it is still running.
pub async fn status_line(client: &Client, target: &Target) -> anyhow::Result<(String, bool)> {
    let id = target.workflow_id();
    let status = status_of(client, &id).await?.ok_or_else(|| anyhow::anyhow!("Temporal has no workflow {id}"))?;
    let running = status == WorkflowExecutionStatus::Running;
    let line = match target {
        Target::Batch(_) => batch_line(client, &id).await?,
        Target::Course(_) => course_line(client, &id).await?.0,
    };
    let closed = if running { String::new() } else { format!(" · workflow {}", format!("{status:?}").to_lowercase()) };
    Ok((format!("{id}: {line}{closed}"), running))
}

async fn batch_line(client: &Client, id: &str) -> anyhow::Result<String> {
    let handle = client.get_workflow_handle::<MigrateCourses>(id);
    let progress = handle.query(MigrateCourses::progress, (), WorkflowQueryOptions::default()).await.map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
    let counts = &progress.counts;
    // Videos of the courses still running, from their own runs.
    let (mut done, mut total) = (counts.videos, counts.videos);
    for course in &progress.control.in_flight {
        if let Ok((_, course_done, course_total)) = course_line(client, &workflows::migrate_course::course_workflow_id(course, false)).await {
            done += course_done;
            total += course_total;
        }
    }
    let control = &progress.control;
    Ok(format!(
        "{} · courses {}/{} ({} passed, {} failed, {} already migrated) · videos {done}/{total} ({} migrated, {} failed) · {} in flight{}{}",
        state(control),
        control.done + control.skipped,
        total_text(control.total),
        counts.passed + counts.planned,
        counts.failed,
        counts.already_migrated,
        counts.videos_migrated,
        counts.videos_failed,
        control.in_flight.len(),
        rate(&control.throughput, "courses"),
        tuning(control),
    ))
}

/// A course run's line, with its videos done and total.
async fn course_line(client: &Client, id: &str) -> anyhow::Result<(String, u32, u32)> {
    let handle = client.get_workflow_handle::<MigrateCourse>(id);
    let progress = handle.query(MigrateCourse::progress, (), WorkflowQueryOptions::default()).await.map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
    let (control, counts) = (&progress.control, &progress.counts);
    let line = format!(
        "{} ({}) · videos {}/{} ({} migrated, {} nothing to migrate, {} failed, {} validation problems) · {} in flight{}{}",
        state(control),
        progress.stage,
        control.done,
        total_text(control.total),
        counts.migrated,
        counts.nothing_to_migrate,
        counts.failed,
        counts.validation_failures,
        control.in_flight.len(),
        rate(&control.throughput, "videos"),
        tuning(control),
    );
    Ok((line, control.done, control.total.unwrap_or(control.done)))
}

fn state<K>(control: &Control<K>) -> String {
    let until = |ms: i64| activities::stores::edxval::format_datetime(ms)[..19].to_string() + " UTC";
    match (control.paused, control.window) {
        (true, Some(window)) if !window.open && !control.window_overridden => {
            format!("PAUSED outside its window, until {}", until(window.until_ms))
        }
        (true, _) => "PAUSED by an operator (resume to go on)".to_string(),
        (false, Some(window)) if window.open => format!("{} (window open until {})", control.state.as_str(), until(window.until_ms)),
        (false, _) => control.state.as_str().to_string(),
    }
}

fn total_text(total: Option<u32>) -> String {
    total.map_or("?".into(), |t| t.to_string())
}

fn rate(throughput: &Throughput, what: &str) -> String {
    let eta = throughput.eta_seconds.map(|s| format!(" · ETA {}", duration(s))).unwrap_or_default();
    format!(" · {:.1} {what}/min{eta}", throughput.per_minute)
}

fn tuning<K>(control: &Control<K>) -> String {
    control.tuning_error.as_ref().map(|e| format!(" · last tune refused: {e}")).unwrap_or_default()
}

/// `1h02m`, `4m05s`, `12s`.
pub fn duration(seconds: u64) -> String {
    match seconds {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// Prints the status line every `interval` until the run ends; answers whether it completed.
pub async fn watch(client: &Client, target: &Target, interval: Duration) -> anyhow::Result<bool> {
    loop {
        let (line, running) = status_line(client, target).await?;
        println!("{line}");
        if !running {
            let status = status_of(client, &target.workflow_id()).await?;
            return Ok(status == Some(WorkflowExecutionStatus::Completed));
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_as_operators_write_them() {
        assert_eq!((duration(12), duration(245), duration(3725)), ("12s".into(), "4m05s".into(), "1h02m".into()));
    }
}
