//! The HTML readiness report opened in a real browser: Debian's Chromium, headless, installed
//! by `scripts/test`. Its DOM is dumped and checked for the decision, the pipeline rows and a
//! planted `<script>` shown as text; a screenshot is taken and checked to be a non-blank image
//! of the requested size with the NO-GO banner's red where the banner is.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::report::{report, write_ledger};

/// Chromium from `scripts/test`; outside it the test is skipped, except in CI.
fn chromium() -> Option<PathBuf> {
    match std::env::var("PARITY_TEST_CHROMIUM") {
        Ok(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "PARITY_TEST_CHROMIUM is not set: run the tests through scripts/test"
            );
            eprintln!("skipping: PARITY_TEST_CHROMIUM not set (scripts/test installs Chromium)");
            None
        }
    }
}

/// Run headless Chromium on a page with extra flags; stdout, or a panic after 90 s.
fn headless(bin: &Path, profile: &Path, page: &Path, extra: &[&str]) -> String {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_html_report_renders_in_chromium() {
    let Some(bin) = chromium() else { return };
    let ledger = tempfile::tempdir().unwrap();
    write_ledger(ledger.path());
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join("readiness.html");
    let run = report(
        ledger.path(),
        &[
            "--as-of",
            "2026-11-30",
            "--format",
            "html",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    let profile = work.path().join("profile");
    let dom = headless(&bin, &profile, &page, &["--dump-dom"]);
    assert!(dom.contains("<h1>NO-GO</h1>"), "{dom}");
    assert!(dom.contains("10 days left"));
    assert_eq!(dom.matches("<tr data-pipeline=").count(), 13);
    for id in ["payments_ledger", "orders_enriched", "clickstream_hourly"] {
        assert!(dom.contains(&format!("data-pipeline=\"{id}\"")), "{id}");
    }
    assert_eq!(
        dom.matches("data-state=\"blocked\"").count(),
        3,
        "three blocked rows"
    );
    // The planted markup is text in the page, not an element.
    assert!(
        dom.contains("&lt;script&gt;alert(\"x\")&lt;/script&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<script"), "a script element in the DOM");

    let shot = work.path().join("readiness.png");
    headless(
        &bin,
        &profile,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1800",
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("a screenshot"),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, 1800));
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let pixel = |x: usize, y: usize| {
        let i = (y * info.width as usize + x) * channels;
        (buf[i], buf[i + 1], buf[i + 2])
    };
    let mut colours = std::collections::HashSet::new();
    for y in (0..info.height as usize).step_by(7) {
        for x in (0..info.width as usize).step_by(7) {
            colours.insert(pixel(x, y));
        }
    }
    assert!(
        colours.len() > 50,
        "a blank or flat page: {} colours",
        colours.len()
    );
    // The NO-GO banner (#cf222e) starts 24 px from the top left.
    let (r, g, b) = pixel(40, 40);
    assert!(r > 180 && g < 80 && b < 80, "banner pixel {:?}", (r, g, b));
}
