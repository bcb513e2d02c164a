//! `verify`: the read-only audit of migrated courses (see `activities::steps::verify`).

use activities::steps::verify::verify_course;
use activities::temporal::MigrationActivities;
use model::CourseKey;

/// Prints each course's findings; answers whether every course verified.
pub async fn run(stores: &MigrationActivities, courses: &[CourseKey]) -> anyhow::Result<bool> {
    let mut clean = true;
    for course in courses {
        let verified = verify_course(&stores.stores(), course).await.map_err(|e| anyhow::anyhow!("course {course}: {e}"))?;
        let flag = match verified.flag {
            Some(true) => "on",
            Some(false) => "off",
            None => "unset",
        };
        let rolled_back = match (verified.rolled_back, verified.awaiting_cut_over) {
            (true, _) => " (rolled back)".to_string(),
            (false, Some(videos)) => format!(" (awaiting its cut-over: {videos} videos)"),
            (false, None) => String::new(),
        };
        match verified.problems.is_empty() {
            true => {
                println!("course {course}: verified{rolled_back}: {} transcripts of {} videos; flag {flag}", verified.transcripts, verified.videos)
            }
            false => {
                clean = false;
                println!(
                    "course {course}: {} PROBLEM(S) in {} transcripts of {} videos; flag {flag}",
                    verified.problems.len(),
                    verified.transcripts,
                    verified.videos
                );
                for problem in &verified.problems {
                    println!("  {}", problem.message);
                }
            }
        }
    }
    Ok(clean)
}
