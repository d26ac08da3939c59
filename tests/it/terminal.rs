//! Output on a real terminal: `parity` runs inside a pseudo-terminal (util-linux `script`) of a
//! set width, colour on. The tables' headers must sit over their values once the colour codes
//! are stripped, no line may be wider than the terminal, long lists become ranges, and the
//! timeline shows what was judged. Logs carry colour only when stderr is a terminal.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{fixture, parity, Run};

/// `s` quoted for `sh`.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Run `parity ARGS` (then `tail`, a shell redirection or nothing) inside a pseudo-terminal
/// `cols` characters wide, colour allowed. Returns the exit code and what the terminal showed,
/// with `\r\n` as `\n`.
fn in_terminal(args: &[&str], tail: &str, cols: u16, env: &[(&str, &str)]) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_parity");
    let line: Vec<String> = std::iter::once(bin)
        .chain(args.iter().copied())
        .map(quoted)
        .collect();
    let script = format!("stty cols {cols} rows 60; {} {tail}", line.join(" "));
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &script, "/dev/null"])
        .stdin(Stdio::null())
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .env_remove("RUST_LOG")
        .env("CI", "1")
        .env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("util-linux `script` runs");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    (out.status.code().unwrap_or(-1), text)
}

fn plain(text: &str) -> String {
    console::strip_ansi_codes(text).into_owned()
}

/// Every line at most `cols` characters wide, as a terminal counts them.
fn assert_fits(text: &str, cols: usize) {
    for line in text.lines() {
        let width = console::measure_text_width(line);
        assert!(width <= cols, "{width} > {cols}: {line:?}\n{text}");
    }
}

/// The rest of `line` from display column `col`.
fn from_column(line: &str, col: usize) -> &str {
    let mut width = 0;
    for (i, c) in line.char_indices() {
        if width >= col {
            return &line[i..];
        }
        width += console::measure_text_width(c.encode_utf8(&mut [0; 4]));
    }
    ""
}

/// The display column where `title` starts in a header line.
fn column_of(header: &str, title: &str) -> usize {
    let at = header
        .find(title)
        .unwrap_or_else(|| panic!("no {title} in {header:?}"));
    console::measure_text_width(&header[..at])
}

/// The line that starts (after `indent` spaces) with `first` and a space.
fn row<'a>(text: &'a str, indent: &str, first: &str) -> &'a str {
    let prefix = format!("{indent}{first} ");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no row for {first}:\n{text}"))
}

fn report_args<'a>(ledger: &'a str, inventory: &'a str) -> Vec<&'a str> {
    vec![
        "report",
        "-c",
        inventory,
        "--ledger",
        ledger,
        "--as-of",
        "2026-11-30",
    ]
}

#[test]
fn the_report_table_lines_up_on_a_colour_terminal_of_any_width() {
    let dir = tempfile::tempdir().unwrap();
    crate::report::write_ledger(dir.path());
    let inventory = crate::report::inventory();
    let (ledger, inventory) = (dir.path().to_str().unwrap(), inventory.to_str().unwrap());
    let states = [
        ("payments_ledger", "ready", "14/5", "14 consecutive"),
        ("orders_daily", "on_track", "2/5", "needs 3 more"),
        ("fx_rates", "at_risk", "8/30", "needs 22 more"),
        ("orders_enriched", "blocked", "0/5", "newest partition"),
        ("returns_daily", "stale", "5/5", "no check since"),
        ("legacy_exports", "unowned", "14/5", "no owner:"),
        ("fax_gateway", "not_migrating", "0/5", "being retired"),
        ("clickstream_hourly", "on_track", "18/24", "needs 6 more"),
    ];
    for cols in [230u16, 140, 100, 80] {
        let env = [("PARITY_REDACTION_KEY", "report-tests")];
        let (code, out) = in_terminal(&report_args(ledger, inventory), "", cols, &env);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("\x1b["), "no colour on a terminal:\n{out}");
        let text = plain(&out);
        assert_fits(&text, cols.into());
        let at = text
            .find("\nPIPELINE ")
            .unwrap_or_else(|| panic!("no header:\n{text}"));
        // The table: from its header on (a wrapped `holding back` line above may start with
        // a pipeline's id too).
        let text = &text[at + 1..];
        let header = text.lines().next().unwrap();
        let (state, streak, why) = (
            column_of(header, "STATE"),
            column_of(header, "STREAK"),
            column_of(header, "WHY"),
        );
        for (id, want_state, want_streak, reason) in states {
            let line = row(text, "", id);
            assert!(
                from_column(line, state).starts_with(&format!("{want_state} ")),
                "{cols} columns: {id}'s state is not under STATE:\n{header}\n{line}"
            );
            assert!(
                from_column(line, streak).starts_with(&format!("{want_streak} ")),
                "{cols} columns: {id}'s streak is not under STREAK:\n{header}\n{line}"
            );
            assert!(
                from_column(line, why).starts_with(reason),
                "{cols} columns: {id}'s reason is not under WHY:\n{header}\n{line}"
            );
        }
        if cols >= 230 {
            let owner = column_of(header, "OWNER");
            let line = row(text, "", "orders_daily");
            assert!(from_column(line, owner).starts_with("team-orders@example.com "));
            assert!(!text.contains("left out at this width"), "{text}");
        } else {
            assert!(text.contains("(left out at this width: "), "{text}");
        }
    }
}

