//! Where asset files live: one handle over a local directory (the default,
//! `./headwater-data/assets`) or an S3-compatible bucket. Keys are
//! `stack/asset/random/filename`, so a new version never overwrites an older one and a
//! half-written upload is never visible under a stored key.
//!
//! S3: uploads are streamed to a spool file (counting the size against the limit and hashing
//! it as they arrive, never held in memory), then sent with one signed `PUT` of known length
//! (Signature Version 4, `headwater_core::sigv4`); the spool file is removed either way.
//! Downloads stream the object's body through Headwater's own download URL, so asset URLs
//! are the same whatever the storage. Single `PUT`s limit objects to 5 GiB.

use bytes::Bytes;
use headwater_core::sigv4;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

#[derive(Clone, Debug)]
pub struct Storage {
    root: PathBuf,
    s3: Option<Arc<S3>>,
}

/// An S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct S3Config {
    /// `http(s)://host[:port]`, e.g. `https://s3.eu-west-1.amazonaws.com` or
    /// `http://127.0.0.1:9000`.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// `endpoint/bucket/key` (MinIO, most local servers) instead of `bucket.endpoint/key`.
    pub path_style: bool,
    pub credentials: sigv4::Credentials,
    /// A temporary session token (`AWS_SESSION_TOKEN`), sent as `x-amz-security-token`.
    pub session_token: Option<String>,
}

#[derive(Debug)]
struct S3 {
    cfg: S3Config,
    /// `scheme://host[:port]` of requests, and the path prefix before the key.
    origin: String,
    host: String,
    prefix: String,
    client: reqwest::Client,
}

/// A stored file being read: its length when known and its bytes as a stream.
pub struct Object {
    pub len: Option<u64>,
    pub body: axum::body::Body,
}

#[derive(Debug)]
pub enum PutError {
    TooLarge,
    Io(std::io::Error),
    Source(String),
}

/// A file name safe to use as the last path component: no separators, no leading dots.
pub fn safe_filename(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned.chars().take(200).collect()
    }
}

impl Storage {
    pub fn local(root: impl Into<PathBuf>) -> Storage {
        Storage {
            root: root.into(),
            s3: None,
        }
    }

    /// The storage the server's settings name: the S3 bucket when one is configured
    /// (spooling uploads under `assets_dir/spool`), else the assets directory.
    pub fn from_config(config: &crate::state::ServerConfig) -> Result<Storage, String> {
        match &config.s3 {
            None => Ok(Storage::local(config.assets_dir.clone())),
            Some(s3) => Storage::s3(s3.clone(), config.assets_dir.join("spool")),
        }
    }

