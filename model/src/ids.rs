//! Ids the migration fixes. A transcript's storage key derives from the run id, so it is the
//! same on every retry of an activity and every replay of the workflow, and new for every run.
//! An external video's id derives from the usage key alone, so every run of a video finds the
//! external video an earlier run created, even one whose write-back into the block failed.

use sha2::{Digest, Sha256};

use crate::UsageKey;

/// 128 bits from a scope (a run id, or nothing) and a purpose, shaped as a version-4 UUID.
fn uuid_bytes(scope: &str, purpose: &str) -> [u8; 16] {
    let digest = Sha256::digest(format!("{scope}\n{purpose}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The storage key of a transcript, as edx-val names them: `video-transcripts/<uuid hex>.sjson`.
pub fn transcript_key(run_id: &str, usage_key: &UsageKey, language: &str) -> String {
    format!("video-transcripts/{}.sjson", hex(&uuid_bytes(run_id, &format!("transcript {usage_key} {language}"))))
}

/// Whether `key` has the shape of `transcript_key`'s keys. The upload and compensate-delete
/// steps write and delete no other key, whatever their input says.
pub fn is_transcript_key(key: &str) -> bool {
    let hex = key.strip_prefix("video-transcripts/").and_then(|rest| rest.strip_suffix(".sjson"));
    hex.is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// The `edx_video_id` of the external video a block without one gets, hyphenated like edx-val's
/// `str(uuid4())`.
pub fn external_edx_video_id(usage_key: &UsageKey) -> String {
    let h = hex(&uuid_bytes("transcript-migrator", &format!("external video {usage_key}")));
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(course: &str, block_id: &str) -> UsageKey {
        course.parse::<crate::CourseKey>().unwrap().usage_key("video", block_id)
    }

    #[test]
    fn stable_per_run_and_distinct_otherwise() {
        let v = video("course-v1:a+b+c", "v");
        let key = transcript_key("run-1", &v, "de");
        assert_eq!(key, transcript_key("run-1", &v, "de"));
        assert_ne!(key, transcript_key("run-2", &v, "de"));
        assert_ne!(key, transcript_key("run-1", &v, "fr"));
        assert_ne!(key, transcript_key("run-1", &video("course-v1:a+b+c", "w"), "de"));
        let hex = key.strip_prefix("video-transcripts/").unwrap().strip_suffix(".sjson").unwrap();
        assert!(hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(&hex[12..13], "4", "a version-4 UUID");
        assert!(is_transcript_key(&key));
    }

    #[test]
    fn only_keys_of_the_migrations_shape_are_transcript_keys() {
        for key in [
            "video-transcripts/../../etc/passwd.sjson",
            "video-transcripts/0123456789abcdef0123456789ABCDEF.sjson",
            "video-transcripts/0123456789abcdef0123456789abcde.sjson",
            "other/0123456789abcdef0123456789abcdef.sjson",
            "video-transcripts/0123456789abcdef0123456789abcdef.srt",
            "",
        ] {
            assert!(!is_transcript_key(key), "{key}");
        }
        assert!(is_transcript_key("video-transcripts/0123456789abcdef0123456789abcdef.sjson"));
    }

    #[test]
    fn external_ids_look_like_edxval_ones() {
        let id = external_edx_video_id(&video("edX/DemoX/2013", "v"));
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert!(crate::plan::is_valid_edx_video_id(&id));
        assert_eq!(id, external_edx_video_id(&video("edX/DemoX/2013", "v")), "the same for every run");
        assert_ne!(id, external_edx_video_id(&video("edX/DemoX/2013", "w")));
    }
}
