//! A sweep over damaged files: a bounded, deterministic corpus made here from good Parquet,
//! CSV and JSON-lines files (cut at many offsets, bytes flipped at many places), each compared
//! by `parity diff` with the good file it came from. Every run must end in a verdict or in one
//! error line that names the damaged file: never panic text or a backtrace (the runs set
//! `RUST_BACKTRACE=1`), never an internal error, never two lines. A Parquet file called equal
//! to its original must decode to the same rows when read directly with the parquet crate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::array::{ListBuilder, StructArray};
use arrow::datatypes::{DataType, Field};
use arrow::record_batch::RecordBatch;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use crate::harness::{parity, Run};

/// 400 rows of columns that take the decoders' many paths: delta-packed integers, dictionary
/// strings, delta byte arrays, byte-stream-split floats, RLE booleans, lists and structs.
fn table() -> RecordBatch {
    let n = 400;
    let ids = Int64Array::from_iter_values((0..n).map(|i| i * 37 - 500));
    let names =
        StringArray::from_iter((0..n).map(|i| (i % 9 != 0).then(|| format!("n{}", i % 13))));
    let notes = StringArray::from_iter_values(
        (0..n).map(|i| format!("note-{:05}-{}", i * 7, "x".repeat((i % 5) as usize))),
    );
    let scores =
        Float64Array::from_iter((0..n).map(|i| (i % 11 != 0).then_some(i as f64 * 0.25 - 3.0)));
    let flags = BooleanArray::from_iter((0..n).map(|i| Some(i % 3 == 0)));
    let mut tags = ListBuilder::new(arrow::array::Int32Builder::new());
    for i in 0..n {
        for j in 0..(i % 4) {
            tags.values().append_value((i * j) as i32);
        }
        tags.append(i % 7 != 0);
    }
    let point = StructArray::from(vec![
        (
            Arc::new(Field::new("x", DataType::Int32, true)),
            Arc::new(Int32Array::from_iter_values((0..n).map(|i| i as i32 % 17))) as ArrayRef,
        ),
        (
            Arc::new(Field::new("label", DataType::Utf8, true)),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("p{}", i % 5)),
            )) as ArrayRef,
        ),
    ]);
    RecordBatch::try_from_iter([
        ("id", Arc::new(ids) as ArrayRef),
        ("name", Arc::new(names) as ArrayRef),
        ("note", Arc::new(notes) as ArrayRef),
        ("score", Arc::new(scores) as ArrayRef),
        ("flag", Arc::new(flags) as ArrayRef),
        ("tags", Arc::new(tags.finish()) as ArrayRef),
        ("point", Arc::new(point) as ArrayRef),
    ])
    .unwrap()
}

