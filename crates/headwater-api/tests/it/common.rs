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
