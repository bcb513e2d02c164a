//! The contentstore: GridFS bucket `fs` of the contentstore database, where Studio keeps course
//! assets, transcripts among them (edx-platform `xmodule/contentstore/mongo.py`).

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};
use futures::TryStreamExt;
use model::CourseKey;
use mongodb::Database;

use super::settings::MongoSettings;
use super::throttle::Throttle;

/// The asset name Studio gives an uploaded file (`StaticContent.compute_location` with
/// opaque-keys' `clean_keeping_underscores`): `/` becomes `_`, then every character outside
/// Python's `\w`, `.`, `%` and `-` becomes `_`, one for one.
pub fn asset_name(filename: &str) -> String {
    filename.chars().map(|c| if is_python_word(c) || matches!(c, '.' | '%' | '-') { c } else { '_' }).collect()
}

/// Python's `\w` on `str`: letters and numbers by general category, and `_`. Unlike Rust's
/// `is_alphanumeric`, combining marks are not word characters, so `é` written as `e` + U+0301
/// cleans to `e_`, as it does in Studio.
fn is_python_word(c: char) -> bool {
    use unicode_general_category::{GeneralCategory::*, get_general_category};
    c == '_'
        || matches!(
            get_general_category(c),
            UppercaseLetter | LowercaseLetter | TitlecaseLetter | ModifierLetter | OtherLetter | DecimalNumber | LetterNumber | OtherNumber
        )
}

/// The `_id` of an asset's `fs.files` document: a string for new-style courses, a subdocument
/// with keys in this order for old-style ones (as edx-platform writes it).
pub fn asset_id(course: &CourseKey, name: &str) -> Bson {
    if course.old_style {
        Bson::Document(doc! {
            "category": "asset",
            "name": name,
            "course": &course.course,
            "tag": "c4x",
            "org": &course.org,
            "revision": Bson::Null,
        })
    } else {
        Bson::String(format!("asset-v1:{}+{}+{}+type@asset+block@{name}", course.org, course.course, course.run))
    }
}

/// An old-style asset's `_id`: `c4x`, category `asset` (not, say, a thumbnail of the same name).
fn is_old_style_asset(id: &Bson) -> bool {
    id.as_document().is_some_and(|id| id.get_str("tag") == Ok("c4x") && id.get_str("category") == Ok("asset"))
}

/// An asset found in GridFS, not yet read.
#[derive(Debug, Clone)]
pub struct AssetFile {
    pub name: String,
    pub length: u64,
    chunk_size: u64,
    id: Bson,
}

#[derive(Clone)]
pub struct Contentstore {
    database: Database,
    reads: Throttle,
}

impl Contentstore {
    pub async fn connect(settings: &MongoSettings) -> mongodb::error::Result<Self> {
        let client = mongodb::Client::with_uri_str(settings.uri.expose()).await?;
        Ok(Self::new(client.database(&settings.database)))
    }

    pub fn new(database: Database) -> Self {
        Self { database, reads: Throttle::default() }
    }

