//! Stores from side URLs.
//!
//! A side is given as `s3://`, `gs://`, `az://`/`abfs(s)://`, `file://`, `memory://` or a plain
//! local path. This module turns it into an [`ObjectStore`] and a prefix inside it. Credentials
//! and endpoints come only from the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`) and the
//! platform's workload identity, exactly as `object_store`'s `from_env()` builders read them;
//! nothing secret is ever taken from an argument. The module also names which credential source
//! a store will use, so audit output can say so without ever touching the secret.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{BackoffConfig, ObjectStore, RetryConfig};
use serde::Serialize;
use url::Url;

use crate::error::{Error, Result};

/// Which kind of store a side lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// The local file system.
    Local,
    /// Amazon S3 or an S3 API server.
    S3,
    /// Google Cloud Storage.
    Gcs,
    /// Azure Blob Storage / ADLS Gen2.
    Azure,
    /// An in-process store (tests).
    Memory,
}

/// Where a store's credentials come from. Never the credential itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialSource {
    /// No credentials are needed (local disk, memory).
    None,
    /// Keys in environment variables.
    Environment,
    /// A web identity / federated token file (EKS IRSA, AKS workload identity).
    WebIdentity,
    /// The instance or VM metadata server (EC2 instance profile, GCE metadata).
    MetadataServer,
    /// Azure managed identity.
    ManagedIdentity,
    /// A local emulator's well-known development account.
    Emulator,
    /// Anonymous access (no signing).
    Anonymous,
}

/// A side's store and the prefix (or single object) inside it.
#[derive(Debug, Clone)]
pub struct Location {
    /// The URL as the user gave it, normalised (`file:///abs/path` for plain paths).
    pub url: String,
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// The prefix (or object path) within the store.
    pub prefix: Path,
    /// The store kind.
    pub kind: StoreKind,
    /// Where the store's credentials come from.
    pub credentials: CredentialSource,
    /// Local copies of this side's remote files for the comparison under way (see
    /// [`super::copies`]); `None` reads the store every time.
    pub copies: Option<Arc<super::copies::Copies>>,
}

impl Location {
    /// The URL of an object of this store, for messages and records.
    pub fn object_url(&self, path: &Path) -> String {
        match self.kind {
            StoreKind::Local => format!("file:///{path}"),
            _ => {
                let base = self.store_root();
                format!("{base}/{path}")
            }
        }
    }

    /// `scheme://bucket` for remote stores.
    fn store_root(&self) -> String {
        match Url::parse(&self.url) {
            Ok(u) => format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default()),
            Err(_) => self.url.clone(),
        }
    }
}

/// Retries are bounded so that an unreachable store fails in seconds rather than hanging.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: env_number("PARITY_STORE_RETRIES").unwrap_or(4) as usize,
        retry_timeout: Duration::from_secs(
            env_number("PARITY_STORE_RETRY_TIMEOUT_SECS").unwrap_or(30),
        ),
    }
}

/// Timeouts a store gets unless its own environment variable sets them (`AWS_TIMEOUT`,
/// `AZURE_CONNECT_TIMEOUT`, …). They go through the builder's config keys so that every other
/// client option read from the environment (`AWS_ALLOW_HTTP`, proxies) is kept.
fn default_timeouts(env_prefix: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !env_set(&format!("{env_prefix}CONNECT_TIMEOUT")) {
        out.push(("connect_timeout", "5s".to_string()));
    }
    if !env_set(&format!("{env_prefix}TIMEOUT")) {
        let secs = env_number("PARITY_STORE_TIMEOUT_SECS").unwrap_or(300);
        out.push(("timeout", format!("{secs}s")));
    }
    out
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Store options that are not secrets (endpoint, region…), by URL prefix: an inventory's
/// `[stores."s3://bucket"]` tables. The longest prefix that matches a URL applies to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    by_prefix: std::collections::BTreeMap<String, Vec<(String, String)>>,
}

