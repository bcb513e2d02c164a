//! The SJSON the diff read for the languages it planned, kept in this worker's memory so that
//! the upload sends those very bytes instead of reading and converting the file again. Content
//! never goes through Temporal: an upload that runs on another worker, or after the bytes were
//! dropped to stay within the bound, reads the file itself and checks it against the plan.
//! Bytes older than `MAX_AGE` are not sent: a course run diffs a whole page before its videos
//! start, and a paused or paced run may upload long after, when an author may have changed the
//! file; read again, a changed file fails its video instead of migrating the old content.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use model::UsageKey;

/// At most this many bytes are kept; the oldest go first.
const MAX_BYTES: usize = 32 * 1024 * 1024;
/// Kept bytes older than this are read again.
const MAX_AGE: Duration = Duration::from_secs(60);

/// A planned transcript: the video's usage key, the language code and the SHA-256 of its SJSON.
type Key = (UsageKey, String, String);

#[derive(Default)]
pub struct PlannedReads {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    bytes: HashMap<Key, (Instant, Vec<u8>)>,
    order: VecDeque<Key>,
    total: usize,
}

impl PlannedReads {
    pub fn keep(&self, usage_key: &UsageKey, language: &str, sha256: &str, sjson: Vec<u8>) {
        if sjson.len() > MAX_BYTES {
            return;
        }
        let key = (usage_key.clone(), language.to_string(), sha256.to_string());
        let mut kept = self.kept.lock().unwrap();
        kept.total += sjson.len();
        if let Some((_, old)) = kept.bytes.insert(key.clone(), (Instant::now(), sjson)) {
            kept.total -= old.len();
        } else {
            kept.order.push_back(key);
        }
        while kept.total > MAX_BYTES {
            let Some(oldest) = kept.order.pop_front() else { break };
            if let Some((_, dropped)) = kept.bytes.remove(&oldest) {
                kept.total -= dropped.len();
            }
        }
    }

    /// The bytes kept for this transcript, if any and fresh; they are not kept any longer.
    pub fn take(&self, usage_key: &UsageKey, language: &str, sha256: &str) -> Option<Vec<u8>> {
        self.take_at(usage_key, language, sha256, Instant::now())
    }

    fn take_at(&self, usage_key: &UsageKey, language: &str, sha256: &str, now: Instant) -> Option<Vec<u8>> {
        let key = (usage_key.clone(), language.to_string(), sha256.to_string());
        let mut kept = self.kept.lock().unwrap();
        let (read_at, sjson) = kept.bytes.remove(&key)?;
        kept.total -= sjson.len();
        kept.order.retain(|k| k != &key);
        (now.duration_since(read_at) <= MAX_AGE).then_some(sjson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(block_id: &str) -> UsageKey {
        "course-v1:a+b+c".parse::<model::CourseKey>().unwrap().usage_key("video", block_id)
    }

    #[test]
    fn bytes_are_taken_once_and_only_for_the_planned_content() {
        let reads = PlannedReads::default();
        let v = video("v");
        reads.keep(&v, "de", "aa", b"{}".to_vec());
        assert_eq!(reads.take(&v, "de", "bb"), None, "other content");
        assert_eq!(reads.take(&v, "fr", "aa"), None, "other language");
        assert_eq!(reads.take(&video("w"), "de", "aa"), None, "other video");
        assert_eq!(reads.take(&v, "de", "aa"), Some(b"{}".to_vec()));
        assert_eq!(reads.take(&v, "de", "aa"), None, "taken");
        assert_eq!(reads.kept.lock().unwrap().total, 0);
    }

    #[test]
    fn stale_bytes_are_read_again() {
        let reads = PlannedReads::default();
        reads.keep(&video("v"), "de", "aa", b"{}".to_vec());
        let later = Instant::now() + MAX_AGE + Duration::from_secs(1);
        assert_eq!(reads.take_at(&video("v"), "de", "aa", later), None, "too old to send");
        assert_eq!(reads.kept.lock().unwrap().total, 0, "and dropped");
        reads.keep(&video("v"), "de", "aa", b"{}".to_vec());
        assert!(reads.take_at(&video("v"), "de", "aa", Instant::now()).is_some(), "fresh");
    }

    #[test]
    fn the_oldest_bytes_go_first_beyond_the_bound() {
        let reads = PlannedReads::default();
        let third = MAX_BYTES / 3 + 1;
        for block_id in ["v1", "v2", "v3"] {
            reads.keep(&video(block_id), "en", "h", vec![0; third]);
        }
        assert_eq!(reads.take(&video("v1"), "en", "h"), None, "dropped to stay within the bound");
        assert!(reads.take(&video("v2"), "en", "h").is_some() && reads.take(&video("v3"), "en", "h").is_some());
        reads.keep(&video("huge"), "en", "h", vec![0; MAX_BYTES + 1]);
        assert_eq!(reads.take(&video("huge"), "en", "h"), None, "never kept");
        assert_eq!(reads.kept.lock().unwrap().total, 0);
    }
}