#[test]
fn piped_output_has_no_colour_and_no_width_limit() {
    let dir = tempfile::tempdir().unwrap();
    crate::report::write_ledger(dir.path());
    let inventory = crate::report::inventory();
    let run: Run = parity()
        .env("COLUMNS", "60")
        .env("PARITY_REDACTION_KEY", "report-tests")
        .args(report_args(
            dir.path().to_str().unwrap(),
            inventory.to_str().unwrap(),
        ))
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains('\x1b'));
    // One line per pipeline, whole: the widest row is far beyond 60 columns.
    let line = row(&run.stdout, "", "fx_rates");
    assert!(
        line.ends_with("after the retirement date 2026-12-10"),
        "{line}"
    );
    assert!(console::measure_text_width(line) > 150);
}

#[test]
fn the_timeline_shows_the_newest_judged_partitions_and_says_where_it_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    crate::report::write_ledger(dir.path());
    let run: Run = parity()
        .env("PARITY_REDACTION_KEY", "report-tests")
        .args(report_args(
            dir.path().to_str().unwrap(),
            crate::report::inventory().to_str().unwrap(),
        ))
        .output()
        .unwrap()
        .into();
    let line = row(&run.stdout, "", "clickstream_hourly");
    // 30 judged hours up to 2026-11-29T23, the divergence at T05 among them, and the 22
    // settled hours after the newest check counted, not drawn.
    let strip = line
        .split_whitespace()
        .find(|w| w.starts_with('…'))
        .unwrap_or_else(|| panic!("{line}"));
    assert_eq!(strip.chars().count(), 31, "{strip}");
    assert_eq!(strip.chars().nth(31 - 19), Some('X'), "{strip}");
    assert!(line.contains(&format!("{strip} +22 ")), "{line}");
    // A pipeline never checked under its settings: nothing judged, every partition pending.
    let never = row(&run.stdout, "", "loyalty_points");
    assert!(never.contains(" +14 "), "{never}");
    assert!(run
        .stdout
        .contains("timeline: up to the newest checked partition"));
}

/// The demo inventory with its ledger in `dir`.
fn demo(dir: &Path) -> std::path::PathBuf {
    let base = fixture("cutover");
    crate::cutover::demo_inventory(
        dir,
        base.to_str().unwrap(),
        dir.join("ledger").to_str().unwrap(),
        "",
    )
}

