//! Process faults for the reliability suite: the worker process killed with SIGKILL, and the
//! stack's servers stopped for a while and started again (`scripts/stack stop <service>`,
//! `scripts/stack start`), keeping their data.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use activities::stores::settings::StoreSettings;

use crate::{env_file, repo_root};

/// A fault the suite injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// The worker process killed with SIGKILL and started again.
    KillWorker,
    /// The batch paused, the worker killed and started again, the pause found still in force,
    /// the batch resumed.
    KillWorkerWhilePaused,
    /// The Temporal dev server stopped and started again.
    RestartTemporal,
    /// SeaweedFS (S3) stopped and started again.
    RestartS3,
    /// SecantusDB (MongoDB) stopped and started again.
    RestartMongo,
    /// edx-val's database unavailable for writes: MariaDB stopped and started again, or on
    /// SQLite the database file held under an exclusive lock.
    SqlOutage,
}

impl Fault {
    pub const ALL: [Fault; 6] =
        [Fault::KillWorker, Fault::KillWorkerWhilePaused, Fault::RestartTemporal, Fault::RestartS3, Fault::RestartMongo, Fault::SqlOutage];
}

/// The production worker (the `test-worker` binary, the real command line) as a process of its
/// own on `queue`, with the test's stores; its output is appended to `log`.
pub struct WorkerProcess {
    binary: PathBuf,
    settings: StoreSettings,
    queue: String,
    log: PathBuf,
    /// Settings of the process's own, over the suite's.
    env: Vec<(String, String)>,
    child: Child,
}

impl WorkerProcess {
    pub fn start(binary: &Path, settings: &StoreSettings, queue: &str, log: &Path) -> Self {
        Self::start_with_env(binary, settings, queue, log, Vec::new())
    }

    /// `start`, with more environment variables (`MAX_CONCURRENT_ACTIVITIES`, `RUST_LOG`, …).
    pub fn start_with_env(binary: &Path, settings: &StoreSettings, queue: &str, log: &Path, env: Vec<(String, String)>) -> Self {
        let child = Self::spawn(binary, settings, queue, log, &env);
        Self { binary: binary.into(), settings: settings.clone(), queue: queue.into(), log: log.into(), env, child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn spawn(binary: &Path, settings: &StoreSettings, queue: &str, log: &Path, env: &[(String, String)]) -> Child {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        Command::new(binary)
            .arg("worker")
            .env("MIGRATOR_ENV_FILE", env_file())
            .env("TEMPORAL_TASK_QUEUE", queue)
            .env("MODULESTORE_DB", &settings.modulestore.database)
            .env("CONTENTSTORE_DB", &settings.contentstore.database)
            .env("S3_BUCKET", &settings.s3.bucket)
            .env("RUST_LOG", std::env::var("WORKER_LOG").unwrap_or_else(|_| "info".into()))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("starting the worker process")
    }

    /// SIGKILL, then a new process after `down`.
    pub async fn kill_and_restart(&mut self, down: Duration) {
        self.stop();
        tokio::time::sleep(down).await;
        self.child = Self::spawn(&self.binary, &self.settings, &self.queue, &self.log, &self.env);
    }

    /// Whether the process has exited (without being stopped by the suite).
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill(); // it may have exited already
        self.child.wait().unwrap();
    }
}

fn stack(args: &[&str]) {
    let status = Command::new(repo_root().join("scripts/stack")).args(args).stdout(Stdio::null()).status().expect("running scripts/stack");
    assert!(status.success(), "scripts/stack {args:?} failed");
}

/// Stops one of the stack's servers, keeps it down for `down`, and starts it again.
pub async fn restart_server(service: &str, down: Duration) {
    let service = service.to_string();
    tokio::task::spawn_blocking(move || stack(&["stop", &service])).await.unwrap();
    tokio::time::sleep(down).await;
    tokio::task::spawn_blocking(|| stack(&["start"])).await.unwrap();
}

/// Makes edx-val's database refuse writes for `down`: MariaDB is stopped; a SQLite file is held
/// under an exclusive lock by another process.
pub async fn sql_outage(settings: &StoreSettings, down: Duration) {
    match settings.edxval_database_url.expose().strip_prefix("sqlite://") {
        Some(path) => {
            let path = path.split('?').next().unwrap().to_string();
            let hold = format!(
                "import sqlite3, time; c = sqlite3.connect({path:?}, isolation_level=None); c.execute('BEGIN EXCLUSIVE'); time.sleep({})",
                down.as_secs_f64()
            );
            let status = tokio::process::Command::new("python3").args(["-c", &hold]).status().await.expect("running python3");
            assert!(status.success(), "holding the SQLite lock failed");
        }
        None => restart_server("mariadb", down).await,
    }
}
