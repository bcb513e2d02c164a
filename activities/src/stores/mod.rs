//! The external systems the migration reads and writes, one module each, and the settings and
//! throttles with which a worker reaches them.

pub mod contentstore;
pub mod course_log;
pub mod edxval;
pub mod ledger;
pub mod modulestore;
pub mod s3;
pub mod settings;
pub mod split_course_index;
pub mod sql_probe;
pub mod structures;
pub mod throttle;
