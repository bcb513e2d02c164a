//! Where the stores are, read from the environment and optionally from an env file
//! (`KEY=VALUE` lines, `#` comments). The process environment wins over the file, so an
//! operator can override one value without editing the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// A value that must never reach a log or a workflow history.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// A URL for display, with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        None => url.into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the env file {path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("{path}:{line}: expected KEY=VALUE")]
    Syntax { path: String, line: usize },
    #[error("{key} is not set (in the environment or the env file)")]
    Missing { key: &'static str },
    #[error("{key}={value:?} is not a number of requests per second")]
    NotARate { key: &'static str, value: String },
}

/// A per-second rate limit: unset, empty or 0 for none.
fn rate(env: &Env, key: &'static str) -> Result<Option<f64>, SettingsError> {
    match env.get(key).map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => match value.parse::<f64>() {
            Ok(rate) if rate >= 0.0 && rate.is_finite() => Ok((rate > 0.0).then_some(rate)),
            _ => Err(SettingsError::NotARate { key, value: value.into() }),
        },
    }
}

/// The merged configuration values: env file first, process environment on top.
#[derive(Debug, Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut values = match file {
            Some(path) => Self::parse_file(path)?,
            None => BTreeMap::new(),
        };
        values.extend(std::env::vars());
        Ok(Self(values))
    }

    pub fn from_file_only(path: &Path) -> Result<Self, SettingsError> {
        Ok(Self(Self::parse_file(path)?))
    }

    fn parse_file(path: &Path) -> Result<BTreeMap<String, String>, SettingsError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::File { path: display.clone(), source })?;
        let mut values = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .strip_prefix("export ")
                .unwrap_or(line)
                .split_once('=')
                .ok_or_else(|| SettingsError::Syntax { path: display.clone(), line: i + 1 })?;
            values.insert(key.trim().to_string(), value.trim().to_string());
        }
        Ok(values)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn require(&self, key: &'static str) -> Result<&str, SettingsError> {
        self.get(key).ok_or(SettingsError::Missing { key })
    }

    pub fn or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.0.insert(key.into(), value.into());
    }
}

/// A MongoDB database: the modulestore's or the contentstore's.
#[derive(Debug, Clone)]
pub struct MongoSettings {
    pub uri: Secret,
    pub database: String,
}

#[derive(Debug, Clone)]
pub struct S3Settings {
    /// Absent on AWS itself; set for any other S3 server.
    pub endpoint_url: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Absent to use the AWS default chain (instance role, profile, …).
    pub access_key_id: Option<Secret>,
    pub secret_access_key: Option<Secret>,
}

/// Every store the migration reads or writes.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub modulestore: MongoSettings,
    pub contentstore: MongoSettings,
    pub s3: S3Settings,
    /// `sqlite:///path/to/db.sqlite3` or `mysql://user:password@host:port/database`.
    pub edxval_database_url: Secret,
    /// Per worker: MongoDB queries (modulestore and contentstore together) and S3 requests
    /// per second; `None` for no limit.
    pub mongo_reads_per_second: Option<f64>,
    pub s3_requests_per_second: Option<f64>,
}

impl StoreSettings {
    pub fn from_env(env: &Env) -> Result<Self, SettingsError> {
        let mongo = |uri_key: &'static str, db_key: &str| -> Result<MongoSettings, SettingsError> {
            Ok(MongoSettings { uri: Secret::new(env.require(uri_key)?), database: env.or(db_key, "edxapp").into() })
        };
        Ok(Self {
            modulestore: mongo("MODULESTORE_MONGODB_URI", "MODULESTORE_DB")?,
            contentstore: mongo("CONTENTSTORE_MONGODB_URI", "CONTENTSTORE_DB")?,
            s3: S3Settings {
                endpoint_url: env.get("S3_ENDPOINT_URL").map(Into::into),
                region: env.or("S3_REGION", "us-east-1").into(),
                bucket: env.require("S3_BUCKET")?.into(),
                access_key_id: env.get("AWS_ACCESS_KEY_ID").map(Secret::new),
                secret_access_key: env.get("AWS_SECRET_ACCESS_KEY").map(Secret::new),
            },
            edxval_database_url: Secret::new(env.require("EDXVAL_DATABASE_URL")?),
            mongo_reads_per_second: rate(env, "MONGO_READS_PER_SECOND")?,
            s3_requests_per_second: rate(env, "S3_REQUESTS_PER_SECOND")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let settings = S3Settings {
            endpoint_url: None,
            region: "r".into(),
            bucket: "b".into(),
            access_key_id: Some(Secret::new("AKIA-visible-id")),
            secret_access_key: Some(Secret::new("very-secret")),
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("very-secret") && !printed.contains("AKIA"), "{printed}");
    }

    #[test]
    fn urls_are_redacted_for_display() {
        assert_eq!(redact_url("mysql://edxval:pw@127.0.0.1:3406/edxval"), "mysql://edxval:***@127.0.0.1:3406/edxval");
        assert_eq!(redact_url("mongodb://u:p@a:1,b:2/?x=y@z"), "mongodb://u:***@a:1,b:2/?x=y@z");
        assert_eq!(redact_url("sqlite:///tmp/edxval.sqlite3"), "sqlite:///tmp/edxval.sqlite3");
    }

    #[test]
    fn env_file_is_parsed_and_reports_bad_lines() {
        let dir = std::env::temp_dir().join(format!("settings-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.env");
        std::fs::write(&good, "# stack\nS3_BUCKET=b\nexport S3_REGION = eu-west-1\n\nEMPTY=\n").unwrap();
        let env = Env::from_file_only(&good).unwrap();
        assert_eq!(env.get("S3_BUCKET"), Some("b"));
        assert_eq!(env.get("S3_REGION"), Some("eu-west-1"));
        assert_eq!(env.get("EMPTY"), None);
        assert!(matches!(env.require("MODULESTORE_MONGODB_URI"), Err(SettingsError::Missing { .. })));
        let bad = dir.join("bad.env");
        std::fs::write(&bad, "A=1\nnot a pair\n").unwrap();
        assert!(matches!(Env::from_file_only(&bad), Err(SettingsError::Syntax { line: 2, .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
