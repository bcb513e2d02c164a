//! The commit step: one SQL transaction that records a video's uploaded transcripts in edx-val.
//! Rows that exist are never changed: a transcript a user added meanwhile wins over ours.

pub use model::contract::video::{CommitOutcome, CommitRequest};
use sqlx::AnyPool;

use crate::stores::edxval::{self, NewVideo, VideoTranscript};

pub async fn commit_video(edxval: &AnyPool, request: &CommitRequest) -> Result<CommitOutcome, sqlx::Error> {
    let mut tx = edxval::begin_write(edxval).await?;
    let mut outcome = CommitOutcome::default();
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
            edxval::create_video(&mut tx, &video).await?
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
                outcome.recorded.insert(language.clone());
            }
        }
    }
    tx.commit().await?;
    Ok(outcome)
}
