//! One file's bytes read the way the engine reads a side's file, outside any comparison.
//!
//! [`read_bytes`] puts the bytes in an in-memory store under the given name (its extension
//! says the format, as in a listing), discovers the types as a one-file side would (the
//! Parquet footer, or inference from the text's head, then from every row when a later value
//! does not fit), and decodes every row through the same readers (Parquet in parts, text
//! streamed). It exists for the fuzz targets (`fuzz/`): whatever the bytes, the answer is rows
//! or an error naming the file, never a panic. It holds every decoded batch in memory, so it is
//! meant for small inputs.

use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use object_store::ObjectStoreExt;

use super::listing::Dataset;
use super::parts::{open_parquet, Gathering};
use super::reader::{discover_schema, read_text_file, ByteCounter};
use super::store::{CredentialSource, Location, StoreKind};
use crate::error::{Error, Result};

/// What [`read_bytes`] decoded.
#[derive(Debug, Clone)]
pub struct ReadBack {
    /// The column types the file was read with.
    pub schema: SchemaRef,
    /// Every decoded batch, in order.
    pub batches: Vec<RecordBatch>,
}

impl ReadBack {
    /// Rows decoded.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Read `bytes` as a one-file side named `name` (`data.parquet`, `x.csv.gz`, `y.jsonl`…).
pub async fn read_bytes(name: &str, bytes: Vec<u8>) -> Result<ReadBack> {
    let store = Arc::new(object_store::memory::InMemory::new());
    let path = object_store::path::Path::from(format!("probe/{name}"));
    store
        .put(&path, bytes.into())
        .await
        .map_err(|e| Error::store(name, "put", &e))?;
    let location = Location {
        url: "memory:///probe".into(),
        store,
        prefix: object_store::path::Path::from("probe"),
        kind: StoreKind::Memory,
        credentials: CredentialSource::None,
        copies: None,
    };
    let dataset = super::list(&location, None).await?;
    let schema = discover_schema(&dataset).await?;
    match read_all(&dataset, schema).await {
        // A value the head's types do not hold: the types come from every row, as in a
        // comparison, and the file is read once more.
        Err(Error::Misfit { .. }) => {
            let schema = super::typing::from_every_row(&dataset).await?;
            read_all(&dataset, schema).await
        }
        done => done,
    }
}

async fn read_all(dataset: &Dataset, schema: SchemaRef) -> Result<ReadBack> {
    let location = &dataset.location;
    let count: ByteCounter = Arc::new(|_| {});
    let batches = Arc::new(Mutex::new(Vec::new()));
    for file in &dataset.files {
        let tmp_dir = std::env::temp_dir();
        let gathering = Gathering {
            spill_over: u64::MAX,
            tmp_dir: &tmp_dir,
        };
        match open_parquet(
            location,
            file,
            gathering,
            &count,
            |_, _| true,
            Some(schema.clone()),
        )
        .await?
        {
            Some((parquet, jobs)) => {
                let into = batches.clone();
                let count = count.clone();
                tokio::task::spawn_blocking(move || -> Result<()> {
                    let mut sink = |b: RecordBatch| -> Result<()> {
                        into.lock().expect("batches").push(b);
                        Ok(())
                    };
                    for job in &jobs {
                        parquet.run(job, &count, &mut sink)?;
                    }
                    Ok(())
                })
                .await
                .map_err(crate::panics::joined)??;
            }
            None => {
                let into = batches.clone();
                let sink = Box::new(move |b: RecordBatch| -> Result<()> {
                    into.lock().expect("batches").push(b);
                    Ok(())
                });
                read_text_file(location, file, schema.clone(), &count, sink).await?;
            }
        }
    }
    let batches = std::mem::take(&mut *batches.lock().expect("batches"));
    Ok(ReadBack { schema, batches })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_read_as_the_format_their_name_says() {
        let csv = read_bytes("x.csv", b"id,name\n1,a\n2,b\n".to_vec())
            .await
            .unwrap();
        assert_eq!(csv.rows(), 2);
        assert_eq!(csv.schema.fields().len(), 2);
        let json = read_bytes("x.jsonl", b"{\"a\":1}\n{\"a\":2.5}\n".to_vec())
            .await
            .unwrap();
        assert_eq!(json.rows(), 2);
        let err = read_bytes("x.parquet", b"PAR1 not a footer PAR1".to_vec())
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("memory:///probe/x.parquet: not a readable Parquet file"),
            "{err}"
        );
    }
}
