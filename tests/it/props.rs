//! Property tests live in the library's unit tests (see `src/diff/props.rs`); this module
//! holds the ones that need files on disk.
