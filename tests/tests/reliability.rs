//! The reliability suite: batches of at least 200 videos migrated while the worker process is
//! killed with SIGKILL at random moments (once while the batch is paused) and the Temporal
//! server, S3, MongoDB and edx-val's database go down and come back. The batches also list
//! malformed course keys, which must be reported while the rest runs. After every cycle the stores are audited
//! (`integration_tests::invariants`): every transcript migrated exactly once, no orphans,
//! nothing that existed before changed, flags only where validation passed, every failure
//! reported. The worker's log and every workflow history are scanned for the credentials.
//!
//! A second scenario puts a fault-injecting TCP proxy between the worker and each store (S3,
//! MongoDB, and MariaDB where edx-val is on it) and adds latency, resets every connection and
//! black-holes the traffic for longer than an activity's timeout, while authors keep saving the
//! courses in Studio; the courses whose write-back an author's save undid are run again.
//!
//! Meanwhile users upload transcripts (edx-val rows and S3 objects) for videos being migrated;
//! theirs must be kept as they are.
//!
//! It restarts the stack's servers, so `scripts/test` runs it alone, after the other tests.
//! CI runs one cycle; `scripts/reliability` runs the full suite (`RELIABILITY_CYCLES`,
//! `RELIABILITY_KILLS` per cycle, `RELIABILITY_SEED` to repeat a run).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use integration_tests::faults::{Fault, WorkerProcess, restart_server, sql_outage};
use integration_tests::invariants::{Audit, audit, reported_failures, snapshot};
use integration_tests::live_edits::{authors_editing, draft_display_name, users_uploading};
use integration_tests::proxy::{FaultProxy, Mode};
use integration_tests::{
    clean_up, queue_histories, running_on, secrets_found, seed_isolated, stack_client, stack_secrets, unique_tag, with_worker_of, workflow_status,
};
use model::CourseKey;
use seed::Plan;
use seed::rng::Rng;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowQueryOptions, WorkflowSignalOptions, WorkflowStartOptions};
use temporalio_common::data_converters::RawValue;
use workflows::migrate_courses::{BatchResult, MigrateCourses};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")))
}

/// `RELIABILITY_SEED`, else one of the clock's.
fn seed() -> u64 {
    setting("RELIABILITY_SEED", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() % 100_000)
}

fn plan(seed: u64) -> Plan {
    Plan { seed, bulk_courses: 20, videos_per_course: 10, languages_per_video: 2, cues_per_transcript: 8, ..Plan::default() }
}

/// Entries an operator may get wrong in a batch's list: each must fail on its own, named.
const MALFORMED_COURSE_KEYS: [&str; 4] =
    ["not a course key", "course-v1:edX+Demo X+2018", "course-v1:../../etc+passwd+x", "course-v1:edX+\u{7}+2018"];

/// `courses` and the malformed entries.
fn with_malformed(courses: &[String]) -> Vec<String> {
    courses.iter().cloned().chain(MALFORMED_COURSE_KEYS.iter().map(|k| k.to_string())).collect()
}

/// Every malformed entry is reported failed with its own text, and nothing is left running.
async fn check_bad_input_contained(client: &Client, queue: &str, result: &BatchResult) {
    assert_eq!(result.counts.invalid as usize, MALFORMED_COURSE_KEYS.len(), "{:?}", result.failed_courses);
    for key in MALFORMED_COURSE_KEYS {
        let failure = result.failed_courses.iter().find(|f| f.course_key == key);
        assert!(failure.is_some_and(|f| f.message.contains("invalid course key")), "{key:?} is reported: {:?}", result.failed_courses);
    }
    let running = running_on(client, queue).await;
    assert!(running.is_empty(), "no workflow is left running (wedged): {running:?}");
}

fn batch_input(courses: &[String]) -> serde_json::Value {
    // Retries outlast every outage the suite makes (the longest is a SeaweedFS restart, ~20 s),
    // and a killed worker's activity is retried elsewhere after 30 s.
    serde_json::json!({
        "course_keys": courses,
        "courses_per_run": 8,
        "max_courses_in_flight": 3,
        "max_videos_in_flight_per_course": 2,
        "retry": {"initial_interval_ms": 500, "maximum_attempts": 12, "activity_timeout_seconds": 30},
    })
}

