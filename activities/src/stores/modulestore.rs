//! The modulestore, where the video blocks live, in both layouts real installations hold:
//! split (`modulestore.active_versions` → `modulestore.structures`) for `course-v1:` keys and the
//! old "draft" Mongo modulestore (collection `modulestore`, one document per block and revision)
//! for `org/course/run` keys.

use std::collections::{BTreeMap, BTreeSet};

use bson::{Bson, Document, RawBsonRef, RawDocument, RawDocumentBuf, doc};
use futures::TryStreamExt;
use model::video::{TranscriptsField, VideoCopy, VideoFields};
use model::{Branch, CourseKey, CourseKeyError, UsageKey};
use mongodb::Database;

use super::settings::MongoSettings;
use super::structures::Structures;
use super::throttle::Throttle;

pub const ACTIVE_VERSIONS: &str = "modulestore.active_versions";
pub const STRUCTURES: &str = "modulestore.structures";
pub const OLD_MONGO: &str = "modulestore";

/// The default of the video block's `youtube_id_1_0` field.
pub const DEFAULT_YOUTUBE_ID: &str = "3_yD_cEKoCk";

/// Reads a video block's settings fields as edx-platform does, defaults included.
pub fn video_fields(fields: &Document) -> VideoFields {
    let text = |key: &str| fields.get_str(key).map(str::trim).unwrap_or("").to_string();
    VideoFields {
        display_name: fields.get_str("display_name").ok().map(Into::into),
        sub: text("sub"),
        youtube_id_1_0: match fields.get("youtube_id_1_0") {
            None => DEFAULT_YOUTUBE_ID.into(),
            Some(_) => text("youtube_id_1_0"),
        },
        html5_sources: match fields.get_array("html5_sources") {
            Ok(sources) => sources.iter().filter_map(Bson::as_str).map(Into::into).collect(),
            Err(_) => Vec::new(),
        },
        transcripts: match fields.get("transcripts") {
            None | Some(Bson::Null) => TranscriptsField::default(),
            Some(Bson::Document(map)) if map.len() > MAX_LANGUAGES => {
                TranscriptsField::Invalid { found: format!("a mapping of {} languages (at most {MAX_LANGUAGES} are read)", map.len()) }
            }
            Some(Bson::Document(map)) => map
                .iter()
                .filter(|(_, file)| file.as_str() != Some("")) // get_transcripts_info drops these
                .map(|(language, file)| match file {
                    _ if !is_sane(language, MAX_LANGUAGE_CODE) => Err(format!("a mapping with the entry {}, not a language code", shown(language))),
                    Bson::String(file) if !is_sane(file, MAX_FILE_NAME) => {
                        Err(format!("a mapping whose entry {language:?} names {}, not a file name", shown(file)))
                    }
                    Bson::String(file) => Ok((language.clone(), file.clone())),
                    other => Err(format!("a mapping whose entry {language:?} is {}", kind_of(other))),
                })
                .collect::<Result<_, _>>()
                .map_or_else(|found| TranscriptsField::Invalid { found }, TranscriptsField::Map),
            Some(other) => TranscriptsField::Invalid { found: kind_of(other) },
        },
        edx_video_id: text("edx_video_id"),
    }
}

/// More languages than any video has: a `transcripts` field this big is refused whole, so that
/// a broken block never makes a unit too big to travel through Temporal.
pub const MAX_LANGUAGES: usize = 300;
/// edx-val's `language_code` column (`max_length=50`).
const MAX_LANGUAGE_CODE: usize = 50;
const MAX_FILE_NAME: usize = 255;

/// Not empty, not too long, no control characters.
fn is_sane(text: &str, max_chars: usize) -> bool {
    !text.is_empty() && text.chars().count() <= max_chars && !text.chars().any(char::is_control)
}

/// A string for a message: quoted and escaped, and cut short when long.
fn shown(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{:?}… ({} characters)", &text[..end], text.chars().count()),
        None => format!("{text:?}"),
    }
}

