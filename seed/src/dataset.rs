//! The courses the seed writes: hand-made showcase courses that hold every case the migration
//! must handle (good and broken), and generated bulk courses for scale.

use std::collections::{BTreeMap, BTreeSet};

use bson::{Bson, Document, doc};
use model::plan::SourceFormat;
use model::{Branch, CourseKey};
use sha2::{Digest, Sha256};

use crate::content::{self, Cue, SrtStyle};
use crate::fixtures;
use crate::manifest::{self, BranchView, Manifest, ManifestCourse, ManifestVideo, Read, Totals};
use crate::rng::Rng;

#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    /// Appended to every org and known `edx_video_id`, so that datasets seeded side by side
    /// (one per test) never share a course or a video.
    pub tag: String,
    pub showcase: bool,
    pub bulk_courses: usize,
    pub videos_per_course: usize,
    pub languages_per_video: usize,
    pub cues_per_transcript: usize,
    /// Leave the expected SJSON out of the manifest (hashes stay), for large datasets.
    pub lean_manifest: bool,
    /// Every fourth bulk course in the old Mongo layout; else all are split.
    pub bulk_old_mongo: bool,
    /// Two courses with a rerun each, sharing an edx-val video: one pair with the same files,
    /// one whose rerun has another German file. Off by default: which course of a pair
    /// migrates the shared video depends on which commits first.
    pub reruns: bool,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            seed: 1,
            tag: String::new(),
            showcase: true,
            bulk_courses: 2,
            videos_per_course: 4,
            languages_per_video: 3,
            cues_per_transcript: 40,
            lean_manifest: false,
            bulk_old_mongo: true,
            reruns: false,
        }
    }
}

/// A file in the contentstore.
#[derive(Debug, Clone)]
pub struct Asset {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    /// The `length` its `fs.files` document declares: more than `bytes` holds when chunks were
    /// lost (a partial restore of `fs.chunks`, say).
    pub length: u64,
}

/// One copy of a video block: its settings fields as stored, and what reading them must give.
#[derive(Debug, Clone)]
pub struct BlockCopy {
    pub fields: Document,
    pub view: BranchView,
}

#[derive(Debug, Clone)]
pub struct Video {
    pub block_id: String,
    pub published: Option<BlockCopy>,
    /// Present when the draft differs from the published copy, or the video was never published.
    pub draft: Option<BlockCopy>,
    /// The block names a definition document that does not exist (split courses only). The
    /// migration reads only settings fields, so such a video migrates as usual.
    pub definition_missing: bool,
    /// No parent names the block: invisible to learners, so it is not migrated.
    pub orphan: bool,
    /// The block came from a content library (split courses only): its settings are in
    /// `defaults`, and `fields` holds only its display name.
    pub from_library: bool,
}

impl Video {
    /// The copy a branch shows: the draft branch falls back to the published copy.
    pub fn copy(&self, branch: Branch) -> Option<&BlockCopy> {
        match branch {
            Branch::Published => self.published.as_ref(),
            Branch::Draft => self.draft.as_ref().or(self.published.as_ref()),
        }
    }

    pub fn edx_video_id(&self) -> String {
        let copy = self.published.as_ref().or(self.draft.as_ref());
        copy.and_then(|c| c.fields.get_str("edx_video_id").ok()).unwrap_or("").to_string()
    }
}

#[derive(Debug, Clone)]
pub struct Course {
    pub key: CourseKey,
    pub display_name: String,
    pub videos: Vec<Video>,
    pub assets: Vec<Asset>,
}

/// A video edx-val already knows, with the transcripts it already has.
#[derive(Debug, Clone)]
pub struct KnownVideo {
    pub edx_video_id: String,
    pub client_video_id: String,
    /// The courses edx-val links it to: the one that uploaded it, and its reruns.
    pub courses: Vec<CourseKey>,
    /// (language code, storage key, SJSON bytes)
    pub transcripts: Vec<(String, String, Vec<u8>)>,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub plan: Plan,
    pub courses: Vec<Course>,
    pub known_videos: Vec<KnownVideo>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Builds one course's videos and assets, recording for each language what reading must find.
struct CourseBuilder<'a> {
    rng: &'a mut Rng,
    lean: bool,
    course: Course,
}

