//! The steps of the migration, each the work of one activity (see `temporal`):
//!
//! - a batch: [`select_courses`];
//! - a course run: [`discover`], [`write_back`], [`validate`] (and the course log, in
//!   `stores::course_log`);
//! - a video's transaction: [`diff`], [`upload`], [`commit`], [`compensate`]; the bytes the
//!   diff read wait for the upload in [`planned_reads`].

pub mod commit;
pub mod compensate;
pub mod diff;
pub mod discover;
pub mod planned_reads;
pub mod select_courses;
pub mod upload;
pub mod validate;
pub mod write_back;
