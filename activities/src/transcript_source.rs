//! Which contentstore file holds a video's transcript in a language, and its SJSON, following
//! edx-platform's `get_transcript_from_contentstore`.

use crate::contentstore::{asset_name, AssetFile, Contentstore};
use crate::modulestore::{TranscriptsField, VideoBlock};
use crate::sjson::{self, Sjson};
use crate::{srt, Problem, TranscriptError, MAX_TRANSCRIPT_BYTES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// An SJSON asset (`subs_{id}.srt.sjson`), migrated byte for byte.
    Sjson,
    /// An SRT file named in `transcripts`, converted to SJSON.
    Srt,
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

/// The sub ids whose SJSON assets may hold the transcript, in edx-platform's order: `sub`,
/// `youtube_id_1_0`, then the file name (without extension) of each HTML5 source.
pub fn candidate_sub_ids(video: &VideoBlock) -> Vec<String> {
    let fields = &video.fields;
    let html5 = fields.html5_sources.iter().map(|url| html5_basename(url));
    [fields.sub.clone(), fields.youtube_id_1_0.clone()]
        .into_iter()
        .chain(html5)
        .filter(|id| !id.is_empty())
        .collect()
}

fn html5_basename(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let file = path.rsplit('/').next().unwrap_or("");
    match file.rfind('.') {
        Some(dot) if dot > 0 => file[..dot].into(),
        _ => file.into(),
    }
}

/// The SJSON asset name for a sub id: `subs_{id}.srt.sjson`, prefixed with the language for
/// languages other than English.
pub fn sjson_asset_name(language: &str, sub_id: &str) -> String {
    if language == "en" {
        asset_name(&format!("subs_{sub_id}.srt.sjson"))
    } else {
        asset_name(&format!("{language}_subs_{sub_id}.srt.sjson"))
    }
}

pub async fn read_transcript(
    contentstore: &Contentstore,
    video: &VideoBlock,
    language: &str,
) -> Result<SourceTranscript, TranscriptError> {
    let error = |file: Option<&str>, problem| TranscriptError {
        course_key: video.usage_key.course.to_string(),
        usage_key: video.usage_key.to_string(),
        language: Some(language.into()),
        file: file.map(Into::into),
        problem,
    };
    let store_error = |file: &str, e: mongodb::error::Error| error(Some(file), Problem::Store { detail: e.to_string() });
    let named_file = match &video.fields.transcripts {
        TranscriptsField::Map(map) => map.get(language),
        TranscriptsField::Invalid { found } => {
            return Err(error(None, Problem::BadTranscriptsField { found: found.clone() }));
        }
    };

    let mut tried = Vec::new();
    for sub_id in candidate_sub_ids(video) {
        let name = sjson_asset_name(language, &sub_id);
        let found = contentstore.find(&video.usage_key.course, &name).await.map_err(|e| store_error(&name, e))?;
        tried.push(name.clone());
        if let Some(file) = found {
            let bytes = read_checked(contentstore, &file).await.map_err(|p| error(Some(&name), p))?;
            let text = srt::decode_utf8_sig(&bytes).map_err(|e| error(Some(&name), Problem::Format(e)))?;
            let cue_count = sjson::validate(text).map_err(|e| error(Some(&name), Problem::Format(e)))?;
            return Ok(SourceTranscript { language: language.into(), file: name, format: SourceFormat::Sjson, sjson: bytes, cue_count });
        }
    }

    let Some(filename) = named_file else {
        return Err(error(None, Problem::Missing { tried }));
    };
    let name = asset_name(filename);
    let Some(file) = contentstore.find(&video.usage_key.course, &name).await.map_err(|e| store_error(&name, e))? else {
        tried.push(name);
        return Err(error(Some(filename), Problem::Missing { tried }));
    };
    let bytes = read_checked(contentstore, &file).await.map_err(|p| error(Some(&name), p))?;
    let converted: Sjson = srt::to_sjson(&bytes).map_err(|e| error(Some(&name), Problem::Format(e)))?;
    let sjson = converted.to_python_json().into_bytes();
    if sjson.len() as u64 > MAX_TRANSCRIPT_BYTES {
        let problem = Problem::TooLarge { bytes: sjson.len() as u64, limit: MAX_TRANSCRIPT_BYTES };
        return Err(error(Some(&name), problem));
    }
    Ok(SourceTranscript { language: language.into(), file: name, format: SourceFormat::Srt, cue_count: converted.cue_count(), sjson })
}

/// Reads an asset, refusing empty and oversized files before their content is loaded.
async fn read_checked(contentstore: &Contentstore, file: &AssetFile) -> Result<Vec<u8>, Problem> {
    if file.length == 0 {
        return Err(Problem::Empty);
    }
    if file.length > MAX_TRANSCRIPT_BYTES {
        return Err(Problem::TooLarge { bytes: file.length, limit: MAX_TRANSCRIPT_BYTES });
    }
    let bytes = contentstore.read(file).await.map_err(|e| Problem::Store { detail: e.to_string() })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::Empty);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modulestore::VideoFields;

    fn video(fields: VideoFields) -> VideoBlock {
        let course: workflows::CourseKey = "course-v1:edX+DemoX+2018".parse().unwrap();
        VideoBlock { usage_key: course.usage_key("video", "v1"), branch: workflows::Branch::Published, fields }
    }

    #[test]
    fn candidates_in_edx_platform_order() {
        let fields = VideoFields {
            sub: "OEoXaMPEzfM".into(),
            youtube_id_1_0: "yt_1".into(),
            html5_sources: vec!["https://cdn.example/v/lecture-1.mp4?sig=a.b".into(), "/static/clip.webm".into(), "noext".into()],
            ..Default::default()
        };
        assert_eq!(candidate_sub_ids(&video(fields)), ["OEoXaMPEzfM", "yt_1", "lecture-1", "clip", "noext"]);
        assert!(candidate_sub_ids(&video(VideoFields::default())).is_empty());
    }

    #[test]
    fn sjson_asset_names_by_language() {
        assert_eq!(sjson_asset_name("en", "OEoXaMPEzfM"), "subs_OEoXaMPEzfM.srt.sjson");
        assert_eq!(sjson_asset_name("zh_HANS", "lecture 1"), "zh_HANS_subs_lecture_1.srt.sjson");
    }
}
