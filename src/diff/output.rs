//! The full row diff as a Parquet file (`--diff-out`).
//!
//! One row per difference: `kind` (`only_left`, `only_right`, `changed`), the key columns
//! (`key_<name>` where a name would clash), then `left_<col>` and `right_<col>` for every
//! other compared column (for a changed row only the changed columns are filled, the rest are
//! null), and `changed_columns`, the list of a changed row's changed column names. Values keep their
//! Arrow types, so DuckDB or Polars can filter and join on them; with redaction every value
//! column becomes the redacted string instead. The file is written to a temporary name and
//! moved (or uploaded) into place only when complete, so a failed run never leaves half a file.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, StringArray};
use arrow::compute::interleave;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::matcher::{redact_cell, DiffKind, DiffRow};
use crate::error::{Error, Result};
use crate::redact::Redactor;
use crate::schema::Plan;
use crate::source::{Location, StoreKind};

/// Writes differing rows to a Parquet file.
pub struct DiffWriter {
    schema: SchemaRef,
    writer: Option<ArrowWriter<File>>,
    temp: tempfile::NamedTempFile,
    target: Location,
    rows: u64,
}

/// The type of a key column in the diff file: the sides' type when they agree, else text, so
/// that a key from either side is written exactly (a cast to the other side's type could
/// overflow or lose precision).
fn key_type(plan: &Plan, k: usize) -> DataType {
    let c = &plan.columns[k];
    if c.left_type == c.right_type {
        c.left_type.clone()
    } else {
        DataType::Utf8
    }
}

/// The key columns' names in the diff file: their own, or `key_<name>` (repeated as needed)
/// when that would be the name of another column of the file (`kind`, `changed_columns`,
/// `left_<col>`, `right_<col>`), since a file with two columns of one name cannot be read back
/// (pyarrow refuses it; DuckDB renames one silently).
fn key_names(plan: &Plan) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> =
        ["kind".to_string(), "changed_columns".to_string()].into();
    for c in plan.columns.iter().filter(|c| !c.is_key) {
        taken.insert(format!("left_{}", c.name));
        taken.insert(format!("right_{}", c.name));
    }
    plan.key
        .iter()
        .map(|&k| {
            let mut name = plan.columns[k].name.clone();
            while taken.contains(&name) {
                name = format!("key_{name}");
            }
            taken.insert(name.clone());
            name
        })
        .collect()
}

/// The type of `changed_columns`: the names of a changed row's changed columns, as a list (a
/// joined string could not tell the column `a,b` from the columns `a` and `b`).
fn changed_columns_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

fn output_schema(plan: &Plan, redacted: bool) -> SchemaRef {
    let ty = |t: &DataType| if redacted { DataType::Utf8 } else { t.clone() };
    let mut fields = vec![Field::new("kind", DataType::Utf8, false)];
    for (&k, name) in plan.key.iter().zip(key_names(plan)) {
        fields.push(Field::new(name, ty(&key_type(plan, k)), true));
    }
    for c in plan.columns.iter().filter(|c| !c.is_key) {
        fields.push(Field::new(
            format!("left_{}", c.name),
            ty(&c.left_type),
            true,
        ));
        fields.push(Field::new(
            format!("right_{}", c.name),
            ty(&c.right_type),
            true,
        ));
    }
    fields.push(Field::new("changed_columns", changed_columns_type(), true));
    Arc::new(Schema::new(fields))
}

/// A temporary file in `dir`, to be renamed over a result file once it is complete. Readable
/// by others as an ordinary new file would be (0644 less the umask), not the owner-only mode
/// of a private temporary file: diff files and reports are made to be shared.
pub fn temp_file_beside(
    dir: &std::path::Path,
    prefix: &str,
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o644));
    }
    b.tempfile_in(dir)
}