/// A BSON value for a message: its type, and its value where that is short.
fn kind_of(value: &Bson) -> String {
    match value {
        Bson::String(s) => format!("the string {s:?}"),
        Bson::Array(items) => format!("a list of {} items", items.len()),
        Bson::Int32(n) => format!("the number {n}"),
        Bson::Int64(n) => format!("the number {n}"),
        Bson::Double(n) => format!("the number {n}"),
        Bson::Boolean(b) => format!("the boolean {b}"),
        other => format!("a value of BSON type {:?}", other.element_type()),
    }
}

/// The courses of a modulestore.
#[derive(Debug, Default)]
pub struct CourseListing {
    pub courses: Vec<CourseKey>,
    /// Course entries whose org, course or run cannot form a course key.
    pub invalid: Vec<CourseKeyError>,
}

#[derive(Clone)]
pub struct Modulestore {
    database: Database,
    reads: Throttle,
    structures: Structures,
}

impl Modulestore {
    pub async fn connect(settings: &MongoSettings) -> mongodb::error::Result<Self> {
        let client = mongodb::Client::with_uri_str(settings.uri.expose()).await?;
        Ok(Self::new(client.database(&settings.database)))
    }

    pub fn new(database: Database) -> Self {
        Self { database, reads: Throttle::default(), structures: Structures::default() }
    }

    /// At most `reads` queries per second from this handle and its clones.
    pub fn throttled(self, reads: Throttle) -> Self {
        Self { reads, ..self }
    }