    /// Files in an S3-compatible bucket; uploads are spooled under `spool_dir` on their way.
    pub fn s3(cfg: S3Config, spool_dir: impl Into<PathBuf>) -> Result<Storage, String> {
        let url = reqwest::Url::parse(&cfg.endpoint)
            .map_err(|e| format!("S3 endpoint {:?} is not a URL: {e}", cfg.endpoint))?;
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "S3 endpoint {:?} must be http or https",
                cfg.endpoint
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("S3 endpoint {:?} has no host", cfg.endpoint))?;
        let host = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        if cfg.bucket.is_empty()
            || !cfg
                .bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            return Err(format!("S3 bucket name {:?} is not valid", cfg.bucket));
        }
        let base = url.path().trim_end_matches('/').to_string();
        let (host, prefix) = if cfg.path_style {
            (host, format!("{base}/{}", cfg.bucket))
        } else {
            (format!("{}.{host}", cfg.bucket), base)
        };
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Storage {
            root: spool_dir.into(),
            s3: Some(Arc::new(S3 {
                origin: format!("{scheme}://{host}"),
                host,
                prefix,
                cfg,
                client,
            })),
        })
    }

    /// Where files go, for logs: the directory or the bucket (never credentials).
    pub fn describe(&self) -> String {
        match &self.s3 {
            None => format!("directory {}", self.root.display()),
            Some(s3) => format!("S3 bucket {} at {}", s3.cfg.bucket, s3.cfg.endpoint),
        }
    }

    /// Checks that the storage is usable (the bucket answers to the credentials).
    pub async fn check(&self) -> Result<(), String> {
        let Some(s3) = &self.s3 else {
            return Ok(());
        };
        let resp = s3
            .send(reqwest::Method::HEAD, None, sigv4::EMPTY_SHA256, None)
            .await
            .map_err(|e| format!("S3 bucket {} is unreachable: {e}", s3.cfg.bucket))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "S3 bucket {} answered {} to a HEAD request",
                s3.cfg.bucket,
                resp.status()
            ))
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        // Keys are built by the server from uids and `safe_filename`; refuse anything else.
        let safe = key
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\\'));
        if safe {
            self.root.join(key)
        } else {
            self.root.join("invalid-key")
        }
    }

    /// Writes the chunks of `body` under `key`, refusing more than `limit` bytes. Returns the
    /// size. On any failure nothing is left behind.
    pub async fn put<S, E>(&self, key: &str, limit: u64, body: S) -> Result<u64, PutError>
    where
        S: futures::Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let Some(s3) = &self.s3 else {
            return self.put_local(key, limit, body).await;
        };
        // Spool (size-limited, hashed), then one PUT of known length; the spool always goes.
        let spool = self
            .root
            .join(format!("spool-{}", headwater_core::ids::new_uid()));
        let result = async {
            let (size, sha) = write_file(&spool, limit, body, true).await?;
            s3.put(key, &spool, size, &sha).await.map(|_| size)
        }
        .await;
        let _ = tokio::fs::remove_file(&spool).await;
        result
    }

    async fn put_local<S, E>(&self, key: &str, limit: u64, body: S) -> Result<u64, PutError>
    where
        S: futures::Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = self.path(key);
        let partial = path.with_extension("partial");
        let result = match write_file(&partial, limit, body, false).await {
            Ok((n, _)) => tokio::fs::rename(&partial, &path)
                .await
                .map(|_| n)
                .map_err(PutError::Io),
            Err(e) => Err(e),
        };
        if result.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        result
    }

    /// The stored file, streamed.
    pub async fn get(&self, key: &str) -> std::io::Result<Object> {
        if let Some(s3) = &self.s3 {
            return s3.get(key).await;
        }
        let file = tokio::fs::File::open(self.path(key)).await?;
        let len = file.metadata().await.map(|m| m.len()).ok();
        Ok(Object {
            len,
            body: axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file)),
        })
    }

    pub async fn delete(&self, key: &str) {
        if let Some(s3) = &self.s3 {
            if let Err(e) = s3.delete(key).await {
                tracing::warn!(error = %e, key = %key, "S3 delete failed; the object stays unreferenced");
            }
            return;
        }
        let path = self.path(key);
        let _ = tokio::fs::remove_file(&path).await;
        if let Some(dir) = path.parent() {
            let _ = tokio::fs::remove_dir(dir).await;
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Writes `body` to a new owner-only file at `path` (creating its folders, owner-only too),
/// refusing more than `limit` bytes; returns the size and, with `hash`, the hex SHA-256.
///
/// Nothing is taken on trust: every write, the flush and the sync are checked (a buffered
/// writer may report a failed write only at the next operation), and the length on disk is
/// compared with the bytes received. A disk that fills up, a quota or a file-size limit
/// therefore always ends in an error, never in a short file taken for a whole one. Leaves the
/// file behind on failure (the caller removes it).
async fn write_file<S, E>(
    path: &Path,
    limit: u64,
    mut body: S,
    hash: bool,
) -> Result<(u64, String), PutError>
where
    S: futures::Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    use futures::StreamExt;
    if let Some(parent) = path.parent() {
        owner_only_dirs(parent).await.map_err(PutError::Io)?;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .await
        .map_err(PutError::Io)?;
    let mut hasher = hash.then(Sha256::new);
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| PutError::Source(e.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(PutError::TooLarge);
        }
        if let Some(h) = hasher.as_mut() {
            h.update(&chunk);
        }
        file.write_all(&chunk).await.map_err(PutError::Io)?;
    }
    file.flush().await.map_err(PutError::Io)?;
    file.sync_all().await.map_err(PutError::Io)?;
    let on_disk = file.metadata().await.map_err(PutError::Io)?.len();
    if on_disk != size {
        return Err(PutError::Io(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            format!("{size} bytes received but {on_disk} stored"),
        )));
    }
    let sha = hasher
        .map(|h| h.finalize().iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default();
    Ok((size, sha))
}

/// Creates `dir` and its missing parents readable by the owner only.
pub async fn owner_only_dirs(dir: &Path) -> std::io::Result<()> {
    tokio::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .await
}

/// Whether a storage error means the storage has no room (disk full, quota, file-size limit).
pub fn is_storage_full(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge
    )
}

