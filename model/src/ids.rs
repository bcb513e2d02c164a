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

/// edx-val's default `VIDEO_TRANSCRIPTS_SETTINGS["DIRECTORY_PREFIX"]`.
pub const DEFAULT_DIRECTORY_PREFIX: &str = "video-transcripts/";

/// The storage key of a transcript as edx-val names them and keeps them in its `transcript`
/// column: `DIRECTORY_PREFIX` + uuid hex + `.sjson` (`edxval.models.video_transcript_path`,
/// which adds no separator of its own).
pub fn transcript_key(directory_prefix: &str, run_id: &str, usage_key: &UsageKey, language: &str) -> String {
    format!("{directory_prefix}{}.sjson", hex(&uuid_bytes(run_id, &format!("transcript {usage_key} {language}"))))
}

/// Whether `key` has the shape of `transcript_key`'s keys under `directory_prefix`. The upload
/// and compensate-delete steps write and delete no other key, whatever their input says.
pub fn is_transcript_key(directory_prefix: &str, key: &str) -> bool {
    let hex = key.strip_prefix(directory_prefix).and_then(|rest| rest.strip_suffix(".sjson"));
    hex.is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Why `prefix` cannot be a `DIRECTORY_PREFIX` the migration writes under, if it cannot: it
/// must be a relative path of plain segments (it is joined to the storage's `location`).
pub fn directory_prefix_problem(prefix: &str) -> Option<&'static str> {
    if prefix.starts_with('/') {
        return Some("it must not start with a slash");
    }
    if prefix.split('/').any(|segment| segment == ".." || segment == ".") {
        return Some("it must not hold . or .. segments");
    }
    if prefix.contains("//") || prefix.chars().any(|c| c.is_control() || c == '\\') {
        return Some("it must not hold empty segments, backslashes or control characters");
    }
    None
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

    const P: &str = DEFAULT_DIRECTORY_PREFIX;

    #[test]
    fn stable_per_run_and_distinct_otherwise() {
        let v = video("course-v1:a+b+c", "v");
        let key = transcript_key(P, "run-1", &v, "de");
        assert_eq!(key, transcript_key(P, "run-1", &v, "de"));
        assert_ne!(key, transcript_key(P, "run-2", &v, "de"));
        assert_ne!(key, transcript_key(P, "run-1", &v, "fr"));
        assert_ne!(key, transcript_key(P, "run-1", &video("course-v1:a+b+c", "w"), "de"));
        let hex = key.strip_prefix("video-transcripts/").unwrap().strip_suffix(".sjson").unwrap();
        assert!(hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(&hex[12..13], "4", "a version-4 UUID");
        assert!(is_transcript_key(P, &key));
    }

    #[test]
    fn a_site_prefix_is_used_as_edx_val_uses_it() {
        let v = video("course-v1:a+b+c", "v");
        let key = transcript_key("media/vt-", "run-1", &v, "de");
        assert!(key.starts_with("media/vt-") && key.len() == "media/vt-".len() + 32 + 6, "{key}");
        assert!(is_transcript_key("media/vt-", &key) && !is_transcript_key(P, &key));
        assert!(!is_transcript_key("media/vt-", &transcript_key(P, "run-1", &v, "de")));
        assert_eq!(directory_prefix_problem(P), None);
        assert_eq!(directory_prefix_problem(""), None, "edx-val's own default when the setting is absent");
        for bad in ["/abs/", "a/../b/", "a//b/", "./x/"] {
            assert!(directory_prefix_problem(bad).is_some(), "{bad}");
        }
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
            assert!(!is_transcript_key(P, key), "{key}");
        }
        assert!(is_transcript_key(P, "video-transcripts/0123456789abcdef0123456789abcdef.sjson"));
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
