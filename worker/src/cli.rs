//! The `transcript-migrator` command line: configuration and wiring.

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::IsTerminal;

use clap::{Parser, Subcommand, ValueEnum};

use crate::{check, commands, config};

/// The version, and the git revision it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("MIGRATOR_GIT_REVISION"), ")");

/// Every setting, for `--help` (`docs/operating.md` explains each; a test keeps both in step).
const SETTINGS: &str = "Settings (the environment, or the --env-file; the environment wins):
  modulestore    MODULESTORE_MONGODB_URI, MODULESTORE_DB
  contentstore   CONTENTSTORE_MONGODB_URI, CONTENTSTORE_DB
  S3             S3_BUCKET, S3_REGION, S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                 S3_LOCATION, TRANSCRIPTS_DIRECTORY_PREFIX, S3_SERVER_SIDE_ENCRYPTION, S3_SSE_KMS_KEY_ID
  edx-val SQL    EDXVAL_DATABASE_URL
  Temporal       TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, TEMPORAL_API_KEY, TEMPORAL_TLS,
                 TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
                 TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION, TEMPORAL_PROFILE,
                 TEMPORAL_CONFIG_FILE, TEMPORAL_GRPC_META_*
  worker         MAX_CONCURRENT_ACTIVITIES, MONGO_READS_PER_SECOND, S3_REQUESTS_PER_SECOND, METRICS_ADDRESS
  logs           LOG_FORMAT, RUST_LOG";

