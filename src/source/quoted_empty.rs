//! Quoted empty CSV fields: `""` is an empty string, an empty field is null.
//!
//! Arrow's CSV reader sees fields after their quotes are gone, so `1,` and `1,""` read the
//! same. [`QuotedEmpty`] sits between the decompressed bytes and that reader and writes every
//! field that is exactly `""` as [`MARK`] instead (quoted, so the reader keeps it whole);
//! [`restore`] then turns the mark into an empty string in text (and still untyped) columns and into null in the
//! others (every CSV column is read as text and parsed afterwards). A field that really holds the mark's
//! characters would read as an empty string: the mark starts and ends with a NUL byte, which no
//! text a person or a pipeline writes holds.

use std::io::Read;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::datatypes::{DataType, Schema};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// What a quoted empty field is read as, before [`restore`].
pub const MARK: &str = "\0parity:quoted-empty\0";

/// Where the scanner is within a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    Start,
    /// After a field's opening quote (held back).
    Open,
    /// After `""` at the start of a field (held back): empty, unless more follows.
    OpenClose,
    /// Inside a quoted field.
    Quoted,
    /// After a quote inside a quoted field: its end, or the first half of `""`.
    QuotedQuote,
    /// Inside an unquoted field.
    Plain,
}

/// A `Read` over CSV bytes (after the header) that writes each quoted empty field as the
/// quoted [`MARK`]. Fields are separated by `,` and records by `\n` or `\r\n`, as the reader
/// after it expects.
pub struct QuotedEmpty<R> {
    inner: R,
    state: State,
    /// Input read and not yet scanned (kept between fills, not zeroed each time).
    chunk: Box<[u8]>,
    /// Bytes ready to be read.
    out: Vec<u8>,
    at: usize,
    done: bool,
    /// Whether the input must end outside quotes (a whole file) or may be cut anywhere (a
    /// sample of a file's head).
    whole: bool,
}

impl<R: Read> QuotedEmpty<R> {
    /// Scan `inner` from the start of a record.
    pub fn new(inner: R) -> Self {
        QuotedEmpty {
            inner,
            state: State::Start,
            chunk: vec![0; 64 << 10].into_boxed_slice(),
            out: Vec::new(),
            at: 0,
            done: false,
            whole: true,
        }
    }

    /// Scan a sample that may end anywhere, even inside a quoted field (a file's head).
    pub fn sample(inner: R) -> Self {
        QuotedEmpty {
            whole: false,
            ..Self::new(inner)
        }
    }

    /// Scan one more chunk of input into `out`.
    fn fill(&mut self) -> std::io::Result<()> {
        let n = self.inner.read(&mut self.chunk)?;
        self.out.clear();
        self.at = 0;
        if n == 0 {
            self.done = true;
            // A quote never closed: the rest of the file would read as one field (the reader
            // takes the end of input as the quote's end), so a cut file could look whole.
            if self.whole && matches!(self.state, State::Open | State::Quoted) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the file ends inside a quoted field: a quote is never closed",
                ));
            }
            if self.state == State::OpenClose {
                self.mark();
            } else if self.state == State::Open {
                self.out.push(b'"');
            }
            return Ok(());
        }
        self.out.reserve(n + 2);
        let chunk = std::mem::take(&mut self.chunk);
        let mut input = &chunk[..n];
        while let Some((&b, rest)) = input.split_first() {
            // Inside a field, copy up to the next byte that can end it in one go.
            let next = match self.state {
                State::Plain => memchr::memchr3(b',', b'\n', b'\r', input),
                State::Quoted => memchr::memchr(b'"', input),
                _ => Some(0),
            };
            match next {
                Some(0) => {
                    self.step(b);
                    input = rest;
                }
                Some(at) => {
                    self.out.extend_from_slice(&input[..at]);
                    input = &input[at..];
                }
                None => {
                    self.out.extend_from_slice(input);
                    input = &[];
                }
            }
        }
        self.chunk = chunk;
        Ok(())
    }

    fn mark(&mut self) {
        self.out.push(b'"');
        self.out.extend_from_slice(MARK.as_bytes());
        self.out.push(b'"');
    }

    #[inline]
    fn step(&mut self, b: u8) {
        let ends_field = matches!(b, b',' | b'\n' | b'\r');
        self.state = match (self.state, b) {
            // Held back until what follows says whether the field is empty.
            (State::Start, b'"') => State::Open,
            (State::Open, b'"') => State::OpenClose,
            (State::Start | State::Plain, _) => {
                self.out.push(b);
                if ends_field {
                    State::Start
                } else {
                    State::Plain
                }
            }
            (State::Open, _) => {
                self.out.extend_from_slice(&[b'"', b]);
                State::Quoted
            }
            (State::OpenClose, _) if ends_field => {
                self.mark();
                self.out.push(b);
                State::Start
            }
            // `"""…`: an opening quote and an escaped one; `""x`: as the reader takes it.
            (State::OpenClose, _) => {
                self.out.extend_from_slice(&[b'"', b'"', b]);
                if b == b'"' {
                    State::Quoted
                } else {
                    State::Plain
                }
            }
            (State::Quoted, _) => {
                self.out.push(b);
                if b == b'"' {
                    State::QuotedQuote
                } else {
                    State::Quoted
                }
            }
            (State::QuotedQuote, _) => {
                self.out.push(b);
                match b {
                    b'"' => State::Quoted,
                    _ if ends_field => State::Start,
                    _ => State::Plain,
                }
            }
        };
    }
}