impl<'a> CourseBuilder<'a> {
    fn new(rng: &'a mut Rng, lean: bool, key: CourseKey, display_name: &str) -> Self {
        Self { rng, lean, course: Course { key, display_name: display_name.into(), videos: vec![], assets: vec![] } }
    }

    fn asset(&mut self, name: &str, bytes: Vec<u8>) {
        let content_type = if name.ends_with(".sjson") { "application/json" } else { "application/x-subrip" };
        self.course.assets.push(Asset { name: name.into(), content_type, length: bytes.len() as u64, bytes });
    }

    fn transcript_read(&self, file: &str, format: SourceFormat, sjson_bytes: &[u8], cues: &[Cue]) -> Read {
        Read::Transcript {
            file: file.into(),
            format,
            sha256: sha256_hex(sjson_bytes),
            cues: cues.len(),
            sjson: (!self.lean).then(|| serde_json::from_slice(sjson_bytes).expect("valid SJSON")),
        }
    }

    /// An SJSON asset `name` holding `cues`; migrated as it is.
    fn sjson(&mut self, name: &str, cues: &[Cue]) -> Read {
        let bytes = content::render_sjson_asset(cues);
        let read = self.transcript_read(name, SourceFormat::Sjson, &bytes, cues);
        self.asset(name, bytes);
        read
    }

    /// An SRT file uploaded as `asset_name`; migrated as its SJSON conversion.
    fn srt(&mut self, asset_name: &str, cues: &[Cue], style: SrtStyle) -> Read {
        self.asset(asset_name, content::render_srt(cues, style));
        let converted = content::to_sjson(cues).to_python_json().into_bytes();
        self.transcript_read(asset_name, SourceFormat::Srt, &converted, cues)
    }

    /// A hand-written SJSON asset, migrated byte for byte.
    fn sjson_raw(&mut self, name: &str, bytes: &str) -> Read {
        let value: serde_json::Value = serde_json::from_str(bytes).expect("fixture is JSON");
        let read = Read::Transcript {
            file: name.into(),
            format: SourceFormat::Sjson,
            sha256: sha256_hex(bytes.as_bytes()),
            cues: value["text"].as_array().map_or(0, Vec::len),
            sjson: (!self.lean).then_some(value),
        };
        self.asset(name, bytes.as_bytes().to_vec());
        read
    }

    /// An asset whose last `lost` bytes' chunks are gone: its file document declares them.
    fn lost_chunks(&mut self, asset_name: &str, bytes: Vec<u8>, lost: u64) -> Read {
        let read = self.broken(asset_name, bytes, "broken_file");
        let asset = self.course.assets.last_mut().expect("just added");
        asset.length += lost;
        read
    }

    /// A file that must fail to migrate with error `kind`.
    fn broken(&mut self, asset_name: &str, bytes: Vec<u8>, kind: &str) -> Read {
        self.asset(asset_name, bytes);
        Read::Error { kind: kind.into(), file: Some(asset_name.into()) }
    }

    fn cues(&mut self, language: &str, count: usize) -> Vec<Cue> {
        content::generate_cues(self.rng, language, count)
    }

    fn video(&mut self, block_id: &str, published: Option<BlockCopy>, draft: Option<BlockCopy>) {
        self.course.videos.push(Video { block_id: block_id.into(), published, draft, definition_missing: false, orphan: false, from_library: false });
    }

    fn last_video(&mut self) -> &mut Video {
        self.course.videos.last_mut().expect("a video was just added")
    }
}

/// The settings fields of a video block, and the languages reading them must find.
struct Fields {
    doc: Document,
    reads: BTreeMap<String, Read>,
}

impl Fields {
    fn new(display_name: &str) -> Self {
        Self { doc: doc! { "display_name": display_name, "html5_sources": [] }, reads: BTreeMap::new() }
    }

    fn set(mut self, key: &str, value: impl Into<Bson>) -> Self {
        self.doc.insert(key, value);
        self
    }

    /// `sub` and the English transcript it leads to.
    fn sub(self, sub: &str, read: Read) -> Self {
        self.set("sub", sub).read("en", read)
    }

    fn read(mut self, language: &str, read: Read) -> Self {
        self.reads.insert(language.into(), read);
        self
    }

