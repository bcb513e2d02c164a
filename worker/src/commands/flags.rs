//! `flags show|enable|disable`: the courses' `CourseVideoTranscriptEnabledFlag`, which older
//! releases read to switch a course's learners to edx-val. `enable` appends a row only for a
//! course that verifies; for one whose run waits for its cut-over, it runs the cut-over.

use activities::steps::verify::verify_course;
use activities::stores::course_log;
use activities::temporal::MigrationActivities;
use clap::ValueEnum;
use model::CourseKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlagAction {
    Show,
    Enable,
    Disable,
}

pub async fn run(stores: &MigrationActivities, action: FlagAction, courses: &[CourseKey]) -> anyhow::Result<bool> {
    let sql = &stores.edxval;
    let mut all_done = true;
    for course in courses {
        let mut conn = sql.acquire().await?;
        let flag = course_log::flag(&mut conn, &course.to_string()).await?;
        drop(conn);
        let shown = match flag {
            Some(true) => "on",
            Some(false) => "off",
            None => "unset",
        };
        match action {
            FlagAction::Show => println!("{course}: {shown}"),
            FlagAction::Disable if flag != Some(true) => println!("{course}: {shown} already"),
            FlagAction::Enable if flag == Some(true) => println!("{course}: on already"),
            FlagAction::Disable => {
                course_log::append_flag(sql, course, false).await?;
                println!("{course}: off (was on)");
            }
            FlagAction::Enable => {
                let verified = verify_course(&stores.stores(), course).await.map_err(|e| anyhow::anyhow!("course {course}: {e}"))?;
                if verified.awaiting_cut_over.is_some() {
                    // A course migrated with "cut_over": false switches as a whole: blocks and flag.
                    println!("{course}: its last run waits for its cut-over; cutting it over");
                    all_done &= super::cut_over::run_one(stores, course).await?;
                    continue;
                }
                let problems: Vec<_> = verified.problems.iter().filter(|p| !p.about_flag).collect();
                if problems.is_empty() {
                    course_log::append_flag(sql, course, true).await?;
                    println!("{course}: on (was {shown})");
                } else {
                    all_done = false;
                    println!("{course}: left {shown}: it does not verify ({} problem(s)):", problems.len());
                    problems.iter().for_each(|p| println!("  {}", p.message));
                }
            }
        }
    }
    Ok(all_done)
}
