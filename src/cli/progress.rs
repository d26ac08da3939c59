//! Progress bars on stderr (indicatif), one per side: bytes read and rows decoded.
//! Only created when stderr is a terminal and `--quiet` is not given.

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use parity::schema::Side;
use parity::Progress;

/// Two bars, left and right.
pub struct Bars {
    _multi: MultiProgress,
    left: ProgressBar,
    right: ProgressBar,
    rows: [AtomicU64; 2],
}

impl Bars {
    /// Bars drawn on stderr.
    pub fn new() -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:>24} {spinner} [{bar:30}] {bytes}/{total_bytes} {msg} ({elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = |name: &str| {
            let b = multi.add(ProgressBar::new(0));
            b.set_style(style.clone());
            b.set_prefix(name.to_string());
            b
        };
        let left = bar("left");
        let right = bar("right");
        Bars {
            _multi: multi,
            left,
            right,
            rows: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }

    fn bar(&self, side: Side) -> &ProgressBar {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }
}

impl Progress for Bars {
    fn side_started(&self, side: Side, files: u64, bytes: u64) {
        let b = self.bar(side);
        b.set_position(0);
        b.set_length(bytes);
        b.set_message(format!("{files} files"));
    }

    fn bytes_read(&self, side: Side, bytes: u64) {
        self.bar(side).inc(bytes);
    }

    fn rows_read(&self, side: Side, rows: u64) {
        let i = if side == Side::Left { 0 } else { 1 };
        let total = self.rows[i].fetch_add(rows, Ordering::Relaxed) + rows;
        self.bar(side).set_message(format!("{total} rows"));
    }

    fn stage(&self, stage: &'static str) {
        for (b, side) in [(&self.left, "left"), (&self.right, "right")] {
            b.set_prefix(format!("{side} {stage}"));
        }
    }

    fn finished(&self) {
        self.left.finish_and_clear();
        self.right.finish_and_clear();
    }
}