impl<R: Read> Read for QuotedEmpty<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// `batch` (read with every column as text) with the marks made values: an empty string in
/// the columns `schema` reads as text, null in the others (parsed from the text next).
pub fn restore(batch: RecordBatch, schema: &Schema) -> Result<RecordBatch, ArrowError> {
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let mut changed = false;
    for (i, column) in columns.iter_mut().enumerate() {
        let Some(text) = column.as_any().downcast_ref::<StringArray>() else {
            continue;
        };
        if !text.iter().flatten().any(|v| v == MARK) {
            continue;
        }
        // In a column whose type is still unknown (Null: no value where it was inferred) the
        // empty string is a value too, which the parse then refuses as a misfit.
        let to_empty = matches!(
            schema.field(i).data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
        );
        let restored: StringArray = text
            .iter()
            .map(|v| match v {
                Some(MARK) if to_empty => Some(""),
                Some(MARK) => None,
                other => other,
            })
            .collect();
        *column = Arc::new(restored);
        changed = true;
    }
    if !changed {
        return Ok(batch);
    }
    RecordBatch::try_new(batch.schema(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> String {
        let mut out = String::new();
        QuotedEmpty::new(text.as_bytes())
            .read_to_string(&mut out)
            .unwrap();
        out.replace(MARK, "<E>")
    }

    #[test]
    fn only_quoted_empty_fields_are_marked() {
        assert_eq!(scan("1,\"\"\n2,\n"), "1,\"<E>\"\n2,\n");
        assert_eq!(scan("\"\",\"\",\"\""), "\"<E>\",\"<E>\",\"<E>\"");
        assert_eq!(scan("1,\"\"\r\n"), "1,\"<E>\"\r\n");
        // An escaped quote, quoted text, a quote inside unquoted text.
        assert_eq!(scan("\"\"\"a\"\"\",x\"\"y\n"), "\"\"\"a\"\"\",x\"\"y\n");
        assert_eq!(scan("\"a,\"\"\"\"\",\"\"\n"), "\"a,\"\"\"\"\",\"<E>\"\n");
        assert_eq!(scan("\"line\nbreak\",\"\"\n"), "\"line\nbreak\",\"<E>\"\n");
        assert_eq!(scan(""), "");
        // Unfinished at the end of the input: kept in a sample of a head, refused in a file.
        let mut out = String::new();
        QuotedEmpty::sample(&b"1,\""[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "1,\"");
        for cut in ["1,\"", "1,\"ab", "1,\"a\"\"b"] {
            let err = QuotedEmpty::new(cut.as_bytes())
                .read_to_string(&mut String::new())
                .unwrap_err();
            assert!(err.to_string().contains("never closed"), "{cut}: {err}");
        }
        assert_eq!(scan("1,\"a\""), "1,\"a\"");
    }

    #[test]
    fn every_split_of_the_input_scans_the_same() {
        let text = "a,\"\",\"x\"\"\"\n\"\",b,\"\"\r\n\"\"";
        let whole = scan(text);
        // A reader that hands out one byte at a time.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                match self.0.split_first() {
                    Some((b, rest)) if !buf.is_empty() => {
                        buf[0] = *b;
                        self.0 = rest;
                        Ok(1)
                    }
                    _ => Ok(0),
                }
            }
        }
        let mut out = String::new();
        QuotedEmpty::new(Trickle(text.as_bytes()))
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out.replace(MARK, "<E>"), whole);
    }
}
