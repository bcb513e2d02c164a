//! Which contentstore file holds a video's transcript in a language, and its SJSON, following
//! edx-platform's `get_transcript_from_contentstore`, so that learners get after the migration
//! the transcript they were shown before it.

use model::UsageKey;
pub use model::plan::SourceFormat;
use model::plan::TranscriptRef;
use model::video::{TranscriptsField, VideoCopy, VideoFields};
use sha2::{Digest, Sha256};

use super::{MAX_TRANSCRIPT_BYTES, Problem, TranscriptError, sjson, srt};
use crate::stores::contentstore::{Contentstore, asset_name};

/// One asset to look for, in order, until one exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub asset: String,
    pub format: SourceFormat,
}

/// A transcript ready to upload: the SJSON bytes edx-val will serve.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceTranscript {
    pub language: String,
    /// The asset name of the file it came from.
    pub file: String,
    pub format: SourceFormat,
    pub sjson: Vec<u8>,
    pub cue_count: usize,
}

/// The sub ids that may name the transcript, in edx-platform's order: `sub`, `youtube_id_1_0`,
/// then each HTML5 source cut as `get_html5_ids` cuts it (the last path segment up to its last
/// dot, with no URL parsing).
pub fn candidate_sub_ids(fields: &VideoFields) -> Vec<String> {
    let html5 = fields.html5_sources.iter().map(|url| {
        let last = url.rsplit('/').next().unwrap_or("");
        last.rsplit_once('.').map_or(last, |(stem, _)| stem).to_string()
    });
    [fields.sub.clone(), fields.youtube_id_1_0.clone()].into_iter().chain(html5).filter(|id| !id.is_empty()).collect()
}

/// The assets to look for, first match wins.
///
/// English: for each sub id, its SJSON asset `subs_{id}.srt.sjson`, then an SRT asset named by
/// the id itself (edx-platform reuses the id as the file name). edx-platform never reads
/// `transcripts["en"]`; it is looked up last here so that an uploaded English file is not lost.
///
/// Other languages: the SRT file named in `transcripts`, then `{lang}_subs_{id}.srt.sjson` for
/// each sub id.
pub fn lookup_plan(fields: &VideoFields, language: &str, transcripts_file: Option<&str>) -> Vec<Lookup> {
    let sjson = |name: String| Lookup { asset: asset_name(&name), format: SourceFormat::Sjson };
    let srt = |name: &str| Lookup { asset: asset_name(name), format: SourceFormat::Srt };
    let ids = candidate_sub_ids(fields);
    let mut plan = Vec::new();
    if language == "en" {
        for id in &ids {
            plan.push(sjson(format!("subs_{id}.srt.sjson")));
            plan.push(srt(id));
        }
        plan.extend(transcripts_file.map(srt));
    } else {
        plan.extend(transcripts_file.map(srt));
        plan.extend(ids.iter().map(|id| sjson(format!("{language}_subs_{id}.srt.sjson"))));
    }
    plan
}

/// The transcript of the video `usage_key` in `language`, as the block's `fields` in one
/// branch name it.
pub async fn read_transcript(
    contentstore: &Contentstore,
    usage_key: &UsageKey,
    fields: &VideoFields,
    language: &str,
) -> Result<SourceTranscript, TranscriptError> {
    let error = |file: Option<&str>, problem| TranscriptError {
        usage_key: usage_key.clone(),
        language: Some(language.into()),
        file: file.map(Into::into),
        problem,
    };
    let transcripts_file = match &fields.transcripts {
        TranscriptsField::Map(map) => map.get(language).map(String::as_str),
        TranscriptsField::Invalid { found } => {
            return Err(error(None, Problem::BadTranscriptsField { found: found.clone() }));
        }
    };
    let plan = lookup_plan(fields, language, transcripts_file);
    for lookup in &plan {
        let name = lookup.asset.as_str();
        let store = |e: mongodb::error::Error| error(Some(name), Problem::Store { detail: e.to_string() });
        let Some(file) = contentstore.find(&usage_key.course, name).await.map_err(store)? else {
            continue;
        };
        // Size first, so that an oversized file is refused before it is loaded.
        if file.length > MAX_TRANSCRIPT_BYTES {
            return Err(error(Some(name), Problem::TooLarge { bytes: file.length, limit: MAX_TRANSCRIPT_BYTES }));
        }
        let bytes = contentstore.read(&file).await.map_err(store)?;
        return convert(lookup, bytes).map_err(|problem| error(Some(name), problem)).map(|(sjson, cue_count)| SourceTranscript {
            language: language.into(),
            file: name.into(),
            format: lookup.format,
            sjson,
            cue_count,
        });
    }
    // Name the file the course team would look for: the one in `transcripts`, if any.
    let tried = plan.into_iter().map(|l| l.asset).collect();
    Err(error(transcripts_file, Problem::Missing { tried }))
}

