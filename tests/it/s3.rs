//! Against a real S3 API server on loopback (moto, started by `scripts/test`): fixtures are
//! uploaded, `s3://` is diffed against `file://` and against `s3://`, and a missing key, a
//! missing bucket and a denied bucket all give exit 2 with a one-line error.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::harness::{fixture, parity, rt, Run};

/// The S3 endpoint from `scripts/test`; outside it the tests are skipped, except in CI where a
/// missing server is a failure.
pub fn endpoint(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{var} is not set: run the tests through scripts/test"
            );
            eprintln!("skipping: {var} not set (run scripts/test to start the S3 server)");
            None
        }
    }
}

/// Create a bucket with a plain HTTP PUT (moto accepts unsigned requests).
pub fn create_bucket(endpoint: &str, bucket: &str) {
    let host = endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).expect("connect to S3 server");
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "create bucket {bucket}: {response}"
    );
}

pub fn store(endpoint: &str, bucket: &str) -> impl ObjectStore {
    AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .build()
        .unwrap()
}

pub fn upload_dir(store: &impl ObjectStore, local: &Path, prefix: &str) -> usize {
    let rt = rt();
    let mut n = 0;
    let mut stack = vec![local.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(local)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&path).unwrap();
            rt.block_on(store.put(
                &ObjectPath::from(format!("{prefix}/{rel}")),
                PutPayload::from(bytes),
            ))
            .unwrap();
            n += 1;
        }
    }
    n
}

pub fn with_s3_env(cmd: &mut Command, endpoint: &str) {
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("PARITY_STORE_RETRIES", "1");
}

fn s3_diff(endpoint: &str, left: &str, right: &str, args: &[&str]) -> Run {
    let mut cmd = parity();
    with_s3_env(&mut cmd, endpoint);
    cmd.arg("diff")
        .arg(left)
        .arg(right)
        .args(args)
        .output()
        .unwrap()
        .into()
}

pub fn unique(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros()
    )
}

#[test]
fn s3_against_local_and_s3_against_s3_give_the_fixture_verdicts() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = unique("parity-it");
    create_bucket(&ep, &bucket);
    let s = store(&ep, &bucket);
    let demo = fixture("demo");
    assert_eq!(
        upload_dir(&s, &demo.join("legacy"), "demo/legacy"),
        3,
        "two parquet files and _SUCCESS"
    );
    assert_eq!(upload_dir(&s, &demo.join("target"), "demo/target"), 3);
    let args = [
        "--key",
        "order_id",
        "--ignore",
        "loaded_at",
        "--abs-tol",
        "1e-9",
        "--format",
        "json",
    ];

    let local_target = format!("file://{}", demo.join("target").display());
    for (left, right) in [
        (format!("s3://{bucket}/demo/legacy/"), local_target.clone()),
        (
            format!("s3://{bucket}/demo/legacy"),
            format!("s3://{bucket}/demo/target/"),
        ),
    ] {
        let run = s3_diff(&ep, &left, &right, &args);
        assert_eq!(run.code, 1, "{left} vs {right}: {}", run.stderr);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(v["verdict"], "diverged");
        assert_eq!(
            (v["left_rows"].as_u64(), v["right_rows"].as_u64()),
            (Some(2000), Some(1999))
        );
        assert_eq!(
            (
                v["only_left"].as_u64(),
                v["only_right"].as_u64(),
                v["changed_rows"].as_u64()
            ),
            (Some(3), Some(2), Some(7))
        );
        assert_eq!(v["changed_cells"], serde_json::json!({"status": 7}));
        let inputs = v["left"]["inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), 2, "_SUCCESS is not data");
        assert!(inputs
            .iter()
            .all(|i| i["blake3"].as_str().unwrap().len() == 64 && i["e_tag"].is_string()));
    }

    // Byte-identical copies in S3: tier 1, no parse.
    upload_dir(&s, &demo.join("legacy"), "copy/legacy");
    let run = s3_diff(
        &ep,
        &format!("s3://{bucket}/demo/legacy"),
        &format!("s3://{bucket}/copy/legacy"),
        &["--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["verdict"], "identical");
}

#[test]
fn missing_key_and_missing_bucket_exit_2() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = unique("parity-missing");
    create_bucket(&ep, &bucket);
    let local = fixture("demo").join("target");
    let local = local.to_str().unwrap();

    let run = s3_diff(&ep, &format!("s3://{bucket}/no/such/prefix/"), local, &[]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("s3://{bucket}/no/such/prefix"))
            && run.stderr.contains("no data files"),
        "{}",
        run.stderr
    );

    let run = s3_diff(
        &ep,
        &format!("s3://{}/x/", unique("no-such-bucket")),
        local,
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("no-such-bucket"), "{}", run.stderr);
    assert!(!run.stderr.contains("builder error"), "{}", run.stderr);
}

