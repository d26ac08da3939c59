//! A small HTTP proxy on loopback that fails requests: every other request it has not seen
//! before gets a `503 Slow Down` the first time, and goes through to the real S3 server when
//! it is retried. One request per connection, so a failure never poisons a pooled connection.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A running proxy.
pub struct FaultyProxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    failed: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
}

impl FaultyProxy {
    /// Start a proxy in front of `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> FaultyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let failed = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(HashSet::new()));
        let counter = Arc::new(AtomicUsize::new(0));
        let (f, w) = (failed.clone(), forwarded.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (up, f, w, seen, counter) = (
                    upstream.clone(),
                    f.clone(),
                    w.clone(),
                    seen.clone(),
                    counter.clone(),
                );
                std::thread::spawn(move || {
                    let _ = serve(conn, &up, &f, &w, &seen, &counter);
                });
            }
        });
        FaultyProxy {
            endpoint,
            failed,
            forwarded,
        }
    }

    /// Requests answered with 503.
    pub fn failed(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }

    /// Requests passed to the server.
    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }
}

fn serve(
    client: TcpStream,
    upstream: &str,
    failed: &AtomicUsize,
    forwarded: &AtomicUsize,
    seen: &Mutex<HashSet<String>>,
    counter: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut request_line = String::new();
    let mut range = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if request_line.is_empty() {
            request_line = line.trim_end().to_string();
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("range:") {
            range = line.trim_end().to_string();
        }
        assert!(
            !lower.starts_with("transfer-encoding: chunked"),
            "the proxy does not handle chunked bodies"
        );
        if line == "\r\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        if !lower.starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;

    let key = format!("{request_line} {range}");
    let fail = {
        let mut seen = seen.lock().unwrap();
        !seen.contains(&key) && counter.fetch_add(1, Ordering::SeqCst) % 2 == 0 && seen.insert(key)
    };
    let mut client = client;
    if fail {
        failed.fetch_add(1, Ordering::SeqCst);
        client.write_all(
            b"HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return client.flush();
    }
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(&head)?;
    up.write_all(&body)?;
    up.flush()?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    forwarded.fetch_add(1, Ordering::SeqCst);
    client.write_all(&response)?;
    client.flush()
}
