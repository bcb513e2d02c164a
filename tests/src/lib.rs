//! Shared set-up for the integration tests: they run against the real local stack started by
//! `scripts/stack start`, each in its own MongoDB databases and with its own tag, so that tests
//! running side by side never see each other's courses.

use std::path::PathBuf;

pub mod faults;
pub mod invariants;
pub mod live_edits;
pub mod prometheus;
pub mod proxy;

use activities::stores::settings::{Env, StoreSettings};
use seed::{Dataset, Manifest, Plan};

/// The stack's env file: `$MIGRATOR_ENV_FILE`, else `<repo>/.stack/stack.env`.
pub fn env_file() -> PathBuf {
    std::env::var_os("MIGRATOR_ENV_FILE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.stack/stack.env"))
}

pub fn stack_env() -> Env {
    let path = env_file();
    Env::from_file_only(&path).unwrap_or_else(|e| panic!("the local stack is not up ({e}); run scripts/stack start"))
}

/// A short tag unique to this test and process, usable in org names and edx_video_ids.
pub fn unique_tag(test: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{test}{:x}{:x}", std::process::id(), nanos % 0xffff)
}

/// The stack's settings with MongoDB databases of this test's own.
pub fn isolated_settings(tag: &str) -> StoreSettings {
    let mut settings = StoreSettings::from_env(&stack_env()).expect("stack.env names every store");
    settings.modulestore.database = format!("ms_{tag}");
    settings.contentstore.database = format!("cs_{tag}");
    settings
}

/// Seeds `plan` into this test's own databases and returns what was written.
pub async fn seed_isolated(test: &str, mut plan: Plan) -> (StoreSettings, Dataset, Manifest) {
    let tag = unique_tag(test);
    plan.tag = tag.clone();
    let mut settings = isolated_settings(&tag);
    settings.s3.bucket = own_bucket(&settings, &tag).await;
    let dataset = Dataset::generate(&plan);
    let manifest = seed::write::seed(&dataset, &settings).await.expect("seeding the stack");
    (settings, dataset, manifest)
}

/// A bucket of the test's own (the stack's S3 server, the stack's credentials), so that it can
/// compare listings while other tests write.
pub async fn own_bucket(settings: &StoreSettings, tag: &str) -> String {
    let name = format!("t-{}", tag.to_lowercase().replace('_', "-"));
    let bucket = activities::stores::s3::TranscriptBucket::connect(&settings.s3).await;
    bucket.client().create_bucket().bucket(&name).send().await.expect("creating the test's bucket");
    name
}

/// Drops the test's MongoDB databases and, when it has one, empties and deletes its bucket.
pub async fn clean_up(settings: &StoreSettings) {
    for mongo in [&settings.modulestore, &settings.contentstore] {
        let client = mongodb::Client::with_uri_str(mongo.uri.expose()).await.unwrap();
        client.database(&mongo.database).drop().await.unwrap();
    }
    let stack_bucket = StoreSettings::from_env(&stack_env()).unwrap().s3.bucket;
    if settings.s3.bucket != stack_bucket {
        let bucket = activities::stores::s3::TranscriptBucket::connect(&settings.s3).await;
        use futures::StreamExt;
        let bucket = &bucket;
        futures::stream::iter(bucket.list("").await.unwrap()).for_each_concurrent(16, |key| async move { bucket.delete(&key).await.unwrap() }).await;
        bucket.client().delete_bucket().bucket(bucket.bucket()).send().await.expect("deleting the test's bucket");
    }
}

/// A client of the stack's Temporal server.
pub async fn stack_client() -> temporalio_client::Client {
    let temporal = worker::config::TemporalSettings::from_env(&stack_env()).unwrap();
    worker::run::connect_client(&temporal).await.unwrap()
}

/// The `edx_video_id` a seeded video ends up with once migrated: its own, or the external id
/// derived from its usage key.
pub fn final_edx_video_id(video: &seed::manifest::ManifestVideo) -> String {
    video.target_edx_video_id.clone()
}

