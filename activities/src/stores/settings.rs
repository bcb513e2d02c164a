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
    #[error("{key}={value:?}: {why}")]
    Invalid { key: &'static str, value: String, why: &'static str },
    #[error("the Temporal settings: {0}")]
    Temporal(String),
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

    /// A dotenv file, as `dotenvy` (the maintained parser) reads it: comments, `export`,
    /// single quotes (taken as they are), double quotes (with escapes and `${VAR}`), and
    /// values that run over several lines inside quotes.
    fn parse_file(path: &Path) -> Result<BTreeMap<String, String>, SettingsError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::File { path: display.clone(), source })?;
        let mut values = BTreeMap::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            match item {
                Ok((key, value)) => values.insert(key, value),
                Err(dotenvy::Error::LineParse(bad, _)) => {
                    let first = bad.lines().next().unwrap_or_default();
                    let line = text.lines().position(|l| l.trim() == first.trim()).map_or(0, |i| i + 1);
                    return Err(SettingsError::Syntax { path: display, line });
                }
                Err(error) => return Err(SettingsError::File { path: display, source: std::io::Error::other(error.to_string()) }),
            };
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

    /// Every value, the process environment's over the env file's.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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

impl MongoSettings {
    /// How the connection travels, as the URI says (`tls=true`, or `mongodb+srv://`, which
    /// implies it), for `check`.
    pub async fn transport(&self) -> mongodb::error::Result<&'static str> {
        let options = mongodb::options::ClientOptions::parse(self.uri.expose()).await?;
        Ok(match options.tls {
            Some(mongodb::options::Tls::Enabled(_)) => "over TLS",
            _ => "in the clear (no TLS; add tls=true&tlsCAFile=… to the URI)",
        })
    }
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
    /// django-storages' `location` for edx-val's transcripts storage: the object key is this,
    /// a slash, and the name edx-val keeps (empty: the name is the key).
    pub location: String,
    /// edx-val's `VIDEO_TRANSCRIPTS_SETTINGS["DIRECTORY_PREFIX"]`, the start of every name.
    pub directory_prefix: String,
    /// Server-side encryption of the objects written, as django-storages'
    /// `object_parameters` set it.
    pub encryption: Option<Encryption>,
}

/// `ServerSideEncryption` of every object the migration writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3 (`AES256`).
    S3Managed,
    /// SSE-KMS (`aws:kms`) with this key id, or the bucket's default key when `None`.
    Kms { key_id: Option<String> },
}

impl S3Settings {
    /// The storage's `location` as django-storages joins it: without the slashes at its end
    /// (one at its start is refused, as django-storages refuses it).
    fn location(env: &Env) -> Result<String, SettingsError> {
        let value = env.or("S3_LOCATION", "");
        if value.starts_with('/') {
            return Err(SettingsError::Invalid {
                key: "S3_LOCATION",
                value: value.into(),
                why: "django-storages refuses a location that starts with a slash",
            });
        }
        Ok(value.trim_end_matches('/').to_string())
    }

    fn directory_prefix(env: &Env) -> Result<String, SettingsError> {
        // Set but empty is edx-val's own fallback (`.get('DIRECTORY_PREFIX', '')`).
        let value = env.0.get("TRANSCRIPTS_DIRECTORY_PREFIX").map_or(model::ids::DEFAULT_DIRECTORY_PREFIX, String::as_str).trim().to_string();
        match model::ids::directory_prefix_problem(&value) {
            Some(why) => Err(SettingsError::Invalid { key: "TRANSCRIPTS_DIRECTORY_PREFIX", value, why }),
            None => Ok(value),
        }
    }