fn s3_error(what: &str, status: reqwest::StatusCode, body: &str) -> std::io::Error {
    // S3 error bodies name a code and message; never the credentials.
    let body: String = body.chars().take(300).collect();
    std::io::Error::other(format!("S3 {what} answered {status}: {body}"))
}

impl S3 {
    /// A signed request for `key` (or the bucket itself when `None`).
    async fn send(
        &self,
        method: reqwest::Method,
        key: Option<&str>,
        payload_sha256: &str,
        body: Option<(reqwest::Body, u64)>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let path = match key {
            Some(k) => format!("{}/{}", self.prefix, sigv4::uri_encode(k, true)),
            None if self.prefix.is_empty() => "/".to_string(),
            None => self.prefix.clone(),
        };
        let date = sigv4::amz_date(time::OffsetDateTime::now_utc());
        let len = body.as_ref().map(|(_, n)| n.to_string());
        let mut headers: Vec<(&str, &str)> = vec![
            ("host", &self.host),
            ("x-amz-content-sha256", payload_sha256),
            ("x-amz-date", &date),
        ];
        if let Some(token) = &self.cfg.session_token {
            headers.push(("x-amz-security-token", token));
        }
        let auth = sigv4::authorization(
            &self.cfg.credentials,
            &sigv4::Request {
                method: method.as_str(),
                path: &path,
                query: &[],
                headers: &headers,
                payload_sha256,
            },
            &date,
            &sigv4::Scope {
                region: &self.cfg.region,
                service: "s3",
            },
        );
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.origin))
            .header("authorization", auth);
        for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
            req = req.header(*k, *v);
        }
        if let (Some((b, _)), Some(n)) = (body, len) {
            req = req.header("content-length", n).body(b);
        }
        req.send().await
    }

    async fn put(&self, key: &str, spool: &Path, size: u64, sha: &str) -> Result<(), PutError> {
        let file = tokio::fs::File::open(spool).await.map_err(PutError::Io)?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let resp = self
            .send(reqwest::Method::PUT, Some(key), sha, Some((body, size)))
            .await
            .map_err(|e| PutError::Io(std::io::Error::other(format!("S3 PUT: {e}"))))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        Err(PutError::Io(s3_error("PUT", status, &text)))
    }

    async fn get(&self, key: &str) -> std::io::Result<Object> {
        let resp = self
            .send(reqwest::Method::GET, Some(key), sigv4::EMPTY_SHA256, None)
            .await
            .map_err(|e| std::io::Error::other(format!("S3 GET: {e}")))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such object in the bucket",
            ));
        }
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            return Err(s3_error("GET", status, &text));
        }
        Ok(Object {
            len: resp.content_length(),
            body: axum::body::Body::from_stream(resp.bytes_stream()),
        })
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        let resp = self
            .send(
                reqwest::Method::DELETE,
                Some(key),
                sigv4::EMPTY_SHA256,
                None,
            )
            .await
            .map_err(|e| std::io::Error::other(format!("S3 DELETE: {e}")))?;
        let status = resp.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
            Ok(())
        } else {
            let text = resp.text().await.unwrap_or_default();
            Err(s3_error("DELETE", status, &text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_made_safe() {
        assert_eq!(safe_filename("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_filename("photo 1.jpg"), "photo_1.jpg");
        assert_eq!(safe_filename(""), "file");
        assert_eq!(safe_filename(".hidden"), "hidden");
    }

    #[tokio::test]
    async fn oversized_uploads_leave_nothing() {
        let dir = std::env::temp_dir().join(format!("hw-storage-{}", std::process::id()));
        let s = Storage::local(&dir);
        let chunks = futures::stream::iter(vec![
            Ok::<_, String>(Bytes::from(vec![0u8; 600])),
            Ok(Bytes::from(vec![0u8; 600])),
        ]);
        let r = s.put("a/b/c/f.bin", 1000, chunks).await;
        assert!(matches!(r, Err(PutError::TooLarge)));
        assert!(!dir.join("a/b/c/f.bin").exists());
        assert!(!dir.join("a/b/c/f.partial").exists());
        let chunks = futures::stream::iter(vec![Ok::<_, String>(Bytes::from_static(b"hello"))]);
        let n = s.put("a/b/c/g.txt", 1000, chunks).await.unwrap();
        assert_eq!(n, 5);
        assert_eq!(std::fs::read(dir.join("a/b/c/g.txt")).unwrap(), b"hello");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
