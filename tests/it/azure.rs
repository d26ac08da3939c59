//! Against Azurite, the Azure Storage emulator (npm `azurite`, started on 127.0.0.1 by
//! `scripts/test`): both sides on `az://`, `az://` against a local path, the ledger on Azure
//! with two runs at once, a denied container and a missing blob, and an inventory discovered
//! from two containers. The store is configured the two ways a deployment can: the emulator
//! flag (`AZURE_STORAGE_USE_EMULATOR`, `AZURITE_BLOB_STORAGE_URL`), and an account, key and
//! endpoint (`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, `AZURE_STORAGE_ENDPOINT`,
//! `AZURE_ALLOW_HTTP`), all from the environment as `object_store` reads it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use futures::TryStreamExt;
use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::Value;

use crate::cutover::demo_inventory;
use crate::harness::{fixture, parity, rt, Run};
use crate::s3::{endpoint, unique, upload_dir};

/// Azurite's well-known development account and key (public, documented by Microsoft).
const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A container name Azure accepts: lower case, digits and dashes, 3 to 63 characters.
fn container_name(name: &str) -> String {
    let mut n: String = unique(name)
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    n.truncate(63);
    n.trim_end_matches('-').to_string()
}

/// Create a container with a Shared Key signed REST call (object_store has no such call).
fn create_container(url: &str, container: &str) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let version = "2021-08-06";
    let to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{ACCOUNT}/{ACCOUNT}/{container}\nrestype:container"
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &b64.decode(KEY).unwrap());
    let signature = b64.encode(ring::hmac::sign(&key, to_sign.as_bytes()).as_ref());
    let host = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect to Azurite");
    use std::io::{Read, Write};
    write!(
        s,
        "PUT /{ACCOUNT}/{container}?restype=container HTTP/1.1\r\nHost: {host}\r\nx-ms-date: {date}\r\nx-ms-version: {version}\r\nAuthorization: SharedKey {ACCOUNT}:{signature}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "create container {container}: {response}"
    );
}

/// The test's own client: account, key and endpoint (no environment needed).
fn store(url: &str, container: &str) -> MicrosoftAzure {
    MicrosoftAzureBuilder::new()
        .with_account(ACCOUNT)
        .with_access_key(KEY)
        .with_endpoint(format!("{url}/{ACCOUNT}"))
        .with_allow_http(true)
        .with_container_name(container)
        .build()
        .unwrap()
}

/// How a `parity` process reaches Azurite.
#[derive(Clone, Copy)]
enum Via {
    /// `AZURE_STORAGE_USE_EMULATOR` and `AZURITE_BLOB_STORAGE_URL`.
    Emulator,
    /// Account, key and endpoint, as for a real account behind a private endpoint.
    Endpoint,
}