#[test]
fn a_denied_bucket_exits_2_without_leaking_the_secret() {
    let Some(ep) = endpoint("PARITY_TEST_S3_DENIED_ENDPOINT") else {
        return;
    };
    let local = fixture("demo").join("target");
    let mut cmd = parity();
    with_s3_env(&mut cmd, &ep);
    cmd.env("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
        .env("AWS_SECRET_ACCESS_KEY", "do-not-print-me");
    let run: Run = cmd
        .arg("diff")
        .arg("s3://locked/data/")
        .arg(&local)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("s3://locked/data"), "{}", run.stderr);
    assert!(
        run.stderr.contains("permission denied")
            || run.stderr.contains("not authenticated")
            || run.stderr.contains("403"),
        "the error must say access was refused: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("do-not-print-me") && !run.stdout.contains("do-not-print-me"));
}

#[test]
fn an_unreachable_store_fails_fast() {
    // Nothing listens on port 9 of loopback: a refused connection, retried a bounded number
    // of times, then exit 2 (never a hang).
    let local = fixture("demo").join("target");
    let mut cmd = parity();
    with_s3_env(&mut cmd, "http://127.0.0.1:9");
    let started = std::time::Instant::now();
    let run: Run = cmd
        .arg("diff")
        .arg("s3://bucket/data/")
        .arg(&local)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("s3://bucket/data"), "{}", run.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn text_types_taken_from_every_row_stream_from_the_store() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    use std::io::Write;
    let bucket = unique("parity-types");
    create_bucket(&ep, &bucket);
    let s = store(&ep, &bucket);
    // A gzipped JSON-lines side whose first 12,000 lines lack `x` and `late`, in the store;
    // the same rows split the other way on local disk.
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote");
    std::fs::create_dir_all(&remote).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(remote.join("a.jsonl.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(crate::regressions::sparse_rows(true, 0, 20_000, None).as_bytes())
        .unwrap();
    gz.finish().unwrap();
    assert_eq!(upload_dir(&s, &remote, "sparse"), 1);
    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    let late = crate::regressions::sparse_rows(true, 12_000, 20_000, Some(13_000));
    std::fs::write(local.join("a.jsonl"), late).unwrap();
    let early = crate::regressions::sparse_rows(true, 0, 12_000, None);
    std::fs::write(local.join("b.jsonl"), early).unwrap();
    let run = s3_diff(
        &ep,
        &format!("s3://{bucket}/sparse/"),
        &format!("file://{}", local.display()),
        &["--key", "id", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["left_rows"], 20_000);
    assert_eq!(v["changed_rows"], 1);
    assert_eq!(v["changed_cells"], serde_json::json!({"x": 1}));
    assert_eq!(v["schema_changes"], serde_json::json!([]));
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A command with no cloud credentials in its environment at all.
fn without_credentials(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("AWS_") || k.starts_with("GOOGLE_") || k.starts_with("AZURE_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env_remove("IDENTITY_ENDPOINT")
        .env_remove("GCE_METADATA_HOST")
        .env("PARITY_STORE_RETRIES", "0");
}

fn assert_no_raw_metadata_error(run: &Run) {
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    for raw in [
        "169.254.169.254/latest",
        "Generic",
        "api/token",
        "error sending request",
    ] {
        assert!(!run.stderr.contains(raw), "raw store error: {}", run.stderr);
    }
}

/// An `s3://` side and no credentials anywhere: against the credential-checking S3 server, with
/// the instance metadata endpoint a closed loopback port (so nothing waits on the network), and
/// with `AWS_EC2_METADATA_DISABLED`. The error says that no credentials were found and where
/// parity looked.
#[test]
fn no_aws_credentials_says_where_parity_looked() {
    let Some(ep) = endpoint("PARITY_TEST_S3_DENIED_ENDPOINT") else {
        return;
    };
    let local = fixture("demo").join("target");
    let metadata = format!("http://127.0.0.1:{}", closed_port());
    for disabled in [false, true] {
        let mut cmd = parity();
        without_credentials(&mut cmd);
        cmd.env("AWS_ENDPOINT_URL", &ep)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_METADATA_ENDPOINT", &metadata)
            .env("AWS_PROFILE", "analytics");
        if disabled {
            cmd.env("AWS_EC2_METADATA_DISABLED", "true");
        }
        let run: Run = cmd
            .arg("diff")
            .arg("s3://locked/data/")
            .arg(&local)
            .output()
            .unwrap()
            .into();
        assert_no_raw_metadata_error(&run);
        let e = &run.stderr;
        assert!(e.starts_with("parity: error: s3://locked/data/"), "{e}");
        for needle in [
            "no AWS credentials found: parity looked in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
            "for a web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)",
            "for container credentials",
            "AWS_PROFILE is set, but profiles are not read",
        ] {
            assert!(e.contains(needle), "no {needle:?}: {e}");
        }
        if disabled {
            assert!(
                e.contains("not at the instance metadata endpoint (AWS_EC2_METADATA_DISABLED)"),
                "{e}"
            );
        } else {
            let at = format!("at the instance metadata endpoint ({metadata}), which gave none");
            assert!(e.contains(&at), "{e}");
        }
    }
}

/// `gs://` and `az://` with no credentials: the metadata server and the managed identity
/// endpoint are closed loopback ports; no request reaches the cloud.
#[test]
fn no_gcs_or_azure_credentials_says_where_parity_looked() {
    let local = fixture("demo").join("target");
    let closed = closed_port();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = parity();
    without_credentials(&mut cmd);
    let run: Run = cmd
        .env("HOME", home.path())
        .env("GCE_METADATA_HOST", format!("127.0.0.1:{closed}"))
        .env("GCE_METADATA_IP", format!("127.0.0.1:{closed}"))
        .arg("diff")
        .arg("gs://some-bucket/data/")
        .arg(&local)
        .output()
        .unwrap()
        .into();
    assert_no_raw_metadata_error(&run);
    assert!(
        run.stderr.contains("no Google Cloud credentials found: parity looked in the environment (GOOGLE_SERVICE_ACCOUNT"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("at the metadata server (127.0.0.1:{closed})")),
        "{}",
        run.stderr
    );

    let mut cmd = parity();
    without_credentials(&mut cmd);
    let run: Run = cmd
        .env("AZURE_STORAGE_ACCOUNT_NAME", "someaccount")
        .env(
            "AZURE_MSI_ENDPOINT",
            format!("http://127.0.0.1:{closed}/token"),
        )
        .arg("diff")
        .arg("az://container/data/")
        .arg(&local)
        .output()
        .unwrap()
        .into();
    assert_no_raw_metadata_error(&run);
    assert!(
        run.stderr.contains("no Azure credentials found: parity looked in the environment (AZURE_STORAGE_ACCOUNT_KEY"),
        "{}",
        run.stderr
    );
}