    /// At most `reads` queries per second from this handle and its clones.
    pub fn throttled(self, reads: Throttle) -> Self {
        Self { reads, ..self }
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The files of the course named `names` that exist, by name. A new-style course's are
    /// found in one query on `_id`; an old-style course's one by one, by the fields
    /// edx-platform indexes (see `find`).
    pub async fn find_all(&self, course: &CourseKey, names: &[&str]) -> mongodb::error::Result<BTreeMap<String, AssetFile>> {
        let mut found = BTreeMap::new();
        if course.old_style || names.len() == 1 {
            for name in names {
                if let Some(file) = self.find(course, name).await? {
                    found.insert(name.to_string(), file);
                }
            }
            return Ok(found);
        }
        let by_id: BTreeMap<String, &str> = names.iter().filter_map(|name| Some((asset_id(course, name).as_str()?.to_string(), *name))).collect();
        let ids: Vec<&String> = by_id.keys().collect();
        self.reads.wait().await;
        let files = self.database.collection::<Document>("fs.files");
        let mut cursor = files.find(doc! { "_id": { "$in": ids } }).projection(FILE_FIELDS.clone()).await?;
        while let Some(file) = cursor.try_next().await? {
            let Some(name) = file.get_str("_id").ok().and_then(|id| by_id.get(id)) else { continue };
            found.insert(name.to_string(), asset_file(name, &file));
        }
        Ok(found)
    }

    pub async fn find(&self, course: &CourseKey, name: &str) -> mongodb::error::Result<Option<AssetFile>> {
        let files = self.database.collection::<Document>("fs.files");
        // Old-style ids are found by the fields edx-platform indexes (`_id.org`, `_id.course`,
        // `_id.name`), whatever the order of the id's keys, and the rest of the id is checked
        // here: SecantusDB scans the whole collection for a query that names more fields than
        // the index (seconds per file in a contentstore of 100,000 files).
        let (filter, old_style) = match asset_id(course, name) {
            Bson::Document(_) => (doc! { "_id.org": &course.org, "_id.course": &course.course, "_id.name": name }, true),
            id => (doc! { "_id": id }, false),
        };
        self.reads.wait().await;
        let mut files = files.find(filter).projection(FILE_FIELDS.clone()).await?;
        while let Some(file) = files.try_next().await? {
            if old_style && !file.get("_id").is_some_and(is_old_style_asset) {
                continue;
            }
            return Ok(Some(asset_file(name, &file)));
        }
        Ok(None)
    }

    /// The file's bytes, from its chunks alone: `find` has read its `fs.files` document, which
    /// the driver's download stream would read again. The chunks are checked as GridFS checks
    /// them (`Assembly`).
    pub async fn read(&self, file: &AssetFile) -> Result<Vec<u8>, ReadError> {
        let mut assembly = Assembly::new(file);
        if file.length > 0 {
            self.reads.wait().await;
            let chunks = self.database.collection::<Document>("fs.chunks");
            let mut found = chunks.find(doc! { "files_id": &file.id }).sort(doc! { "n": 1 }).projection(CHUNK_FIELDS.clone()).await?;
            while let Some(chunk) = found.try_next().await? {
                assembly.push(&chunk)?;
            }
        }
        assembly.finish()
    }

    /// The bytes of each of `files`, in their order: a new-style course's in one query of the
    /// chunks, an old-style course's (a subdocument `_id`) one by one. `Err` when the query
    /// fails; a file whose chunks do not add up has its own error.
    pub async fn read_all(&self, files: &[&AssetFile]) -> mongodb::error::Result<Vec<Result<Vec<u8>, ReadError>>> {
        let at_once = files.len() > 1 && files.iter().all(|f| f.id.as_str().is_some());
        if !at_once {
            let mut read = Vec::with_capacity(files.len());
            for file in files {
                read.push(self.read(file).await);
            }
            return Ok(read);
        }
        let mut assemblies: Vec<Result<Assembly, ReadError>> = files.iter().map(|f| Ok(Assembly::new(f))).collect();
        // Two languages may name one file: each gets its chunks.
        let mut at: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, file) in files.iter().enumerate().filter(|(_, f)| f.length > 0) {
            at.entry(file.id.as_str().expect("string ids only")).or_default().push(i);
        }
        let ids: Vec<&str> = at.keys().copied().collect();
        if !ids.is_empty() {
            self.reads.wait().await;
            let chunks = self.database.collection::<Document>("fs.chunks");
            let mut found =
                chunks.find(doc! { "files_id": { "$in": ids } }).sort(doc! { "files_id": 1, "n": 1 }).projection(CHUNK_FIELDS.clone()).await?;
            while let Some(chunk) = found.try_next().await? {
                let Some(readers) = chunk.get_str("files_id").ok().and_then(|id| at.get(id)) else { continue };
                for &i in readers {
                    if let Ok(assembly) = &mut assemblies[i]
                        && let Err(e) = assembly.push(&chunk)
                    {
                        assemblies[i] = Err(e);
                    }
                }
            }
        }
        Ok(assemblies.into_iter().map(|assembly| assembly.and_then(Assembly::finish)).collect())
    }
}

/// The fields of a chunk that assembling a file needs.
static CHUNK_FIELDS: std::sync::LazyLock<Document> = std::sync::LazyLock::new(|| doc! { "files_id": 1, "n": 1, "data": 1 });

/// A file put together from its chunks, in order, checked as GridFS checks them: numbered from
/// 0 with none missing, each `chunkSize` long but the last, `length` bytes in all.
struct Assembly<'a> {
    file: &'a AssetFile,
    bytes: Vec<u8>,
    next_n: i64,
}

impl<'a> Assembly<'a> {
    fn new(file: &'a AssetFile) -> Self {
        Self { file, bytes: Vec::with_capacity(file.length as usize), next_n: 0 }
    }

