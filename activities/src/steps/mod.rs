//! The steps of the migration, each the work of one activity (see `temporal`):
//!
//! - a batch: [`select_courses`];
//! - a course run: [`discover`], [`write_back`], [`validate`] (and the course log, in
//!   `stores::course_log`);
//! - a video's transaction: [`diff`], [`upload`], [`commit`], [`compensate`]; the bytes the
//!   diff read wait for the upload in [`planned_reads`], and it asks [`shared_videos`] whether
//!   other courses use the video;
//! - the operator's, long after a run: [`verify`] and [`rollback`] (from the ledger), and
//!   [`cut_over`] for a course migrated with `"cut_over": false`.

pub mod commit;
pub mod compensate;
pub mod cut_over;
pub mod diff;
pub mod discover;
pub mod planned_reads;
pub mod rollback;
pub mod select_courses;
pub mod shared_videos;
pub mod upload;
pub mod validate;
pub mod verify;
pub mod write_back;

use sqlx::AnyPool;

use crate::stores::contentstore::Contentstore;
use crate::stores::modulestore::Modulestore;
use crate::stores::s3::TranscriptBucket;

/// The stores the diff and validation read.
pub struct Stores<'a> {
    pub modulestore: &'a Modulestore,
    pub contentstore: &'a Contentstore,
    pub edxval: &'a AnyPool,
    pub bucket: &'a TranscriptBucket,
}
