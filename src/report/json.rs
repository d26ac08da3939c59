//! The JSON form of a summary: the contract other tools parse.

use std::io::{self, Write};

use super::Render;
use crate::diff::DiffSummary;

/// Pretty-printed JSON, one document, newline-terminated.
pub struct Json;

impl Render for Json {
    fn render(&self, summary: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, summary)?;
        writeln!(out)
    }
}
