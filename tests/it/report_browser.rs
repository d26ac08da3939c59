//! The HTML readiness report opened in a real browser: Debian's Chromium, headless, installed
//! by `scripts/test`.
//!
//! - The fixed report ledger: the DOM is dumped and checked for the decision, the pipeline rows
//!   and a planted `<script>` shown as text; a screenshot is checked to be a non-blank image
//!   with the NO-GO banner's red where the banner is.
//! - The demo cutover after `scripts/demo`'s ten mornings: the burn-up's SVG points are the
//!   series the report computes (and the one the demo's planted facts give), placed on the
//!   chart's own axes; a copy of the page with a measuring script added reports the layout
//!   (no horizontal overflow at screen and A4 widths, no id, date or e-mail address broken
//!   across lines, the "Why" column at most two lines); the screenshot shows the series'
//!   colour inside the chart and identical and equivalent cells far apart in lightness.
//! - The page as written logs nothing to the console (its Content-Security-Policy blocks
//!   nothing because it asks for nothing), while a page that asks for an image does.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::demo::{demo_copy, expected_burn_up, replay_demo, report as demo_report};
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

/// Run headless Chromium on a page with extra flags: (stdout, stderr), or a panic after 90 s.
fn headless(bin: &Path, profile: &Path, page: &Path, extra: &[&str]) -> (String, String) {
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
            "--force-device-scale-factor=1",
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
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// A decoded screenshot.
struct Shot {
    width: usize,
    height: usize,
    channels: usize,
    buf: Vec<u8>,
}

impl Shot {
    fn pixel(&self, x: usize, y: usize) -> (u8, u8, u8) {
        let i = (y * self.width + x) * self.channels;
        (self.buf[i], self.buf[i + 1], self.buf[i + 2])
    }

    /// Pixels within `tol` of `rgb` (each channel) inside a rectangle of CSS pixels.
    fn count_near(&self, area: &Value, rgb: (u8, u8, u8), tol: u8) -> usize {
        let (x0, y0) = (f(area, "x") as usize, f(area, "y") as usize);
        let x1 = ((f(area, "x") + f(area, "w")) as usize).min(self.width);
        let y1 = ((f(area, "y") + f(area, "h")) as usize).min(self.height);
        let near = |a: u8, b: u8| a.abs_diff(b) <= tol;
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let (r, g, b) = self.pixel(x, y);
                near(r, rgb.0) && near(g, rgb.1) && near(b, rgb.2)
            })
            .count()
    }
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("no number {k} in {v}"))
}

fn screenshot(bin: &Path, profile: &Path, page: &Path, width: u32, height: u32) -> Shot {
    let shot = page.with_extension(format!("{width}.png"));
    headless(
        bin,
        profile,
        page,
        &[
            &format!("--screenshot={}", shot.display()),
            &format!("--window-size={width},{height}"),
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("a screenshot"),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (width, height));
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    Shot {
        width: info.width as usize,
        height: info.height as usize,
        channels,
        buf,
    }
}

/// The measuring script: the page's layout as JSON in a `<pre>` the DOM dump carries.
const MEASURE: &str = r#"<script>
(function () {
  var box = function (e) {
    var r = e.getBoundingClientRect();
    return { x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height };
  };
  var lines = function (e) {
    var range = document.createRange();
    range.selectNodeContents(e);
    var tops = {};
    Array.prototype.forEach.call(range.getClientRects(), function (r) {
      if (r.width > 0) { tops[Math.round(r.top)] = 1; }
    });
    return Object.keys(tops).length;
  };
  var broken = [];
  document.querySelectorAll('.nw, .badge, #pipelines .mono, #pipelines .sub, #holding-back .mono')
    .forEach(function (e) { if (e.getClientRects().length > 1) { broken.push(e.textContent); } });
  var why = Array.prototype.map.call(document.querySelectorAll('#pipelines td.why'), lines);
  var m = {
    scroll_width: document.documentElement.scrollWidth,
    client_width: document.documentElement.clientWidth,
    scroll_height: document.documentElement.scrollHeight,
    broken: broken,
    why_lines: why,
    chart: box(document.getElementById('burnup')),
    banner: box(document.getElementById('decision')),
    identical: box(document.querySelector('.legend .v-identical')),
    equivalent: box(document.querySelector('.legend .v-equivalent'))
  };
  var pre = document.createElement('pre');
  pre.id = 'parity-measure';
  pre.textContent = JSON.stringify(m);
  document.body.appendChild(pre);
})();
</script>"#;

/// The page's layout at a window width, measured in a copy of the page that also allows the
/// measuring script (the page itself runs none).
fn measure(bin: &Path, profile: &Path, page: &Path, width: u32) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let csp = "default-src 'none'; style-src 'unsafe-inline'\"";
    assert!(html.contains(csp), "the page's CSP changed");
    let copy = html
        .replace(
            csp,
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\"",
        )
        .replace("</body>", &format!("{MEASURE}</body>"));
    let path = page.with_extension(format!("measure-{width}.html"));
    std::fs::write(&path, copy).unwrap();
    let (dom, _) = headless(
        bin,
        profile,
        &path,
        &["--dump-dom", &format!("--window-size={width},1000")],
    );
    let start = dom
        .find("<pre id=\"parity-measure\">")
        .expect("the measurement")
        + 25;
    let end = start + dom[start..].find("</pre>").unwrap();
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
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
    let (dom, _) = headless(&bin, &profile, &page, &["--dump-dom"]);
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

    let shot = screenshot(&bin, &profile, &page, 1280, 1800);
    let mut colours = std::collections::HashSet::new();
    for y in (0..shot.height).step_by(7) {
        for x in (0..shot.width).step_by(7) {
            colours.insert(shot.pixel(x, y));
        }
    }
    assert!(
        colours.len() > 50,
        "a blank or flat page: {} colours",
        colours.len()
    );
    // The NO-GO banner (#c5331d) starts 24 px from the top left.
    let (r, g, b) = shot.pixel(40, 40);
    assert!(r > 170 && g < 80 && b < 60, "banner pixel {:?}", (r, g, b));
}

