//! Writes a dataset into the stores exactly as edx-platform and edx-val lay their data out.
//! Writing the same dataset again replaces the seeded courses and assets and adds nothing else.

use activities::stores::edxval::{self, NewVideo, VideoTranscript};
use activities::stores::s3::TranscriptBucket;
use anyhow::Context;
use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, doc};
use md5::{Digest, Md5};
use model::{Branch, CourseKey};
use mongodb::Database;
use sqlx::AnyPool;

use crate::dataset::{Asset, Course, Dataset, KnownVideo, Video};
use crate::rng::Rng;

/// pymongo's default GridFS chunk size.
const CHUNK_SIZE: usize = 255 * 1024;
const EDITOR: i32 = 5;

pub struct Targets<'a> {
    pub modulestore: &'a Database,
    pub contentstore: &'a Database,
    pub edxval: &'a AnyPool,
    pub bucket: &'a TranscriptBucket,
}

pub async fn write(dataset: &Dataset, targets: &Targets<'_>) -> anyhow::Result<()> {
    ensure_indexes(targets).await.context("creating the indexes edx-platform's databases have")?;
    // Ids and dates come from their own generator, so the same plan writes the same documents,
    // and datasets with other tags get other ids.
    let tag_hash = dataset.plan.tag.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3));
    let mut rng = Rng::new(dataset.plan.seed ^ tag_hash);
    for course in &dataset.courses {
        if course.key.old_style {
            write_old_mongo_course(targets.modulestore, course).await
        } else {
            write_split_course(targets, course, &mut rng).await
        }
        .with_context(|| format!("writing the blocks of {}", course.key))?;
        write_assets(targets.contentstore, course).await.with_context(|| format!("writing the assets of {}", course.key))?;
    }
    for video in &dataset.known_videos {
        write_known_video(targets, video).await.with_context(|| format!("writing edx-val video {}", video.edx_video_id))?;
    }
    Ok(())
}

/// The indexes a real installation has: pymongo's GridFS indexes on the contentstore, and
/// edx-platform's on the modulestore. Without them every lookup scans a whole collection.
async fn ensure_indexes(targets: &Targets<'_>) -> anyhow::Result<()> {
    use mongodb::IndexModel;
    use mongodb::options::IndexOptions;
    let index = |keys: Document, unique: bool| IndexModel::builder().keys(keys).options(IndexOptions::builder().unique(unique).build()).build();
    let (contentstore, modulestore) = (targets.contentstore, targets.modulestore);
    let files = contentstore.collection::<Document>("fs.files");
    contentstore.collection::<Document>("fs.chunks").create_index(index(doc! { "files_id": 1, "n": 1 }, true)).await?;
    files.create_index(index(doc! { "filename": 1, "uploadDate": 1 }, false)).await?;
    files.create_index(index(doc! { "_id.org": 1, "_id.course": 1, "_id.name": 1 }, false)).await?;
    files.create_index(index(doc! { "content_son.org": 1, "content_son.course": 1, "content_son.name": 1 }, false)).await?;
    modulestore
        .collection::<Document>(activities::stores::modulestore::ACTIVE_VERSIONS)
        .create_index(index(doc! { "org": 1, "course": 1, "run": 1 }, true))
        .await?;
    let old_mongo = doc! { "_id.tag": 1, "_id.org": 1, "_id.course": 1, "_id.category": 1, "_id.name": 1, "_id.revision": 1 };
    modulestore.collection::<Document>(activities::stores::modulestore::OLD_MONGO).create_index(index(old_mongo, false)).await?;
    Ok(())
}

fn object_id(rng: &mut Rng) -> ObjectId {
    ObjectId::from_bytes(rng.bytes12())
}

fn seeded_date(rng: &mut Rng) -> DateTime {
    // Some time in 2018, when these courses were authored.
    DateTime::from_millis(1_514_764_800_000 + rng.range(0, 365 * 86_400_000) as i64)
}

