//! The worker's configuration: the stores (see `activities::settings`) and Temporal.

use std::collections::HashMap;

use activities::stores::settings::{Env, SettingsError, StoreSettings};
use temporalio_client::ConnectionOptions;
use temporalio_client::envconfig::{ClientConfigProfile, LoadClientConfigProfileOptions};
use temporalio_common::envconfig::load_client_config_profile;

/// How to reach Temporal, under the names the `temporal` CLI reads: `TEMPORAL_ADDRESS`,
/// `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH`,
/// `TEMPORAL_TLS_CLIENT_KEY_PATH`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH` (or their `_DATA`
/// forms), `TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_GRPC_META_*`, and a profile of the CLI's
/// config file (`TEMPORAL_PROFILE`, `TEMPORAL_CONFIG_FILE`, else the CLI's default file), all
/// read by the SDK's own loader; the env file's values count as the environment's.
#[derive(Clone)]
pub struct TemporalSettings {
    /// `host:port` or a URL, as given; `127.0.0.1:7233` when nothing names one.
    pub address: String,
    pub namespace: String,
    pub task_queue: String,
    /// Everything else, the API key and the TLS material included: never printed.
    profile: ClientConfigProfile,
}

impl std::fmt::Debug for TemporalSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporalSettings")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .field("task_queue", &self.task_queue)
            .field("tls", &self.profile.tls.is_some())
            .field("api_key", &self.profile.api_key.as_ref().map(|_| "***"))
            .finish()
    }
}

impl TemporalSettings {
    pub fn from_env(env: &Env) -> Result<Self, SettingsError> {
        let vars: HashMap<String, String> = env.vars().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut profile =
            load_client_config_profile(LoadClientConfigProfileOptions::default(), Some(&vars)).map_err(|e| SettingsError::Temporal(e.to_string()))?;
        let address = profile.address.get_or_insert_with(|| "127.0.0.1:7233".to_string()).clone();
        let namespace = profile.namespace.get_or_insert_with(|| "default".to_string()).clone();
        Ok(Self { address, namespace, task_queue: env.or("TEMPORAL_TASK_QUEUE", "transcript-migration").into(), profile })
    }

    /// Whether the connection goes over TLS.
    pub fn uses_tls(&self) -> bool {
        self.connection_options().is_ok_and(|options| options.tls_options.is_some())
    }

    pub fn connection_options(&self) -> anyhow::Result<ConnectionOptions> {
        let mut options = ConnectionOptions::try_from(self.profile.clone())
            .map_err(|e| anyhow::anyhow!("the Temporal settings (address {}): {e:?}", self.address))?;
        options.identity = format!("transcript-migrator@{}", hostname());
        Ok(options)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env_file(name: &str, text: &str) -> Env {
        let path = std::env::temp_dir().join(format!("{name}-{}.env", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let env = Env::from_file_only(&path).unwrap();
        std::fs::remove_file(path).unwrap();
        env
    }

    #[test]
    fn temporal_settings_take_the_cli_names_and_profiles() {
        let plain = TemporalSettings::from_env(&env_file("plain", "TEMPORAL_CONFIG_FILE=/nonexistent.toml\n")).unwrap();
        assert_eq!(
            (plain.address.as_str(), plain.namespace.as_str(), plain.task_queue.as_str()),
            ("127.0.0.1:7233", "default", "transcript-migration")
        );
        assert_eq!(plain.connection_options().unwrap().target.as_str(), "http://127.0.0.1:7233/");
        assert!(!plain.uses_tls());

        let toml = std::env::temp_dir().join(format!("temporal-{}.toml", std::process::id()));
        std::fs::write(&toml, "[profile.prod]\naddress = \"temporal.example.org:7233\"\nnamespace = \"edx\"\napi_key = \"k-secret\"\n").unwrap();
        let text = format!("TEMPORAL_CONFIG_FILE={}\nTEMPORAL_PROFILE=prod\nTEMPORAL_TASK_QUEUE=q\n", toml.display());
        let prod = TemporalSettings::from_env(&env_file("prod", &text)).unwrap();
        std::fs::remove_file(&toml).unwrap();
        assert_eq!((prod.address.as_str(), prod.namespace.as_str(), prod.task_queue.as_str()), ("temporal.example.org:7233", "edx", "q"));
        assert!(prod.uses_tls(), "an API key means TLS, as the CLI has it");
        assert!(!format!("{prod:?}").contains("k-secret"), "the API key is never printed");

        let mtls = "TEMPORAL_CONFIG_FILE=/nonexistent.toml\nTEMPORAL_ADDRESS=t:7233\nTEMPORAL_TLS_CLIENT_CERT_PATH=/no/such/cert.pem\n";
        let error = TemporalSettings::from_env(&env_file("mtls", mtls))
            .and_then(|s| s.connection_options().map_err(|e| SettingsError::Temporal(e.to_string())));
        assert!(error.is_err(), "a client certificate without its key is refused");
    }
}
