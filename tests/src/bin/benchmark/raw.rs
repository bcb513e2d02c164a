//! The ceiling: the same kind of data moved by a plain loop with no orchestration, at the same
//! concurrency. Per video: read each language from GridFS and convert it to SJSON, PUT it to S3,
//! and record the video and its transcripts in edx-val in one SQL transaction. No diff, no
//! retries, no rollback, no write-back, no validation: only the copying a migration cannot avoid.

use activities::formats::transcript_source::read_copy;
use activities::stores::contentstore::Contentstore;
use activities::stores::edxval::{self, NewVideo, VideoTranscript};
use activities::stores::modulestore::Modulestore;
use activities::stores::s3::TranscriptBucket;
use activities::stores::settings::StoreSettings;
use futures::{StreamExt, TryStreamExt};
use model::video::VideoUnit;
use sqlx::AnyPool;

/// What the loop moved.
#[derive(Debug, Default)]
pub struct Copied {
    pub videos: usize,
    pub transcripts: usize,
}

struct Stores {
    contentstore: Contentstore,
    bucket: TranscriptBucket,
    edxval: AnyPool,
}

pub async fn copy_all(settings: &StoreSettings, concurrency: usize) -> anyhow::Result<Copied> {
    let modulestore = Modulestore::connect(&settings.modulestore).await?;
    let stores = Stores {
        contentstore: Contentstore::connect(&settings.contentstore).await?,
        bucket: TranscriptBucket::connect(&settings.s3).await,
        edxval: edxval::connect(&settings.edxval_database_url).await?,
    };
    let listing = modulestore.course_keys().await?;
    // Courses one after another, each course's videos `concurrency` at a time: the course is
    // read once, as a migration must.
    let mut copied = Copied::default();
    for course in &listing.courses {
        let units = activities::steps::discover::course_units(&modulestore, course).await?;
        let counts: Vec<usize> =
            futures::stream::iter(units.iter().map(|unit| copy_video(&stores, unit))).buffer_unordered(concurrency).try_collect().await?;
        copied.videos += counts.len();
        copied.transcripts += counts.iter().sum::<usize>();
    }
    Ok(copied)
}

async fn copy_video(stores: &Stores, unit: &VideoUnit) -> anyhow::Result<usize> {
    let usage_key = &unit.usage_key;
    let copy = unit.copies.iter().max_by_key(|c| c.branch == model::Branch::Published).expect("a unit has a copy");
    let languages = copy.fields.languages().map_err(|found| anyhow::anyhow!("video {usage_key}: transcripts field {found}"))?;
    let mut keys = Vec::new();
    for language in &languages {
        let (_, sjson) = read_copy(&stores.contentstore, usage_key, copy, language).await?;
        let key = model::ids::transcript_key(model::ids::DEFAULT_DIRECTORY_PREFIX, "raw-copy", usage_key, language);
        stores.bucket.put_if_absent(&key, sjson).await?;
        keys.push((language, key));
    }
    let edx_video_id = model::plan::target_edx_video_id(usage_key, unit.copies.iter().map(|c| c.fields.edx_video_id.as_str()))
        .map_err(|disagreement| anyhow::anyhow!("video {usage_key}: {disagreement}"))?;
    let mut tx = edxval::begin_write(&stores.edxval).await?;
    let video = NewVideo { edx_video_id: &edx_video_id, client_video_id: "external-video", status: "external", duration: 0.0 };
    let video_id = edxval::create_video(&mut tx, &video).await?;
    for (language, key) in &keys {
        edxval::create_transcript(&mut tx, video_id, &VideoTranscript::custom_sjson(language, key)).await?;
    }
    tx.commit().await?;
    Ok(keys.len())
}