impl StoreOptions {
    /// The option names a store table may hold: none of them can carry a secret.
    pub const ALLOWED: [&'static str; 5] = [
        "endpoint",
        "region",
        "allow_http",
        "virtual_hosted_style_request",
        "skip_signature",
    ];

    /// Add the options of a URL prefix. Unknown option names are refused.
    pub fn insert(&mut self, prefix: &str, options: Vec<(String, String)>) -> Result<()> {
        for (k, _) in &options {
            if !Self::ALLOWED.contains(&k.as_str()) {
                return Err(Error::Invalid(format!(
                    "store `{prefix}`: unknown option `{k}` (allowed: {}); credentials come from the environment or the workload identity",
                    Self::ALLOWED.join(", ")
                )));
            }
        }
        self.by_prefix
            .insert(prefix.trim_end_matches('/').to_string(), options);
        Ok(())
    }

    /// The options that apply to `url`.
    pub fn for_url(&self, url: &str) -> &[(String, String)] {
        self.by_prefix
            .iter()
            .filter(|(p, _)| {
                url.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .max_by_key(|(p, _)| p.len())
            .map(|(_, o)| o.as_slice())
            .unwrap_or(&[])
    }
}

/// Open the store of a side from its URL or local path.
pub fn open(side: &str) -> Result<Location> {
    open_with(side, &StoreOptions::default())
}

/// Open a side, applying the store options that match its URL.
pub fn open_with(side: &str, options: &StoreOptions) -> Result<Location> {
    let trimmed = side.trim();
    if trimmed.is_empty() {
        return Err(Error::Invalid(
            "a side must be a URL or a path, got an empty string".into(),
        ));
    }
    if let Some((scheme, _)) = trimmed.split_once("://") {
        let url = Url::parse(trimmed)
            .map_err(|e| Error::Invalid(format!("{trimmed}: not a valid URL: {e}")))?;
        // `abfs://container@account…` puts the container where a user name would be; a
        // password is never legitimate, and neither is a user name for other schemes.
        let azure = matches!(url.scheme(), "az" | "azure" | "abfs" | "abfss" | "adl");
        if url.password().is_some() || (!azure && !url.username().is_empty()) {
            return Err(Error::Invalid(format!(
                "{scheme}://…: credentials in a URL are refused; they come from the environment or the workload identity"
            )));
        }
        if url.query().is_some() {
            return Err(Error::Invalid(format!(
                "{scheme}://{}: query strings (SAS tokens, signatures) are refused; credentials come from the environment or the workload identity",
                url.host_str().unwrap_or_default()
            )));
        }
        return open_url(&url, options.for_url(trimmed));
    }
    open_local(trimmed)
}

fn open_local(path: &str) -> Result<Location> {
    let canonical = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
    let prefix =
        Path::from_absolute_path(&canonical).map_err(|e| Error::Invalid(format!("{path}: {e}")))?;
    Ok(Location {
        url: format!("file:///{prefix}"),
        store: Arc::new(LocalFileSystem::new()),
        prefix,
        kind: StoreKind::Local,
        credentials: CredentialSource::None,
        copies: None,
    })
}

fn url_path(url: &Url) -> Result<Path> {
    Path::from_url_path(url.path()).map_err(|e| Error::Invalid(format!("{url}: {e}")))
}

fn open_url(url: &Url, options: &[(String, String)]) -> Result<Location> {
    let display = url.to_string();
    let build_err = |e: object_store::Error| Error::Invalid(format!("{display}: {e}"));
    // A cloud store: its builder from the environment, bounded retries, default timeouts.
    macro_rules! cloud {
        ($builder:ty, $env_prefix:literal, $kind:expr, $credentials:expr) => {{
            let mut builder = <$builder>::from_env()
                .with_url(display.clone())
                .with_retry(retry_config());
            for (key, value) in default_timeouts($env_prefix) {
                if let Ok(key) = key.parse() {
                    builder = builder.with_config(key, value);
                }
            }
            for (key, value) in options {
                let parsed = key.parse().map_err(|_| {
                    Error::Invalid(format!(
                        "{display}: option `{key}` does not apply to this store"
                    ))
                })?;
                builder = builder.with_config(parsed, value.clone());
            }
            Ok(Location {
                url: display.clone(),
                store: Arc::new(builder.build().map_err(build_err)?),
                prefix: url_path(url)?,
                kind: $kind,
                credentials: $credentials,
                copies: None,
            })
        }};
    }
    match url.scheme() {
        "file" => {
            let path = url
                .to_file_path()
                .map_err(|_| Error::Invalid(format!("{display}: not a local file URL")))?;
            open_local(&path.to_string_lossy())
        }
        "memory" => Ok(Location {
            url: display.clone(),
            store: Arc::new(InMemory::new()),
            prefix: url_path(url)?,
            kind: StoreKind::Memory,
            credentials: CredentialSource::None,
            copies: None,
        }),
        "s3" | "s3a" => {
            check_metadata_allowed(StoreKind::S3, &display, options)?;
            cloud!(AmazonS3Builder, "AWS_", StoreKind::S3, aws_credential_source())
        }
        "gs" => {
            cloud!(GoogleCloudStorageBuilder, "GOOGLE_", StoreKind::Gcs, gcp_credential_source())
        }
        "az" | "azure" | "abfs" | "abfss" | "adl" => {
            cloud!(MicrosoftAzureBuilder, "AZURE_", StoreKind::Azure, azure_credential_source())
        }
        other => Err(Error::Invalid(format!(
            "{display}: unsupported scheme `{other}` (use s3://, gs://, az://, abfs://, file:// or a local path)"
        ))),
    }
}

/// Which credential source `AmazonS3Builder::from_env()` will use, in its order of precedence.
/// `object_store` reads no profile (`AWS_PROFILE`, `~/.aws`): without keys, a web identity or
/// container credentials, it asks the instance metadata endpoint.
pub fn aws_credential_source() -> CredentialSource {
    if env_set("AWS_SKIP_SIGNATURE") {
        CredentialSource::Anonymous
    } else if env_set("AWS_ACCESS_KEY_ID") {
        CredentialSource::Environment
    } else if env_set("AWS_WEB_IDENTITY_TOKEN_FILE") {
        CredentialSource::WebIdentity
    } else {
        CredentialSource::MetadataServer
    }
}

/// Whether nothing in the environment gives `kind` credentials, so the store falls back to the
/// platform's metadata endpoint (instance profile, GCE metadata, managed identity).
fn falls_back_to_metadata(kind: StoreKind) -> bool {
    match kind {
        StoreKind::S3 => {
            aws_credential_source() == CredentialSource::MetadataServer
                && !env_set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                && !env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        }
        StoreKind::Gcs => gcp_credential_source() == CredentialSource::MetadataServer,
        StoreKind::Azure => {
            azure_credential_source() == CredentialSource::ManagedIdentity
                && !env_truthy("AZURE_USE_AZURE_CLI")
        }
        StoreKind::Local | StoreKind::Memory => false,
    }
}

/// The store kind of a URL, from its scheme.
fn kind_of(url: &str) -> StoreKind {
    match url.split_once("://").map(|(s, _)| s) {
        Some("s3" | "s3a") => StoreKind::S3,
        Some("gs") => StoreKind::Gcs,
        Some("az" | "azure" | "abfs" | "abfss" | "adl") => StoreKind::Azure,
        Some("memory") => StoreKind::Memory,
        _ => StoreKind::Local,
    }
}

/// `no AWS credentials found: parity looked in …`: where the store looked for credentials,
/// for a store of `kind` that found none.
pub fn no_credentials(kind: StoreKind) -> String {
    let var = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    match kind {
        StoreKind::S3 => {
            let metadata = if env_truthy("AWS_EC2_METADATA_DISABLED") {
                "not at the instance metadata endpoint (AWS_EC2_METADATA_DISABLED)".to_string()
            } else {
                format!(
                    "at the instance metadata endpoint ({}), which gave none",
                    var("AWS_METADATA_ENDPOINT", "http://169.254.169.254")
                )
            };
            let profile = if env_set("AWS_PROFILE") {
                "; AWS_PROFILE is set, but profiles are not read: export the profile's keys (`aws configure export-credentials --format env`)"
            } else {
                ""
            };
            format!(
                "no AWS credentials found: parity looked in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), for a web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN), for container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI), and {metadata}{profile}; a public bucket needs AWS_SKIP_SIGNATURE=true"
            )
        }
        StoreKind::Gcs => format!(
            "no Google Cloud credentials found: parity looked in the environment (GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_KEY, GOOGLE_APPLICATION_CREDENTIALS), for gcloud's application default credentials, and at the metadata server ({}), which gave none",
            var("GCE_METADATA_HOST", "metadata.google.internal")
        ),
        StoreKind::Azure => format!(
            "no Azure credentials found: parity looked in the environment (AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_KEY, AZURE_CLIENT_ID with AZURE_CLIENT_SECRET and AZURE_TENANT_ID), for a workload identity (AZURE_FEDERATED_TOKEN_FILE), for the Azure CLI (AZURE_USE_AZURE_CLI=true), and at the managed identity endpoint ({}), which gave none",
            var(
                "IDENTITY_ENDPOINT",
                &var("AZURE_MSI_ENDPOINT", "http://169.254.169.254/metadata/identity/oauth2/token")
            )
        ),
        StoreKind::Local | StoreKind::Memory => "no credentials are needed".to_string(),
    }
}

/// When `err`, from the store of `url`, is the store failing to get credentials from the
/// platform's metadata endpoint because nothing else gave it any: the one line that says so and
/// where parity looked. The store's own message (an HTTP error on a link-local address) goes to
/// the log (`-v`).
pub fn credential_failure(url: &str, err: &object_store::Error) -> Option<String> {
    let kind = kind_of(url);
    if !falls_back_to_metadata(kind) || !matches!(err, object_store::Error::Generic { .. }) {
        return None;
    }
    let text = err.to_string().to_ascii_lowercase();
    let about_credentials = [
        "169.254.169.254",
        "metadata",
        "api/token",
        "oauth2/token",
        "credential",
        "token",
    ]
    .iter()
    .any(|needle| text.contains(needle));
    if !about_credentials {
        return None;
    }
    tracing::info!("{url}: the store's credential error: {err}");
    Some(no_credentials(kind))
}

/// Refuse a store that would ask the instance metadata endpoint when
/// `AWS_EC2_METADATA_DISABLED` forbids it (as the AWS SDKs and CLI read it): the answer is
/// known without waiting on the network.
fn check_metadata_allowed(
    kind: StoreKind,
    display: &str,
    options: &[(String, String)],
) -> Result<()> {
    let anonymous = options.iter().any(|(k, v)| {
        k == "skip_signature" && matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1")
    });
    if kind == StoreKind::S3
        && !anonymous
        && falls_back_to_metadata(kind)
        && env_truthy("AWS_EC2_METADATA_DISABLED")
    {
        return Err(Error::Invalid(format!(
            "{display}: {}",
            no_credentials(kind)
        )));
    }
    Ok(())
}

/// Which credential source `GoogleCloudStorageBuilder::from_env()` will use.
pub fn gcp_credential_source() -> CredentialSource {
    if env_set("GOOGLE_SERVICE_ACCOUNT")
        || env_set("GOOGLE_SERVICE_ACCOUNT_PATH")
        || env_set("GOOGLE_SERVICE_ACCOUNT_KEY")
        || env_set("GOOGLE_APPLICATION_CREDENTIALS")
    {
        CredentialSource::Environment
    } else if env_set("GOOGLE_SKIP_SIGNATURE") {
        CredentialSource::Anonymous
    } else {
        CredentialSource::MetadataServer
    }
}

/// Whether a boolean variable is on, as `object_store` reads its config values (`true`, `1`,
/// `yes`, `on`, `y`, any case).
fn env_truthy(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "on" | "yes" | "y"
        )
    })
}

