//! What the reader targets share: read the bytes as a one-file side through parity's own
//! readers (`parity::source::probe`), and hold the answer to the contract: rows whose batches
//! match the schema they were read with, or one error line naming the file that is not an
//! internal error. A panic that escapes, a hang or a runaway allocation is a finding.

use std::sync::OnceLock;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("runtime")
    })
}

/// Read `data` as the file `name` and check the answer.
pub fn read(name: &str, data: &[u8]) {
    let outcome = runtime().block_on(parity::source::probe::read_bytes(name, data.to_vec()));
    match outcome {
        Ok(back) => {
            for batch in &back.batches {
                assert_eq!(
                    batch.num_columns(),
                    back.schema.fields().len(),
                    "a batch with another number of columns than its schema"
                );
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(
                !matches!(e, parity::Error::Internal(_)),
                "an internal error: {text}"
            );
            assert!(!text.contains('\n'), "an error of several lines: {text:?}");
            assert!(
                text.contains(&format!("probe/{name}")),
                "an error that does not name the file: {text}"
            );
        }
    }
}