    /// `transcripts[language] = filename`, and what reading it must give.
    fn transcript(mut self, language: &str, filename: &str, read: Read) -> Self {
        let mut map = self.doc.get_document("transcripts").cloned().unwrap_or_default();
        map.insert(language, filename);
        self.doc.insert("transcripts", map);
        self.read(language, read)
    }

    fn copy(self) -> Option<BlockCopy> {
        Some(BlockCopy { fields: self.doc, view: BranchView { languages: self.reads, problem: None } })
    }

    fn broken_copy(self, problem: &str) -> Option<BlockCopy> {
        Some(BlockCopy { fields: self.doc, view: BranchView { languages: BTreeMap::new(), problem: Some(problem.into()) } })
    }
}

fn missing(file: &str) -> Read {
    Read::Error { kind: "missing".into(), file: Some(file.into()) }
}

fn org(base: &str, tag: &str) -> String {
    if tag.is_empty() { base.into() } else { format!("{base}-{tag}") }
}

fn with_tag(id: &str, tag: &str) -> String {
    if tag.is_empty() { id.into() } else { format!("{id}-{tag}") }
}

impl Dataset {
    pub fn generate(plan: &Plan) -> Dataset {
        let mut rng = Rng::new(plan.seed);
        let mut dataset = Dataset { plan: plan.clone(), courses: vec![], known_videos: vec![] };
        if plan.showcase {
            dataset.showcase(&mut rng);
        }
        for i in 0..plan.bulk_courses {
            dataset.bulk_course(&mut rng, i);
        }
        if plan.reruns {
            dataset.reruns(&mut rng);
        }
        dataset
    }

    fn key(&self, base_org: &str, course: &str, run: &str, old_style: bool) -> CourseKey {
        let org = org(base_org, &self.plan.tag);
        let key = if old_style { CourseKey::old_style(&org, course, run) } else { CourseKey::new_style(&org, course, run) };
        key.expect("seeded course keys are valid")
    }

