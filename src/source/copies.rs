//! Local copies of remote files, for the length of one comparison: each object is fetched once.
//!
//! A comparison may read a file more than once: its head to infer text types, then its rows;
//! tier 1's hash, then tier 2's decoding; the fingerprint pass, then the second pass over the
//! differing rows. In a cutover that crosses clouds egress is paid per byte, so the engine gives
//! the remote sides of a comparison a [`Copies`] in its private temporary folder: every remote
//! file fetched whole is written there as it arrives and registered once complete (its size
//! checked against the listing), and every later read of it — anything that asks
//! `reader::local_path` — reads the copy instead of the store. A copy that was not completed
//! (a failed or abandoned fetch) is never registered; the folder goes with the comparison.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::listing::DataFile;
use crate::error::{Error, Result};

/// The local copies of one comparison's remote files.
#[derive(Debug)]
pub struct Copies {
    dir: PathBuf,
    /// Completed copies, by the file's URL.
    done: Mutex<HashMap<String, PathBuf>>,
    next: AtomicUsize,
}

impl Copies {
    /// Copies kept in `dir` (the comparison's temporary folder, which removes them).
    pub fn new(dir: &Path) -> Copies {
        Copies {
            dir: dir.to_path_buf(),
            done: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
        }
    }

    /// The completed copy of `file`, if it was fetched before.
    pub fn get(&self, file: &DataFile) -> Option<PathBuf> {
        self.done
            .lock()
            .expect("copies lock")
            .get(&file.url)
            .cloned()
    }

    /// Start a copy of `file`, to be written as its bytes arrive.
    pub fn start(&self, file: &DataFile) -> Result<CopyWriter> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("copy-{n:06}"));
        let out = File::options()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(self.dir.display(), e))?;
        Ok(CopyWriter {
            out,
            path,
            url: file.url.clone(),
            dir: self.dir.clone(),
            written: 0,
        })
    }

    fn register(&self, url: String, path: PathBuf) {
        self.done.lock().expect("copies lock").insert(url, path);
    }
}

/// A copy being written.
#[derive(Debug)]
pub struct CopyWriter {
    out: File,
    path: PathBuf,
    url: String,
    dir: PathBuf,
    written: u64,
}

impl CopyWriter {
    /// Append the next bytes of the file.
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.written += chunk.len() as u64;
        self.out
            .write_all(chunk)
            .map_err(|e| Error::io(self.dir.display(), e))
    }

    /// The file is complete (its size checked): register the copy for later reads, and return
    /// it open (for reading) with its path.
    pub fn finish(self, copies: &Copies) -> Result<(File, PathBuf)> {
        let CopyWriter { out, path, url, .. } = self;
        copies.register(url, path.clone());
        Ok((out, path))
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finished_copies_are_read_later() {
        let dir = tempfile::tempdir().unwrap();
        let copies = Copies::new(dir.path());
        let file = |url: &str| DataFile {
            path: object_store::path::Path::from("x"),
            relative: "x".into(),
            url: url.into(),
            size: 3,
            e_tag: None,
            version: None,
            format: crate::source::format::detect("x.csv", None).unwrap(),
            partition_values: Vec::new(),
        };
        let (a, b) = (file("s3://b/a.csv"), file("s3://b/b.csv"));
        let mut w = copies.start(&a).unwrap();
        w.write(b"abc").unwrap();
        assert_eq!(w.written(), 3);
        assert!(
            copies.get(&a).is_none(),
            "a copy is not read before it is complete"
        );
        let (_, path) = w.finish(&copies).unwrap();
        assert_eq!(copies.get(&a), Some(path.clone()));
        assert_eq!(std::fs::read(path).unwrap(), b"abc");
        // An abandoned copy stays unregistered.
        let mut w = copies.start(&b).unwrap();
        w.write(b"ab").unwrap();
        drop(w);
        assert!(copies.get(&b).is_none());
    }
}
