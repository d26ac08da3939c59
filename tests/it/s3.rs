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

/// INT96 timestamps read from a store: a file gathered from S3 is checked like a local one, and
/// the side's types taken again from every file read only the INT96 column chunks (ranged GETs).
#[test]
fn int96_in_s3_is_read_exactly() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = unique("parity-int96");
    create_bucket(&ep, &bucket);
    let s = store(&ep, &bucket);
    for name in [
        "int96_far_future",
        "int96_nanoseconds",
        "int96_no_unit_holds_both",
    ] {
        upload_dir(&s, &fixture(name).join("left"), &format!("{name}/left"));
    }
    let json = ["--key", "id", "--format", "json"];
    for (name, verdict) in [
        ("int96_far_future", "equivalent"),
        ("int96_nanoseconds", "equivalent"),
    ] {
        let local = fixture(name).join("right");
        let run = s3_diff(
            &ep,
            &format!("s3://{bucket}/{name}/left/"),
            local.to_str().unwrap(),
            &json,
        );
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(v["verdict"], verdict, "{name}");
        assert_eq!(v["schema_changes"], serde_json::json!([]), "{name}");
    }
    let name = "int96_no_unit_holds_both";
    let local = fixture(name).join("right");
    let run = s3_diff(
        &ep,
        &format!("s3://{bucket}/{name}/left/"),
        local.to_str().unwrap(),
        &json,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("part-0.parquet") && run.stderr.contains("no 64-bit timestamp"),
        "{}",
        run.stderr
    );
}

/// A pair of sides with `rows` rows: ids shuffled by file, a text and a float column; the right
/// side changes every 50th row's text, drops id 0 and adds one id. Written as Parquet (four
/// files a side) or CSV (two files a side).
fn write_pair(dir: &Path, rows: i64, csv: bool) -> (u64, u64) {
    use arrow::array::{Float64Array, Int64Array, StringArray};
    use arrow::record_batch::RecordBatch;
    use std::sync::Arc;
    let mut counts = (0, 0);
    for (side, changed) in [("left", false), ("right", true)] {
        let ids: Vec<i64> = if changed {
            (1..=rows).collect()
        } else {
            (0..rows).collect()
        };
        let files = if csv { 2 } else { 4 };
        for (f, chunk) in ids.chunks(ids.len().div_ceil(files)).enumerate() {
            let text: Vec<String> = chunk
                .iter()
                .map(|i| {
                    let base = format!("customer-{:08}-{}", i * 7919 % 1_000_003, i % 97);
                    if changed && i % 50 == 0 {
                        format!("{base}!")
                    } else {
                        base
                    }
                })
                .collect();
            let amount: Vec<f64> = chunk.iter().map(|i| (*i as f64) * 0.25).collect();
            let batch = RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(chunk.to_vec())) as _),
                ("name", Arc::new(StringArray::from(text)) as _),
                ("amount", Arc::new(Float64Array::from(amount)) as _),
            ])
            .unwrap();
            let folder = dir.join(side);
            std::fs::create_dir_all(&folder).unwrap();
            if csv {
                let file = std::fs::File::create(folder.join(format!("part-{f}.csv"))).unwrap();
                let mut w = arrow::csv::Writer::new(file);
                w.write(&batch).unwrap();
            } else {
                let file = std::fs::File::create(folder.join(format!("part-{f}.parquet"))).unwrap();
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::UNCOMPRESSED)
                    .set_max_row_group_row_count(Some(20_000))
                    .build();
                let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props))
                    .unwrap();
                w.write(&batch).unwrap();
                w.close().unwrap();
            }
        }
        let bytes: u64 = std::fs::read_dir(dir.join(side))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        if changed {
            counts.1 = bytes;
        } else {
            counts.0 = bytes;
        }
    }
    counts
}

/// A keyed diff on the memory-bounded path reads both sides twice (fingerprints, then the
/// differing rows), but fetches each object once: the first pass keeps a local copy of every
/// remote file for the second. Counted through a proxy in front of the S3 server: the GET bytes
/// are the objects' sizes (and their footers), within 2 %.
#[test]
fn the_memory_bounded_path_fetches_each_object_once() {
    let Some(ep) = endpoint("PARITY_TEST_S3_ENDPOINT") else {
        return;
    };
    let bucket = unique("parity-once");
    create_bucket(&ep, &bucket);
    let s = store(&ep, &bucket);
    let dir = tempfile::tempdir().unwrap();
    let rows = 200_000;
    for (format, csv) in [("parquet", false), ("csv", true)] {
        let local = dir.path().join(format);
        let (left_bytes, right_bytes) = write_pair(&local, rows, csv);
        upload_dir(&s, &local.join("left"), &format!("{format}/left"));
        upload_dir(&s, &local.join("right"), &format!("{format}/right"));
        let proxy = crate::faulty_proxy::FaultyProxy::counting(&ep);
        let run = s3_diff(
            &proxy.endpoint,
            &format!("s3://{bucket}/{format}/left/"),
            &format!("s3://{bucket}/{format}/right/"),
            &[
                "--key",
                "id",
                "--memory-limit",
                "16MiB",
                "--format",
                "json",
                "-v",
            ],
        );
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        assert!(
            run.stderr.contains("re-reading differing rows"),
            "{format}: the memory-bounded path was not taken: {}",
            run.stderr
        );
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(
            (
                v["only_left"].as_u64(),
                v["only_right"].as_u64(),
                v["changed_rows"].as_u64()
            ),
            (Some(1), Some(1), Some(rows as u64 / 50 - 1)),
            "{format}"
        );
        let objects = left_bytes + right_bytes;
        let fetched = proxy.get_bytes();
        assert!(
            fetched >= objects && fetched <= objects + objects / 50,
            "{format}: {fetched} bytes fetched for {objects} bytes of objects"
        );
    }
}