    fn showcase(&mut self, rng: &mut Rng) {
        let tag = self.plan.tag.clone();
        let lean = self.plan.lean_manifest;

        // A split course with every good case.
        let key = self.key("edX", "DemoX", "2018", false);
        let mut c = CourseBuilder::new(rng, lean, key.clone(), "Demonstration Course");
        let cues = c.cues("en", 12);
        let en = c.sjson("subs_OEoXaMPEzfM.srt.sjson", &cues);
        c.video("intro_sub_only", Fields::new("Sub only").sub("OEoXaMPEzfM", en).set("youtube_id_1_0", "OEoXaMPEzfM").copy(), None);

        // No `sub`: English is found only through `transcripts["en"]`, after the lookups of
        // the default YouTube id come up empty.
        let (de_cues, fr_cues, en_cues) = (c.cues("de", 20), c.cues("fr", 15), c.cues("en", 6));
        let de = c.srt("lecture1_de.srt", &de_cues, SrtStyle::PLAIN);
        let fr = c.srt("lecture1_fr.srt", &fr_cues, SrtStyle { crlf: true, ..SrtStyle::PLAIN });
        let en = c.srt("lecture1_en.srt", &en_cues, SrtStyle { numbered: false, ..SrtStyle::PLAIN });
        c.video(
            "lecture1_transcripts_only",
            Fields::new("Transcripts only")
                .transcript("de", "lecture1_de.srt", de)
                .transcript("fr", "lecture1_fr.srt", fr)
                .transcript("en", "lecture1_en.srt", en)
                .copy(),
            None,
        );
        // Two languages that name one file (one Spanish upload for both).
        let es_cues = c.cues("es", 7);
        let es = c.srt("lecture1_es.srt", &es_cues, SrtStyle::PLAIN);
        c.video(
            "one_file_two_languages",
            Fields::new("One file, two languages").transcript("es", "lecture1_es.srt", es.clone()).transcript("es-419", "lecture1_es.srt", es).copy(),
            None,
        );

        // `sub` and `transcripts` both, real-world SRT quirks, and a file name Studio cleans.
        let cues = c.cues("en", 8);
        let en = c.sjson("subs_b7GK_3ffm1M.srt.sjson", &cues);
        let zh = c.srt_fixture("week_2_lecture__zh_.srt", fixtures::ZH_BOM_CRLF_MULTILINE);
        let es = c.srt_fixture("lecture2_es.srt", fixtures::ES_TAGS_POSITIONS_NO_FINAL_NEWLINE);
        let de = c.srt_fixture("lecture2_de.srt", fixtures::DE_DOT_MILLISECONDS_EXTRA_BLANKS);
        // Named .sjson but holding SRT, as some exports do: a `transcripts` file is always SRT.
        let uk = c.srt_fixture("uk_transcripts.sjson", fixtures::UK_SRT_NAMED_SJSON);
        c.video(
            "lecture2_sub_and_transcripts",
            Fields::new("Sub and transcripts")
                .sub("b7GK_3ffm1M", en)
                .transcript("zh", "week 2/lecture (zh).srt", zh)
                .transcript("es", "lecture2_es.srt", es)
                .transcript("de", "lecture2_de.srt", de)
                .transcript("uk", "uk_transcripts.sjson", uk)
                .copy(),
            None,
        );

        // HTML5 only, the ids cut from the video URLs. English: the SJSON named after the video
        // wins over the SRT in `transcripts`. French: `transcripts` names a file that is gone, so
        // the prefixed SJSON is found. Spanish: both exist, and the SRT in `transcripts` wins.
        let (en_cues, fr_cues, es_cues) = (c.cues("en", 10), c.cues("fr", 10), c.cues("es", 7));
        let en = c.sjson_raw("subs_lecture3-720p.srt.sjson", fixtures::COMPACT_SJSON_WITH_PARAGRAPHS);
        let fr = c.sjson("fr_subs_lecture3-720p.srt.sjson", &fr_cues);
        let es = c.srt("lecture3_es.srt", &es_cues, SrtStyle::PLAIN);
        c.sjson("es_subs_lecture3-720p.srt.sjson", &en_cues);
        c.srt("lecture3_en.srt", &en_cues, SrtStyle::PLAIN);
        c.video(
            "lecture3_html5_only",
            Fields::new("HTML5 only")
                .set("youtube_id_1_0", "")
                .set(
                    "html5_sources",
                    vec!["https://videos.example.org/physics/lecture3-720p.mp4?token=abc", "https://videos.example.org/physics/lecture3-720p.webm"],
                )
                .transcript("en", "lecture3_en.srt", en)
                .transcript("fr", "lecture3_fr.srt", fr)
                .transcript("es", "lecture3_es.srt", es)
                .copy(),
            None,
        );

        // `sub` names no asset; the YouTube id does.
        let cues = c.cues("en", 6);
        let en = c.sjson("subs_yt_fallback_1.srt.sjson", &cues);
        c.video(
            "lecture4_youtube_fallback",
            Fields::new("YouTube fallback").set("youtube_id_1_0", "yt_fallback_1").sub("no_such_sub", en).copy(),
            None,
        );

        // edx-val already knows this video and has its English transcript.
        let known_id = with_tag("demo-known-intro", &tag);
        let known_en = content::render_sjson_asset(&c.cues("en", 5));
        let (en_cues, de_cues) = (c.cues("en", 7), c.cues("de", 7));
        let en = c.sjson("subs_known_en.srt.sjson", &en_cues);
        let de = c.srt("known_de.srt", &de_cues, SrtStyle::PLAIN);
        c.video(
            "lecture5_known_to_edxval",
            Fields::new("Known to edx-val").set("edx_video_id", known_id.as_str()).sub("known_en", en).transcript("de", "known_de.srt", de).copy(),
            None,
        );
        let storage_key = format!("video-transcripts/{}.sjson", c.rng.hex32());
        self.known_videos.push(KnownVideo {
            edx_video_id: known_id,
            client_video_id: "lecture5.mp4".into(),
            courses: vec![key.clone()],
            transcripts: vec![("en".into(), storage_key, known_en)],
        });

        // An edx_video_id that edx-val does not know: migrated as an external video.
        let cues = c.cues("es", 9);
        let es = c.srt("lecture6_es.srt", &cues, SrtStyle::PLAIN);
        c.video(
            "lecture6_unknown_edx_video_id",
            Fields::new("Unknown edx_video_id")
                .set("edx_video_id", with_tag("never-uploaded-6", &tag))
                .transcript("es", "lecture6_es.srt", es)
                .copy(),
            None,
        );

        // The draft differs from the published copy: another German file, and Italian added.
        let (published_de, draft_de, draft_it) = (c.cues("de", 8), c.cues("de", 9), c.cues("it", 4));
        let p_de = c.srt("lecture7_de.srt", &published_de, SrtStyle::PLAIN);
        let d_de = c.srt("lecture7_de_v2.srt", &draft_de, SrtStyle::PLAIN);
        let d_it = c.srt("lecture7_it.srt", &draft_it, SrtStyle::PLAIN);
        c.video(
            "lecture7_draft_differs",
            Fields::new("Draft differs").transcript("de", "lecture7_de.srt", p_de).copy(),
            Fields::new("Draft differs (edited)").transcript("de", "lecture7_de_v2.srt", d_de).transcript("it", "lecture7_it.srt", d_it).copy(),
        );

        // Never published.
        let cues = c.cues("ru", 6);
        let ru = c.srt("lecture8_ru.srt", &cues, SrtStyle { bom: true, ..SrtStyle::PLAIN });
        c.video("lecture8_draft_only", None, Fields::new("Draft only").transcript("ru", "lecture8_ru.srt", ru).copy());

        // No transcripts at all: nothing to migrate.
        c.video("lecture9_no_transcripts", Fields::new("No transcripts").copy(), None);

        // One language has no file, another an empty one: the LMS shows neither today. They are
        // reported, and the third language migrates.
        let cues = c.cues("de", 6);
        let de = c.srt("lecture10_de.srt", &cues, SrtStyle::PLAIN);
        let empty = c.broken("lecture10_es.srt", Vec::new(), "empty");
        c.video(
            "lecture10_one_file_missing",
            Fields::new("One file missing")
                .transcript("de", "lecture10_de.srt", de)
                .transcript("fr", "lecture10_fr_never_uploaded.srt", missing("lecture10_fr_never_uploaded.srt"))
                .transcript("es", "lecture10_es.srt", empty)
                .copy(),
            None,
        );

        // From a content library: its settings are the library's, in the block's `defaults`.
        let (en_cues, pt_cues) = (c.cues("en", 5), c.cues("pt", 5));
        let en = c.sjson("subs_library_intro.srt.sjson", &en_cues);
        let pt = c.srt("library_intro_pt.srt", &pt_cues, SrtStyle::PLAIN);
        c.video(
            "lecture11_from_library",
            Fields::new("From a library").sub("library_intro", en).transcript("pt", "library_intro_pt.srt", pt).copy(),
            None,
        );
        c.last_video().from_library = true;

        // An orphan (no parent names it) with a broken file: neither migrated nor a failure.
        let bad = c.broken("orphan_broken_fr.srt", fixtures::UNPARSABLE_SRT.as_bytes().to_vec(), "unparsable_srt");
        c.video("orphan_with_broken_file", Fields::new("Orphan").transcript("fr", "orphan_broken_fr.srt", bad).copy(), None);
        c.last_video().orphan = true;
        self.courses.push(c.course);

        // An old Mongo course: old-style keys, c4x asset ids, draft revision documents.
        let key = self.key("edX", "OldX", "2013_Fall", true);
        let mut c = CourseBuilder::new(rng, lean, key, "An Old Mongo Course");
        let cues = c.cues("en", 9);
        let en = c.sjson("subs_Old_Sub-1.srt.sjson", &cues);
        let cues = c.cues("hi", 6);
        let hi = c.srt("old_hi.srt", &cues, SrtStyle { crlf: true, numbered: false, ..SrtStyle::PLAIN });
        c.video("old_sub_and_srt", Fields::new("Old sub and SRT").sub("Old_Sub-1", en).transcript("hi", "old_hi.srt", hi).copy(), None);
        let (p_ar, d_ar, d_ja) = (c.cues("ar", 5), c.cues("ar", 6), c.cues("ja", 5));
        let p = c.srt("old_ar.srt", &p_ar, SrtStyle::PLAIN);
        let d = c.srt("old_ar_v2.srt", &d_ar, SrtStyle::PLAIN);
        let ja = c.srt("old_ja.srt", &d_ja, SrtStyle::PLAIN);
        c.video(
            "old_draft_differs",
            Fields::new("Old draft differs").transcript("ar", "old_ar.srt", p).copy(),
            Fields::new("Old draft differs (edited)").transcript("ar", "old_ar_v2.srt", d).transcript("ja", "old_ja.srt", ja).copy(),
        );
        let cues = c.cues("pt", 5);
        let pt = c.srt("old_pt.srt", &cues, SrtStyle::PLAIN);
        c.video("old_draft_only", None, Fields::new("Old draft only").transcript("pt", "old_pt.srt", pt).copy());
        let cues = c.cues("pt", 4);
        let pt = c.srt("old_orphan_pt.srt", &cues, SrtStyle::PLAIN);
        c.video("old_orphan", Fields::new("Old orphan").transcript("pt", "old_orphan_pt.srt", pt).copy(), None);
        c.last_video().orphan = true;
        self.courses.push(c.course);

        // A split course of broken inputs, each in its own video, beside one good video.
        let key = self.key("edX", "BrokenX", "2018", false);
        let mut c = CourseBuilder::new(rng, lean, key, "Broken Inputs");
        let cues = c.cues("en", 5);
        let en = c.sjson("subs_good_one.srt.sjson", &cues);
        c.video("good_video", Fields::new("Good").sub("good_one", en).copy(), None);
        c.video("missing_asset", Fields::new("Missing asset").transcript("fr", "lecture_fr_gone.srt", missing("lecture_fr_gone.srt")).copy(), None);
        let empty = c.broken("empty_es.srt", Vec::new(), "empty");
        c.video("empty_file", Fields::new("Empty file").transcript("es", "empty_es.srt", empty).copy(), None);
        let bad = c.broken("broken_pt.srt", fixtures::UNPARSABLE_SRT.as_bytes().to_vec(), "unparsable_srt");
        c.video("unparsable_srt", Fields::new("Unparsable SRT").transcript("pt", "broken_pt.srt", bad).copy(), None);
        let latin1 = c.broken("notes_fr.srt", fixtures::LATIN1_SRT.to_vec(), "invalid_utf8");
        c.video("invalid_utf8", Fields::new("Invalid UTF-8").transcript("fr", "notes_fr.srt", latin1).copy(), None);
        let huge = fixtures::oversized_srt(c.rng);
        let huge = c.broken("huge_de.srt", huge, "too_large");
        c.video("over_3_mib", Fields::new("Over 3 MiB").transcript("de", "huge_de.srt", huge).copy(), None);
        let lost = c.lost_chunks("lecture_it.srt", content::render_srt(&cues, SrtStyle::PLAIN), 2 * 261_120);
        c.video("chunks_lost", Fields::new("Chunks lost").transcript("it", "lecture_it.srt", lost).copy(), None);
        let bad_sjson = c.broken("subs_bad_arrays.srt.sjson", fixtures::UNEQUAL_SJSON.as_bytes().to_vec(), "unparsable_sjson");
        c.video("unparsable_sjson", Fields::new("Unparsable SJSON").sub("bad_arrays", bad_sjson).copy(), None);
        c.video(
            "transcripts_wrong_type",
            Fields::new("Transcripts field of the wrong type").set("transcripts", "lecture_en.srt").broken_copy("bad_transcripts_field"),
            None,
        );
        let mut evil = Document::new();
        evil.insert("de", "evil\u{7}name.srt");
        c.video(
            "control_character_in_file_name",
            Fields::new("A control character in a file name").set("transcripts", evil).broken_copy("bad_transcripts_field"),
            None,
        );
        let huge: Document = (0..5_000).map(|i| (format!("x{i:04}"), Bson::String(format!("lecture_{i:04}.srt")))).collect();
        c.video(
            "huge_transcripts_field",
            Fields::new("A huge transcripts field").set("transcripts", huge).broken_copy("bad_transcripts_field"),
            None,
        );
        let cues = c.cues("fr", 4);
        let fr = c.srt("illegal_id_fr.srt", &cues, SrtStyle::PLAIN);
        c.video(
            "illegal_edx_video_id",
            Fields::new("An illegal edx_video_id").set("edx_video_id", "bad id/../x").transcript("fr", "illegal_id_fr.srt", fr).copy(),
            None,
        );
        let traversal = "../../../etc/passwd.srt";
        c.video("path_in_file_name", Fields::new("A path in a file name").transcript("fr", traversal, missing(traversal)).copy(), None);
        let cues = c.cues("it", 4);
        let it = c.srt("no_definition_it.srt", &cues, SrtStyle::PLAIN);
        c.video("missing_definition", Fields::new("A block whose definition is gone").transcript("it", "no_definition_it.srt", it).copy(), None);
        c.last_video().definition_missing = true;
        self.courses.push(c.course);

        // An old Mongo course with one broken input.
        let key = self.key("edX", "OldBrokenX", "2014", true);
        let mut c = CourseBuilder::new(rng, lean, key, "An Old Mongo Course With A Missing File");
        let cues = c.cues("en", 4);
        let en = c.sjson("subs_old_good.srt.sjson", &cues);
        c.video("old_good", Fields::new("Old good").sub("old_good", en).copy(), None);
        c.video("old_missing", Fields::new("Old missing").transcript("de", "old_missing_de.srt", missing("old_missing_de.srt")).copy(), None);
        self.courses.push(c.course);
    }