#[derive(Parser)]
#[command(name = "transcript-migrator", version = VERSION, after_help = SETTINGS)]
#[command(about = "Moves Open edX video transcripts from the MongoDB contentstore to S3 and edx-val")]
struct Args {
    /// KEY=VALUE file with the settings; the process environment overrides it.
    #[arg(long, global = true, env = "MIGRATOR_ENV_FILE")]
    env_file: Option<PathBuf>,
    /// Log lines as text (coloured only on a terminal) or as JSON, one object per line, for a
    /// log pipeline.
    #[arg(long, global = true, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Connect to every store and to Temporal, and report what is found there.
    Check,
    /// Print the key of every course in the modulestore, one per line (entries that are not
    /// valid course keys go to stderr).
    Courses,
    /// Run a worker for the migration's workflows and activities until SIGINT or SIGTERM.
    Worker {
        /// Activities this worker runs at once (and as many local activities: a video's steps).
        #[arg(long, env = "MAX_CONCURRENT_ACTIVITIES", default_value_t = 8)]
        max_activities: usize,
        /// Serve Prometheus metrics at http://ADDRESS/metrics (for example 127.0.0.1:9464).
        #[arg(long, env = "METRICS_ADDRESS")]
        metrics_address: Option<std::net::SocketAddr>,
    },
    /// Start a batch of course migrations (a `MigrateCourses` workflow); prints its id.
    Start {
        #[command(flatten)]
        start: commands::start::Start,
        /// Then watch it until it ends (as `watch` does).
        #[arg(long)]
        watch: bool,
    },
    /// One line on where a batch or a course run stands.
    Status {
        /// A batch's workflow id, or a course key (its run); default: the batch running now.
        target: Option<String>,
    },
    /// The status line every few seconds until the run ends; exits non-zero unless it completed.
    Watch {
        target: Option<String>,
        /// Seconds between two lines.
        #[arg(long, default_value_t = 5)]
        interval: u64,
    },
    /// Start no new video or course until `resume`; those in flight finish.
    Pause {
        target: Option<String>,
    },
    Resume {
        target: Option<String>,
    },
    /// Change a running migration's limits.
    Tune {
        target: Option<String>,
        #[command(flatten)]
        tune: commands::steer::Tune,
    },
    /// What the migration did to courses, from the ledger: one row per video and language.
    Report {
        courses: Vec<String>,
        /// Every course of the course log.
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = ReportFormat::Csv)]
        format: ReportFormat,
    },
    /// Audit migrated courses against edx-val, S3, the contentstore and the blocks; writes
    /// nothing, exits non-zero on any problem.
    Verify {
        courses: Vec<String>,
        #[arg(long)]
        all: bool,
    },
    /// Undo courses' migrations from the ledger, keeping what users and authors changed since.
    Rollback {
        courses: Vec<String>,
        /// Say what would be done, and do nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Switch the learners of courses migrated with `--cut-over later`, once they validate again.
    CutOver {
        courses: Vec<String>,
    },
    /// Show, enable (only for a course that verifies) or disable courses' transcript flags.
    Flags {
        #[arg(value_enum)]
        action: commands::flags::FlagAction,
        #[arg(required = true)]
        courses: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Csv,
    Jsonl,
}

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => {
            eprintln!("starting the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    // `RUST_LOG` when set; otherwise the worker says what it is doing, and Temporal's core only warns.
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,temporalio_sdk_core=warn,temporalio_client=warn"));
    match args.log_format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => tracing_subscriber::fmt().json().with_env_filter(filter).init(),
    }
    let config = match config::Config::load(args.env_file.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration: {error:#}");
            return ExitCode::from(2);
        }
    };
    match args.command {
        Command::Check => {
            let findings = check::run(&config).await;
            findings.iter().for_each(|finding| println!("{finding}"));
            if findings.iter().all(|f| f.result.is_ok()) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Command::Courses => match list_courses(&config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("courses: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Worker { max_activities, metrics_address } => match crate::run::run(&config, max_activities, metrics_address).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("worker: {error:#}");
                ExitCode::FAILURE
            }
        },
        command => match operate(&config, command).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => {
                eprintln!("{error:#}");
                ExitCode::from(2)
            }
        },
    }
}

/// The operator's commands: `Ok(false)` when the command ran and found something wrong.
async fn operate(config: &config::Config, command: Command) -> anyhow::Result<bool> {
    let client = || crate::run::connect_client(&config.temporal);
    let courses = |given: &[String], all: bool, sql: &sqlx::AnyPool| {
        let (given, sql) = (given.to_vec(), sql.clone());
        async move {
            match all {
                true => commands::logged_courses(&sql).await,
                false if given.is_empty() => anyhow::bail!("name the courses, or give --all"),
                false => commands::course_keys(&given),
            }
        }
    };
    match command {
        Command::Start { start, watch } => {
            let client = client().await?;
            let id = start.run(&client, &config.temporal.task_queue).await?;
            println!("started batch {id} on task queue {}", config.temporal.task_queue);
            match watch {
                true => commands::status::watch(&client, &commands::Target::Batch(id), std::time::Duration::from_secs(5)).await,
                false => Ok(true),
            }
        }
        Command::Status { target } => {
            let client = client().await?;
            let target = commands::resolve(&client, target.as_deref()).await?;
            println!("{}", commands::status::status_line(&client, &target).await?.0);
            Ok(true)
        }
        Command::Watch { target, interval } => {
            let client = client().await?;
            let target = commands::resolve(&client, target.as_deref()).await?;
            commands::status::watch(&client, &target, std::time::Duration::from_secs(interval.max(1))).await
        }
        Command::Pause { target } => steer(&client().await?, target, Some(true), None).await,
        Command::Resume { target } => steer(&client().await?, target, Some(false), None).await,
        Command::Tune { target, tune } => steer(&client().await?, target, None, Some(&tune)).await,
        Command::Report { courses: given, all, format } => {
            let stores = commands::stores(config).await?;
            let mut rows = Vec::new();
            for course in courses(&given, all, &stores.edxval).await? {
                rows.extend(commands::report::rows(&stores.edxval, &course).await?);
            }
            commands::report::print(&rows, format == ReportFormat::Jsonl);
            Ok(true)
        }
        Command::Verify { courses: given, all } => {
            let stores = commands::stores(config).await?;
            let courses = courses(&given, all, &stores.edxval).await?;
            commands::verify::run(&stores, &courses).await
        }
        Command::Rollback { courses: given, dry_run } => {
            let stores = commands::stores(config).await?;
            let courses = courses(&given, false, &stores.edxval).await?;
            commands::rollback::run(&client().await?, &stores, &courses, dry_run).await?;
            Ok(true)
        }
        Command::CutOver { courses: given } => {
            let stores = commands::stores(config).await?;
            let courses = courses(&given, false, &stores.edxval).await?;
            commands::cut_over::run(&client().await?, &stores, &courses).await
        }
        Command::Flags { action, courses: given } => {
            let stores = commands::stores(config).await?;
            commands::flags::run(&stores, action, &commands::course_keys(&given)?).await
        }
        Command::Check | Command::Courses | Command::Worker { .. } => unreachable!("handled by run"),
    }
}

async fn steer(
    client: &temporalio_client::Client,
    target: Option<String>,
    paused: Option<bool>,
    tune: Option<&commands::steer::Tune>,
) -> anyhow::Result<bool> {
    let target = commands::resolve(client, target.as_deref()).await?;
    match (paused, tune) {
        (Some(paused), _) => commands::steer::set_paused(client, &target, paused).await?,
        (None, Some(tune)) => commands::steer::tune(client, &target, tune).await?,
        (None, None) => {}
    }
    println!("{}", commands::status::status_line(client, &target).await?.0);
    Ok(true)
}

async fn list_courses(config: &config::Config) -> anyhow::Result<()> {
    let modulestore = activities::stores::modulestore::Modulestore::connect(&config.stores.modulestore).await?;
    let listing = modulestore.course_keys().await?;
    for course in &listing.courses {
        println!("{course}");
    }
    for invalid in &listing.invalid {
        eprintln!("not a course key, left out: {invalid}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_documented_setting() {
        use clap::CommandFactory;
        let help = Args::command().render_long_help().to_string();
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/operating.md")).unwrap();
        let table = docs.split("| setting | meaning | default |").nth(1).unwrap().split("\n\n").next().unwrap();
        let mut named = 0;
        for row in table.lines().filter(|l| l.starts_with("| `")) {
            let first = row.split(" | ").next().unwrap();
            for name in first.split('`').skip(1).step_by(2).filter(|n| n.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c == '*')) {
                let name = name.trim_end_matches("_PATH").trim_end_matches('*');
                assert!(help.contains(name), "--help does not list {name}");
                named += 1;
            }
        }
        assert!(named > 20, "the settings table was read ({named} names)");
    }

    #[test]
    fn every_command_parses() {
        use clap::CommandFactory;
        Args::command().debug_assert();
        let args = Args::try_parse_from(["transcript-migrator", "start", "--dry-run", "--max-courses-in-flight", "2", "course-v1:a+b+c"]).unwrap();
        let Command::Start { start, watch: false } = args.command else { panic!("not start") };
        let input = start.input().unwrap();
        assert_eq!((input.course_keys, input.dry_run, input.max_courses_in_flight), (vec!["course-v1:a+b+c".to_string()], true, 2));
        let none = Args::try_parse_from(["transcript-migrator", "start"]).unwrap();
        let Command::Start { start, .. } = none.command else { panic!("not start") };
        assert!(start.input().unwrap_err().to_string().contains("--all"), "no courses named");
    }

    #[test]
    fn the_version_names_the_revision_and_the_log_format_is_chosen() {
        let shown = Args::try_parse_from(["transcript-migrator", "--version"]).err().expect("--version stops").to_string();
        assert_eq!(shown.trim(), format!("transcript-migrator {VERSION}"));
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")) && !env!("MIGRATOR_GIT_REVISION").is_empty());
        let args = Args::try_parse_from(["transcript-migrator", "--log-format", "json", "check"]).unwrap();
        assert_eq!(args.log_format, LogFormat::Json);
        assert!(Args::try_parse_from(["transcript-migrator", "--log-format", "xml", "check"]).is_err());
    }
}