    /// Waits for a query's turn under the read throttle.
    pub async fn read_slot(&self) {
        self.reads.wait().await;
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Every course run in either layout, sorted, and the course entries whose keys are not
    /// valid course keys (reported, never dropped in silence). Libraries (no draft or published
    /// branch) are not courses and hold no transcripts to migrate.
    pub async fn course_keys(&self) -> mongodb::error::Result<CourseListing> {
        let mut keys = BTreeSet::new();
        let mut invalid = Vec::new();
        let mut record = |key: Result<CourseKey, CourseKeyError>| match key {
            Ok(key) => {
                keys.insert(key);
            }
            Err(error) => invalid.push(error),
        };
        self.read_slot().await;
        let mut indexes = self.database.collection::<Document>(ACTIVE_VERSIONS).find(doc! {}).await?;
        while let Some(index) = indexes.try_next().await? {
            let versions = index.get_document("versions").ok();
            let is_course = versions.is_some_and(|v| Branch::ALL.iter().any(|b| v.contains_key(b.split_version_key())));
            let part = |key| index.get_str(key).unwrap_or("");
            if is_course {
                record(CourseKey::new_style(part("org"), part("course"), part("run")));
            }
        }
        self.read_slot().await;
        let mut courses =
            self.database.collection::<Document>(OLD_MONGO).find(doc! { "_id.category": "course" }).projection(doc! { "_id": 1 }).await?;
        while let Some(course) = courses.try_next().await? {
            let empty = Document::new();
            let id = course.get_document("_id").unwrap_or(&empty);
            let part = |key| id.get_str(key).unwrap_or("");
            record(CourseKey::old_style(part("org"), part("course"), part("name")));
        }
        Ok(CourseListing { courses: keys.into_iter().collect(), invalid })
    }

    /// The course's video blocks as `branch` shows them, sorted by usage key: those a learner
    /// can reach from the course root, and the orphans no parent names.
    pub async fn video_blocks(&self, course: &CourseKey, branch: Branch) -> mongodb::error::Result<BranchVideos> {
        let sorted = |mut found: BranchVideos| {
            found.videos.sort_by(|a, b| a.0.cmp(&b.0));
            found.orphans.sort();
            found
        };
        if course.old_style {
            return Ok(sorted(self.old_mongo_video_blocks(course, branch).await?));
        }
        let Some(head) = self.split_head(course, branch).await? else {
            return Ok(BranchVideos::default());
        };
        let (course_id, structure_id) = (course.to_string(), head.to_string());
        if let Some(found) = self.structures.get(&course_id, branch, &structure_id) {
            return Ok(found);
        }
        let found = sorted(self.split_video_blocks(course, branch, head).await?);
        self.structures.keep(&course_id, branch, &structure_id, &found);
        Ok(found)
    }

    /// Whether the modulestore has the course, in the layout its key says.
    pub async fn course_exists(&self, course: &CourseKey) -> mongodb::error::Result<bool> {
        self.read_slot().await;
        let found = if course.old_style {
            self.database
                .collection::<Document>(OLD_MONGO)
                .find_one(doc! { "_id.tag": "i4x", "_id.org": &course.org, "_id.course": &course.course, "_id.category": "course", "_id.name": &course.run })
                .projection(doc! { "_id": 1 })
                .await?
        } else {
            self.database
                .collection::<Document>(ACTIVE_VERSIONS)
                .find_one(doc! { "org": &course.org, "course": &course.course, "run": &course.run })
                .projection(doc! { "_id": 1 })
                .await?
        };
        Ok(found.is_some())
    }

    /// The head structure of a split course's branch, if the course and branch exist.
    pub async fn split_head(&self, course: &CourseKey, branch: Branch) -> mongodb::error::Result<Option<Bson>> {
        self.read_slot().await;
        let index = self
            .database
            .collection::<Document>(ACTIVE_VERSIONS)
            .find_one(doc! { "org": &course.org, "course": &course.course, "run": &course.run })
            .await?;
        Ok(index.and_then(|index| index.get_document("versions").ok().and_then(|v| v.get(branch.split_version_key()).cloned())))
    }

    async fn split_video_blocks(&self, course: &CourseKey, branch: Branch, head: Bson) -> mongodb::error::Result<BranchVideos> {
        self.read_slot().await;
        // A structure holds the whole course, megabytes for a big one: read as raw BSON, of
        // which only the video blocks' fields and every block's children are decoded.
        let Some(structure) =
            self.database.collection::<RawDocumentBuf>(STRUCTURES).find_one(doc! { "_id": head }).projection(doc! { "root": 1, "blocks": 1 }).await?
        else {
            return Ok(BranchVideos::default());
        };
        let Ok(blocks) = structure.get_array("blocks") else {
            return Ok(BranchVideos::default());
        };
        let pair = |value: Option<RawBsonRef<'_>>| -> Option<(String, String)> {
            let mut parts = value?.as_array()?.into_iter().filter_map(|part| part.ok()?.as_str().map(String::from));
            Some((parts.next()?, parts.next()?))
        };
        let mut tree = Tree::default();
        let mut videos = Vec::new();
        for block in blocks {
            let Some(block) = block?.as_document() else {
                continue;
            };
            let (Ok(block_type), Ok(block_id)) = (block.get_str("block_type"), block.get_str("block_id")) else {
                continue;
            };
            let fields = block.get_document("fields").ok();
            let children = fields.and_then(|f| f.get_array("children").ok()).into_iter().flatten();
            tree.children.insert((block_type.into(), block_id.into()), children.filter_map(|child| pair(child.ok())).collect());
            if block_type == "video" {
                let decode = |value: Result<&RawDocument, _>| match value {
                    Ok(document) => Document::try_from(document),
                    Err(_) => Ok(Document::new()),
                };
                let fields = effective_fields(decode(block.get_document("fields"))?, decode(block.get_document("defaults"))?);
                videos.push((block_id.to_string(), VideoCopy { branch, fields: video_fields(&fields) }));
            }
        }
        let root = pair(structure.get("root").ok().flatten());
        let reachable = tree.reachable(root);
        Ok(BranchVideos::split(course, videos, |block_id| reachable.contains(&("video".to_string(), block_id.to_string()))))
    }

