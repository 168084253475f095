//! HTTPS: the same router served over rustls (ring provider, HTTP/1.1).
//!
//! A certificate comes from PEM files (`TlsConfig::from_pem_files`) or is generated for local
//! use (`TlsConfig::self_signed`), which the `serve --tls-self-signed` flag keeps in a folder
//! so that clients (`NODE_EXTRA_CA_CERTS`, `curl --cacert`, `REQUESTS_CA_BUNDLE`) can trust it
//! across restarts.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// File names inside the self-signed folder.
pub const SELF_SIGNED_CERT_FILE: &str = "self-signed-cert.pem";
pub const SELF_SIGNED_KEY_FILE: &str = "self-signed-key.pem";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("generating a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A server certificate chain and key, ready to accept connections.
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) acceptor: TlsAcceptor,
    /// The leaf certificate, PEM-encoded.
    pub cert_pem: String,
    /// SHA-256 of the leaf certificate's DER, as colon-separated upper-case hex.
    pub fingerprint_sha256: String,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("fingerprint_sha256", &self.fingerprint_sha256)
            .finish_non_exhaustive()
    }
}

/// Where a self-signed certificate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfSigned {
    Generated,
    Reused,
}

impl TlsConfig {
    /// A certificate chain (leaf first) and its private key (PKCS#8, PKCS#1 or SEC1), in PEM.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let cert_text = read(cert)?;
        let key_text = read(key)?;
        TlsConfig::from_pem(&cert_text, &key_text, cert, key)
    }

    fn from_pem(
        cert_text: &[u8],
        key_text: &[u8],
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<TlsConfig, TlsError> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_text)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Pem {
                path: cert_path.to_path_buf(),
                message: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Pem {
                path: cert_path.to_path_buf(),
                message: "no CERTIFICATE block".into(),
            });
        }
        // The key file's content is never put into an error message.
        let key = PrivateKeyDer::from_pem_slice(key_text).map_err(|_| TlsError::Pem {
            path: key_path.to_path_buf(),
            message: "no readable PRIVATE KEY block".into(),
        })?;
        TlsConfig::from_der(chain, key)
    }

    fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsConfig, TlsError> {
        let fingerprint_sha256 = fingerprint(&chain[0]);
        let cert_pem = pem_encode(&chain[0]);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            cert_pem,
            fingerprint_sha256,
        })
    }

    /// A fresh self-signed certificate naming `names` (IP addresses and DNS names), in memory.
    pub fn generate(names: &[String]) -> Result<(TlsConfig, String, String), TlsError> {
        let mut params = rcgen::CertificateParams::new(names.to_vec())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Headwater local server");
        let key = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        let cert_pem = cert.pem();
        let key_pem = key.serialize_pem();
        let config = TlsConfig::from_der(
            vec![cert.der().clone()],
            PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| TlsError::Pem {
                path: PathBuf::from("(generated key)"),
                message: e.to_string(),
            })?,
        )?;
        Ok((config, cert_pem, key_pem))
    }

    /// The self-signed certificate kept in `dir`: reused when its files are there, otherwise
    /// generated for `names` and written (`self-signed-cert.pem`, and the key readable by the
    /// owner only). Delete the folder to get a new one (after adding names, for instance).
    pub fn self_signed(dir: &Path, names: &[String]) -> Result<(TlsConfig, SelfSigned), TlsError> {
        let cert_path = dir.join(SELF_SIGNED_CERT_FILE);
        let key_path = dir.join(SELF_SIGNED_KEY_FILE);
        if cert_path.exists() && key_path.exists() {
            let config = TlsConfig::from_pem_files(&cert_path, &key_path)?;
            return Ok((config, SelfSigned::Reused));
        }
        let (config, cert_pem, key_pem) = TlsConfig::generate(names)?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TlsError::Io { path, source }
        };
        create_private_dir(dir).map_err(io(dir))?;
        write_private(&key_path, key_pem.as_bytes()).map_err(io(&key_path))?;
        std::fs::write(&cert_path, cert_pem.as_bytes()).map_err(io(&cert_path))?;
        Ok((config, SelfSigned::Generated))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

/// Creates `dir` and missing parents readable by the owner only (the data folder may be
/// created here first).
#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// `AB:CD:…` SHA-256 of a certificate's DER (what `openssl x509 -fingerprint -sha256` prints).
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn pem_encode(cert: &CertificateDer<'_>) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