/// Reads one language of one branch copy of a video: the SJSON to upload, and the reference the
/// workflow keeps of it (branch, file, format, SHA-256, size). The diff plans with the reference;
/// the upload reads again and checks it still matches.
pub async fn read_copy(
    contentstore: &Contentstore,
    usage_key: &UsageKey,
    copy: &VideoCopy,
    language: &str,
) -> Result<(TranscriptRef, Vec<u8>), TranscriptError> {
    let source = read_transcript(contentstore, usage_key, &copy.fields, language).await?;
    let reference = TranscriptRef {
        branch: copy.branch,
        file: source.file,
        format: source.format,
        sha256: hex::encode(Sha256::digest(&source.sjson)),
        size: source.sjson.len() as u64,
    };
    Ok((reference, source.sjson))
}

/// The SJSON bytes to upload and their cue count.
fn convert(lookup: &Lookup, bytes: Vec<u8>) -> Result<(Vec<u8>, usize), Problem> {
    let text = srt::decode_utf8_sig(&bytes).map_err(Problem::Format)?;
    if text.trim().is_empty() {
        return Err(Problem::Empty);
    }
    match lookup.format {
        SourceFormat::Sjson => {
            let cue_count = sjson::validate(text).map_err(Problem::Format)?;
            Ok((bytes, cue_count))
        }
        SourceFormat::Srt => {
            let converted = srt::to_sjson(&bytes).map_err(Problem::Format)?;
            let sjson = converted.to_python_json().into_bytes();
            if sjson.len() as u64 > MAX_TRANSCRIPT_BYTES {
                return Err(Problem::TooLarge { bytes: sjson.len() as u64, limit: MAX_TRANSCRIPT_BYTES });
            }
            Ok((sjson, converted.cue_count()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(document: bson::Document) -> VideoFields {
        crate::stores::modulestore::video_fields(&document)
    }

    fn names(plan: &[Lookup]) -> Vec<String> {
        plan.iter().map(|l| format!("{:?}:{}", l.format, l.asset)).collect()
    }

    #[test]
    fn candidates_in_edx_platform_order() {
        let v = video(bson::doc! {
            "sub": "OEoXaMPEzfM", "youtube_id_1_0": "yt_1",
            "html5_sources": ["https://cdn.example/v/Video%20One.mp4?sig=a.b", "/static/clip.webm", "noext", "http://x/dir/"],
        });
        assert_eq!(candidate_sub_ids(&v), ["OEoXaMPEzfM", "yt_1", "Video%20One.mp4?sig=a", "clip", "noext"]);
        // An unset youtube_id_1_0 is its default, which edx-platform looks up too.
        assert_eq!(candidate_sub_ids(&video(bson::doc! {})), ["3_yD_cEKoCk"]);
    }

    #[test]
    fn english_tries_each_id_as_sjson_then_as_a_file_name_then_transcripts_en() {
        let v = video(bson::doc! { "sub": "a b", "youtube_id_1_0": "", "html5_sources": ["http://x/clip.mp4"] });
        assert_eq!(
            names(&lookup_plan(&v, "en", Some("my english.srt"))),
            ["Sjson:subs_a_b.srt.sjson", "Srt:a_b", "Sjson:subs_clip.srt.sjson", "Srt:clip", "Srt:my_english.srt"]
        );
    }

    #[test]
    fn other_languages_try_the_named_file_first_then_prefixed_sjson() {
        let v = video(bson::doc! { "sub": "abc", "youtube_id_1_0": "yt" });
        assert_eq!(
            names(&lookup_plan(&v, "zh_HANS", Some("week 1/lecture.srt"))),
            ["Srt:week_1_lecture.srt", "Sjson:zh_HANS_subs_abc.srt.sjson", "Sjson:zh_HANS_subs_yt.srt.sjson"]
        );
    }

    #[test]
    fn conversion_refuses_empty_and_broken_content() {
        let srt = Lookup { asset: "a.srt".into(), format: SourceFormat::Srt };
        let sjson = Lookup { asset: "subs_a.srt.sjson".into(), format: SourceFormat::Sjson };
        assert_eq!(convert(&srt, b" \n\r\n".to_vec()).unwrap_err().kind(), "empty");
        assert_eq!(convert(&sjson, b"\xef\xbb\xbf".to_vec()).unwrap_err().kind(), "empty");
        assert_eq!(convert(&srt, b"caf\xe9".to_vec()).unwrap_err().kind(), "invalid_utf8");
        assert_eq!(convert(&srt, b"1\nno arrow\nx\n".to_vec()).unwrap_err().kind(), "unparsable_srt");
        assert_eq!(convert(&sjson, b"{\"start\": [1]}".to_vec()).unwrap_err().kind(), "unparsable_sjson");
        // An SJSON asset is migrated byte for byte, extra keys and all.
        let asset = br#"{"start":[1],"end":[2],"text":["x"],"paragraphs":[]}"#.to_vec();
        assert_eq!(convert(&sjson, asset.clone()).unwrap(), (asset, 1));
        let (converted, cues) = convert(&srt, b"1\n00:00:01,000 --> 00:00:02,000\nx\n".to_vec()).unwrap();
        assert_eq!((String::from_utf8(converted).unwrap().as_str(), cues), (r#"{"start": [1000], "end": [2000], "text": ["x"]}"#, 1));
    }
}