fn azure_env(cmd: &mut Command, url: &str, via: Via) {
    for var in [
        "AZURE_STORAGE_USE_EMULATOR",
        "AZURITE_BLOB_STORAGE_URL",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_ENDPOINT",
        "AZURE_ALLOW_HTTP",
        "AZURE_CLIENT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("PARITY_STORE_RETRIES", "1");
    match via {
        Via::Emulator => {
            cmd.env("AZURE_STORAGE_USE_EMULATOR", "true")
                .env("AZURITE_BLOB_STORAGE_URL", url);
        }
        Via::Endpoint => {
            cmd.env("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT)
                .env("AZURE_STORAGE_ACCOUNT_KEY", KEY)
                .env("AZURE_STORAGE_ENDPOINT", format!("{url}/{ACCOUNT}"))
                .env("AZURE_ALLOW_HTTP", "true");
        }
    }
}

fn azure_diff(url: &str, via: Via, left: &str, right: &str, args: &[&str]) -> Run {
    let mut cmd = parity();
    azure_env(&mut cmd, url, via);
    cmd.arg("diff")
        .arg(left)
        .arg(right)
        .args(args)
        .output()
        .unwrap()
        .into()
}

#[test]
fn azure_against_azure_and_against_local_give_the_fixture_verdicts() {
    let Some(url) = endpoint("PARITY_TEST_AZURITE_URL") else {
        return;
    };
    let c = container_name("diff");
    create_container(&url, &c);
    let s = store(&url, &c);
    let demo = fixture("demo");
    assert_eq!(upload_dir(&s, &demo.join("legacy"), "demo/legacy"), 3);
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
    for (via, left, right) in [
        (
            Via::Emulator,
            format!("az://{c}/demo/legacy/"),
            format!("az://{c}/demo/target"),
        ),
        (
            Via::Endpoint,
            format!("az://{c}/demo/legacy"),
            local_target.clone(),
        ),
        (
            Via::Emulator,
            demo.join("legacy").display().to_string(),
            format!("abfs://{c}/demo/target/"),
        ),
    ] {
        let run = azure_diff(&url, via, &left, &right, &args);
        assert_eq!(run.code, 1, "{left} vs {right}: {}", run.stderr);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
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
        // The legacy side's two files (its _SUCCESS is not data), or the target side's three.
        let (remote, files) = if left.starts_with("az://") {
            (&v["left"], 2)
        } else {
            (&v["right"], 3)
        };
        let inputs = remote["inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), files, "{inputs:?}");
        assert!(
            inputs
                .iter()
                .all(|i| i["blake3"].as_str().unwrap().len() == 64
                    && i["e_tag"].is_string()
                    && i["url"].as_str().unwrap().starts_with(&format!(
                        "{}://{c}/",
                        if left.starts_with("az://") {
                            "az"
                        } else {
                            "abfs"
                        }
                    ))),
            "{inputs:?}"
        );
    }

    // Byte-identical copies: tier 1.
    upload_dir(&s, &demo.join("legacy"), "copy/legacy");
    let run = azure_diff(
        &url,
        Via::Endpoint,
        &format!("az://{c}/demo/legacy"),
        &format!("az://{c}/copy/legacy"),
        &["--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["verdict"], "identical");
}

#[test]
fn a_missing_blob_and_a_missing_container_exit_2_naming_them() {
    let Some(url) = endpoint("PARITY_TEST_AZURITE_URL") else {
        return;
    };
    let c = container_name("missing");
    create_container(&url, &c);
    let local = fixture("demo").join("target");
    let local = local.to_str().unwrap();
    for (side, expected) in [
        (
            format!("az://{c}/no/such/blob.parquet"),
            "no data files".to_string(),
        ),
        (format!("az://{c}/no/such/prefix/"), "no data files".into()),
    ] {
        let run = azure_diff(&url, Via::Emulator, &side, local, &[]);
        assert_eq!(run.code, 2, "{side}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        let want = side.trim_end_matches('/');
        assert!(
            run.stderr.contains(want) && run.stderr.contains(&expected),
            "{}",
            run.stderr
        );
    }
    let gone = container_name("nosuchcontainer");
    let run = azure_diff(&url, Via::Endpoint, &format!("az://{gone}/x/"), local, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("az://{gone}/x")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_denied_container_exits_2_without_leaking_the_key() {
    let Some(url) = endpoint("PARITY_TEST_AZURITE_URL") else {
        return;
    };
    let c = container_name("denied");
    create_container(&url, &c);
    let s = store(&url, &c);
    upload_dir(&s, &fixture("demo").join("target"), "data");
    // A well-formed key that is not the account's: every request is refused (403).
    use base64::Engine;
    let wrong = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    for via in [Via::Emulator, Via::Endpoint] {
        let mut cmd = parity();
        azure_env(&mut cmd, &url, via);
        cmd.env("AZURE_STORAGE_ACCOUNT_KEY", &wrong);
        let run: Run = cmd
            .arg("diff")
            .arg(format!("az://{c}/data/"))
            .arg(fixture("demo").join("target"))
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!("az://{c}/data")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("permission denied")
                || run.stderr.contains("not authenticated")
                || run.stderr.contains("403"),
            "the error must say access was refused: {}",
            run.stderr
        );
        assert!(!run.stderr.contains(&wrong) && !run.stdout.contains(&wrong));
    }
}

/// Every record under a ledger prefix; a record that does not parse fails the test.
fn records(url: &str, container: &str, prefix: &str) -> Vec<(String, Value)> {
    let s = store(url, container);
    rt().block_on(async {
        let metas: Vec<_> = s
            .list(Some(&ObjectPath::from(prefix)))
            .try_collect()
            .await
            .unwrap();
        let mut out = Vec::new();
        for m in metas {
            let bytes = s.get(&m.location).await.unwrap().bytes().await.unwrap();
            let v: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{}: a partial or broken record: {e}", m.location));
            out.push((m.location.to_string(), v));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    })
}

fn spawn_run(config: &Path, url: &str) -> Child {
    let mut cmd = parity();
    azure_env(&mut cmd, url, Via::Emulator);
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .args(["--until", "2026-11-10", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_ledger_on_azure_loses_nothing_to_two_runs_at_once() {
    let Some(url) = endpoint("PARITY_TEST_AZURITE_URL") else {
        return;
    };
    let c = container_name("ledger");
    create_container(&url, &c);
    let dir = tempfile::tempdir().unwrap();
    let base = fixture("cutover");
    let config = demo_inventory(
        dir.path(),
        base.to_str().unwrap(),
        &format!("az://{c}/ledger"),
        "",
    );
    let (a, b) = (spawn_run(&config, &url), spawn_run(&config, &url));
    let mut units = Vec::new();
    for child in [a, b] {
        let run: Run = child.wait_with_output().unwrap().into();
        assert_eq!(run.code, 1, "{}", run.stderr);
        let v: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} / {}", run.stdout, run.stderr));
        assert!(v["ledger"].as_str().unwrap().starts_with("az://"), "{v}");
        for u in v["units"].as_array().unwrap() {
            units.push(u["ledger_record"].as_str().expect("recorded").to_string());
        }
    }
    let recs = records(&url, &c, "ledger");
    let keys: BTreeSet<String> = recs.iter().map(|(k, _)| format!("az://{c}/{k}")).collect();
    for u in &units {
        assert!(
            keys.contains(u),
            "{u} was reported written but is not there"
        );
    }
    assert_eq!(
        recs.len(),
        units.len(),
        "one record per unit, by either run"
    );
    let covered: BTreeSet<(String, String)> = recs
        .iter()
        .map(|(_, r)| {
            (
                r["pipeline"].as_str().unwrap().to_string(),
                r["partition"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(covered.len(), 97, "every unit of the demo has a record");

    // A third run finds everything settled: the records read back from Azure.
    let mut cmd = parity();
    azure_env(&mut cmd, &url, Via::Emulator);
    let run: Run = cmd
        .arg("run")
        .arg("--config")
        .arg(&config)
        .args(["--until", "2026-11-10", "--format", "json"])
        .output()
        .unwrap()
        .into();
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["units"].as_array().unwrap().len(), 0, "{}", run.stderr);
    assert_eq!(v["already_checked"], 97);
    assert_eq!(records(&url, &c, "ledger").len(), recs.len());
}

#[test]
fn create_only_puts_refuse_to_overwrite_on_azurite() {
    let Some(url) = endpoint("PARITY_TEST_AZURITE_URL") else {
        return;
    };
    let c = container_name("create");
    create_container(&url, &c);
    let s = store(&url, &c);
    let path = ObjectPath::from("once.json");
    let create = object_store::PutOptions {
        mode: object_store::PutMode::Create,
        ..Default::default()
    };
    rt().block_on(async {
        s.put_opts(&path, "first".into(), create.clone())
            .await
            .unwrap();
        let second = s.put_opts(&path, "second".into(), create).await;
        assert!(
            matches!(second, Err(object_store::Error::AlreadyExists { .. })),
            "{second:?}"
        );
        let kept = s.get(&path).await.unwrap().bytes().await.unwrap();
        assert_eq!(&kept[..], b"first");
    });
}

#[test]
fn an_inventory_is_discovered_from_two_azure_prefixes() {
    let Some(url) = endpoint("PARITY_TEST_AZURITE_URL") else {
        return;
    };
    let c = container_name("discover");
    create_container(&url, &c);
    let s = store(&url, &c);
    for side in ["legacy", "target"] {
        let n = upload_dir(&s, &fixture("cutover").join(side), side);
        assert!(n > 100, "{side}: {n} files");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parity.toml");
    let mut cmd = parity();
    azure_env(&mut cmd, &url, Via::Endpoint);
    let run: Run = cmd
        .args(["inventory", "discover", "--format", "json", "--out"])
        .arg(&out)
        .arg(format!("az://{c}/legacy"))
        .arg(format!("az://{c}/target"))
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let keys: Vec<(String, Option<String>)> = v["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["legacy"]["location"].as_str().unwrap().to_string(),
                p["key"]["column"].as_str().map(String::from),
            )
        })
        .collect();
    let want = |prefix: &str, tail: &str, key: Option<&str>| {
        (
            format!("az://{c}/legacy/{prefix}/{tail}"),
            key.map(String::from),
        )
    };
    assert_eq!(
        keys,
        [
            want("clickstream", "dt={date}/hour={hour}/", Some("event_id")),
            want("customers", "dt={date}/", Some("customer_id")),
            want("exports", "dt={date}/", Some("export_id")),
            want("fx_rates", "dt={date}/", None),
            want("inventory", "dt={date}/", Some("sku")),
            want("orders", "dt={date}/", Some("order_id")),
        ]
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains(&format!(
            "target = \"az://{c}/target/orders/dt={{date}}/\"\n"
        )),
        "{text}"
    );
}
