//! `benchmark`: seeds courses on the local stack, migrates them end to end with the release
//! worker as a process of its own, moves a second copy of the same data with a plain loop (the
//! ceiling), and prints throughput, latency, memory, CPU and history figures for both. The
//! quick and full presets run two sizes of the same shape, so that the cost per video can be
//! compared (the slope); full then runs one course of 10,000 videos. Both end with the smaller
//! size again on two worker processes sharing one task queue (scale-out). After every
//! orchestrated run the stores are audited as the reliability suite audits them. Run it with
//! `scripts/benchmark [quick|full|course]`.

mod measure;
mod raw;
mod server_metrics;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use activities::stores::settings::StoreSettings;
use anyhow::Context;
use integration_tests::faults::WorkerProcess;
use integration_tests::invariants::{audit, reported_failures, snapshot};
use integration_tests::{clean_up, isolated_settings, own_bucket, stack_client, unique_tag};
use measure::{CpuMeter, QueueRuns};
use seed::{Dataset, Manifest, Plan};
use server_metrics::TemporalFigures;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use workflows::migrate_courses::{BatchResult, MigrateCourses};

/// Courses × videos × languages, every video with every language, every course split.
#[derive(Debug, Clone, Copy)]
struct Shape {
    courses: usize,
    videos: usize,
    languages: usize,
}

impl Shape {
    fn transcripts(&self) -> usize {
        self.courses * self.videos * self.languages
    }
}

/// The huge course of the targets: it must complete within Temporal's history limits.
const HUGE_COURSE: Shape = shape(1, 10_000, 1);

const fn shape(courses: usize, videos: usize, languages: usize) -> Shape {
    Shape { courses, videos, languages }
}

/// One size, and how many worker processes share its task queue.
#[derive(Debug, Clone, Copy)]
struct Setup {
    shape: Shape,
    workers: usize,
}

const fn one(shape: Shape) -> Setup {
    Setup { shape, workers: 1 }
}

/// Scale-out: two worker processes on one queue.
const TWO_WORKERS: Setup = Setup { shape: shape(2, 100, 5), workers: 2 };

/// The sizes a preset runs; the first two give the slope.
fn preset(name: &str) -> anyhow::Result<Vec<Setup>> {
    match name {
        "quick" => Ok(vec![one(shape(1, 20, 5)), one(shape(2, 100, 5)), TWO_WORKERS]),
        "full" => Ok(vec![one(shape(2, 100, 5)), one(shape(10, 2_000, 5)), one(HUGE_COURSE), TWO_WORKERS]),
        "course" => Ok(vec![one(HUGE_COURSE)]),
        other => anyhow::bail!("unknown preset {other:?}: quick, full or course"),
    }
}

#[derive(Clone)]
struct Options {
    concurrency: usize,
    /// Courses of the batch migrated side by side.
    courses_in_flight: usize,
    cues: usize,
    worker_binary: PathBuf,
    stack_dir: PathBuf,
}

/// One size's figures.
struct Round {
    shape: Shape,
    workers: usize,
    raw_seconds: f64,
    raw_cpu: Vec<(String, f64)>,
    seconds: f64,
    cpu: Vec<(String, f64)>,
    worker_peak_mib: f64,
    runs: QueueRuns,
    temporal: TemporalFigures,
}