/// Runs `scenario` with a worker of the production wiring on a task queue of its own (so no
/// other worker takes its tasks), then stops the worker.
pub async fn with_worker<F, Fut>(settings: &StoreSettings, scenario: F)
where
    F: FnOnce(temporalio_client::Client, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    with_worker_of(settings, 4, scenario).await
}

/// `with_worker`, with at most `max_activities` activities at a time.
pub async fn with_worker_of<F, Fut>(settings: &StoreSettings, max_activities: usize, scenario: F)
where
    F: FnOnce(temporalio_client::Client, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let client = stack_client().await;
    let runtime = temporalio_sdk::Runtime::from_current_tokio(temporalio_sdk::runtime::RuntimeOptions::default()).unwrap();
    let task_queue = format!("test-{}", unique_tag("q"));
    let activities = worker::run::migration_activities(settings).await.unwrap();
    let options = worker::run::worker_options(&task_queue, activities, max_activities).unwrap();
    let mut worker = temporalio_sdk::Worker::new(&runtime, client.clone(), options).unwrap();
    let shutdown = worker.shutdown_handle();
    let (ran, ()) = tokio::join!(worker.run(), async {
        scenario(client, task_queue).await;
        shutdown();
    });
    ran.unwrap();
}

/// Runs one `MigrateCourse` with `input` on `queue` under the course's own workflow id, and
/// waits for its result (a run that fails panics, naming the course).
pub async fn run_course(
    client: &temporalio_client::Client,
    queue: &str,
    input: &workflows::migrate_course::MigrateCourseInput,
) -> workflows::migrate_course::CourseResult {
    use workflows::migrate_course::{MigrateCourse, course_workflow_id};
    let course = &input.course_key;
    let options = temporalio_client::WorkflowStartOptions::new(queue.to_string(), course_workflow_id(course, input.dry_run)).build();
    let handle = client.start_workflow(MigrateCourse::run, serde_json::to_value(input).unwrap(), options).await.unwrap();
    handle.get_result(temporalio_client::WorkflowGetResultOptions::default()).await.unwrap_or_else(|e| panic!("course {course}: {e:?}"))
}