    /// Old Mongo keeps a published document (`revision: null`) and, while a block has unpublished
    /// changes or was never published, a draft document (`revision: "draft"`). The draft branch
    /// shows the draft document where there is one and the published one otherwise.
    async fn old_mongo_video_blocks(&self, course: &CourseKey, branch: Branch) -> mongodb::error::Result<BranchVideos> {
        let mut revision_filter = vec![Bson::Null];
        if branch == Branch::Draft {
            revision_filter.push(Bson::String("draft".into()));
        }
        self.read_slot().await;
        // Every block of the course, for its children: what learners reach starts at the
        // course block, and in the draft view a draft vertical names its draft-only children.
        let mut documents = self
            .database
            .collection::<Document>(OLD_MONGO)
            .find(doc! {
                "_id.tag": "i4x",
                "_id.org": &course.org,
                "_id.course": &course.course,
                "_id.revision": { "$in": revision_filter },
            })
            .projection(doc! { "_id": 1, "metadata": 1, "definition.children": 1 })
            .await?;
        // By (category, name): whether the document shown is a draft, its children, its fields.
        type Shown = (bool, Vec<(String, String)>, Option<VideoFields>);
        let mut shown: BTreeMap<(String, String), Shown> = BTreeMap::new();
        while let Some(document) = documents.try_next().await? {
            let Ok(id) = document.get_document("_id") else {
                continue;
            };
            let (Ok(category), Ok(name)) = (id.get_str("category"), id.get_str("name")) else {
                continue;
            };
            let is_draft = id.get_str("revision") == Ok("draft");
            let key = (category.to_string(), name.to_string());
            if shown.get(&key).is_some_and(|(draft, _, _)| *draft && !is_draft) {
                continue; // the draft document wins in the draft view
            }
            let children = document.get_document("definition").ok().and_then(|d| d.get_array("children").ok());
            let children = children.into_iter().flatten().filter_map(|child| old_mongo_child(child.as_str()?)).collect();
            let empty = Document::new();
            let fields = (category == "video").then(|| video_fields(document.get_document("metadata").unwrap_or(&empty)));
            shown.insert(key, (is_draft, children, fields));
        }
        let mut tree = Tree::default();
        let mut videos = Vec::new();
        for ((category, name), (_, children, fields)) in shown {
            if let Some(fields) = fields {
                videos.push((name.clone(), VideoCopy { branch, fields }));
            }
            tree.children.insert((category, name), children);
        }
        let reachable = tree.reachable(Some(("course".to_string(), course.run.clone())));
        Ok(BranchVideos::split(course, videos, |name| reachable.contains(&("video".to_string(), name.to_string()))))
    }
}

/// A branch's video blocks: those reachable from the course root, and the orphans.
#[derive(Debug, Clone, Default)]
pub struct BranchVideos {
    pub videos: Vec<(UsageKey, VideoCopy)>,
    pub orphans: Vec<UsageKey>,
}

impl BranchVideos {
    fn split(course: &CourseKey, blocks: Vec<(String, VideoCopy)>, reachable: impl Fn(&str) -> bool) -> Self {
        let mut found = Self::default();
        for (block_id, copy) in blocks {
            let usage_key = course.usage_key("video", &block_id);
            match reachable(&block_id) {
                true => found.videos.push((usage_key, copy)),
                false => found.orphans.push(usage_key),
            }
        }
        found
    }
}

/// A course's blocks by (type, id), each with its children.
#[derive(Default)]
struct Tree {
    children: BTreeMap<(String, String), Vec<(String, String)>>,
}

impl Tree {
    /// The blocks a learner can reach from `root`, as edx-platform's `get_orphans` sees it.
    fn reachable(&self, root: Option<(String, String)>) -> BTreeSet<(String, String)> {
        let mut seen = BTreeSet::new();
        let mut next: Vec<(String, String)> = root.into_iter().collect();
        while let Some(block) = next.pop() {
            if let Some(children) = self.children.get(&block)
                && seen.insert(block)
            {
                next.extend(children.iter().filter(|c| !seen.contains(*c)).cloned());
            }
        }
        seen
    }
}

/// `(category, name)` of an old Mongo child location, `i4x://org/course/category/name`.
fn old_mongo_child(location: &str) -> Option<(String, String)> {
    let path = location.strip_prefix("i4x://")?;
    let mut parts = path.rsplit('/');
    let name = parts.next()?.split('@').next()?;
    let category = parts.next()?;
    Some((category.to_string(), name.to_string()))
}

