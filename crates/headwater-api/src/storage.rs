//! Where asset files live: one handle, a local directory by default
//! (`./headwater-data/assets`). Keys are `stack/asset/random/filename`, so a new version never
//! overwrites an older one and a half-written upload is never visible under a stored key.

use bytes::Bytes;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

#[derive(Clone, Debug)]
pub struct Storage {
    root: PathBuf,
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
        Storage { root: root.into() }
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
    pub async fn put<S, E>(&self, key: &str, limit: u64, mut body: S) -> Result<u64, PutError>
    where
        S: futures::Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        use futures::StreamExt;
        let path = self.path(key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(PutError::Io)?;
        }
        let partial = path.with_extension("partial");
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(PutError::Io)?;
        let mut size: u64 = 0;
        let result = loop {
            match body.next().await.transpose() {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    if size > limit {
                        break Err(PutError::TooLarge);
                    }
                    if let Err(e) = file.write_all(&chunk).await {
                        break Err(PutError::Io(e));
                    }
                }
                Ok(None) => break Ok(size),
                Err(e) => break Err(PutError::Source(e.to_string())),
            }
        };
        let result = match result {
            Ok(n) => match file.sync_all().await {
                Ok(()) => tokio::fs::rename(&partial, &path)
                    .await
                    .map(|_| n)
                    .map_err(PutError::Io),
                Err(e) => Err(PutError::Io(e)),
            },
            Err(e) => Err(e),
        };
        if result.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        result
    }

    pub async fn open(&self, key: &str) -> std::io::Result<tokio::fs::File> {
        tokio::fs::File::open(self.path(key)).await
    }

    pub async fn delete(&self, key: &str) {
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