/// An attribute of the tag that starts at `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let end = tag.find('>').unwrap();
    let key = format!(" {name}=\"");
    let start = tag[..end]
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {}", &tag[..end]))
        + key.len();
    &tag[start..start + tag[start..].find('"').unwrap()]
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The burn-up's points in the SVG are the computed series, drawn on the chart's own axes.
fn check_chart_structure(html: &str, json: &Value) {
    let svg = &html[html.find("<svg").expect("an inline SVG")..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    assert!(!svg.contains("<script"), "a script in the chart");
    assert!(
        svg.contains("<title id=\"burnup-title\">"),
        "the chart has a title"
    );
    assert!(
        svg.contains("<desc id=\"burnup-desc\">6 of 6")
            || svg.contains("<desc id=\"burnup-desc\">1 of 6"),
        "the chart has a description: {svg}"
    );
    let points: Vec<&str> = svg
        .match_indices("<circle class=\"point\"")
        .map(|(i, _)| &svg[i..])
        .collect();
    let drawn: Vec<(String, u64)> = points
        .iter()
        .map(|t| {
            (
                attr(t, "data-day").to_string(),
                num(attr(t, "data-ready")) as u64,
            )
        })
        .collect();
    let computed: Vec<(String, u64)> = json["burn_up"]["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap().to_string(),
                d["ready"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(drawn, computed, "the SVG's points are the report's series");
    assert_eq!(
        drawn,
        expected_burn_up(),
        "the series the demo's planted facts give"
    );

    // The polyline passes through the same points.
    let poly = &svg[svg
        .find("<polyline class=\"ready\"")
        .expect("the series line")..];
    let line: Vec<String> = attr(poly, "points")
        .split(' ')
        .map(str::to_string)
        .collect();
    let centres: Vec<String> = points
        .iter()
        .map(|t| format!("{},{}", attr(t, "cx"), attr(t, "cy")))
        .collect();
    assert_eq!(line, centres);

    // y: 0 ready on the x axis, every pipeline in scope on the scope line, linear between.
    let axis = &svg[svg.find("<line class=\"axis-x\"").unwrap()..];
    let scope = &svg[svg.find("<line class=\"scope\"").unwrap()..];
    let (base, top) = (num(attr(axis, "y1")), num(attr(scope, "y1")));
    let in_scope = json["burn_up"]["in_scope"].as_f64().unwrap();
    assert!(base - top > 100.0, "a chart of some height: {base} {top}");
    for t in &points {
        let ready = num(attr(t, "data-ready"));
        let want = base - ready / in_scope * (base - top);
        assert!((num(attr(t, "cy")) - want).abs() < 0.06, "{t}");
    }
    // x: the first day on the y axis, one equal step a day, the retirement line on its day.
    let x: Vec<f64> = points.iter().map(|t| num(attr(t, "cx"))).collect();
    assert_eq!(x[0], num(attr(axis, "x1")));
    let step = (x[x.len() - 1] - x[0]) / (x.len() - 1) as f64;
    assert!(step > 5.0, "{step}");
    for (i, xi) in x.iter().enumerate() {
        assert!(
            (xi - (x[0] + step * i as f64)).abs() < 0.11,
            "day {i}: {xi}"
        );
    }
    let retirement = &svg[svg
        .find("<line class=\"retirement\"")
        .expect("the retirement line")..];
    let days_to_retirement = 44.0; // 2026-11-01 .. 2026-12-15
    assert!((num(attr(retirement, "x1")) - (x[0] + step * days_to_retirement)).abs() < 0.2);
    // The projection ends on the scope line, on the day the report gives.
    assert_eq!(json["burn_up"]["all_ready_on"], "2026-12-31");
    let projection = &svg[svg
        .find("<line class=\"projection\"")
        .expect("the projection")..];
    assert!((num(attr(projection, "y2")) - top).abs() < 0.06);
    assert!((num(attr(projection, "x2")) - (x[0] + step * 60.0)).abs() < 0.2);
    assert!(svg.contains("all 6 ready on 2026-12-31 at this pace"));
}

#[test]
fn the_demo_report_reads_well_in_chromium() {
    let Some(bin) = chromium() else { return };
    let copy = demo_copy();
    replay_demo(&copy);
    let page = copy.dir.path().join("readiness.html");
    let run = demo_report(
        &copy,
        &[
            "--as-of",
            "2026-11-11",
            "--format",
            "html",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = demo_report(&copy, &["--as-of", "2026-11-11", "--format", "json"]);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    check_chart_structure(&html, &json);
    // The retired pipeline shows no streak to reach, and empty cells are one dash.
    let fax = &html[html.find("<tr data-pipeline=\"fax_gateway\"").unwrap()..];
    let fax = &fax[..fax.find("</tr>").unwrap()];
    assert!(
        fax.contains("out of scope") && !fax.contains(" of 7"),
        "{fax}"
    );
    assert!(!html.contains(">-<"), "a hyphen for an empty cell");

    let profile = copy.dir.path().join("profile");
    // A wide screen, and about the width of A4 landscape.
    for (width, most_lines) in [(1280, 2), (1024, 3)] {
        let m = measure(&bin, &profile, &page, width);
        assert!(
            f(&m, "scroll_width") <= f(&m, "client_width"),
            "{width}: the page is wider than the window: {m}"
        );
        assert_eq!(
            m["broken"],
            serde_json::json!([]),
            "{width}: tokens broken: {m}"
        );
        let why: Vec<u64> = m["why_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(why.len(), 7);
        assert!(
            why.iter().all(|n| (1..=most_lines).contains(n)),
            "{width}: Why lines {why:?}"
        );
        assert!(f(&m["chart"], "w") > 600.0, "{width}: {m}");
    }

    // The screenshot, tall enough for the whole page.
    let m = measure(&bin, &profile, &page, 1280);
    let height = f(&m, "scroll_height") as u32;
    let shot = screenshot(&bin, &profile, &page, 1280, height);
    // The series (#0b5cad) is drawn inside the chart, and the retirement line (#c5331d).
    let series = shot.count_near(&m["chart"], (0x0b, 0x5c, 0xad), 24);
    assert!(series > 400, "series pixels in the chart: {series}");
    let retirement = shot.count_near(&m["chart"], (0xc5, 0x33, 0x1d), 24);
    assert!(
        retirement > 150,
        "retirement pixels in the chart: {retirement}"
    );
    // Outside the chart the series colour is rare (it is the chart's own).
    let banner_series = shot.count_near(&m["banner"], (0x0b, 0x5c, 0xad), 24);
    assert_eq!(banner_series, 0);
    // Identical (solid) and equivalent (pale) legend cells differ in lightness, not only hue.
    let luma = |area: &Value| {
        let (r, g, b) = shot.pixel(
            (f(area, "x") + 2.5) as usize,
            (f(area, "y") + f(area, "h") / 2.0) as usize,
        );
        0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64
    };
    let (same, equivalent) = (luma(&m["identical"]), luma(&m["equivalent"]));
    assert!(
        equivalent - same > 100.0,
        "identical {same}, equivalent {equivalent}"
    );
}

#[test]
fn the_page_asks_the_browser_for_nothing_its_policy_would_block() {
    let Some(bin) = chromium() else { return };
    let copy = demo_copy();
    replay_demo(&copy);
    let page = copy.dir.path().join("readiness.html");
    let run = demo_report(
        &copy,
        &[
            "--as-of",
            "2026-11-11",
            "--format",
            "html",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let profile = copy.dir.path().join("profile");
    let logging = ["--dump-dom", "--enable-logging=stderr", "--v=0"];
    let (dom, log) = headless(&bin, &profile, &page, &logging);
    assert!(dom.contains("id=\"burnup\""), "the chart is in the page");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");

    // The same page asking for an image and a script: the policy blocks both, and says so.
    let html = std::fs::read_to_string(&page).unwrap().replace(
        "</body>",
        "<img src=\"https://example.invalid/x.png\"><script>document.title='ran'</script></body>",
    );
    let bad = copy.dir.path().join("asks.html");
    std::fs::write(&bad, html).unwrap();
    let (dom, log) = headless(&bin, &profile, &bad, &logging);
    assert!(!dom.contains("<title>ran</title>"), "the script ran");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert_eq!(console.len(), 2, "{log}");
    assert!(
        console.iter().any(|l| l.contains("Loading the image")),
        "{console:#?}"
    );
}
