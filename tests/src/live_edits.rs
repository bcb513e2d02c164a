//! Users at work while the migration runs: transcripts uploaded to edx-val and S3 (as Studio
//! does) for videos being migrated. What they create is theirs: the audit counts it as existing
//! before, so the migration must leave it as it is.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use activities::edxval::{self, NewVideo, VideoTranscript};
use activities::s3::TranscriptBucket;
use activities::settings::StoreSettings;
use seed::Manifest;
use seed::manifest::Outcome;
use seed::rng::Rng;
use sha2::Digest;

use crate::invariants::Snapshot;

/// What the users did.
#[derive(Debug, Default)]
pub struct UserEdits {
    /// Transcripts recorded: ((`edx_video_id`, language), row) and the object's key and SHA-256.
    pub uploads: Vec<((String, String), VideoTranscript, String)>,
    /// Uploads given up because edx-val had the language already (the migration was first).
    pub too_late: usize,
    /// Uploads that failed or came too late: (`edx_video_id`, language, key, SHA-256). Their
    /// objects are removed at the end, unless the answer was lost and the row is there.
    leftovers: Vec<(String, String, String, String)>,
}

impl UserEdits {
    /// Cleans up after the failed uploads (now that the stores are back) and adds what the users
    /// created to `before`, as things the migration must not touch.
    pub async fn settle(mut self, settings: &StoreSettings, before: &mut Snapshot) -> Self {
        let bucket = TranscriptBucket::connect(&settings.s3).await;
        let pool = edxval::connect(&settings.edxval_database_url).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        for (edx_video_id, language, key, content) in std::mem::take(&mut self.leftovers) {
            let video = edxval::video(&mut conn, &edx_video_id).await.unwrap();
            let row = match video {
                Some(video) => edxval::transcripts(&mut conn, video.id).await.unwrap().remove(&language).filter(|row| row.transcript == key),
                None => None,
            };
            match row {
                Some(row) => self.uploads.push(((edx_video_id, language), row, content)),
                None => bucket.delete(&key).await.expect("removing a user's failed upload"),
            }
        }
        for ((edx_video_id, language), row, content) in &self.uploads {
            before.objects.insert(row.transcript.clone(), content.clone());
            before.rows.insert((edx_video_id.clone(), language.clone()), row.clone());
        }
        self
    }
}

/// Uploads a transcript for `language` of the video unless edx-val has one: `Ok(None)` then.
async fn upload(pool: &sqlx::AnyPool, course_key: &str, edx_video_id: &str, language: &str, key: &str) -> anyhow::Result<Option<VideoTranscript>> {
    let mut tx = edxval::begin_write(pool).await?;
    let video_id = match edxval::video(&mut tx, edx_video_id).await? {
        Some(video) => video.id,
        None => {
            let video = NewVideo { edx_video_id, client_video_id: "uploaded in Studio", status: "upload", duration: 0.0 };
            edxval::create_video(&mut tx, &video).await?
        }
    };
    if edxval::transcripts(&mut tx, video_id).await?.contains_key(language) {
        return Ok(None);
    }
    edxval::link_course_video(&mut tx, course_key, video_id).await?;
    let row = VideoTranscript::custom_sjson(language, key);
    edxval::create_transcript(&mut tx, video_id, &row).await?;
    tx.commit().await?;
    Ok(Some(row))
}

/// Users uploading, every half second or so, a transcript for a language the migration is about to
/// write, of a video that has an `edx_video_id`, until `stop` is set.
pub async fn users_uploading(settings: StoreSettings, manifest: Manifest, seed: u64, stop: Arc<AtomicBool>) -> UserEdits {
    let pool = edxval::connect(&settings.edxval_database_url).await.unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut candidates: Vec<(String, String, String)> = manifest
        .courses
        .iter()
        .flat_map(|c| c.videos.iter().map(move |v| (c, v)))
        .filter(|(_, v)| v.expected.outcome == Outcome::Migrated && !v.edx_video_id.is_empty())
        .flat_map(|(c, v)| v.expected.migrate.keys().map(move |l| (c.course_key.clone(), v.edx_video_id.clone(), l.clone())))
        .collect();
    let mut edits = UserEdits::default();
    while !stop.load(Ordering::SeqCst) && !candidates.is_empty() {
        tokio::time::sleep(Duration::from_millis(rng.range(200, 1000))).await;
        let (course_key, edx_video_id, language) = candidates.swap_remove(rng.range(0, candidates.len() as u64) as usize);
        let content = format!(r#"{{"start": [0], "end": [1000], "text": ["{language}, uploaded by a user"]}}"#).into_bytes();
        let sha = hex::encode(sha2::Sha256::digest(&content));
        // Studio stores the file first, then records it.
        let key = format!("video-transcripts/{}.sjson", rng.hex32());
        let stored = bucket.put_if_absent(&key, content).await.is_ok();
        match if stored { upload(&pool, &course_key, &edx_video_id, &language, &key).await } else { Ok(None) } {
            Ok(Some(row)) => edits.uploads.push(((edx_video_id, language), row, sha)),
            outcome => {
                edits.too_late += usize::from(stored && matches!(outcome, Ok(None)));
                edits.leftovers.push((edx_video_id, language, key, sha));
            }
        }
    }
    edits
}
