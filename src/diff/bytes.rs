//! Tier 1: byte identity, by content.
//!
//! Two sides are `identical` when their files can be paired, folder by folder, by format, size
//! and blake3: the folder path stays part of the match (Hive folders carry column values), the
//! file name does not (Spark and most engines name part files with a random id, so two
//! platforms' byte-identical outputs rarely share names). Two single files compare by content
//! whatever they are called. Sizes are compared first, from the listings; only when every
//! folder holds the same multiset of sizes on both sides is anything read, and then each file
//! is streamed once through blake3.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};

use crate::config::DiffConfig;
use crate::error::Result;
use crate::progress::Progress;
use crate::schema::Side;
use crate::source::reader::{self, FileDigest};
use crate::source::{self, DataFormat, Dataset};

/// The folder of a file's path relative to its side: `""` for a file at the top (or a side that
/// is one file).
fn folder(relative: &str) -> &str {
    relative.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// What a file must match on the other side before its bytes are read: its folder, format and
/// size, sorted.
fn layout(ds: &Dataset) -> Vec<(&str, DataFormat, u64)> {
    let mut out: Vec<_> = ds
        .files
        .iter()
        .map(|f| (folder(&f.relative), f.format, f.size))
        .collect();
    out.sort();
    out
}

/// Whether the sides can be byte-identical: the same folders, formats and sizes.
pub fn may_be_identical(l: &Dataset, r: &Dataset) -> bool {
    l.files.len() == r.files.len() && layout(l) == layout(r)
}

/// Whether the hashed files pair up: the same folders, formats, sizes and hashes.
fn contents_match(l: &Dataset, lh: &[FileDigest], r: &Dataset, rh: &[FileDigest]) -> bool {
    let content = |ds: &Dataset, digests: &[FileDigest]| {
        let mut out: Vec<(String, DataFormat, u64, String)> = ds
            .files
            .iter()
            .zip(digests)
            .map(|(f, d)| {
                (
                    folder(&f.relative).to_string(),
                    f.format,
                    d.size,
                    d.blake3.clone(),
                )
            })
            .collect();
        out.sort();
        out
    };
    content(l, lh) == content(r, rh)
}

async fn hash_side(
    ds: &Dataset,
    side: Side,
    cfg: &DiffConfig,
    progress: &Arc<dyn Progress>,
) -> Result<Vec<FileDigest>> {
    progress.side_started(side, ds.files.len() as u64, ds.total_bytes());
    let count: reader::ByteCounter = {
        let p = progress.clone();
        Arc::new(move |n| p.bytes_read(side, n))
    };
    // A local file is hashed from a memory map with every core, so one at a time per side
    // keeps the cores busy; more would only keep more mapped pages resident (eight maps of
    // 110 MB files held ~650 MiB). Remote files stream: several at once hide the latency.
    let in_flight = if ds.location.kind == source::StoreKind::Local {
        1
    } else {
        cfg.concurrency.max(1)
    };
    futures::stream::iter(ds.files.iter())
        .map(|f| {
            let count = count.clone();
            async move { reader::hash_file(&ds.location, f, &count).await }
        })
        .buffered(in_flight)
        .try_collect()
        .await
}

/// Hash both sides when their layouts allow byte identity; `Some` (the digests of each side's
/// files, in listing order) when every file pairs with one of the same content.
pub async fn identical(
    l: &Dataset,
    r: &Dataset,
    cfg: &DiffConfig,
    progress: &Arc<dyn Progress>,
) -> Result<Option<(Vec<FileDigest>, Vec<FileDigest>)>> {
    if !may_be_identical(l, r) {
        return Ok(None);
    }
    let (lh, rh) = futures::try_join!(
        hash_side(l, Side::Left, cfg, progress),
        hash_side(r, Side::Right, cfg, progress)
    )?;
    Ok(contents_match(l, &lh, r, &rh).then_some((lh, rh)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_pair_within_their_folder_whatever_their_names() {
        assert_eq!(folder("part-0001.parquet"), "");
        assert_eq!(folder("dt=2024-01-01/part-0001.parquet"), "dt=2024-01-01");
        assert_eq!(folder("a=1/b=2/x.csv"), "a=1/b=2");
    }
}