#[test]
fn a_run_lists_missing_hours_as_ranges_and_its_table_lines_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo(dir.path());
    let config = config.to_str().unwrap();
    // A plain run today: every hour since the demo's last partition is missing on both sides.
    let args = ["run", "-c", config, "--pipeline", "clickstream_hourly"];
    let (code, out) = in_terminal(&args, "", 100, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\x1b["), "{out}");
    let text = plain(&out);
    assert_fits(&text, 100);
    let header = row(&text, "  ", "PIPELINE");
    let verdict = column_of(header, "VERDICT");
    let partition = column_of(header, "PARTITION");
    let line = row(&text, "  ", "clickstream_hourly");
    assert!(
        from_column(line, partition).starts_with("2026-11-10T14 "),
        "{line}"
    );
    assert!(
        from_column(line, verdict).starts_with("diverged "),
        "{line}"
    );
    let missing = row(&text, "  ", "clickstream_hourly:");
    let re = |s: &str| {
        let (range, rest) = s.split_once(" (").unwrap_or((s, ""));
        (range.to_string(), rest.to_string())
    };
    let listed = missing
        .trim_start()
        .trim_start_matches("clickstream_hourly: ");
    let (range, count) = re(listed);
    assert!(range.starts_with("2026-11-11T00.."), "{missing}");
    assert!(count.ends_with(" hours)"), "{missing}");
    let hours: usize = count.trim_end_matches(" hours)").parse().unwrap();
    assert!(hours > 24 * 20, "{missing}");
    assert!(text.contains("clickstream_hourly: 47 partitions"), "{text}");
}

#[test]
fn the_hourly_demo_pipelines_divergence_is_on_its_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo(dir.path());
    let run: Run = parity()
        .args(["run", "-c"])
        .arg(&config)
        .args(["--until", "2026-11-10", "--now", "2026-11-11T06:00:00Z"])
        .args(["--pipeline", "clickstream_hourly"])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Run = parity()
        .args(["report", "-c"])
        .arg(&config)
        .args(["--as-of", "2026-11-11"])
        .output()
        .unwrap()
        .into();
    assert_eq!(report.code, 0, "{}", report.stderr);
    let line = row(&report.stdout, "", "clickstream_hourly");
    // 48 judged hours (2026-11-09T00..11-10T23), the newest 30 drawn: T14's X is the 16th.
    let strip = line
        .split_whitespace()
        .find(|w| w.starts_with('…'))
        .unwrap_or_else(|| panic!("{line}"));
    assert_eq!(strip, "…≡≡≡≡≡≡≡≡≡≡≡≡≡≡≡≡≡≡≡≡X≡≡≡≡≡≡≡≡≡", "{line}");
    assert!(line.contains(&format!("{strip} +22 ")), "{line}");
}

#[test]
fn history_and_inventory_tables_line_up_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo(dir.path());
    let seeded: Run = parity()
        .args(["run", "-c"])
        .arg(&config)
        .args(["--until", "2026-11-10", "--now", "2026-11-11T06:00:00Z"])
        .args(["--pipeline", "orders_daily"])
        .output()
        .unwrap()
        .into();
    assert_eq!(seeded.code, 1, "{}", seeded.stderr);
    let config = config.to_str().unwrap();
    let (code, out) = in_terminal(&["history", "orders_daily", "-c", config], "", 90, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\x1b["), "{out}");
    let text = plain(&out);
    assert_fits(&text, 90);
    let header = row(&text, "  ", "PARTITION");
    let verdict = column_of(header, "VERDICT");
    let line = row(&text, "  ", "2026-11-07");
    assert!(
        from_column(line, verdict).starts_with("diverged "),
        "{line}"
    );
    let line = row(&text, "  ", "2026-11-08");
    assert!(
        from_column(line, verdict).starts_with("equivalent "),
        "{line}"
    );

    let (code, out) = in_terminal(&["inventory", "--offline", "-c", config], "", 70, &[]);
    assert_eq!(code, 1, "{out}");
    let text = plain(&out);
    assert_fits(&text, 70);
    let header = row(&text, "  ", "PIPELINE");
    let gaps = column_of(header, "GAPS");
    let line = row(&text, "  ", "legacy_exports");
    assert!(from_column(line, gaps).starts_with("owner"), "{line}");
}

#[test]
fn logs_carry_colour_only_when_stderr_is_a_terminal() {
    let dir = fixture("changed_values");
    let (l, r) = (dir.join("left"), dir.join("right"));
    let (l, r) = (l.to_str().unwrap(), r.to_str().unwrap());
    let args = ["-v", "diff", l, r, "--key", "id"];
    let (_, out) = in_terminal(&args, "", 120, &[]);
    assert!(plain(&out).contains(" INFO fingerprinting"), "{out}");
    assert!(
        out.contains("\x1b[32m INFO\x1b[0m"),
        "log levels are coloured on a terminal: {out:?}"
    );
    let log = tempfile::NamedTempFile::new().unwrap();
    let redirect = format!("2>{}", quoted(log.path().to_str().unwrap()));
    let (code, _) = in_terminal(&args, &redirect, 120, &[]);
    assert_eq!(code, 1);
    let written = std::fs::read_to_string(log.path()).unwrap();
    assert!(written.contains(" INFO "), "{written}");
    assert!(
        !written.contains('\x1b'),
        "colour codes in a log file: {written:?}"
    );
}