    fn encryption(env: &Env) -> Result<Option<Encryption>, SettingsError> {
        let key_id = env.get("S3_SSE_KMS_KEY_ID").map(String::from);
        match env.get("S3_SERVER_SIDE_ENCRYPTION") {
            None if key_id.is_some() => Err(SettingsError::Invalid {
                key: "S3_SSE_KMS_KEY_ID",
                value: String::new(),
                why: "a KMS key needs S3_SERVER_SIDE_ENCRYPTION=aws:kms",
            }),
            None => Ok(None),
            Some("AES256") if key_id.is_none() => Ok(Some(Encryption::S3Managed)),
            Some("aws:kms") => Ok(Some(Encryption::Kms { key_id })),
            Some(other) => Err(SettingsError::Invalid {
                key: "S3_SERVER_SIDE_ENCRYPTION",
                value: other.into(),
                why: "expected AES256, or aws:kms with S3_SSE_KMS_KEY_ID (a key id goes only with aws:kms)",
            }),
        }
    }
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
                location: S3Settings::location(env)?,
                directory_prefix: S3Settings::directory_prefix(env)?,
                encryption: S3Settings::encryption(env)?,
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
            location: String::new(),
            directory_prefix: model::ids::DEFAULT_DIRECTORY_PREFIX.into(),
            encryption: None,
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("very-secret") && !printed.contains("AKIA"), "{printed}");
    }

    #[test]
    fn the_transcripts_storage_is_read_as_edx_val_and_django_storages_read_it() {
        let env = |pairs: &[(&str, &str)]| Env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let plain = env(&[]);
        assert_eq!(S3Settings::location(&plain).unwrap(), "");
        assert_eq!(S3Settings::directory_prefix(&plain).unwrap(), "video-transcripts/");
        assert_eq!(S3Settings::encryption(&plain).unwrap(), None);
        let site = env(&[
            ("S3_LOCATION", "openedx/media/"),
            ("TRANSCRIPTS_DIRECTORY_PREFIX", "vt/"),
            ("S3_SERVER_SIDE_ENCRYPTION", "aws:kms"),
            ("S3_SSE_KMS_KEY_ID", "k1"),
        ]);
        assert_eq!(S3Settings::location(&site).unwrap(), "openedx/media");
        assert_eq!(S3Settings::directory_prefix(&site).unwrap(), "vt/");
        assert_eq!(S3Settings::encryption(&site).unwrap(), Some(Encryption::Kms { key_id: Some("k1".into()) }));
        assert!(S3Settings::location(&env(&[("S3_LOCATION", "/media")])).is_err());
        assert!(S3Settings::directory_prefix(&env(&[("TRANSCRIPTS_DIRECTORY_PREFIX", "../x/")])).is_err());
        assert!(S3Settings::encryption(&env(&[("S3_SERVER_SIDE_ENCRYPTION", "AES128")])).is_err());
        assert!(S3Settings::encryption(&env(&[("S3_SSE_KMS_KEY_ID", "k1")])).is_err());
        assert_eq!(S3Settings::encryption(&env(&[("S3_SERVER_SIDE_ENCRYPTION", "AES256")])).unwrap(), Some(Encryption::S3Managed));
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
        let text = "# stack\nS3_BUCKET=b # the bucket\nexport S3_REGION=eu-west-1\n\nEMPTY=\nQUOTED=\"a b#c\"\nRAW='p$ss \\n'\n";
        std::fs::write(&good, text).unwrap();
        let env = Env::from_file_only(&good).unwrap();
        assert_eq!(env.get("S3_BUCKET"), Some("b"), "a comment after a value is not part of it");
        assert_eq!(env.get("S3_REGION"), Some("eu-west-1"));
        assert_eq!(env.get("QUOTED"), Some("a b#c"));
        assert_eq!(env.get("RAW"), Some("p$ss \\n"), "single quotes keep a secret as it is");
        assert_eq!(env.get("EMPTY"), None);
        assert!(matches!(env.require("MODULESTORE_MONGODB_URI"), Err(SettingsError::Missing { .. })));
        let bad = dir.join("bad.env");
        std::fs::write(&bad, "A=1\nnot a pair\n").unwrap();
        let error = Env::from_file_only(&bad).unwrap_err();
        assert_eq!(error.to_string(), format!("{}:2: expected KEY=VALUE", bad.display()));
        assert!(matches!(Env::from_file_only(&bad), Err(SettingsError::Syntax { line: 2, .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