async fn write_split_course(targets: &Targets<'_>, course: &Course, rng: &mut Rng) -> anyhow::Result<()> {
    let db = targets.modulestore;
    let structures = db.collection::<Document>(activities::stores::modulestore::STRUCTURES);
    let definitions = db.collection::<Document>("modulestore.definitions");
    let edited_on = seeded_date(rng);
    let course_definition = object_id(rng);
    let video_definitions: Vec<ObjectId> = course.videos.iter().map(|_| object_id(rng)).collect();
    let mut versions = Document::new();
    let mut definition_docs = vec![definition(course_definition, "course", edited_on)];
    let written = course.videos.iter().zip(&video_definitions).filter(|(video, _)| !video.definition_missing);
    definition_docs.extend(written.map(|(_, id)| definition(*id, "video", edited_on)));
    for definition in definition_docs {
        let id = definition.get_object_id("_id")?;
        definitions.replace_one(doc! { "_id": id }, definition).upsert(true).await?;
    }
    let original = object_id(rng);
    let draft_version = object_id(rng);
    for branch in [Branch::Published, Branch::Draft] {
        let version = if branch == Branch::Published { original } else { draft_version };
        let shown: Vec<(&Video, &Document, ObjectId)> = course
            .videos
            .iter()
            .zip(&video_definitions)
            .filter_map(|(video, definition)| video.copy(branch).map(|copy| (video, &copy.fields, *definition)))
            .collect();
        // A published block copied from its draft, and not edited since, names the draft's version
        // as its source (split's publish); Studio shows it without unpublished changes.
        let edit_info = |version: ObjectId, in_sync: bool| {
            let source = if branch == Branch::Published && in_sync { Bson::ObjectId(draft_version) } else { Bson::Null };
            doc! { "edited_on": edited_on, "edited_by": EDITOR, "update_version": version, "previous_version": Bson::Null, "source_version": source }
        };
        let children: Vec<Bson> = shown
            .iter()
            .filter(|(video, _, _)| !video.orphan)
            .map(|(video, _, _)| Bson::Array(vec!["video".into(), video.block_id.as_str().into()]))
            .collect();
        let mut blocks = vec![doc! {
            "block_type": "course", "block_id": "course", "definition": course_definition,
            "fields": { "display_name": &course.display_name, "children": children },
            "defaults": {}, "edit_info": edit_info(version, false),
        }];
        blocks.extend(shown.iter().map(|(video, fields, definition)| {
            // A library's block: the library's settings in `defaults`, the course's own (here
            // only the display name) in `fields`.
            let (fields, defaults) = match video.from_library {
                true => {
                    let mut defaults = (*fields).clone();
                    let own: Document = defaults.remove("display_name").map(|name| doc! { "display_name": name }).unwrap_or_default();
                    (own, defaults)
                }
                false => ((*fields).clone(), Document::new()),
            };
            doc! {
                "block_type": "video", "block_id": video.block_id.as_str(), "definition": *definition,
                "fields": fields, "defaults": defaults, "edit_info": edit_info(version, video.draft.is_none()),
            }
        }));
        let structure = doc! {
            "_id": version, "root": ["course", "course"],
            "previous_version": if branch == Branch::Draft { Bson::ObjectId(original) } else { Bson::Null },
            "original_version": original, "edited_by": EDITOR, "edited_on": edited_on,
            "blocks": blocks, "schema_version": 1,
        };
        structures.replace_one(doc! { "_id": version }, structure).upsert(true).await?;
        versions.insert(branch.split_version_key(), version);
    }
    let key = &course.key;
    let index = doc! {
        "org": &key.org, "course": &key.course, "run": &key.run,
        "edited_by": EDITOR, "edited_on": edited_on, "versions": versions.clone(),
        "schema_version": 1, "search_targets": { "wiki_slug": format!("{}.{}.{}", key.org, key.course, key.run) },
        "last_update": edited_on,
    };
    let filter = doc! { "org": &key.org, "course": &key.course, "run": &key.run };
    let active_versions = db.collection::<Document>(activities::stores::modulestore::ACTIVE_VERSIONS);
    let index_id = match active_versions.find_one(filter.clone()).await? {
        Some(existing) => {
            let id = existing.get_object_id("_id")?;
            active_versions.replace_one(doc! { "_id": id }, index).await?;
            id
        }
        None => {
            let id = object_id(rng);
            let mut index = index;
            index.insert("_id", id);
            active_versions.insert_one(index).await?;
            id
        }
    };
    write_sql_course_index(targets.edxval, key, index_id, &versions, edited_on).await
}