    /// Course reruns as edx-platform makes them: the rerun gets the same blocks (block ids and
    /// `edx_video_id`s), a copy of the assets, and a link to each of its source's edx-val videos
    /// (`copy_course_videos`). Here the shared video has no transcripts in edx-val yet; they are
    /// in each course's contentstore. Each course also has a video of its own.
    fn reruns(&mut self, rng: &mut Rng) {
        let (tag, lean) = (self.plan.tag.clone(), self.plan.lean_manifest);
        for (course, rerun_changed_a_file) in [("RerunX", false), ("ForkX", true)] {
            let edx_video_id = with_tag(&format!("{}-shared-intro", course.to_lowercase()), &tag);
            let keys = [self.key("edX", course, "2019", false), self.key("edX", course, "2020", false)];
            let mut cues = CourseBuilder::new(rng, lean, keys[0].clone(), "");
            let (en, de, de_edited) = (cues.cues("en", 8), cues.cues("de", 8), cues.cues("de", 9));
            for (i, key) in keys.iter().enumerate() {
                let mut c = CourseBuilder::new(rng, lean, key.clone(), &format!("{course} ({})", key.run));
                let en = c.sjson("subs_shared_intro.srt.sjson", &en);
                let de = c.srt("shared_intro_de.srt", if rerun_changed_a_file && i == 1 { &de_edited } else { &de }, SrtStyle::PLAIN);
                c.video(
                    "shared_intro",
                    Fields::new("Shared intro")
                        .set("edx_video_id", edx_video_id.as_str())
                        .sub("shared_intro", en)
                        .transcript("de", "shared_intro_de.srt", de)
                        .copy(),
                    None,
                );
                let own = format!("own_{}", key.run);
                let fr = c.cues("fr", 5);
                let fr = c.srt(&format!("{own}_fr.srt"), &fr, SrtStyle::PLAIN);
                c.video(&own, Fields::new("Its own").transcript("fr", &format!("{own}_fr.srt"), fr).copy(), None);
                self.courses.push(c.course);
            }
            self.known_videos.push(KnownVideo {
                edx_video_id,
                client_video_id: "shared_intro.mp4".into(),
                courses: keys.to_vec(),
                transcripts: vec![],
            });
        }
    }