/// The python of the stack's venv, for edx-val's own code.
pub fn stack_python() -> PathBuf {
    let env = stack_env();
    PathBuf::from(env.require("STACK_VENV").expect("STACK_VENV in stack.env")).join("bin/python")
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reads a transcript the way the LMS does, through edx-val's own Python API
/// (`edxval.api.get_video_transcript_data`, django-storages on the stack's S3).
/// `Ok((file_name, content))`, or `Err((exit code, stderr))`.
pub fn edxval_read(s3_bucket: &str, edx_video_id: &str, language: &str) -> Result<(String, String), (i32, String)> {
    let output = edxval_read_command(s3_bucket).args([edx_video_id, language]).output().expect("running the stack's python");
    if !output.status.success() {
        return Err((output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    Ok((value["file_name"].as_str().unwrap().into(), value["content"].as_str().unwrap().into()))
}

/// `scripts/edxval_read.py` under the stack's python, with the stack's settings and `s3_bucket`.
fn edxval_read_command(s3_bucket: &str) -> std::process::Command {
    let values = std::fs::read_to_string(env_file()).unwrap();
    let mut command = std::process::Command::new(stack_python());
    command.arg(repo_root().join("scripts/edxval_read.py")).envs(values.lines().filter_map(|l| l.split_once('='))).env("S3_BUCKET", s3_bucket);
    command
}

/// `edxval_read_many`, with edx-val's storage configured as `s3` says: django-storages'
/// `location` and edx-val's `DIRECTORY_PREFIX`.
pub fn edxval_read_many_in(s3: &activities::stores::settings::S3Settings, wanted: &[(String, String)]) -> Vec<Result<(String, String), String>> {
    let mut command = edxval_read_command(&s3.bucket);
    command.env("S3_LOCATION", &s3.location).env("TRANSCRIPTS_DIRECTORY_PREFIX", &s3.directory_prefix);
    read_many(command, wanted)
}

/// Reads many transcripts through edx-val's own Python API in one process:
/// `Ok((file_name, content))` or `Err(what edx-val raised)` for each `(edx_video_id, language)`.
pub fn edxval_read_many(s3_bucket: &str, wanted: &[(String, String)]) -> Vec<Result<(String, String), String>> {
    read_many(edxval_read_command(s3_bucket), wanted)
}

fn read_many(mut command: std::process::Command, wanted: &[(String, String)]) -> Vec<Result<(String, String), String>> {
    use std::io::Write;
    let mut child =
        command.arg("--batch").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().expect("running the stack's python");
    let mut stdin = child.stdin.take().unwrap();
    let input: String = wanted.iter().map(|pair| serde_json::to_string(pair).unwrap() + "\n").collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "edxval_read.py --batch failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            match value["error"].as_str() {
                Some(error) => Err(error.to_string()),
                None => Ok((value["file_name"].as_str().unwrap().into(), value["content"].as_str().unwrap().into())),
            }
        })
        .collect()
}

/// For each video block of a split course: whether Studio shows it without unpublished
/// changes, by `split_draft.has_changes`'s rule (the two copies' `source_version`, else
/// `update_version`, agree). Blocks only one branch has are left out.
pub async fn split_in_sync(
    modulestore: &activities::stores::modulestore::Modulestore,
    sql: &sqlx::AnyPool,
    course: &model::CourseKey,
) -> std::collections::BTreeMap<String, bool> {
    use bson::{Bson, Document, doc};
    let mut versions = Vec::new();
    for branch in model::Branch::ALL {
        let (head, _) = activities::stores::split_course_index::current_head(modulestore, sql, course, branch).await.unwrap().unwrap();
        let structures = modulestore.database().collection::<Document>(activities::stores::modulestore::STRUCTURES);
        let structure = structures.find_one(doc! { "_id": head }).await.unwrap().unwrap();
        let mut by_block = std::collections::BTreeMap::new();
        for block in structure.get_array("blocks").unwrap().iter().filter_map(Bson::as_document) {
            if block.get_str("block_type") != Ok("video") {
                continue;
            }
            let edit_info = block.get_document("edit_info").unwrap();
            let version = match edit_info.get("source_version") {
                Some(Bson::Null) | None => edit_info.get("update_version").cloned(),
                source => source.cloned(),
            };
            by_block.insert(block.get_str("block_id").unwrap().to_string(), version);
        }
        versions.push(by_block);
    }
    let (draft, published) = (&versions[0], &versions[1]);
    draft.iter().filter_map(|(id, version)| Some((id.clone(), published.get(id)? == version))).collect()
}

/// A course's videos as the migration sees them: one unit per block, with its copy in each
/// branch.
pub async fn course_units(modulestore: &activities::stores::modulestore::Modulestore, course: &model::CourseKey) -> Vec<model::video::VideoUnit> {
    activities::steps::discover::course_units(modulestore, course).await.unwrap()
}

/// What a migration leaves behind for a seeded dataset, with the dataset's tag taken out, so
/// that two datasets seeded from the same plan (under different tags) compare equal: the
/// content of every object in the bucket, every edx-val transcript of the dataset's videos with
/// its content, and each course's flag.
#[derive(Debug, PartialEq)]
pub struct FinalState {
    /// SHA-256 of each object in the bucket, with how many objects have it.
    pub objects: std::collections::BTreeMap<String, usize>,
    /// (usage key, language) → SHA-256 of the object edx-val names (`missing` if there is none).
    pub transcripts: std::collections::BTreeMap<(String, String), String>,
    /// Course key → whether its newest flag row is enabled (`None`: no row).
    pub flags: std::collections::BTreeMap<String, Option<bool>>,
}

pub async fn final_state(settings: &StoreSettings, manifest: &Manifest) -> FinalState {
    let untagged = |text: &str| text.replace(&manifest.tag, "");
    let stored = invariants::snapshot(settings, manifest).await;
    let mut objects = std::collections::BTreeMap::new();
    for content in stored.objects.values() {
        *objects.entry(content.clone()).or_insert(0) += 1;
    }
    let mut transcripts = std::collections::BTreeMap::new();
    for video in manifest.courses.iter().flat_map(|c| &c.videos) {
        let edx_video_id = final_edx_video_id(video);
        let rows = stored.rows.range((edx_video_id.clone(), String::new())..).take_while(|((id, _), _)| *id == edx_video_id);
        for ((_, language), row) in rows {
            let content = stored.objects.get(&row.transcript).cloned().unwrap_or_else(|| "missing".to_string());
            transcripts.insert((untagged(&video.usage_key), language.clone()), content);
        }
    }
    let pool = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let mut flags = std::collections::BTreeMap::new();
    for course in &manifest.courses {
        flags.insert(untagged(&course.course_key), activities::stores::course_log::flag(&mut conn, &course.course_key).await.unwrap());
    }
    FinalState { objects, transcripts, flags }
}

/// The operator commands of `docs/`: every command of a `sh` block whose comment line names it
/// (`# [name] …`), by name, continuation lines joined.
pub fn documented_commands() -> std::collections::BTreeMap<String, String> {
    let mut commands = std::collections::BTreeMap::new();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo_root().join("docs")).unwrap().map(|e| e.unwrap().path()).collect();
    docs.retain(|path| path.extension().is_some_and(|e| e == "md"));
    docs.sort();
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap();
        let (mut in_block, mut current): (bool, Option<(String, String)>) = (false, None);
        let mut finish = |current: &mut Option<(String, String)>| {
            if let Some((name, command)) = current.take() {
                assert!(commands.insert(name.clone(), command).is_none(), "[{name}] is named twice in docs/");
            }
        };
        for line in text.lines() {
            if line.starts_with("```") {
                finish(&mut current);
                in_block = line.trim() == "```sh";
            } else if !in_block {
                continue;
            } else if let Some(rest) = line.strip_prefix("# [") {
                finish(&mut current);
                current = Some((rest.split(']').next().unwrap().to_string(), String::new()));
            } else if line.starts_with('#') {
                finish(&mut current);
            } else if let Some((_, command)) = current.as_mut() {
                command.push_str(line.trim_end_matches('\\').trim());
                command.push(' ');
            }
        }
        finish(&mut current);
    }
    commands
}

