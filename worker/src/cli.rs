//! The `transcript-migrator` command line: configuration and wiring.

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::IsTerminal;

use clap::{Parser, Subcommand, ValueEnum};

use crate::{check, config};

/// The version, and the git revision it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("MIGRATOR_GIT_REVISION"), ")");

#[derive(Parser)]
#[command(name = "transcript-migrator", version = VERSION)]
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
    },
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
        Command::Worker { max_activities } => match crate::run::run(&config, max_activities).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("worker: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
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
    fn the_version_names_the_revision_and_the_log_format_is_chosen() {
        let shown = Args::try_parse_from(["transcript-migrator", "--version"]).err().expect("--version stops").to_string();
        assert_eq!(shown.trim(), format!("transcript-migrator {VERSION}"));
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")) && !env!("MIGRATOR_GIT_REVISION").is_empty());
        let args = Args::try_parse_from(["transcript-migrator", "--log-format", "json", "check"]).unwrap();
        assert_eq!(args.log_format, LogFormat::Json);
        assert!(Args::try_parse_from(["transcript-migrator", "--log-format", "xml", "check"]).is_err());
    }
}