/// The SQL copy of the course index that edx-platform has kept since 2022
/// (`split_modulestore_django`), which is what it reads branch heads from.
async fn write_sql_course_index(sql: &AnyPool, key: &CourseKey, index_id: ObjectId, versions: &Document, edited_on: DateTime) -> anyhow::Result<()> {
    let version = |branch: Branch| versions.get_object_id(branch.split_version_key()).map(|v| v.to_hex()).unwrap_or_default();
    let when = edxval::format_datetime(edited_on.timestamp_millis());
    let course_id = key.to_string();
    sqlx::query("DELETE FROM split_modulestore_django_splitmodulestorecourseindex WHERE course_id = ?").bind(&course_id).execute(sql).await?;
    sqlx::query(
        "INSERT INTO split_modulestore_django_splitmodulestorecourseindex \
         (objectid, course_id, org, draft_version, published_version, library_version, wiki_slug, base_store, edited_by_id, edited_on, last_update) \
         VALUES (?, ?, ?, ?, ?, '', ?, 'mongodb', ?, ?, ?)",
    )
    .bind(index_id.to_hex())
    .bind(&course_id)
    .bind(&key.org)
    .bind(version(Branch::Draft))
    .bind(version(Branch::Published))
    .bind(format!("{}.{}.{}", key.org, key.course, key.run))
    .bind(EDITOR)
    .bind(&when)
    .bind(&when)
    .execute(sql)
    .await?;
    Ok(())
}

fn definition(id: ObjectId, block_type: &str, edited_on: DateTime) -> Document {
    doc! {
        "_id": id, "block_type": block_type, "fields": { "data": "" },
        "edit_info": { "edited_on": edited_on, "edited_by": EDITOR, "previous_version": Bson::Null, "original_version": id },
        "schema_version": 1,
    }
}

fn old_mongo_id(key: &CourseKey, category: &str, name: &str, draft: bool) -> Document {
    doc! {
        "tag": "i4x", "org": &key.org, "course": &key.course, "category": category, "name": name,
        "revision": if draft { Bson::String("draft".into()) } else { Bson::Null },
    }
}

async fn write_old_mongo_course(db: &Database, course: &Course) -> anyhow::Result<()> {
    let blocks = db.collection::<Document>(activities::stores::modulestore::OLD_MONGO);
    let key = &course.key;
    let edit_info = doc! { "edited_on": DateTime::from_millis(1_380_000_000_000), "edited_by": EDITOR };
    let children: Vec<String> =
        course.videos.iter().filter(|v| !v.orphan).map(|v| format!("i4x://{}/{}/video/{}", key.org, key.course, v.block_id)).collect();
    let mut documents = vec![doc! {
        "_id": old_mongo_id(key, "course", &key.run, false),
        "definition": { "data": {}, "children": children },
        "metadata": { "display_name": &course.display_name },
        "edit_info": edit_info.clone(),
    }];
    for video in &course.videos {
        for (copy, draft) in [(&video.published, false), (&video.draft, true)] {
            if let Some(copy) = copy {
                documents.push(doc! {
                    "_id": old_mongo_id(key, "video", &video.block_id, draft),
                    "definition": { "data": {}, "children": [] },
                    "metadata": copy.fields.clone(),
                    "edit_info": edit_info.clone(),
                });
            }
        }
    }
    // One query on edx-platform's index rather than one per document: equality on a
    // subdocument `_id` is not served by every MongoDB-compatible server's `_id` index.
    blocks.delete_many(doc! { "_id.tag": "i4x", "_id.org": &key.org, "_id.course": &key.course }).await?;
    blocks.insert_many(documents).await?;
    Ok(())
}

/// An `fs.files` document as edx-platform's `MongoContentStore.save` leaves it with pymongo 4,
/// field for field and in order.
fn files_document(course: &CourseKey, asset: &Asset, uploaded: DateTime) -> Document {
    let id = activities::stores::contentstore::asset_id(course, &asset.name);
    let mut content_son = doc! {
        "category": "asset", "name": &asset.name, "course": &course.course, "tag": "c4x", "org": &course.org, "revision": Bson::Null,
    };
    let filename = if course.old_style {
        format!("/c4x/{}/{}/asset/{}", course.org, course.course, asset.name)
    } else {
        content_son.insert("run", &course.run);
        id.as_str().unwrap_or_default().to_string()
    };
    doc! {
        "_id": id, "filename": filename, "displayname": &asset.name, "content_son": content_son,
        "thumbnail_location": Bson::Null, "import_path": Bson::Null, "locked": false,
        "contentType": asset.content_type, "chunkSize": CHUNK_SIZE as i32,
        "custom_md5": hex::encode(Md5::digest(&asset.bytes)),
        "length": asset.length as i64, "uploadDate": uploaded,
    }
}