/// Runs the operator commands of `docs/` with the stack's `temporal` CLI, the stack's Temporal
/// address and the variables the commands use (`QUEUE`, `COURSE`, `COURSES`, `BATCH`), and
/// keeps which ones ran.
pub struct OperatorCli {
    commands: std::collections::BTreeMap<String, String>,
    vars: Vec<(String, String)>,
    ran: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl OperatorCli {
    pub fn new(vars: &[(&str, &str)]) -> Self {
        let env = stack_env();
        let address = env.require("TEMPORAL_ADDRESS").unwrap().trim_start_matches("http://").to_string();
        let path = format!("{}/bin:{}", env.require("STACK_VENV").unwrap(), std::env::var("PATH").unwrap_or_default());
        let mut all = vec![("TEMPORAL_ADDRESS".to_string(), address), ("PATH".to_string(), path)];
        all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Self { commands: documented_commands(), vars: all, ran: Default::default() }
    }

    /// Runs the command named `[name]`, `extra` appended (such as `-o json`), with `overrides`
    /// of the variables; returns its stdout, or panics with its stderr.
    pub fn run(&self, name: &str, extra: &str, overrides: &[(&str, &str)]) -> String {
        let command = self.commands.get(name).unwrap_or_else(|| panic!("docs/ have no command [{name}]"));
        self.ran.lock().unwrap().insert(name.to_string());
        let output = std::process::Command::new("bash")
            .args(["-c", &format!("{command} {extra}")])
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(overrides.iter().copied())
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "[{name}] {command} {extra} failed: {stderr}\n{stdout}");
        stdout
    }