fn parquet_bytes(compression: Compression) -> Vec<u8> {
    let batch = table();
    let props = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_compression(compression)
        .set_max_row_group_row_count(Some(150))
        .set_data_page_row_count_limit(64)
        .set_write_batch_size(64)
        .set_column_dictionary_enabled(ColumnPath::from("id"), false)
        .set_column_encoding(ColumnPath::from("id"), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(ColumnPath::from("note"), false)
        .set_column_encoding(ColumnPath::from("note"), Encoding::DELTA_BYTE_ARRAY)
        .set_column_dictionary_enabled(ColumnPath::from("score"), false)
        .set_column_encoding(ColumnPath::from("score"), Encoding::BYTE_STREAM_SPLIT)
        .build();
    let mut out = Vec::new();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

fn csv_bytes() -> Vec<u8> {
    let mut s = String::from("id,name,score,when,flag\n");
    for i in 0..120 {
        s.push_str(&format!(
            "{i},\"n,{}\",{}.5,2024-01-{:02},{}\n",
            i % 7,
            i * 3,
            i % 28 + 1,
            i % 2 == 0
        ));
    }
    s.into_bytes()
}

fn jsonl_bytes() -> Vec<u8> {
    let mut s = String::new();
    for i in 0..120 {
        s.push_str(&format!(
            "{{\"id\":{i},\"name\":\"n{}\",\"tags\":[{},{}],\"o\":{{\"a\":{}.25}}}}\n",
            i % 7,
            i,
            i * 2,
            i
        ));
    }
    s.into_bytes()
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The damaged copies of `good`: cut at `cuts` offsets (and just before the footer's length
/// and magic), and `flips` copies with one byte changed.
fn damaged(good: &[u8], cuts: usize, flips: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let n = good.len();
    let mut out = Vec::new();
    let mut offsets: Vec<usize> = (1..cuts).map(|k| n * k / cuts).collect();
    offsets.extend([n - 1, n.saturating_sub(4), n.saturating_sub(8), 4]);
    offsets.sort_unstable();
    offsets.dedup();
    for at in offsets {
        out.push((format!("cut{at}"), good[..at].to_vec()));
    }
    let mut rng = Rng(seed);
    for k in 0..flips {
        let at = (rng.next() % n as u64) as usize;
        let mut bytes = good.to_vec();
        // Alternate a one-bit flip with a whole new byte.
        bytes[at] = if k % 2 == 0 {
            bytes[at] ^ (1 << (rng.next() % 8))
        } else {
            (rng.next() & 0xff) as u8
        };
        if bytes[at] != good[at] {
            out.push((format!("flip{at}"), bytes));
        }
    }
    out
}

/// Read a Parquet file's rows with the parquet crate directly; `None` when it cannot.
fn rows_directly(bytes: &[u8]) -> Option<Vec<RecordBatch>> {
    let bytes = bytes::Bytes::from(bytes.to_vec());
    std::panic::catch_unwind(move || {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
            .ok()?
            .build()
            .ok()?;
        reader.collect::<Result<Vec<_>, _>>().ok()
    })
    .ok()
    .flatten()
}

fn same_rows(a: &[RecordBatch], b: &[RecordBatch]) -> bool {
    let concat =
        |x: &[RecordBatch]| arrow::compute::concat_batches(&x[0].schema(), x).expect("one schema");
    !a.is_empty() && !b.is_empty() && concat(a) == concat(b)
}

struct Case {
    name: String,
    damaged: PathBuf,
    good: PathBuf,
    bytes: Vec<u8>,
    good_bytes: Arc<Vec<u8>>,
    parquet: bool,
}

/// What is wrong with one run, if anything.
fn check(case: &Case, run: &Run) -> Option<String> {
    let file = case
        .damaged
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let lines: Vec<&str> = run.stderr.lines().collect();
    let problem = match run.code {
        0 | 1 if !run.stderr.is_empty() => Some("a verdict with something on stderr".to_string()),
        0 if case.parquet => match rows_directly(&case.bytes) {
            Some(rows) if same_rows(&rows, &rows_directly(&case.good_bytes).unwrap()) => None,
            Some(_) => Some("called equal, but its rows differ".into()),
            None => Some("called equal, but the parquet crate cannot read it".into()),
        },
        0 | 1 => None,
        2 if lines.len() != 1 => Some("an error of more than one line".into()),
        2 if !lines[0].starts_with("parity: error: ") => {
            Some("an error line of another form".into())
        }
        2 if lines[0].contains("internal error") => Some("an internal error".into()),
        2 if !lines[0].contains(&file) => Some("an error that does not name the file".into()),
        2 => None,
        other => Some(format!("exit {other}")),
    };
    let leaked = ["panicked", "backtrace", "RUST_BACKTRACE", "thread '"]
        .iter()
        .any(|t| run.stderr.contains(t));
    match (problem, leaked) {
        (None, false) => None,
        (p, _) => Some(format!(
            "{}: {} (exit {}): {:?}",
            case.name,
            p.unwrap_or_else(|| "panic text on stderr".into()),
            run.code,
            run.stderr
        )),
    }
}

fn write_cases(
    dir: &Path,
    ext: &str,
    good: Vec<u8>,
    cuts: usize,
    flips: usize,
    seed: u64,
) -> Vec<Case> {
    let good_path = dir.join(format!("good-{ext}/data.{ext}"));
    std::fs::create_dir_all(good_path.parent().unwrap()).unwrap();
    std::fs::write(&good_path, &good).unwrap();
    let good = Arc::new(good);
    damaged(&good, cuts, flips, seed)
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(format!("{ext}-{name}/damaged-{name}.{ext}"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            Case {
                name: format!("{ext} {name}"),
                damaged: path,
                good: good_path.clone(),
                bytes,
                good_bytes: good.clone(),
                parquet: ext == "parquet",
            }
        })
        .collect()
}

#[test]
fn damaged_files_end_in_a_verdict_or_one_line_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    let plain = d.path().join("plain");
    let snappy = d.path().join("snappy");
    cases.extend(write_cases(
        &plain,
        "parquet",
        parquet_bytes(Compression::UNCOMPRESSED),
        40,
        70,
        7,
    ));
    cases.extend(write_cases(
        &snappy,
        "parquet",
        parquet_bytes(Compression::SNAPPY),
        20,
        50,
        11,
    ));
    cases.extend(write_cases(d.path(), "csv", csv_bytes(), 12, 25, 13));
    cases.extend(write_cases(d.path(), "jsonl", jsonl_bytes(), 12, 25, 17));
    assert!(cases.len() > 250, "{} cases", cases.len());

    let refusals = std::sync::atomic::AtomicUsize::new(0);
    let refused = &refusals;
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = cases
            .chunks(cases.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|case| {
                            let run: Run = parity()
                                .env("RUST_BACKTRACE", "1")
                                .arg("diff")
                                .arg(&case.damaged)
                                .arg(&case.good)
                                .args(["--concurrency", "2"])
                                .output()
                                .expect("run parity")
                                .into();
                            if run.code == 2 {
                                refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            check(case, &run)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let refused = refusals.into_inner();
    eprintln!(
        "{} damaged files: {refused} refused, the others a verdict",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} damaged files:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The one line `parity diff` gives for the damaged copy `name` of the sweep's Parquet file
/// (uncompressed, or snappy).
fn refusal_of(name: &str, snappy: bool) -> String {
    let d = tempfile::tempdir().unwrap();
    let cases = if snappy {
        write_cases(
            d.path(),
            "parquet",
            parquet_bytes(Compression::SNAPPY),
            20,
            50,
            11,
        )
    } else {
        write_cases(
            d.path(),
            "parquet",
            parquet_bytes(Compression::UNCOMPRESSED),
            40,
            70,
            7,
        )
    };
    let case = cases
        .into_iter()
        .find(|c| c.name == format!("parquet {name}"))
        .expect("the case is in the corpus");
    let run: Run = parity()
        .env("RUST_BACKTRACE", "1")
        .arg("diff")
        .arg(&case.damaged)
        .arg(&case.good)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 2, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", run.stderr);
    let file = case.damaged.display().to_string();
    let prefix = format!(
        "parity: error: file://{file}: corrupt, or written with something parity cannot read: the decoder failed ("
    );
    assert!(lines[0].starts_with(&prefix), "{}", lines[0]);
    lines[0][prefix.len()..].to_string()
}

/// Found by the sweep: a flipped byte in a DELTA_BYTE_ARRAY page made arrow-rs's decoder
/// overflow adding prefix lengths (a panic, printed with a backtrace).
#[test]
fn a_delta_byte_array_page_whose_lengths_overflow_is_one_line_naming_the_file() {
    let reason = refusal_of("flip4256", false);
    assert!(reason.contains("overflow"), "{reason}");
}

/// Found by the sweep: a flipped byte in a snappy file made a decoder slice a page past its end (a panic in
/// the bytes crate, printed with a backtrace).
#[test]
fn a_page_sliced_past_its_end_is_one_line_naming_the_file() {
    let reason = refusal_of("flip6168", true);
    assert_eq!(
        reason,
        "range start must not be greater than end: 842 <= 258)"
    );
}