/// A split block's settings as edx-platform reads them: its own `fields` over the `defaults`
/// a content library gave it.
pub fn effective_fields(fields: Document, defaults: Document) -> Document {
    let mut effective = defaults;
    effective.extend(fields);
    effective
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_blocks_the_root_reaches_count() {
        let block = |t: &str, id: &str| (t.to_string(), id.to_string());
        let mut tree = Tree::default();
        tree.children.insert(block("course", "c"), vec![block("chapter", "ch"), block("chapter", "gone")]);
        tree.children.insert(block("chapter", "ch"), vec![block("vertical", "u")]);
        tree.children.insert(block("vertical", "u"), vec![block("video", "v"), block("course", "c")]);
        tree.children.insert(block("video", "v"), vec![]);
        tree.children.insert(block("video", "orphan"), vec![]);
        tree.children.insert(block("vertical", "detached"), vec![block("video", "orphan")]);
        let reachable = tree.reachable(Some(block("course", "c")));
        assert!(reachable.contains(&block("video", "v")));
        assert!(!reachable.contains(&block("video", "orphan")) && !reachable.contains(&block("chapter", "gone")));
        assert!(tree.reachable(None).is_empty(), "a structure without a root reaches nothing");
    }

    #[test]
    fn old_mongo_children_are_locations() {
        assert_eq!(old_mongo_child("i4x://edX/DemoX/video/a1b2"), Some(("video".into(), "a1b2".into())));
        assert_eq!(old_mongo_child("i4x://edX/DemoX/vertical/u@draft"), Some(("vertical".into(), "u".into())));
        assert_eq!(old_mongo_child("block-v1:edX+DemoX+2018+type@video+block@a"), None);
    }

    #[test]
    fn a_library_block_takes_its_defaults_where_its_fields_are_silent() {
        let effective = effective_fields(
            doc! { "display_name": "Mine", "edx_video_id": "" },
            doc! { "sub": "lib_sub", "edx_video_id": "lib-id", "display_name": "Lib" },
        );
        let fields = video_fields(&effective);
        assert_eq!((fields.sub.as_str(), fields.edx_video_id.as_str(), fields.display_name.as_deref()), ("lib_sub", "", Some("Mine")));
    }

    #[test]
    fn fields_and_languages() {
        let fields = video_fields(&doc! {
            "display_name": "Intro", "sub": "OEoXaMPEzfM", "transcripts": { "de": "intro_de.srt", "zh": "z.srt", "fr": "" },
            "edx_video_id": " ", "html5_sources": ["https://cdn.example/v/intro.mp4", 7],
        });
        assert_eq!(fields.edx_video_id, "");
        assert_eq!(fields.html5_sources, vec!["https://cdn.example/v/intro.mp4".to_string()]);
        let languages: Vec<String> = fields.languages().unwrap().into_iter().collect();
        assert_eq!(languages, ["de", "en", "zh"]);
        assert_eq!(fields.youtube_id_1_0, DEFAULT_YOUTUBE_ID);
        let unset = video_fields(&doc! { "youtube_id_1_0": "" });
        assert_eq!((unset.youtube_id_1_0.as_str(), unset.languages().unwrap().len()), ("", 0));
    }

    #[test]
    fn a_transcripts_field_of_the_wrong_type_is_kept_as_invalid() {
        for (value, found) in [
            (Bson::String("intro.srt".into()), "the string \"intro.srt\""),
            (Bson::Array(vec![Bson::Int32(1)]), "a list of 1 items"),
            (Bson::Document(doc! { "fr": 3 }), "a mapping whose entry \"fr\" is the number 3"),
            (Bson::Document(doc! { "de": "evil\u{7}.srt" }), "a mapping whose entry \"de\" names \"evil\\u{7}.srt\", not a file name"),
            (Bson::Document(doc! { "x".repeat(51): "a.srt" }), &format!("a mapping with the entry {:?}, not a language code", "x".repeat(51))),
            (
                Bson::Document(doc! { "fr": "a".repeat(300) }),
                &format!("a mapping whose entry \"fr\" names {:?}… (300 characters), not a file name", "a".repeat(60)),
            ),
            (
                Bson::Document((0..=MAX_LANGUAGES).map(|i| (format!("l{i}"), Bson::String(format!("{i}.srt")))).collect()),
                "a mapping of 301 languages (at most 300 are read)",
            ),
        ] {
            let fields = video_fields(&doc! { "transcripts": value });
            assert_eq!(fields.transcripts, TranscriptsField::Invalid { found: found.into() });
            assert_eq!(fields.languages(), Err(found));
        }
    }
}
