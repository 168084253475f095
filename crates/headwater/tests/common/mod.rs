//! Helpers shared by the tests that run the real `headwater` binary.

use std::path::PathBuf;
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_headwater");
pub const EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct-horse-battery";

/// A new scratch folder under the system's temporary folder.
pub fn scratch(what: &str) -> PathBuf {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    let dir = std::env::temp_dir().join(format!("headwater-{what}-{:016x}", h.finish()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `headwater --database-url URL ARGS…` (with the test password in the environment),
/// expects success, and returns its standard output.
pub fn run_ok(args: &[&str], url: &str) -> String {
    let out = Command::new(BIN)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("HEADWATER_USER_PASSWORD", PASSWORD)
        .output()
        .expect("run headwater");
    assert!(
        out.status.success(),
        "headwater {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