async fn is_running(client: &Client, workflow_id: &str) -> Option<bool> {
    Some(workflow_status(client, workflow_id).await? == "Running")
}

/// The batch's result once it has closed, asking again while the Temporal server is away and
/// starting the worker again should it have exited on its own.
async fn batch_result(client: &Client, batch: &str, worker: &mut WorkerProcess, restarts: &mut usize) -> BatchResult {
    let deadline = Instant::now() + Duration::from_secs(1200);
    loop {
        assert!(Instant::now() < deadline, "batch {batch} did not finish in 20 minutes");
        if worker.exited() {
            *restarts += 1;
            worker.kill_and_restart(Duration::ZERO).await;
        }
        if is_running(client, batch).await == Some(false) {
            let handle = client.get_workflow_handle::<MigrateCourses>(batch);
            return handle.get_result(WorkflowGetResultOptions::default()).await.unwrap_or_else(|e| panic!("batch {batch}: {e:?}"));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Sends `pause` or `resume` to the batch, again while the Temporal server is still coming back
/// from an earlier fault; a batch that closed meanwhile is left as it is.
async fn signal_batch(client: &Client, batch: &str, pause: bool) {
    let handle = client.get_workflow_handle::<MigrateCourses>(batch);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sent = match pause {
            true => handle.signal(MigrateCourses::pause, RawValue::new(vec![]), WorkflowSignalOptions::default()).await,
            false => handle.signal(MigrateCourses::resume, RawValue::new(vec![]), WorkflowSignalOptions::default()).await,
        };
        if sent.is_ok() || is_running(client, batch).await == Some(false) {
            return;
        }
        assert!(Instant::now() < deadline, "pause={pause} {batch}: {sent:?}");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Pauses the batch, kills the worker, and once a restarted worker answers, requires the batch
/// to be paused still; then resumes it.
async fn kill_while_paused(client: &Client, batch: &str, worker: &mut WorkerProcess) {
    let handle = client.get_workflow_handle::<MigrateCourses>(batch);
    signal_batch(client, batch, true).await;
    worker.kill_and_restart(Duration::from_secs(1)).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match handle.query(MigrateCourses::progress, (), WorkflowQueryOptions::default()).await {
            Ok(progress) => {
                assert!(progress.control.paused, "the batch's pause survives the worker's death: {progress:?}");
                break;
            }
            Err(error) => assert!(Instant::now() < deadline, "no worker answered the batch's progress: {error:?}"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    signal_batch(client, batch, false).await;
}

async fn inject(fault: Fault, client: &Client, batch: &str, worker: &mut WorkerProcess, settings: &activities::stores::settings::StoreSettings) {
    let down = Duration::from_secs(3);
    match fault {
        Fault::KillWorker => worker.kill_and_restart(Duration::from_secs(1)).await,
        Fault::KillWorkerWhilePaused => kill_while_paused(client, batch, worker).await,
        Fault::RestartTemporal => restart_server("temporal", down).await,
        Fault::RestartS3 => restart_server("s3", down).await,
        Fault::RestartMongo => restart_server("mongo", down).await,
        Fault::SqlOutage => sql_outage(settings, Duration::from_secs(8)).await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_promise_holds_while_processes_die() {
    let cycles = setting("RELIABILITY_CYCLES", 1);
    let kills = setting("RELIABILITY_KILLS", 3) as usize;
    let seed = seed();
    println!("reliability: {cycles} cycle(s), {kills} worker kills each, seed {seed}");
    let secrets = stack_secrets();
    assert!(!secrets.is_empty(), "the stack has credentials to look for");
    let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (mut injected, mut unplanned_restarts, mut total, mut leaks) = (BTreeMap::<Fault, usize>::new(), 0, Audit::default(), Vec::new());
    let mut user_uploads = 0;

    for cycle in 0..cycles {
        let (settings, _, manifest) = seed_isolated("rel", plan(seed + cycle)).await;
        let videos: usize = manifest.courses.iter().map(|c| c.videos.len()).sum();
        assert!(videos >= 200, "at least 200 videos per cycle: {videos}");
        let courses: Vec<String> = manifest.courses.iter().map(|c| c.course_key.clone()).collect();
        let mut before = snapshot(&settings, &manifest).await;

        let client = stack_client().await;
        let queue = format!("test-{}", unique_tag("rel"));
        let batch = format!("batch-{}", unique_tag("rel"));
        let log = logs.join(format!("reliability-worker-{queue}.log"));
        let mut worker = WorkerProcess::start(env!("CARGO_BIN_EXE_test-worker").as_ref(), &settings, &queue, &log);
        let options = WorkflowStartOptions::new(queue.clone(), batch.clone()).build();
        client.start_workflow(MigrateCourses::run, batch_input(&with_malformed(&courses)), options).await.unwrap();

        let stop_users = Arc::new(AtomicBool::new(false));
        let users = tokio::spawn(users_uploading(settings.clone(), manifest.clone(), seed + cycle, stop_users.clone()));
        let mut rng = Rng::new(seed + cycle);
        let mut schedule: Vec<Fault> = std::iter::repeat_n(Fault::KillWorker, kills).chain(Fault::ALL.into_iter().skip(1)).collect();
        for i in (1..schedule.len()).rev() {
            schedule.swap(i, rng.range(0, i as u64 + 1) as usize);
        }
        // Close enough that every fault lands while the batch runs (it takes about a minute).
        for fault in schedule {
            tokio::time::sleep(Duration::from_millis(rng.range(500, 3000))).await;
            if is_running(&client, &batch).await == Some(false) {
                println!("cycle {cycle}: the batch finished before {fault:?}");
                break;
            }
            println!("cycle {cycle}: {fault:?}");
            inject(fault, &client, &batch, &mut worker, &settings).await;
            *injected.entry(fault).or_default() += 1;
        }
        let client = stack_client().await;
        let result = batch_result(&client, &batch, &mut worker, &mut unplanned_restarts).await;
        let reported = reported_failures(&client, &courses).await;
        worker.stop();
        stop_users.store(true, Ordering::SeqCst);
        let users = users.await.unwrap().settle(&settings, &mut before).await;
        println!("cycle {cycle}: users uploaded {} transcripts of videos being migrated ({} came too late)", users.uploads.len(), users.too_late);
        user_uploads += users.uploads.len();

        let broken = manifest.courses.iter().filter(|c| !c.flag_expected).count() as u32;
        assert_eq!(
            (result.counts.passed, result.counts.failed),
            (courses.len() as u32 - broken, broken + MALFORMED_COURSE_KEYS.len() as u32),
            "cycle {cycle}: {:?}",
            result.failed_courses
        );
        check_bad_input_contained(&client, &queue, &result).await;
        let cycle_audit = audit(&settings, &manifest, &before, &reported).await;
        println!("cycle {cycle}: {}", cycle_audit.summary());
        total.add(cycle_audit);

        for (workflow_type, history) in queue_histories(&client, &queue).await {
            leaks.extend(secrets_found(&history, &secrets).into_iter().map(|_| format!("a {workflow_type} history")));
        }
        leaks.extend(secrets_found(&std::fs::read(&log).unwrap(), &secrets).into_iter().map(|_| format!("the worker log {}", log.display())));
        clean_up(&settings).await;
    }

    let faults: Vec<String> = injected.iter().map(|(fault, n)| format!("{fault:?} {n}")).collect();
    println!("== reliability summary (seed {seed}, {cycles} cycle(s))");
    println!("faults injected: {}; worker exits not injected: {unplanned_restarts}", faults.join(", "));
    println!("live edits: {user_uploads} transcripts uploaded by users while their videos migrated, all kept");
    println!("{}", total.summary());
    println!("credentials found in logs or histories: {}", leaks.len());
    assert!(total.is_clean(), "{total:#?}");
    assert!(leaks.is_empty(), "credentials leaked into {leaks:?}");
    assert_eq!(unplanned_restarts, 0, "the worker exited without being killed");
    assert!(user_uploads > 0, "users uploaded transcripts during the migration");
    for fault in Fault::ALL {
        assert!(injected.contains_key(&fault), "{fault:?} was never injected (the batches finished first): {faults:?}");
    }
}

/// `url` with its `127.0.0.1:<port>` sent through a new proxy; the proxy, and the url.
async fn through_proxy(url: &str) -> (FaultProxy, String) {
    let start = url.find("127.0.0.1:").unwrap_or_else(|| panic!("the stack's servers are on 127.0.0.1: {url}"));
    let port_start = start + "127.0.0.1:".len();
    let port_end = url[port_start..].find(|c: char| !c.is_ascii_digit()).map_or(url.len(), |i| port_start + i);
    let proxy = FaultProxy::start(url[start..port_end].parse().unwrap()).await;
    let proxied = format!("{}127.0.0.1:{}{}", &url[..start], proxy.port(), &url[port_end..]);
    (proxy, proxied)
}

/// The warnings of this process, where the network test runs its worker, kept in memory.
#[derive(Clone, Default)]
struct WarningLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for WarningLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl WarningLog {
    fn capture() -> Self {
        let log = WarningLog::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        log
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_promise_holds_through_a_faulty_network() {
    let warnings = WarningLog::capture();
    let seed = seed();
    let (settings, _, manifest) = seed_isolated("net", plan(seed)).await;
    let courses: Vec<String> = manifest.courses.iter().map(|c| c.course_key.clone()).collect();
    let before = snapshot(&settings, &manifest).await;

    let mut proxied = settings.clone();
    let mut proxies = Vec::new();
    let (s3, endpoint) = through_proxy(settings.s3.endpoint_url.as_deref().expect("the stack's S3 endpoint")).await;
    proxied.s3.endpoint_url = Some(endpoint);
    proxies.push(("S3", s3));
    let (mongo, uri) = through_proxy(settings.modulestore.uri.expose()).await;
    assert_eq!(settings.modulestore.uri.expose(), settings.contentstore.uri.expose(), "one MongoDB server");
    proxied.modulestore.uri = activities::stores::settings::Secret::new(uri.clone());
    proxied.contentstore.uri = activities::stores::settings::Secret::new(uri);
    proxies.push(("MongoDB", mongo));
    if settings.edxval_database_url.expose().starts_with("sqlite:") {
        println!("edx-val is on SQLite, a file: no network between the worker and it to fault");
    } else {
        let (sql, url) = through_proxy(settings.edxval_database_url.expose()).await;
        proxied.edxval_database_url = activities::stores::settings::Secret::new(url);
        proxies.push(("SQL", sql));
    }

    let injected = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::<String, usize>::new()));
    let outcome = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (counted, slot) = (injected.clone(), outcome.clone());
    let sound: Vec<String> = manifest.courses.iter().filter(|c| c.flag_expected).map(|c| c.course_key.clone()).collect();
    let split: Vec<CourseKey> = sound.iter().map(|c| c.parse::<CourseKey>().unwrap()).filter(|c| !c.old_style).collect();
    let stop_authors = Arc::new(AtomicBool::new(false));
    let authors = tokio::spawn(authors_editing(settings.clone(), split, seed, stop_authors.clone()));
    with_worker_of(&proxied, 4, |client, queue| async move {
        let batch = format!("batch-{}", unique_tag("net"));
        let options = WorkflowStartOptions::new(queue.clone(), batch.clone()).build();
        client.start_workflow(MigrateCourses::run, batch_input(&with_malformed(&courses)), options).await.unwrap();
        // The black hole outlasts an activity's 30 s timeout: the stuck call must be given up
        // and retried, not waited for. Each store has its own chain of faults, all side by side,
        // so that every fault lands while the batch runs however fast the stack gets.
        let faults = [("latency", Mode::Latency(Duration::from_millis(300)), 4), ("reset", Mode::Reset, 1), ("black hole", Mode::BlackHole, 35)];
        let chains = proxies.iter().enumerate().map(|(i, (store, proxy))| {
            let (client, batch, counted) = (&client, &batch, &counted);
            async move {
                let mut rng = Rng::new(seed.wrapping_add(i as u64));
                for (kind, mode, seconds) in faults {
                    tokio::time::sleep(Duration::from_millis(rng.range(1000, 4000))).await;
                    if is_running(client, batch).await == Some(false) {
                        println!("the batch finished before {kind} on {store}");
                        return;
                    }
                    println!("{kind} on {store} for {seconds} s");
                    proxy.set(mode);
                    tokio::time::sleep(Duration::from_secs(seconds)).await;
                    proxy.set(Mode::Pass);
                    *counted.lock().unwrap().entry(format!("{kind} on {store}")).or_default() += 1;
                }
            }
        });
        futures::future::join_all(chains).await;
        let handle = client.get_workflow_handle::<MigrateCourses>(&batch);
        let result: BatchResult = handle.get_result(WorkflowGetResultOptions::default()).await.unwrap_or_else(|e| panic!("batch {batch}: {e:?}"));
        stop_authors.store(true, Ordering::SeqCst);
        // An author's save made from a head older than the write-back undoes it (Studio does not
        // check for it), so that course fails validation; the operator runs it again.
        let again: Vec<String> = result.failed_courses.iter().map(|f| f.course_key.clone()).filter(|c| sound.contains(c)).collect();
        let rerun = format!("{batch}-again");
        if !again.is_empty() {
            let options = WorkflowStartOptions::new(queue.clone(), rerun.clone()).build();
            client.start_workflow(MigrateCourses::run, batch_input(&again), options).await.unwrap();
            let rerun: BatchResult =
                client.get_workflow_handle::<MigrateCourses>(&rerun).get_result(WorkflowGetResultOptions::default()).await.unwrap();
            assert_eq!(rerun.counts.passed as usize, again.len(), "the re-run passes: {:?}", rerun.failed_courses);
        }
        println!("courses run again after an author's save undid their write-back: {}", again.len());
        check_bad_input_contained(&client, &queue, &result).await;
        let reported = reported_failures(&client, &courses).await;
        // Calls the black holes swallowed, given up by the worker (its warning: a local step's
        // retries never reach the history) or timed out by Temporal.
        let histories: String = queue_histories(&client, &queue).await.iter().map(|(_, h)| String::from_utf8_lossy(h).into_owned()).collect();
        let given_up =
            warnings.text().matches("gave up waiting for the stores").count() + histories.matches("ActivityTaskTimedOutEventAttributes").count();
        *slot.lock().unwrap() = Some((result, reported, proxies, given_up));
    })
    .await;
    let (result, reported, proxies, given_up) = outcome.lock().unwrap().take().expect("the batch ran");

    let broken: BTreeSet<String> = manifest.courses.iter().filter(|c| !c.flag_expected).map(|c| c.course_key.clone()).collect();
    let failed: BTreeSet<String> = result.failed_courses.iter().map(|f| f.course_key.clone()).collect();
    assert!(failed.is_superset(&broken), "every broken course fails: {:?}", result.failed_courses);
    let audit = audit(&settings, &manifest, &before, &reported).await;
    let injected = injected.lock().unwrap().clone();

    let (last_saves, saves) = authors.await.unwrap();
    let modulestore = activities::stores::modulestore::Modulestore::connect(&settings.modulestore).await.unwrap();
    let sql = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    for (course, name) in &last_saves {
        assert_eq!(&draft_display_name(&modulestore, &sql, course).await.unwrap(), name, "{course}: the author's last save is the head");
    }
    println!("live edits: authors saved {saves} times on {} courses; every last save is its course's head", last_saves.len());
    println!("== network faults (seed {seed})");
    println!("faults injected: {}", injected.iter().map(|(fault, n)| format!("{fault} {n}")).collect::<Vec<_>>().join(", "));
    println!("stuck calls given up and retried: {given_up}");
    println!("{}", audit.summary());
    assert!(audit.is_clean(), "{audit:#?}");
    assert!(given_up > 0, "black holes longer than the activity timeout leave calls to give up");
    assert!(saves > 0, "authors saved courses during the migration");
    assert_eq!(injected.len(), 3 * proxies.len(), "every fault on every store, while the batch ran: {injected:?}");
    clean_up(&settings).await;
}