/// Which credential source `MicrosoftAzureBuilder::from_env()` will use. The emulator is used
/// when `AZURE_STORAGE_USE_EMULATOR` is on (Azurite's address then comes from
/// `AZURITE_BLOB_STORAGE_URL`, which alone turns nothing on).
pub fn azure_credential_source() -> CredentialSource {
    if env_truthy("AZURE_STORAGE_USE_EMULATOR") {
        CredentialSource::Emulator
    } else if env_set("AZURE_STORAGE_ACCOUNT_KEY")
        || env_set("AZURE_STORAGE_ACCESS_KEY")
        || env_set("AZURE_CLIENT_SECRET")
        || env_set("AZURE_STORAGE_SAS_KEY")
    {
        CredentialSource::Environment
    } else if env_set("AZURE_FEDERATED_TOKEN_FILE") {
        CredentialSource::WebIdentity
    } else if env_set("AZURE_SKIP_SIGNATURE") {
        CredentialSource::Anonymous
    } else {
        CredentialSource::ManagedIdentity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcs_url_maps_bucket_and_prefix() {
        let loc = open("gs://my-bucket/exports/dt=2024-01-01/").unwrap();
        assert_eq!(loc.kind, StoreKind::Gcs);
        assert_eq!(loc.prefix.as_ref(), "exports/dt=2024-01-01");
        assert_eq!(
            loc.object_url(&Path::from("exports/a.parquet")),
            "gs://my-bucket/exports/a.parquet"
        );
    }

    #[test]
    fn azure_and_abfs_urls_open() {
        let abfs = open("abfs://container@account.dfs.core.windows.net/p/q").unwrap();
        assert_eq!(abfs.kind, StoreKind::Azure);
        assert_eq!(abfs.prefix.as_ref(), "p/q");
        let az = open("az://container@account.blob.core.windows.net/some/prefix").unwrap();
        assert_eq!(az.prefix.as_ref(), "some/prefix");
        if std::env::var_os("AZURE_STORAGE_ACCOUNT_NAME").is_none() {
            // Without an account in the URL or the environment, the error names the URL.
            let e = open("az://container/some/prefix").unwrap_err().to_string();
            assert!(e.starts_with("az://container/some/prefix: "), "{e}");
        }
    }

    #[test]
    fn secrets_in_urls_are_refused() {
        let e = open("s3://AKIA:secret@bucket/x").unwrap_err().to_string();
        assert!(e.contains("refused"), "{e}");
        assert!(!e.contains("secret@"), "{e}");
        let e = open("az://container/x?sig=abc&sv=2020")
            .unwrap_err()
            .to_string();
        assert!(e.contains("refused"), "{e}");
        assert!(!e.contains("sig=abc"), "{e}");
    }

    #[test]
    fn unknown_scheme_and_missing_path() {
        let e = open("ftp://host/x").unwrap_err().to_string();
        assert!(e.contains("unsupported scheme `ftp`"), "{e}");
        let e = open("/definitely/not/here").unwrap_err().to_string();
        assert!(e.starts_with("/definitely/not/here:"), "{e}");
    }

    #[test]
    fn local_paths_become_file_urls() {
        let dir = tempfile::tempdir().unwrap();
        let loc = open(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(loc.kind, StoreKind::Local);
        assert!(loc.url.starts_with("file:///"));
        assert_eq!(loc.credentials, CredentialSource::None);
    }
}
