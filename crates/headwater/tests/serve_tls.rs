//! The `headwater serve` binary with `--tls-self-signed`: it prints the certificate's file and
//! fingerprint, answers HTTPS on the main and delivery ports to a client trusting that file,
//! refuses plain HTTP, reuses the certificate on the next start, and stops on SIGTERM.
#![cfg(unix)]

use headwater_api::tls::TlsConfig;
use headwater_testkit::https_client;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scratch() -> PathBuf {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    let dir = std::env::temp_dir().join(format!("headwater-serve-tls-{:016x}", h.finish()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The port printed in a `… listening on https://127.0.0.1:PORT/v3 …` line.
fn port_in(lines: &[String], prefix: &str) -> u16 {
    let line = lines
        .iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in {lines:#?}"));
    let rest =
        &line[line.find("https://127.0.0.1:").expect("address") + "https://127.0.0.1:".len()..];
    rest[..rest.find('/').expect("path")].parse().expect("port")
}

/// Starts the binary on ports chosen by the system; returns it with (main, delivery) ports.
fn start(dir: &Path) -> (Server, Vec<String>, u16, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_headwater"))
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.join("hw.db").display()))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cda-listen",
            "127.0.0.1:0",
        ])
        .arg("--tls-self-signed")
        .arg("--tls-self-signed-dir")
        .arg(dir.join("tls"))
        .arg("--assets-dir")
        .arg(dir.join("assets"))
        .env("HEADWATER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start headwater");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let server = Server { child, lines: rx };
    let out = read_until(&server, "delivery API listening on https://");
    let port = port_in(&out, "Headwater CMA listening on ");
    let cda_port = port_in(&out, "Headwater delivery API listening on ");
    (server, out, port, cda_port)
}

/// Output lines until one contains `needle` (or the deadline passes).
fn read_until(server: &Server, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no line with {needle:?} in {seen:#?}");
        match server.lines.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains(needle);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("no line with {needle:?} in {seen:#?}"),
        }
    }
}

async fn wait_ready(client: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(url).send().await {
            assert_eq!(r.status(), 200, "{url}");
            return;
        }
        assert!(Instant::now() < deadline, "{url} never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_a_self_signed_certificate() {
    let dir = scratch();
    let (mut server, out, port, cda_port) = start(&dir);
    let cert = dir.join("tls").join("self-signed-cert.pem");
    let key = dir.join("tls").join("self-signed-key.pem");
    let text = out.join("\n");
    assert!(
        text.contains("Generated a self-signed TLS certificate"),
        "{text}"
    );
    assert!(
        text.contains(&format!("NODE_EXTRA_CA_CERTS={}", cert.display())),
        "{text}"
    );
    let printed = out
        .iter()
        .find_map(|l| l.strip_prefix("TLS certificate SHA-256 fingerprint: "))
        .expect("fingerprint line")
        .to_string();
    let expected = TlsConfig::from_pem_files(&cert, &key).expect("load the written files");
    assert_eq!(printed, expected.fingerprint_sha256);

    let client = https_client(&std::fs::read_to_string(&cert).expect("cert"));
    wait_ready(&client, &format!("https://127.0.0.1:{port}/healthz")).await;
    wait_ready(&client, &format!("https://localhost:{port}/healthz")).await;
    wait_ready(&client, &format!("https://127.0.0.1:{cda_port}/healthz")).await;
    let r = client
        .get(format!("https://127.0.0.1:{port}/v3/openapi.json"))
        .send()
        .await
        .expect("openapi");
    assert_eq!(r.status(), 200);
    for p in [port, cda_port] {
        let plain = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{p}/healthz"))
            .send()
            .await;
        assert!(plain.is_err(), "plain HTTP answered on {p}");
    }

    // SIGTERM: the server finishes and exits successfully.
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = server.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
    drop(server);

    // The next start keeps the certificate, so clients trusting it keep working.
    let (server, out, port, _) = start(&dir);
    let out = out.join("\n");
    assert!(
        out.contains("Using the self-signed TLS certificate"),
        "{out}"
    );
    assert!(out.contains(&expected.fingerprint_sha256), "{out}");
    wait_ready(&client, &format!("https://127.0.0.1:{port}/healthz")).await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
