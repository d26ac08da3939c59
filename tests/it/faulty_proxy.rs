//! A small HTTP proxy on loopback in front of the real S3 server. [`FaultyProxy::start`] fails
//! requests: every other request it has not seen before gets a `503 Slow Down` the first time,
//! and goes through when it is retried. [`FaultyProxy::counting`] fails nothing and counts the
//! body bytes of the GET responses it passes, to check how often an object was fetched. One
//! request per connection, so a failure never poisons a pooled connection.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A running proxy.
pub struct FaultyProxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    failed: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
    get_bytes: Arc<AtomicU64>,
}

impl FaultyProxy {
    /// Start a proxy in front of `upstream` (`http://host:port`) that fails every other new
    /// request once.
    pub fn start(upstream: &str) -> FaultyProxy {
        Self::with_failures(upstream, true)
    }

    /// Start a proxy in front of `upstream` that fails nothing, counting GET body bytes.
    pub fn counting(upstream: &str) -> FaultyProxy {
        Self::with_failures(upstream, false)
    }

    fn with_failures(upstream: &str, failing: bool) -> FaultyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let failed = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let get_bytes = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(Mutex::new(HashSet::new()));
        // Without failures, the counter starts odd and stays so: no request is ever failed.
        let counter = Arc::new(AtomicUsize::new(if failing { 0 } else { 1 }));
        let step = if failing { 1 } else { 2 };
        let (f, w, g) = (failed.clone(), forwarded.clone(), get_bytes.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (up, f, w, g, seen, counter) = (
                    upstream.clone(),
                    f.clone(),
                    w.clone(),
                    g.clone(),
                    seen.clone(),
                    counter.clone(),
                );
                std::thread::spawn(move || {
                    let counts = Counts {
                        failed: &f,
                        forwarded: &w,
                        get_bytes: &g,
                        step,
                    };
                    let _ = serve(conn, &up, &counts, &seen, &counter);
                });
            }
        });
        FaultyProxy {
            endpoint,
            failed,
            forwarded,
            get_bytes,
        }
    }

    /// Body bytes of the GET responses passed to the client.
    pub fn get_bytes(&self) -> u64 {
        self.get_bytes.load(Ordering::SeqCst)
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

/// What the proxy counts, and how far its request counter steps (2 keeps it odd: no failures).
struct Counts<'a> {
    failed: &'a AtomicUsize,
    forwarded: &'a AtomicUsize,
    get_bytes: &'a AtomicU64,
    step: usize,
}

fn serve(
    client: TcpStream,
    upstream: &str,
    counts: &Counts<'_>,
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
        !seen.contains(&key)
            && counter.fetch_add(counts.step, Ordering::SeqCst) % 2 == 0
            && seen.insert(key)
    };
    let mut client = client;
    if fail {
        counts.failed.fetch_add(1, Ordering::SeqCst);
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
    counts.forwarded.fetch_add(1, Ordering::SeqCst);
    if request_line.starts_with("GET ") {
        let head_end = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(response.len(), |p| p + 4);
        let body = (response.len() - head_end) as u64;
        counts.get_bytes.fetch_add(body, Ordering::SeqCst);
    }
    client.write_all(&response)?;
    client.flush()
}