/// Stores each asset as `save()` does: delete whatever had its id, then write the file document
/// and its chunks.
async fn write_assets(db: &Database, course: &Course) -> anyhow::Result<()> {
    let files = db.collection::<Document>("fs.files");
    let chunks = db.collection::<Document>("fs.chunks");
    let uploaded = DateTime::from_millis(1_527_811_200_000);
    let ids: Vec<Bson> = course.assets.iter().map(|a| activities::stores::contentstore::asset_id(&course.key, &a.name)).collect();
    // Whatever the course held before goes first, found through edx-platform's index.
    let key = &course.key;
    let earlier = if key.old_style {
        doc! { "_id.org": &key.org, "_id.course": &key.course }
    } else {
        doc! { "content_son.org": &key.org, "content_son.course": &key.course, "content_son.run": &key.run }
    };
    let mut found = files.find(earlier).projection(doc! { "_id": 1 }).await?;
    let mut earlier_ids = Vec::new();
    while let Some(file) = futures::TryStreamExt::try_next(&mut found).await? {
        earlier_ids.extend(file.get("_id").cloned());
    }
    for batch in earlier_ids.chunks(1000) {
        files.delete_many(doc! { "_id": { "$in": batch } }).await?;
        chunks.delete_many(doc! { "files_id": { "$in": batch } }).await?;
    }
    let file_docs: Vec<Document> = course.assets.iter().map(|asset| files_document(&course.key, asset, uploaded)).collect();
    for batch in file_docs.chunks(1000) {
        files.insert_many(batch).await?;
    }
    // Chunks go in batches of at most 8 MiB, well under the wire protocol's message limit.
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    for (asset, id) in course.assets.iter().zip(&ids) {
        for (n, data) in asset.bytes.chunks(CHUNK_SIZE).enumerate() {
            batch_bytes += data.len();
            batch.push(doc! {
                "_id": ObjectId::new(), "files_id": id.clone(), "n": n as i32,
                "data": Bson::Binary(bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: data.to_vec() }),
            });
            if batch_bytes >= 8 * 1024 * 1024 || batch.len() >= 1000 {
                chunks.insert_many(std::mem::take(&mut batch)).await?;
                batch_bytes = 0;
            }
        }
    }
    if !batch.is_empty() {
        chunks.insert_many(batch).await?;
    }
    Ok(())
}

async fn write_known_video(targets: &Targets<'_>, video: &KnownVideo) -> anyhow::Result<()> {
    let mut conn = targets.edxval.acquire().await?;
    let video_id = match edxval::video(&mut conn, &video.edx_video_id).await? {
        Some(existing) => existing.id,
        None => {
            let new =
                NewVideo { edx_video_id: &video.edx_video_id, client_video_id: &video.client_video_id, status: "file_complete", duration: 312.5 };
            edxval::create_video(&mut conn, &new).await?
        }
    };
    for course in &video.courses {
        edxval::link_course_video(&mut conn, course, video_id).await?;
    }
    let existing = edxval::transcripts(&mut conn, video_id).await?;
    for (language, key, bytes) in &video.transcripts {
        if existing.contains_key(language) {
            continue;
        }
        targets.bucket.put_as_edxval(key, bytes.clone()).await?;
        edxval::create_transcript(&mut conn, video_id, &VideoTranscript::custom_sjson(language, key)).await?;
    }
    Ok(())
}

/// Connects to the stores named by `settings`, writes the dataset and returns its manifest.
pub async fn seed(dataset: &Dataset, settings: &activities::stores::settings::StoreSettings) -> anyhow::Result<crate::Manifest> {
    let modulestore = activities::stores::modulestore::Modulestore::connect(&settings.modulestore).await?;
    let contentstore = activities::stores::contentstore::Contentstore::connect(&settings.contentstore).await?;
    let edxval = edxval::connect(&settings.edxval_database_url).await.context("connecting to edx-val's database")?;
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let targets = Targets { modulestore: modulestore.database(), contentstore: contentstore.database(), edxval: &edxval, bucket: &bucket };
    write(dataset, &targets).await?;
    Ok(dataset.manifest(&settings.modulestore.database, &settings.contentstore.database))
}
