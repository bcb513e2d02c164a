//! The worker's configuration: the stores (see `activities::settings`) and Temporal.

use std::path::PathBuf;

use activities::stores::settings::{Env, Secret, SettingsError, StoreSettings};
use anyhow::Context;
use temporalio_client::{ClientTlsOptions, ConnectionOptions, TlsOptions, Url};

#[derive(Debug, Clone)]
pub struct TemporalSettings {
    /// `http://host:7233`, or `https://…` for TLS. A bare `host:7233`, the form the `temporal`
    /// CLI reads from the same `TEMPORAL_ADDRESS`, means `http://host:7233`.
    pub address: String,
    pub namespace: String,
    pub task_queue: String,
    pub tls_ca_cert: Option<PathBuf>,
    pub tls_client_cert: Option<PathBuf>,
    pub tls_client_key: Option<PathBuf>,
    pub api_key: Option<Secret>,
}

impl TemporalSettings {
    pub fn from_env(env: &Env) -> Result<Self, SettingsError> {
        let path = |key: &str| env.get(key).map(PathBuf::from);
        Ok(Self {
            address: match env.or("TEMPORAL_ADDRESS", "127.0.0.1:7233") {
                url if url.contains("://") => url.into(),
                host_port => format!("http://{host_port}"),
            },
            namespace: env.or("TEMPORAL_NAMESPACE", "default").into(),
            task_queue: env.or("TEMPORAL_TASK_QUEUE", "transcript-migration").into(),
            tls_ca_cert: path("TEMPORAL_TLS_CA_CERT"),
            tls_client_cert: path("TEMPORAL_TLS_CLIENT_CERT"),
            tls_client_key: path("TEMPORAL_TLS_CLIENT_KEY"),
            api_key: env.get("TEMPORAL_API_KEY").map(Secret::new),
        })
    }

    pub fn connection_options(&self) -> anyhow::Result<ConnectionOptions> {
        let url: Url = self.address.parse().with_context(|| format!("TEMPORAL_ADDRESS {:?} is not a URL", self.address))?;
        let read = |path: &PathBuf| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
        let client_tls_options = match (&self.tls_client_cert, &self.tls_client_key) {
            (Some(cert), Some(key)) => Some(ClientTlsOptions::builder().client_cert(read(cert)?).client_private_key(read(key)?).build()),
            (None, None) => None,
            _ => anyhow::bail!("set both TEMPORAL_TLS_CLIENT_CERT and TEMPORAL_TLS_CLIENT_KEY, or neither"),
        };
        let tls = if url.scheme() == "https" || self.tls_ca_cert.is_some() || client_tls_options.is_some() {
            Some(
                TlsOptions::builder()
                    .maybe_server_root_ca_cert(self.tls_ca_cert.as_ref().map(read).transpose()?)
                    .maybe_client_tls_options(client_tls_options)
                    .build(),
            )
        } else {
            None
        };
        Ok(ConnectionOptions::new(url)
            .identity(format!("transcript-migrator@{}", hostname()))
            .maybe_tls_options(tls)
            .maybe_api_key(self.api_key.as_ref().map(|k| k.expose().to_string()))
            .build())
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "unknown".into())
}

/// Everything the worker needs, from the environment and an optional env file.
#[derive(Debug, Clone)]
pub struct Config {
    pub stores: StoreSettings,
    pub temporal: TemporalSettings,
}

impl Config {
    pub fn load(env_file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let env = Env::load(env_file)?;
        Ok(Self { stores: StoreSettings::from_env(&env)?, temporal: TemporalSettings::from_env(&env)? })
    }
}
