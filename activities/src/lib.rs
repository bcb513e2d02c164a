//! All I/O of the transcript migration, grouped by role.
//!
//! # Layout
//!
//! - [`stores`]: one module per external system: the modulestore (split and old Mongo), the
//!   contentstore (GridFS), edx-val's tables, the S3 bucket, edx-platform's SQL course index,
//!   the course log and flag, and the settings and throttles that reach them.
//! - [`formats`]: the transcript formats (SRT, SJSON) and where a video's transcript comes from
//!   in the contentstore, as edx-platform finds it.
//! - [`steps`]: the steps of the migration, one file each: discover, diff, upload, commit,
//!   compensate, write back, validate and the batch's course selection; and the operator's
//!   verify, rollback and cut-over.
//! - [`temporal`]: the steps registered as Temporal activities, under the names of
//!   `model::contract`.
//! - [`metrics`]: what the steps count, for the worker's Prometheus endpoint.

pub mod formats;
pub mod metrics;
pub mod steps;
pub mod stores;
pub mod temporal;
