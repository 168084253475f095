//! Helpers several test modules share (before the tests were one binary, each file had its own
//! copy). Fixtures that other crates' tests need too belong in `headwater-testkit` instead.

use headwater_testkit::TestApp;
use std::path::{Path, PathBuf};

/// An organization owner signed in, their organization, and one stack ("Blog") they own.
pub struct World {
    pub owner: String,
    pub org: String,
    pub api_key: String,
}

/// `owner@example.com` with an organization and a stack named "Blog".
pub async fn world(app: &TestApp) -> World {
    let (_, org) = app.owner("owner@example.com").await;
    let owner = app.login("owner@example.com").await;
    let api_key = app.stack(&owner, &org, "Blog").await;
    World {
        owner,
        org,
        api_key,
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for query values.
/// The `title` of each entry of a listing's answer, in order.
pub fn titles(b: &serde_json::Value) -> Vec<String> {
    b["entries"]
        .as_array()
        .expect("a listing")
        .iter()
        .map(|e| e["title"].as_str().expect("a title").to_string())
        .collect()
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every file under `dir`, recursively (none when `dir` is missing).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Messages an SMTP sink received: each one's `RCPT TO` lines and data.
pub type Mails = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// An SMTP sink on 127.0.0.1 keeping each message (recipients and data).
pub async fn smtp_sink() -> (Mails, u16) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = mails.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 sink\r\n").await.unwrap();
                let mut data = String::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    if cmd.starts_with("RCPT TO:") {
                        data.push_str(&line);
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    } else if cmd == "DATA" {
                        w.write_all(b"354 go\r\n").await.unwrap();
                        loop {
                            let mut l = String::new();
                            r.read_line(&mut l).await.unwrap();
                            if l == ".\r\n" {
                                break;
                            }
                            data.push_str(&l);
                        }
                        store.lock().unwrap().push(std::mem::take(&mut data));
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else if cmd == "QUIT" {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (mails, port)
}
