//! The promises checked after every reliability scenario, against what the stores hold: every
//! transcript migrated exactly once, no orphan object, nothing that existed before changed,
//! flags only where validation passed, every failure reported.

use std::collections::{BTreeMap, BTreeSet};

use activities::stores::edxval::{self, VideoTranscript};
use activities::stores::s3::TranscriptBucket;
use activities::stores::settings::StoreSettings;
use model::contract::course::VideoFailure;
use seed::Manifest;
use seed::manifest::Outcome;
use sha2::Digest;
use temporalio_client::{Client, WorkflowGetResultOptions};
use workflows::migrate_course::{MigrateCourse, course_workflow_id};

use crate::final_edx_video_id;

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// What the stores hold for a dataset: every object of its bucket (key → SHA-256) and every
/// edx-val transcript row of its videos ((`edx_video_id`, language) → row).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub objects: BTreeMap<String, String>,
    pub rows: BTreeMap<(String, String), VideoTranscript>,
}

pub async fn snapshot(settings: &StoreSettings, manifest: &Manifest) -> Snapshot {
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let mut objects = BTreeMap::new();
    for key in bucket.list("").await.unwrap() {
        let bytes = bucket.get(&key).await.unwrap().expect("a listed object");
        objects.insert(key, sha(&bytes));
    }
    let pool = edxval::connect(&settings.edxval_database_url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let mut rows = BTreeMap::new();
    for video in manifest.courses.iter().flat_map(|c| &c.videos) {
        let edx_video_id = final_edx_video_id(video);
        let Some(found) = edxval::video(&mut conn, &edx_video_id).await.unwrap() else { continue };
        for (language, row) in edxval::transcripts(&mut conn, found.id).await.unwrap() {
            rows.insert((edx_video_id.clone(), language), row);
        }
    }
    Snapshot { objects, rows }
}

/// Breaches of the promises, each named; a clean audit has them all empty.
#[derive(Debug, Default)]
pub struct Audit {
    pub transcripts_checked: usize,
    /// A transcript that should have been migrated and is not readable with its content.
    pub lost: Vec<String>,
    /// A transcript stored more than once.
    pub duplicated: Vec<String>,
    /// An object or row that existed before, changed or gone.
    pub overwritten: Vec<String>,
    /// An object no edx-val row names and that did not exist before.
    pub orphans: Vec<String>,
    /// A flag on where validation should not have passed, or off where it should have.
    pub wrong_flags: Vec<String>,
    /// A broken video not reported, or a sound one reported as failed.
    pub misreported: Vec<String>,
}

impl Audit {
    pub fn is_clean(&self) -> bool {
        [&self.lost, &self.duplicated, &self.overwritten, &self.orphans, &self.wrong_flags, &self.misreported].iter().all(|v| v.is_empty())
    }

    pub fn add(&mut self, other: Audit) {
        self.transcripts_checked += other.transcripts_checked;
        self.lost.extend(other.lost);
        self.duplicated.extend(other.duplicated);
        self.overwritten.extend(other.overwritten);
        self.orphans.extend(other.orphans);
        self.wrong_flags.extend(other.wrong_flags);
        self.misreported.extend(other.misreported);
    }

    pub fn summary(&self) -> String {
        format!(
            "transcripts checked {}, lost {}, duplicated {}, overwritten {}, orphans {}, wrong flags {}, misreported {}",
            self.transcripts_checked,
            self.lost.len(),
            self.duplicated.len(),
            self.overwritten.len(),
            self.orphans.len(),
            self.wrong_flags.len(),
            self.misreported.len()
        )
    }
}

/// Each course's failures as its last run reports them (course key → failures), every one of
/// them listed.
pub async fn reported_failures(client: &Client, courses: &[String]) -> BTreeMap<String, Vec<VideoFailure>> {
    let mut reported = BTreeMap::new();
    for course in courses {
        let id = course_workflow_id(&course.parse().unwrap(), false);
        let result = client
            .get_workflow_handle::<MigrateCourse>(&id)
            .get_result(WorkflowGetResultOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{id}: {e:?}"));
        assert_eq!(result.more_failures, 0, "{course}: every failure is listed");
        reported.insert(course.clone(), result.failures);
    }
    reported
}

/// Checks the stores after a migration of `manifest`'s courses, against `before` (taken after
/// seeding) and the failures the course runs reported (course key → failures).
pub async fn audit(settings: &StoreSettings, manifest: &Manifest, before: &Snapshot, reported: &BTreeMap<String, Vec<VideoFailure>>) -> Audit {
    let after = snapshot(settings, manifest).await;
    let pool = edxval::connect(&settings.edxval_database_url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let mut audit = Audit::default();

    for (key, content) in &before.objects {
        if after.objects.get(key) != Some(content) {
            audit.overwritten.push(format!("object {key}"));
        }
    }
    for (id, row) in &before.rows {
        if after.rows.get(id) != Some(row) {
            audit.overwritten.push(format!("edx-val row {id:?}"));
        }
    }
    let named: BTreeSet<&String> = after.rows.values().map(|row| &row.transcript).collect();
    audit.orphans = after.objects.keys().filter(|key| !before.objects.contains_key(*key) && !named.contains(key)).cloned().collect();

    let mut copies = BTreeMap::<&String, usize>::new();
    for (key, content) in &after.objects {
        if !before.objects.contains_key(key) {
            *copies.entry(content).or_default() += 1;
        }
    }
    // A content may rightly be stored more than once: one file that two languages name.
    let mut holders = BTreeMap::<&String, BTreeSet<(String, &String)>>::new();
    for video in manifest.courses.iter().flat_map(|c| &c.videos).filter(|v| v.expected.outcome == Outcome::Migrated) {
        for (language, transcript) in &video.expected.migrate {
            holders.entry(&transcript.sha256).or_default().insert((final_edx_video_id(video), language));
        }
    }
    for course in &manifest.courses {
        let failures = reported.get(&course.course_key).map(Vec::as_slice).unwrap_or_default();
        for video in &course.videos {
            let edx_video_id = final_edx_video_id(video);
            let is_reported = failures.iter().any(|f| f.usage_key.to_string() == video.usage_key && !f.message.starts_with("validation"));
            match video.expected.outcome {
                Outcome::Failed if !is_reported => audit.misreported.push(format!("{}: broken but not reported", video.usage_key)),
                Outcome::Migrated if is_reported => audit.misreported.push(format!("{}: sound but reported failed", video.usage_key)),
                _ => {}
            }
            if video.expected.outcome != Outcome::Migrated {
                continue;
            }
            for (language, transcript) in &video.expected.migrate {
                if before.rows.contains_key(&(edx_video_id.clone(), language.clone())) {
                    continue; // a user's transcript, recorded while the migration ran: theirs wins
                }
                audit.transcripts_checked += 1;
                let what = format!("{} ({edx_video_id}) {language}", video.usage_key);
                let stored = after.rows.get(&(edx_video_id.clone(), language.clone())).and_then(|row| after.objects.get(&row.transcript));
                if stored != Some(&transcript.sha256) {
                    audit.lost.push(what.clone());
                }
                if copies.get(&transcript.sha256).copied().unwrap_or(0) > holders.get(&transcript.sha256).map_or(1, BTreeSet::len) {
                    audit.duplicated.push(what);
                }
            }
        }
        let flag = activities::stores::course_log::flag(&mut conn, &course.course_key).await.unwrap();
        if flag.unwrap_or(false) != course.flag_expected {
            audit.wrong_flags.push(format!("{}: flag {flag:?}, expected {}", course.course_key, course.flag_expected));
        }
    }
    audit
}