    /// Runs `[name]` with `-o json` and parses what it prints.
    pub fn json(&self, name: &str, overrides: &[(&str, &str)]) -> serde_json::Value {
        let stdout = self.run(name, "-o json", overrides);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("[{name}] printed no JSON ({e}): {stdout}"))
    }

    /// The documented commands not run yet.
    pub fn not_run(&self) -> Vec<String> {
        let ran = self.ran.lock().unwrap();
        self.commands.keys().filter(|name| !ran.contains(*name)).cloned().collect()
    }
}

/// A workflow's status as the CLI shows it (`Running`, `Completed`, `Failed`, …); `None` while
/// the Temporal server does not answer.
pub async fn workflow_status(client: &temporalio_client::Client, workflow_id: &str) -> Option<String> {
    let handle = client.get_workflow_handle::<temporalio_client::UntypedWorkflow>(workflow_id);
    let described = handle.describe(temporalio_client::WorkflowDescribeOptions::default()).await.ok()?;
    Some(format!("{:?}", described.status()))
}

/// The workflows on `queue` still running, by id: none once a migration is over, or one of them
/// is wedged.
pub async fn running_on(client: &temporalio_client::Client, queue: &str) -> Vec<String> {
    use futures::TryStreamExt;
    let query = format!("TaskQueue='{queue}' AND ExecutionStatus='Running'");
    let runs: Vec<_> = client.list_workflows(query, temporalio_client::WorkflowListOptions::default()).try_collect().await.expect("listing runs");
    runs.iter().map(|run| run.id().to_string()).collect()
}

/// The history (the SDK's JSON) of every run of every workflow on `queue`, with its type, in
/// the order they started.
pub async fn queue_histories(client: &temporalio_client::Client, queue: &str) -> Vec<(String, Vec<u8>)> {
    use futures::TryStreamExt;
    use temporalio_client::{WorkflowExecutionInfo, WorkflowFetchHistoryOptions, WorkflowListOptions};
    let mut runs: Vec<_> =
        client.list_workflows(format!("TaskQueue='{queue}'"), WorkflowListOptions::default()).try_collect().await.expect("listing runs");
    runs.sort_by_key(|run| (run.start_time(), run.id().to_string()));
    let namespace = worker::config::TemporalSettings::from_env(&stack_env()).unwrap().namespace;
    let mut histories = Vec::new();
    for run in &runs {
        let info = WorkflowExecutionInfo::builder().namespace(&namespace).workflow_id(run.id()).run_id(run.run_id()).build();
        let history = info.bind_untyped(client.clone()).fetch_history(WorkflowFetchHistoryOptions::default());
        histories.push((run.workflow_type().to_string(), history.to_json().await.expect("fetching a history")));
    }
    histories
}

/// The stack's credentials: the S3 keys and any password in a database URL.
pub fn stack_secrets() -> Vec<String> {
    let env = stack_env();
    let mut secrets: Vec<String> = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].iter().filter_map(|key| env.get(key)).map(String::from).collect();
    for key in ["EDXVAL_DATABASE_URL", "MODULESTORE_MONGODB_URI", "CONTENTSTORE_MONGODB_URI"] {
        let password =
            env.get(key).and_then(|url| url.split_once("://")).and_then(|(_, rest)| rest.split_once('@')).and_then(|(user, _)| user.split_once(':'));
        secrets.extend(password.map(|(_, password)| password.to_string()).filter(|p| !p.is_empty()));
    }
    secrets
}

/// The secrets of `secrets` that `text` contains, also inside the base64 payloads of a
/// workflow history.
pub fn secrets_found(text: &[u8], secrets: &[String]) -> Vec<String> {
    use base64::Engine;
    let mut haystack = String::from_utf8_lossy(text).into_owned();
    for word in haystack.clone().split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=')) {
        if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(word) {
            haystack.push_str(&String::from_utf8_lossy(&decoded));
        }
    }
    secrets.iter().filter(|secret| haystack.contains(secret.as_str())).cloned().collect()
}
