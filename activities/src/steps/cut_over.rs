//! `cut-over`: switches the learners of a course that a run migrated with `"cut_over": false`
//! (its run ended `validated`), once it still validates: the same validation a course run
//! makes, then the `edx_video_id`s into the blocks that lack them (as a course run's cut-over
//! writes them, one structure version per branch per chunk), then the flag, and the run is
//! closed `succeeded`. A course that no longer validates is left as it is, its problems named.

use model::CourseKey;
use model::contract::course::{CutOver, PageRequest, ValidateRequest, VideoFailure, VideoWriteBack};

use super::Stores;
use super::validate::validate;
use super::verify::last_run;
use super::write_back::write_back_all;
use crate::stores::course_log;

#[derive(Debug, Default)]
pub struct CutOverOutcome {
    /// Videos whose blocks now name their edx-val video.
    pub switched: u32,
    /// Why the course was not (or not wholly) switched.
    pub problems: Vec<VideoFailure>,
    /// Whether the flag row was appended (false when it was on already).
    pub flag_appended: bool,
}

pub async fn cut_over_course(stores: &Stores<'_>, course: &CourseKey) -> Result<CutOverOutcome, String> {
    let sql = stores.edxval;
    let (run_number, state) = last_run(sql, course).await.map_err(|e| format!("the course log: {e}"))?.ok_or("it was never migrated here")?;
    if state != "validated" {
        return Err(format!(
            "its last run ({run_number}) ended {state}; only a run with \"cut_over\": false, which ends validated, waits for a cut-over"
        ));
    }
    let mut outcome = CutOverOutcome::default();
    let mut write_backs = Vec::new();
    let mut after = None;
    loop {
        let page = PageRequest { course_key: course.clone(), after, page_size: 200 };
        let validated = validate(stores, &ValidateRequest { page, cut_over: CutOver::Course, strict: false }).await?;
        outcome.problems.extend(validated.failures);
        write_backs.extend(validated.write_backs);
        after = validated.next;
        if after.is_none() {
            break;
        }
    }
    if !outcome.problems.is_empty() {
        return Ok(outcome);
    }
    let answers = write_back_all(stores.modulestore, sql, course, run_number, &write_backs).await.map_err(|e| e.to_string())?;
    for (request, answer) in write_backs.iter().zip(answers) {
        match answer {
            VideoWriteBack::Done(_) => outcome.switched += 1,
            VideoWriteBack::Conflict(why) => outcome.problems.push(VideoFailure { usage_key: request.usage_key.clone(), message: why }),
        }
    }
    if outcome.problems.is_empty() {
        outcome.flag_appended = course_log::switch_on(sql, course, run_number).await.map_err(|e| format!("the course flag: {e}"))?;
    }
    Ok(outcome)
}