    fn bulk_course(&mut self, rng: &mut Rng, index: usize) {
        let old_style = self.plan.bulk_old_mongo && index % 4 == 3;
        let key = self.key("BulkU", &format!("C{index:05}"), "2026", old_style);
        let plan = self.plan.clone();
        let mut c = CourseBuilder::new(rng, plan.lean_manifest, key, &format!("Bulk course {index}"));
        let languages: Vec<&str> = content::language_codes().collect();
        for v in 0..plan.videos_per_course {
            let block_id = c.rng.hex32();
            let mut fields = Fields::new(&format!("Video {v}"));
            for &language in languages.iter().cycle().take(plan.languages_per_video.min(languages.len())) {
                let cues = c.cues(language, plan.cues_per_transcript);
                if language == "en" {
                    let sub = format!("bulk_{}", &block_id[..12]);
                    let read = c.sjson(&format!("subs_{sub}.srt.sjson"), &cues);
                    fields = fields.sub(&sub, read);
                } else {
                    let file = format!("{}_{language}.srt", &block_id[..12]);
                    let style = content::random_style(c.rng);
                    let read = c.srt(&file, &cues, style);
                    fields = fields.transcript(language, &file, read);
                }
            }
            c.video(&block_id, fields.copy(), None);
        }
        self.courses.push(c.course);
    }