impl Round {
    fn videos(&self) -> usize {
        self.shape.courses * self.shape.videos
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let preset_name = args.first().map_or("quick", String::as_str);
    let setups = preset(preset_name)?;
    let setting = |name: &str, default: usize| std::env::var(name).ok().map_or(Ok(default), |v| v.parse().with_context(|| format!("{name}={v}")));
    let here = std::env::current_exe()?;
    let options = Options {
        concurrency: setting("BENCHMARK_CONCURRENCY", 16)?,
        courses_in_flight: setting("BENCHMARK_COURSES_IN_FLIGHT", 1)?,
        cues: setting("BENCHMARK_CUES", 60)?,
        worker_binary: here.with_file_name("test-worker"),
        stack_dir: integration_tests::env_file().parent().context("the env file's folder")?.to_path_buf(),
    };
    anyhow::ensure!(
        options.worker_binary.exists(),
        "{} is missing: build with cargo build --release -p integration-tests --bins",
        options.worker_binary.display()
    );
    println!(
        "preset {preset_name}: {} cores, {} at a time, {} course(s) side by side, {} cues per transcript",
        cores(),
        options.concurrency,
        options.courses_in_flight,
        options.cues
    );
    let mut rounds = Vec::new();
    for setup in setups {
        rounds.push(round(setup, &options).await?);
    }
    if let [small, large, ..] = rounds.as_slice()
        && large.workers == 1
    {
        slope(small, large);
    }
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Seeds `shape` twice (one copy for each contender), runs the plain loop and then the
/// orchestrated migration, audits the stores, prints the figures and removes the data.
async fn round(Setup { shape, workers }: Setup, options: &Options) -> anyhow::Result<Round> {
    println!(
        "\n== {} transcripts: {} courses × {} videos × {} languages, {} at a time, {workers} worker process(es) ==",
        shape.transcripts(),
        shape.courses,
        shape.videos,
        shape.languages,
        options.concurrency
    );
    let tag = unique_tag("bench");
    let seeded = Instant::now();
    let (raw_settings, _) = seed(shape, options, &format!("{tag}r")).await?;
    let (settings, manifest) = seed(shape, options, &format!("{tag}o")).await?;
    let before = snapshot(&settings, &manifest).await;
    println!("seeded both copies in {:.1} s", seeded.elapsed().as_secs_f64());
    let servers = measure::stack_servers(&options.stack_dir);

    let mut raw_processes = servers.clone();
    raw_processes.push(("raw loop".into(), std::process::id()));
    let meter = CpuMeter::start(&raw_processes);
    let started = Instant::now();
    let copied = raw::copy_all(&raw_settings, options.concurrency).await?;
    let raw_seconds = started.elapsed().as_secs_f64();
    let raw_cpu = meter.stop();
    anyhow::ensure!(copied.transcripts == shape.transcripts(), "the raw loop moved {} transcripts, not {}", copied.transcripts, shape.transcripts());

    let metrics_port = server_metrics::metrics_port(&options.stack_dir)?;
    let queue = format!("bench-{}", unique_tag("q"));
    let figures_before = TemporalFigures::read_settled(metrics_port, &queue).await?;
    let (seconds, cpu, worker_peak_mib, runs) = orchestrated(shape, workers, &queue, options, &settings, &servers).await?;
    let temporal = TemporalFigures::read_settled(metrics_port, &queue).await?.since(&figures_before);
    let round = Round { shape, workers, raw_seconds, raw_cpu, seconds, cpu, worker_peak_mib, runs, temporal };
    report(&round, options);

    let courses: Vec<String> = manifest.courses.iter().map(|c| c.course_key.clone()).collect();
    let audit = audit(&settings, &manifest, &before, &reported_failures(&stack_client().await, &courses).await).await;
    println!("audit: {}", audit.summary());
    anyhow::ensure!(audit.is_clean() && audit.transcripts_checked == shape.transcripts(), "the audit found breaches: {audit:?}");
    for settings in [&raw_settings, &settings] {
        clean_up(settings).await;
    }
    Ok(round)
}

async fn seed(shape: Shape, options: &Options, tag: &str) -> anyhow::Result<(StoreSettings, Manifest)> {
    let plan = Plan {
        seed: 6,
        tag: tag.into(),
        showcase: false,
        bulk_courses: shape.courses,
        videos_per_course: shape.videos,
        languages_per_video: shape.languages,
        cues_per_transcript: options.cues,
        lean_manifest: true,
        // SecantusDB answers a GridFS read of an old-style asset (a document `_id`) by scanning
        // every chunk of the contentstore: seconds per file at 100,000 files. MongoDB uses its
        // `files_id` index; the benchmark measures the migrator, not that.
        bulk_old_mongo: false,
        reruns: false,
    };
    let mut settings = isolated_settings(tag);
    settings.s3.bucket = own_bucket(&settings, tag).await;
    let manifest = seed::write::seed(&Dataset::generate(&plan), &settings).await?;
    anyhow::ensure!(manifest.totals.transcripts_to_migrate == shape.transcripts(), "seeded {:?}", manifest.totals);
    Ok((settings, manifest))
}

/// `workers` release worker processes on a queue of their own and one `MigrateCourses` batch
/// of every course; the peak RSS is the largest of the workers'.
async fn orchestrated(
    shape: Shape,
    workers: usize,
    queue: &str,
    options: &Options,
    settings: &StoreSettings,
    servers: &[(String, u32)],
) -> anyhow::Result<(f64, Vec<(String, f64)>, f64, QueueRuns)> {
    let logs: Vec<PathBuf> = (1..=workers).map(|n| options.stack_dir.join("logs").join(format!("{queue}-{n}.log"))).collect();
    let env = vec![
        ("MAX_CONCURRENT_ACTIVITIES".to_string(), options.concurrency.to_string()),
        ("RUST_LOG".to_string(), std::env::var("WORKER_LOG").unwrap_or_else(|_| "info,temporalio_sdk_core=warn,temporalio_client=warn".into())),
    ];
    let mut processes = servers.to_vec();
    let mut worker_processes = Vec::new();
    for (n, log) in logs.iter().enumerate() {
        let worker = WorkerProcess::start_with_env(&options.worker_binary, settings, queue, log, env.clone());
        processes.push((if workers == 1 { "worker".into() } else { format!("worker {}", n + 1) }, worker.pid()));
        worker_processes.push(worker);
    }
    let client = stack_client().await;
    let input = serde_json::json!({
        "all_courses": true,
        "max_courses_in_flight": options.courses_in_flight,
        "max_videos_in_flight_per_course": options.concurrency,
        "max_videos_in_flight": options.concurrency,
        // SQLite answers "database is locked" when many writers meet; more attempts ride it out.
        "retry": { "initial_interval_ms": 500, "maximum_attempts": 10 },
    });
    let meter = CpuMeter::start(&processes);
    let started = Instant::now();
    let handle =
        client.start_workflow(MigrateCourses::run, input, WorkflowStartOptions::new(queue.to_string(), format!("batch-{queue}")).build()).await?;
    let result: BatchResult = handle.get_result(WorkflowGetResultOptions::default()).await?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = meter.stop();
    let peak = worker_processes.iter().filter_map(|w| measure::peak_rss_mib(w.pid())).fold(0.0, f64::max);
    worker_processes.iter_mut().for_each(WorkerProcess::stop);
    let counts = &result.counts;
    anyhow::ensure!(
        counts.passed as usize == shape.courses && counts.transcripts_migrated as usize == shape.transcripts(),
        "the migration did not pass: {counts:?}, failed courses {:?} (worker logs {logs:?})",
        result.failed_courses,
    );
    let runs = measure::queue_runs(&client, queue, shape.courses * shape.videos).await?;
    Ok((seconds, cpu, peak, runs))
}

fn per_second(count: usize, seconds: f64) -> f64 {
    count as f64 / seconds.max(1e-9)
}

fn cpu_line(cpu: &[(String, f64)]) -> String {
    cpu.iter().map(|(name, seconds)| format!("{name} {seconds:.1}")).collect::<Vec<_>>().join(", ")
}

fn report(round: &Round, options: &Options) {
    let (transcripts, videos) = (round.shape.transcripts(), round.videos());
    let raw_rate = per_second(transcripts, round.raw_seconds);
    let rate = per_second(transcripts, round.seconds);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let temporal = round.cpu.iter().find(|(name, _)| name == "temporal").map_or(0.0, |(_, s)| *s);
    println!("raw copy      {:>8.1} s  {raw_rate:>8.1} transcripts/s  {:>7.1} videos/s", round.raw_seconds, per_second(videos, round.raw_seconds));
    println!("orchestrated  {:>8.1} s  {rate:>8.1} transcripts/s  {:>7.1} videos/s", round.seconds, per_second(videos, round.seconds));
    println!("ratio orchestrated / raw: {:.2} ({} at a time)", rate / raw_rate, options.concurrency);
    println!("latency per video: p50 {:.0} ms, p99 {:.0} ms", ms(round.runs.percentile(50)), ms(round.runs.percentile(99)));
    println!("worker peak RSS: {:.1} MiB{}", round.worker_peak_mib, if round.workers > 1 { " (the larger of the workers')" } else { "" });
    println!("Temporal server CPU: {temporal:.1} s, {:.1} ms per video", temporal * 1000.0 / videos as f64);
    println!(
        "history events per video: {:.1} ({} runs, {} events, longest run {} events)",
        round.runs.history_events as f64 / videos as f64,
        round.runs.runs,
        round.runs.history_events,
        round.runs.longest_history
    );
    for line in round.temporal.lines(videos) {
        println!("{line}");
    }
    println!("CPU seconds, orchestrated: {}", cpu_line(&round.cpu));
    println!("CPU seconds, raw copy:     {}", cpu_line(&round.raw_cpu));
}

/// Wall time and CPU time per video at both sizes.
fn slope(small: &Round, large: &Round) {
    let per_video = |round: &Round| round.seconds * 1000.0 / round.videos() as f64;
    let cpu_per_video = |round: &Round| round.cpu.iter().map(|(_, s)| s).sum::<f64>() * 1000.0 / round.videos() as f64;
    let change = |a: f64, b: f64| (b / a - 1.0) * 100.0;
    println!(
        "\nslope from {} to {} transcripts: wall time per video {:.1} → {:.1} ms ({:+.0}%), CPU per video {:.1} → {:.1} ms ({:+.0}%)",
        small.shape.transcripts(),
        large.shape.transcripts(),
        per_video(small),
        per_video(large),
        change(per_video(small), per_video(large)),
        cpu_per_video(small),
        cpu_per_video(large),
        change(cpu_per_video(small), cpu_per_video(large)),
    );
}
