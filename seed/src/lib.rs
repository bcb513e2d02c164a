//! Realistic Open edX data for the local stack: courses in both modulestore layouts, transcripts
//! in GridFS, videos edx-val already knows, and the manifest of what a correct migration of it
//! all must produce.

pub mod content;
pub mod dataset;
pub mod fixtures;
pub mod manifest;
pub mod rng;
pub mod write;

pub use dataset::{Dataset, Plan};
pub use manifest::Manifest;
