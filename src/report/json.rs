//! The JSON form of a summary: the contract other tools parse.

use std::io::{self, Write};

use super::Render;
use crate::diff::DiffSummary;

/// Pretty-printed JSON, one document, newline-terminated. With redaction, the Hive folder
/// values in the inputs' paths and URLs (`region=eu/`), which are column values, are hidden.
pub struct Json;

impl Render for Json {
    fn render(&self, summary: &DiffSummary, out: &mut dyn Write) -> io::Result<()> {
        if !summary.redacted {
            serde_json::to_writer_pretty(&mut *out, summary)?;
            return writeln!(out);
        }
        let mut shown = summary.clone();
        for input in shown
            .left
            .inputs
            .iter_mut()
            .chain(shown.right.inputs.iter_mut())
        {
            input.path = without_folder_values(&input.path);
            input.url = without_folder_values(&input.url);
        }
        serde_json::to_writer_pretty(&mut *out, &shown)?;
        writeln!(out)
    }
}

/// `path` with the value of every `key=value` folder replaced by `…` (the file name is kept).
fn without_folder_values(path: &str) -> String {
    let mut segments: Vec<String> = path.split('/').map(str::to_string).collect();
    let last = segments.len().saturating_sub(1);
    for segment in &mut segments[..last] {
        if let Some((key, _)) = segment.split_once('=') {
            *segment = format!("{key}=…");
        }
    }
    segments.join("/")
}

#[cfg(test)]
mod tests {
    use super::without_folder_values;

    #[test]
    fn folder_values_are_hidden_and_the_rest_kept() {
        assert_eq!(
            without_folder_values("file:///d/region=secretEU/dt=2024-01-01/p=1.parquet"),
            "file:///d/region=…/dt=…/p=1.parquet"
        );
        assert_eq!(without_folder_values("part-0.csv"), "part-0.csv");
    }
}