impl DiffWriter {
    /// Open a writer for `url` (a local path or an object store URL).
    pub fn create(url: &str, plan: &Plan, redacted: bool) -> Result<Self> {
        let (target, temp) = if url.contains("://") && !url.starts_with("file://") {
            let loc = crate::source::store::open(url)?;
            let temp =
                tempfile::NamedTempFile::new().map_err(|e| Error::io("temporary file", e))?;
            (loc, temp)
        } else {
            let path = url.strip_prefix("file://").unwrap_or(url);
            let path = std::path::Path::new(path);
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            };
            let temp =
                temp_file_beside(&dir, ".parity-diff-").map_err(|e| Error::io(dir.display(), e))?;
            let loc = crate::source::Location {
                url: path.display().to_string(),
                store: Arc::new(object_store::local::LocalFileSystem::new()),
                prefix: object_store::path::Path::default(),
                kind: StoreKind::Local,
                credentials: crate::source::CredentialSource::None,
                copies: None,
            };
            (loc, temp)
        };
        let schema = output_schema(plan, redacted);
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let file = temp
            .reopen()
            .map_err(|e| Error::io(temp.path().display(), e))?;
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| Error::io(&target.url, std::io::Error::other(e)))?;
        Ok(DiffWriter {
            schema,
            writer: Some(writer),
            temp,
            target,
            rows: 0,
        })
    }

    /// Write the differing rows of one partition.
    pub fn write(
        &mut self,
        plan: &Plan,
        left: &[RecordBatch],
        right: &[RecordBatch],
        rows: &[DiffRow],
        redactor: Option<&Redactor>,
    ) -> Result<()> {
        for chunk in rows.chunks(8192) {
            let batch = build_batch(&self.schema, plan, left, right, chunk, redactor)?;
            self.rows += batch.num_rows() as u64;
            self.writer
                .as_mut()
                .expect("open writer")
                .write(&batch)
                .map_err(|e| Error::io(&self.target.url, std::io::Error::other(e)))?;
        }
        Ok(())
    }

    /// Close the file and move it into place. Returns the URL and the number of rows.
    pub async fn finish(mut self) -> Result<(String, u64)> {
        let writer = self.writer.take().expect("open writer");
        writer
            .close()
            .map_err(|e| Error::io(&self.target.url, std::io::Error::other(e)))?;
        let url = self.target.url.clone();
        match self.target.kind {
            StoreKind::Local => {
                let file = self
                    .temp
                    .persist(&url)
                    .map_err(|e| Error::io(&url, e.error))?;
                // Temporary files are private (0600); a report file is not.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = file.set_permissions(std::fs::Permissions::from_mode(0o644));
                }
                drop(file);
            }
            _ => {
                let bytes = std::fs::read(self.temp.path())
                    .map_err(|e| Error::io(self.temp.path().display(), e))?;
                self.target
                    .store
                    .put(&self.target.prefix, PutPayload::from(bytes))
                    .await
                    .map_err(|e| Error::store(&url, "put", &e))?;
            }
        }
        Ok((url, self.rows))
    }
}

fn gather(sources: &[ArrayRef], picks: &[(usize, usize)]) -> Result<ArrayRef> {
    let refs: Vec<&dyn Array> = sources.iter().map(|a| a.as_ref()).collect();
    interleave(&refs, picks).map_err(|e| Error::Internal(format!("building the diff file: {e}")))
}

fn redact_array(array: &ArrayRef, redactor: Option<&Redactor>) -> Result<ArrayRef> {
    let Some(r) = redactor else {
        return Ok(array.clone());
    };
    // One encoder for the whole column, not one per cell.
    let encoder = crate::fingerprint::encoding::encoder(array)?;
    let mut scratch = Vec::new();
    Ok(Arc::new(StringArray::from(
        (0..array.len())
            .map(|i| (!array.is_null(i)).then(|| redact_cell(encoder.as_ref(), i, r, &mut scratch)))
            .collect::<Vec<_>>(),
    )))
}

fn build_batch(
    schema: &SchemaRef,
    plan: &Plan,
    left: &[RecordBatch],
    right: &[RecordBatch],
    rows: &[DiffRow],
    redactor: Option<&Redactor>,
) -> Result<RecordBatch> {
    let split = |r: u64| ((r >> 32) as usize, (r & 0xffff_ffff) as usize);
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(
        rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
    ))];

    for &k in &plan.key {
        let c = &plan.columns[k];
        let out_type = key_type(plan, k);
        let mut sources: Vec<ArrayRef> = Vec::with_capacity(left.len() + right.len());
        for b in left.iter().chain(right) {
            let a = b.column(k);
            sources.push(if a.data_type() == &out_type {
                a.clone()
            } else {
                arrow::compute::cast(a, &out_type)
                    .map_err(|e| Error::Internal(format!("key `{}` as text: {e}", c.name)))?
            });
        }
        let picks: Vec<(usize, usize)> = rows
            .iter()
            .map(|r| match (r.left, r.right) {
                (Some(x), _) => split(x),
                (None, Some(y)) => {
                    let (b, i) = split(y);
                    (left.len() + b, i)
                }
                (None, None) => unreachable!("a diff row has a side"),
            })
            .collect();
        columns.push(redact_array(&gather(&sources, &picks)?, redactor)?);
    }

    for (ci, c) in plan.columns.iter().enumerate().filter(|(_, c)| !c.is_key) {
        for (batches, side_left, ty) in [(left, true, &c.left_type), (right, false, &c.right_type)]
        {
            let mut sources: Vec<ArrayRef> = batches.iter().map(|b| b.column(ci).clone()).collect();
            sources.push(new_null_array(ty, 1));
            let null = (batches.len(), 0);
            let picks: Vec<(usize, usize)> = rows
                .iter()
                .map(|r| {
                    let wanted = r.kind != DiffKind::Changed || r.changed.contains(&ci);
                    match (wanted, if side_left { r.left } else { r.right }) {
                        (true, Some(x)) => split(x),
                        _ => null,
                    }
                })
                .collect();
            columns.push(redact_array(&gather(&sources, &picks)?, redactor)?);
        }
    }
    let mut changed = arrow::array::ListBuilder::new(arrow::array::StringBuilder::new());
    for r in rows {
        if r.kind == DiffKind::Changed {
            for &c in &r.changed {
                changed.values().append_value(&plan.columns[c].name);
            }
            changed.append(true);
        } else {
            changed.append(false);
        }
    }
    columns.push(Arc::new(changed.finish()));
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::Internal(format!("building the diff file: {e}")))
}
