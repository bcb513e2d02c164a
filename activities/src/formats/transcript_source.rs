//! Which contentstore file holds a video's transcript in a language, and its SJSON, following
//! edx-platform's `get_transcript_from_contentstore`, so that learners get after the migration
//! the transcript they were shown before it.

use std::collections::BTreeMap;

use model::UsageKey;
pub use model::plan::SourceFormat;
use model::plan::TranscriptRef;
use model::video::{TranscriptsField, VideoCopy, VideoFields};
use sha2::{Digest, Sha256};

use super::{MAX_TRANSCRIPT_BYTES, Problem, TranscriptError, sjson, srt};
use crate::stores::contentstore::{AssetFile, Contentstore, ReadError, asset_name};

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
    let language = language.to_string();
    read_transcripts(contentstore, usage_key, fields, std::slice::from_ref(&language)).await.pop().expect("one language asked, one answered").1
}

/// A language's files to look for, in order, and the one its `transcripts` field names.
type LanguagePlan<'a> = (Vec<Lookup>, Option<&'a str>);
/// The file a language is read from.
type Chosen<'a> = (Lookup, &'a AssetFile);

/// The transcripts of the video `usage_key` in each of `languages`, as the block's `fields` in
/// one branch name them: every file any of them may be in is looked up in one query, and each
/// language then takes the first of its own files that exists.
pub async fn read_transcripts(
    contentstore: &Contentstore,
    usage_key: &UsageKey,
    fields: &VideoFields,
    languages: &[String],
) -> Vec<(String, Result<SourceTranscript, TranscriptError>)> {
    let error = |language: &str, file: Option<&str>, problem| TranscriptError {
        usage_key: usage_key.clone(),
        language: Some(language.into()),
        file: file.map(Into::into),
        problem,
    };
    let plans: Vec<(&String, Result<LanguagePlan, TranscriptError>)> = languages
        .iter()
        .map(|language| {
            let transcripts_file = match &fields.transcripts {
                TranscriptsField::Map(map) => map.get(language.as_str()).map(String::as_str),
                TranscriptsField::Invalid { found } => {
                    return (language, Err(error(language, None, Problem::BadTranscriptsField { found: found.clone() })));
                }
            };
            (language, Ok((lookup_plan(fields, language, transcripts_file), transcripts_file)))
        })
        .collect();
    let mut names: Vec<&str> =
        plans.iter().filter_map(|(_, plan)| plan.as_ref().ok()).flat_map(|(plan, _)| plan.iter().map(|l| l.asset.as_str())).collect();
    names.sort_unstable();
    names.dedup();
    let files = match names.is_empty() {
        true => Ok(Default::default()),
        false => contentstore.find_all(&usage_key.course, &names).await,
    };
    // Each language's file, then all of them read at once.
    let chosen: Vec<(&String, Result<Chosen, TranscriptError>)> = plans
        .into_iter()
        .map(|(language, plan)| {
            let chosen = match (plan, &files) {
                (Err(bad), _) => Err(bad),
                (Ok((plan, _)), Err(e)) => Err(error(language, plan.first().map(|l| l.asset.as_str()), Problem::Store { detail: e.to_string() })),
                (Ok((plan, transcripts_file)), Ok(files)) => {
                    choose(&plan, transcripts_file, files).map_err(|(file, problem)| error(language, file.as_deref(), problem))
                }
            };
            (language, chosen)
        })
        .collect();
    let to_read: Vec<&AssetFile> = chosen.iter().filter_map(|(_, chosen)| Some(chosen.as_ref().ok()?.1)).collect();
    let mut bytes = match contentstore.read_all(&to_read).await {
        Ok(read) => read
            .into_iter()
            .map(|r| {
                r.map_err(|e| match e {
                    ReadError::Broken { what, .. } => Problem::BrokenFile { detail: what },
                    ReadError::Store(e) => Problem::Store { detail: e.to_string() },
                })
            })
            .collect::<Vec<_>>(),
        Err(e) => to_read.iter().map(|_| Err(Problem::Store { detail: e.to_string() })).collect(),
    }
    .into_iter();
    chosen
        .into_iter()
        .map(|(language, chosen)| {
            let result = match chosen {
                Err(bad) => Err(bad),
                Ok((lookup, _)) => match bytes.next().expect("one read per chosen file").and_then(|read| convert(&lookup, read)) {
                    Ok((sjson, cue_count)) => {
                        Ok(SourceTranscript { language: language.clone(), file: lookup.asset, format: lookup.format, sjson, cue_count })
                    }
                    Err(problem) => Err(error(language, Some(&lookup.asset), problem)),
                },
            };
            (language.clone(), result)
        })
        .collect()
}

/// The first file of `plan` that exists among `files`, if it is not too large to load; else
/// what is wrong, with the file to name.
fn choose<'f>(
    plan: &[Lookup],
    transcripts_file: Option<&str>,
    files: &'f BTreeMap<String, AssetFile>,
) -> Result<(Lookup, &'f AssetFile), (Option<String>, Problem)> {
    let Some((lookup, file)) = plan.iter().find_map(|lookup| Some((lookup, files.get(&lookup.asset)?))) else {
        // Name the file the course team would look for: the one in `transcripts`, if any.
        let tried = plan.iter().map(|l| l.asset.clone()).collect();
        return Err((transcripts_file.map(Into::into), Problem::Missing { tried }));
    };
    // Size first, so that an oversized file is refused before it is loaded.
    if file.length > MAX_TRANSCRIPT_BYTES {
        return Err((Some(lookup.asset.clone()), Problem::TooLarge { bytes: file.length, limit: MAX_TRANSCRIPT_BYTES }));
    }
    Ok((lookup.clone(), file))
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
    read_transcript(contentstore, usage_key, &copy.fields, language).await.map(|source| reference(copy, source))
}

/// `read_copy` for each of `languages`, with one lookup of the files (`read_transcripts`).
pub async fn read_copy_languages(
    contentstore: &Contentstore,
    usage_key: &UsageKey,
    copy: &VideoCopy,
    languages: &[String],
) -> Vec<(String, Result<(TranscriptRef, Vec<u8>), TranscriptError>)> {
    let read = read_transcripts(contentstore, usage_key, &copy.fields, languages).await;
    read.into_iter().map(|(language, result)| (language, result.map(|source| reference(copy, source)))).collect()
}

fn reference(copy: &VideoCopy, source: SourceTranscript) -> (TranscriptRef, Vec<u8>) {
    let reference = TranscriptRef {
        branch: copy.branch,
        file: source.file,
        format: source.format,
        sha256: hex::encode(Sha256::digest(&source.sjson)),
        size: source.sjson.len() as u64,
    };
    (reference, source.sjson)
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
