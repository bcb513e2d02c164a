//! The commit step: one SQL transaction that records a video's uploaded transcripts in edx-val.
//! Rows that exist are never changed: a transcript a user added meanwhile wins over ours. What it
//! creates goes into the ledger in the same transaction.

pub use model::contract::video::{CommitOutcome, CommitRequest};
use sqlx::AnyPool;

use crate::stores::edxval::{self, NewVideo, VideoTranscript};
use crate::stores::ledger::{self, Entry};

/// What a commit created, for the worker's metrics (a retried commit creates nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Created {
    pub transcripts: u64,
    pub bytes: u64,
}

pub async fn commit_video(edxval: &AnyPool, request: &CommitRequest) -> Result<(CommitOutcome, Created), sqlx::Error> {
    let mut created = Created::default();
    let mut tx = edxval::begin_write(edxval).await?;
    let mut outcome = CommitOutcome::default();
    let course = &request.usage_key.course;
    let entry = |kind: &str| Entry {
        usage_key: request.usage_key.to_string(),
        edx_video_id: request.edx_video_id.clone(),
        ..Entry::new(course, request.run_number, kind)
    };
    // Unknown to edx-val: an external video under the plan's id (the block's own id, or the one
    // derived from its usage key), as edx-val's own `create_external_video` makes them: linked
    // to no course, so Studio's video list does not grow. A retried commit finds the video its
    // first attempt created. A known video's course links are left as they are.
    let video_id = match edxval::video(&mut tx, &request.edx_video_id).await? {
        Some(video) => {
            outcome.edx_video_id = video.edx_video_id;
            video.id
        }
        None => {
            outcome.edx_video_id = request.edx_video_id.clone();
            outcome.external_video_created = true;
            let video = NewVideo { edx_video_id: &request.edx_video_id, client_video_id: "external-video", status: "external", duration: 0.0 };
            let id = edxval::create_video(&mut tx, &video).await?;
            ledger::record(&mut tx, &entry(ledger::EXTERNAL_VIDEO)).await?;
            id
        }
    };
    let existing = edxval::transcripts(&mut tx, video_id).await?;
    for (language, key) in &request.transcripts {
        match existing.get(language) {
            Some(row) if &row.transcript == key => {
                outcome.recorded.insert(language.clone());
            }
            Some(_) => {
                outcome.kept_users.insert(language.clone());
            }
            None => {
                edxval::create_transcript(&mut tx, video_id, &VideoTranscript::custom_sjson(language, key)).await?;
                let source = request.sources.get(language);
                let row = Entry {
                    language_code: language.clone(),
                    storage_key: key.clone(),
                    source_file: source.map(|s| s.file.clone()).unwrap_or_default(),
                    sha256: source.map(|s| s.sha256.clone()).unwrap_or_default(),
                    size: source.map_or(0, |s| s.size),
                    ..entry(ledger::TRANSCRIPT)
                };
                ledger::record(&mut tx, &row).await?;
                created.transcripts += 1;
                created.bytes += row.size;
                outcome.recorded.insert(language.clone());
            }
        }
    }
    tx.commit().await?;
    Ok((outcome, created))
}
