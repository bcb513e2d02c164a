//! `start`: a `MigrateCourses` batch from courses given as arguments, from a file, or `--all`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use model::contract::course::CutOver;
use temporalio_client::{Client, WorkflowStartOptions};
use workflows::migrate_courses::{MigrateCourses, MigrateCoursesInput};
use workflows::window::Window;

#[derive(Debug, Args)]
#[group(skip)]
pub struct Start {
    /// Course keys to migrate (`course-v1:…` or `org/course/run`).
    pub courses: Vec<String>,
    /// A file of course keys, one per line (`#` starts a comment).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Every course of the modulestore.
    #[arg(long)]
    pub all: bool,
    /// Plan only: nothing is written anywhere.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave out courses whose transcript flag is on already.
    #[arg(long)]
    pub skip_migrated: bool,
    /// Start at most this many courses.
    #[arg(long)]
    pub max_courses: Option<u32>,
    #[arg(long, default_value_t = 4)]
    pub max_courses_in_flight: u32,
    #[arg(long, default_value_t = 8)]
    pub max_videos_in_flight_per_course: u32,
    /// Videos in flight across the running courses.
    #[arg(long, default_value_t = 32)]
    pub max_videos_in_flight: u32,
    /// Each course starts at most this many videos per minute (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub videos_per_minute: u32,
    /// Switch learners per `course` (after the whole course validated), per `video`, or
    /// `later` (migrate and validate only; `cut-over` switches them).
    #[arg(long, value_parser = ["course", "video", "later"], default_value = "course")]
    pub cut_over: String,
    /// A language with no source file, or an empty one, fails its video.
    #[arg(long)]
    pub strict: bool,
    /// A maintenance window: start courses and videos only from this local time (`22:00`)…
    #[arg(long, requires = "window_to")]
    pub window_from: Option<String>,
    /// …until this one (`06:00`: the next morning)…
    #[arg(long, requires = "window_from")]
    pub window_to: Option<String>,
    /// …on these days (`Mon-Fri`, `Sat,Sun`; every day by default)…
    #[arg(long, default_value = "*")]
    pub window_days: String,
    /// …in this time zone (`Europe/Berlin`).
    #[arg(long, default_value = "UTC")]
    pub window_tz: String,
    /// The batch's workflow id (default: `transcript-migration-` and the UTC time).
    #[arg(long)]
    pub id: Option<String>,
}

impl Start {
    /// The batch's input, as `temporal workflow start --input` would take it.
    pub fn input(&self) -> anyhow::Result<MigrateCoursesInput> {
        let mut course_keys = self.courses.clone();
        if let Some(file) = &self.file {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            course_keys.extend(text.lines().map(|line| line.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()).map(String::from));
        }
        if course_keys.is_empty() != self.all {
            anyhow::bail!("name the courses (as arguments or with --file), or give --all");
        }
        let mut input: MigrateCoursesInput = serde_json::from_value(serde_json::json!({ "all_courses": self.all, "course_keys": course_keys }))?;
        input.dry_run = self.dry_run;
        input.skip_migrated = self.skip_migrated;
        input.max_courses = self.max_courses;
        input.max_courses_in_flight = self.max_courses_in_flight;
        input.max_videos_in_flight_per_course = self.max_videos_in_flight_per_course;
        input.max_videos_in_flight = self.max_videos_in_flight;
        input.videos_per_minute = self.videos_per_minute;
        input.cut_over = match self.cut_over.as_str() {
            "video" => CutOver::Video,
            "later" => CutOver::Later,
            _ => CutOver::Course,
        };
        input.strict = self.strict;
        input.window = match (&self.window_from, &self.window_to) {
            (Some(from), Some(to)) => {
                let window = Window { days: self.window_days.clone(), from: from.clone(), to: to.clone(), tz: self.window_tz.clone() };
                window.schedule().map_err(anyhow::Error::msg)?;
                Some(window)
            }
            _ => None,
        };
        Ok(input)
    }

    pub fn workflow_id(&self) -> String {
        self.id.clone().unwrap_or_else(|| {
            let now = activities::stores::edxval::utc_now();
            let stamp: String = now[..19].chars().filter(char::is_ascii_digit).collect();
            format!("transcript-migration{}-{stamp}", if self.dry_run { "-dry-run" } else { "" })
        })
    }

    /// Starts the batch; answers its workflow id.
    pub async fn run(&self, client: &Client, task_queue: &str) -> anyhow::Result<String> {
        let input = self.input()?;
        let id = self.workflow_id();
        let options = WorkflowStartOptions::new(task_queue.to_string(), id.clone()).build();
        client
            .start_workflow(MigrateCourses::run, serde_json::to_value(&input)?, options)
            .await
            .with_context(|| format!("starting batch {id} (is a batch of that id running?)"))?;
        Ok(id)
    }
}