    fn push(&mut self, chunk: &Document) -> Result<(), ReadError> {
        let file = self.file;
        let n = match chunk.get("n") {
            Some(Bson::Int32(n)) => *n as i64,
            Some(Bson::Int64(n)) => *n,
            _ => -1,
        };
        if n != self.next_n {
            return Err(broken(file, format!("chunk {} is missing (found chunk {n})", self.next_n)));
        }
        let Ok(data) = chunk.get_binary_generic("data") else { return Err(broken(file, format!("chunk {n} holds no binary data"))) };
        let rest = file.length - self.bytes.len() as u64;
        if rest == 0 {
            return Err(broken(file, format!("chunk {n} is past its {} bytes", file.length)));
        }
        let expected = if file.chunk_size == 0 { rest } else { rest.min(file.chunk_size) };
        if data.len() as u64 != expected {
            return Err(broken(file, format!("chunk {n} is {} bytes, not {expected}", data.len())));
        }
        self.bytes.extend_from_slice(data);
        self.next_n += 1;
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>, ReadError> {
        if (self.bytes.len() as u64) < self.file.length {
            return Err(broken(self.file, format!("its chunks hold {} of its {} bytes", self.bytes.len(), self.file.length)));
        }
        Ok(self.bytes)
    }
}

/// The fields of an `fs.files` document that reading the file needs.
static FILE_FIELDS: std::sync::LazyLock<Document> = std::sync::LazyLock::new(|| doc! { "_id": 1, "length": 1, "chunkSize": 1 });

fn asset_file(name: &str, file: &Document) -> AssetFile {
    let number = |field| match file.get(field) {
        Some(Bson::Int32(n)) => *n as u64,
        Some(Bson::Int64(n)) => *n as u64,
        Some(Bson::Double(n)) => *n as u64,
        _ => 0,
    };
    AssetFile { name: name.into(), length: number("length"), chunk_size: number("chunkSize"), id: file.get("_id").cloned().unwrap_or(Bson::Null) }
}

/// Why a file's bytes could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] mongodb::error::Error),
    /// Its chunks do not add up (lost in a partial restore, say): reading it again gives the same.
    #[error("GridFS file {name}: {what}")]
    Broken { name: String, what: String },
}

fn broken(file: &AssetFile, what: String) -> ReadError {
    ReadError::Broken { name: file.name.clone(), what }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_follow_compute_location() {
        assert_eq!(asset_name("intro_de.srt"), "intro_de.srt");
        assert_eq!(asset_name("week 1/intro (fr).srt"), "week_1_intro__fr_.srt");
        assert_eq!(asset_name("subs_OEoXaMPEzfM.srt.sjson"), "subs_OEoXaMPEzfM.srt.sjson");
        assert_eq!(asset_name("100%-done__x.srt"), "100%-done__x.srt");
        // Examples checked against opaque-keys 3.0.0.
        assert_eq!(asset_name("a+b@c~d:e%f=g?h#i&j.srt"), "a_b_c_d_e%f_g_h_i_j.srt");
        assert_eq!(asset_name("中文 字幕.srt"), "中文_字幕.srt");
        assert_eq!(asset_name("quote'\".srt"), "quote__.srt");
        assert_eq!(asset_name("cafe\u{301}.srt"), "cafe_.srt");
        assert_eq!(asset_name("हिंदी.srt"), "ह__द_.srt");
        assert_eq!(asset_name("１２３²Ⅻß.srt"), "１２３²Ⅻß.srt");
    }

    #[test]
    fn asset_ids_in_both_styles() {
        let new: CourseKey = "course-v1:edX+DemoX+2018".parse().unwrap();
        assert_eq!(asset_id(&new, "a.srt"), Bson::String("asset-v1:edX+DemoX+2018+type@asset+block@a.srt".into()));
        let old: CourseKey = "edX/DemoX/2018".parse().unwrap();
        let Bson::Document(id) = asset_id(&old, "a.srt") else { panic!() };
        let keys: Vec<&str> = id.keys().map(String::as_str).collect();
        assert_eq!(keys, ["category", "name", "course", "tag", "org", "revision"]);
    }

    #[test]
    fn only_assets_are_found_by_old_style_fields() {
        let old: CourseKey = "edX/DemoX/2018".parse().unwrap();
        assert!(is_old_style_asset(&asset_id(&old, "a.srt")));
        let thumbnail = doc! { "category": "thumbnail", "name": "a.srt", "course": "DemoX", "tag": "c4x", "org": "edX" };
        assert!(!is_old_style_asset(&Bson::Document(thumbnail)));
        let new: CourseKey = "course-v1:edX+DemoX+2018".parse().unwrap();
        assert!(!is_old_style_asset(&asset_id(&new, "a.srt")));
    }
}