    pub fn manifest(&self, modulestore_db: &str, contentstore_db: &str) -> Manifest {
        let known: BTreeMap<&str, BTreeSet<String>> =
            self.known_videos.iter().map(|v| (v.edx_video_id.as_str(), v.transcripts.iter().map(|(l, _, _)| l.clone()).collect())).collect();
        let mut courses: Vec<ManifestCourse> = self
            .courses
            .iter()
            .map(|course| {
                let videos: Vec<ManifestVideo> = course
                    .videos
                    .iter()
                    .map(|video| {
                        let branches: BTreeMap<Branch, BranchView> =
                            Branch::ALL.into_iter().filter_map(|b| video.copy(b).map(|copy| (b, copy.view.clone()))).collect();
                        let edx_video_id = video.edx_video_id();
                        let expected = manifest::expected_video(&branches, &edx_video_id, known.get(edx_video_id.as_str()));
                        let usage_key = course.key.usage_key("video", &video.block_id);
                        let expected = if video.orphan { manifest::ExpectedVideo::orphan() } else { expected };
                        ManifestVideo {
                            usage_key: usage_key.to_string(),
                            block_id: video.block_id.clone(),
                            target_edx_video_id: model::plan::target_edx_video_id(&usage_key, [edx_video_id.as_str()])
                                .expect("one edx_video_id agrees with itself"),
                            edx_video_id,
                            branches,
                            orphan: video.orphan,
                            shared_with: Vec::new(),
                            expected,
                        }
                    })
                    .collect();
                ManifestCourse {
                    course_key: course.key.to_string(),
                    modulestore: if course.key.old_style { "old_mongo" } else { "split" }.into(),
                    videos,
                    flag_expected: false,
                }
            })
            .collect();
        for video in self.known_videos.iter().filter(|v| v.courses.len() > 1) {
            let linked: Vec<String> = video.courses.iter().map(ToString::to_string).collect();
            manifest::share(&mut courses, &video.edx_video_id, &linked);
        }
        let mut totals = Totals::default();
        let mut to_migrate = BTreeSet::new();
        for course in &mut courses {
            let failed = course.videos.iter().filter(|v| v.expected.outcome == manifest::Outcome::Failed).count();
            course.flag_expected = failed == 0;
            totals.courses += 1;
            totals.videos += course.videos.len();
            totals.failed_videos += failed;
            totals.orphans += course.videos.iter().filter(|v| v.orphan).count();
            // A shared video's transcript is migrated once, by whichever course commits first.
            to_migrate.extend(course.videos.iter().flat_map(|v| v.expected.migrate.keys().map(|l| (v.target_edx_video_id.clone(), l.clone()))));
        }
        totals.transcripts_to_migrate = to_migrate.len();
        totals.assets = self.courses.iter().map(|c| c.assets.len()).sum();
        Manifest {
            seed: self.plan.seed,
            tag: self.plan.tag.clone(),
            modulestore_db: modulestore_db.into(),
            contentstore_db: contentstore_db.into(),
            totals,
            courses,
        }
    }
}

impl CourseBuilder<'_> {
    /// A hand-written SRT file with its hand-written expected cues.
    fn srt_fixture(&mut self, asset_name: &str, fixture: fixtures::Fixture) -> Read {
        self.asset(asset_name, fixture.srt.as_bytes().to_vec());
        let cues: Vec<Cue> = fixture.cues.iter().map(|&(start_ms, end_ms, text)| Cue { start_ms, end_ms, lines: vec![text.into()] }).collect();
        let converted = content::to_sjson(&cues).to_python_json().into_bytes();
        self.transcript_read(asset_name, SourceFormat::Srt, &converted, &cues)
    }
}
