//! The contentstore: GridFS bucket `fs` of the contentstore database, where Studio keeps course
//! assets, transcripts among them (edx-platform `xmodule/contentstore/mongo.py`).

use bson::{Bson, Document, doc};
use futures::{AsyncReadExt, TryStreamExt};
use model::CourseKey;
use mongodb::Database;
use mongodb::gridfs::GridFsBucket;

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
    id: Bson,
}

#[derive(Clone)]
pub struct Contentstore {
    database: Database,
    bucket: GridFsBucket,
    reads: Throttle,
}

impl Contentstore {
    pub async fn connect(settings: &MongoSettings) -> mongodb::error::Result<Self> {
        let client = mongodb::Client::with_uri_str(settings.uri.expose()).await?;
        Ok(Self::new(client.database(&settings.database)))
    }

    pub fn new(database: Database) -> Self {
        Self { bucket: database.gridfs_bucket(None), database, reads: Throttle::default() }
    }

    /// At most `reads` queries per second from this handle and its clones.
    pub fn throttled(self, reads: Throttle) -> Self {
        Self { reads, ..self }
    }

    pub fn database(&self) -> &Database {
        &self.database
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
        let mut files = files.find(filter).projection(doc! { "_id": 1, "length": 1 }).await?;
        while let Some(file) = files.try_next().await? {
            let id = file.get("_id").cloned().unwrap_or(Bson::Null);
            if old_style && !is_old_style_asset(&id) {
                continue;
            }
            let length = match file.get("length") {
                Some(Bson::Int32(n)) => *n as u64,
                Some(Bson::Int64(n)) => *n as u64,
                Some(Bson::Double(n)) => *n as u64,
                _ => 0,
            };
            return Ok(Some(AssetFile { name: name.into(), length, id }));
        }
        Ok(None)
    }

    pub async fn read(&self, file: &AssetFile) -> mongodb::error::Result<Vec<u8>> {
        self.reads.wait().await;
        let mut stream = self.bucket.open_download_stream(file.id.clone()).await?;
        let mut bytes = Vec::with_capacity(file.length as usize);
        stream.read_to_end(&mut bytes).await?;
        Ok(bytes)
    }
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
