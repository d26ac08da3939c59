//! Rendering a [`DiffSummary`] for people and machines: one file per format.
//!
//! Renderers only read the summary; they never compute. Every value they print came from the
//! engine already redacted when redaction was asked for.

pub mod chart;
pub mod cutover;
pub mod discovery;
pub mod html;
pub mod json;
pub mod markdown;
pub mod readiness;
pub mod table;
pub mod terminal;
pub mod text;

use std::io::{self, Write};

use crate::diff::DiffSummary;

pub use table::Screen;

/// Output formats of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned text for a terminal.
    Terminal,
    /// The JSON contract.
    Json,
    /// Markdown for tickets.
    Markdown,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "terminal" | "text" => Ok(OutputFormat::Terminal),
            "json" => Ok(OutputFormat::Json),
            "markdown" | "md" => Ok(OutputFormat::Markdown),
            other => Err(format!(
                "unknown output format `{other}` (expected terminal, json or markdown)"
            )),
        }
    }
}

/// Something that writes a summary in one format.
pub trait Render {
    /// Write `summary` to `out`.
    fn render(&self, summary: &DiffSummary, out: &mut dyn Write) -> io::Result<()>;
}

/// Render `summary` in `format`; `color` applies to the terminal format only.
pub fn render(
    summary: &DiffSummary,
    format: OutputFormat,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Terminal => terminal::Terminal { color }.render(summary, out),
        OutputFormat::Json => json::Json.render(summary, out),
        OutputFormat::Markdown => markdown::Markdown.render(summary, out),
    }
}

/// Text from data made safe for a terminal: every control character (newlines, escape
/// sequences that could move the cursor or repaint a verdict) becomes a space.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A rendered value for text output: `null` for null, long values shortened.
pub fn show(v: &Option<String>, max: usize) -> String {
    match v {
        None => "null".to_string(),
        Some(s) => {
            let one_line = printable(s);
            if one_line.chars().count() > max {
                let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
                format!("{cut}…")
            } else {
                one_line
            }
        }
    }
}
