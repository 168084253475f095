//! Secrets Headwater must be able to read back (TOTP seeds) are kept sealed at rest: encrypted
//! and authenticated with ChaCha20-Poly1305 under a 256-bit key that never enters the
//! database, and bound to the row they belong to (the associated data), so a sealed value
//! copied to another user's row does not open. A database dump alone reveals none of them.
//!
//! Stored form: `enc:v1:` followed by base64 of the 12-byte random nonce and the ciphertext
//! with its tag. Values without that prefix were written before sealing and are read as they
//! are until the server seals them at start.

use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

const PREFIX: &str = "enc:v1:";

/// The key sealed values are encrypted with (32 random bytes).
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("a sealed value is malformed")]
    Malformed,
    #[error("a sealed value does not open with this key (another key, or another row)")]
    WrongKey,
    #[error("a key must be 32 bytes, given as 44 characters of base64")]
    BadKey,
}

impl SealKey {
    /// A new random key.
    pub fn generate() -> SealKey {
        let mut k = [0u8; 32];
        SystemRandom::new()
            .fill(&mut k)
            .expect("the system random generator works");
        SealKey(k)
    }

    /// A key from its base64 text (what `to_base64` writes).
    pub fn from_base64(text: &str) -> Result<SealKey, SealError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| SealError::BadKey)?;
        let k: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(SealKey(k))
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &self.0).expect("a 32-byte key"))
    }

    /// Seals `plain`, bound to `context` (e.g. the owning row's uid).
    pub fn seal(&self, plain: &str, context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system random generator works");
        let mut buf = plain.as_bytes().to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .expect("sealing cannot fail for in-memory data");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    /// The plain text of a stored value: a sealed one is opened (it must have been sealed
    /// with this key and `context`); one written before sealing is returned as it is.
    pub fn open(&self, stored: &str, context: &str) -> Result<String, SealError> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed)?;
        let mut buf = sealed.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError::Malformed)
    }
}

/// Whether a stored value is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_row() {
        let k = SealKey::generate();
        let sealed = k.seal("JBSWY3DPEHPK3PXP", "user1");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(k.open(&sealed, "user1").unwrap(), "JBSWY3DPEHPK3PXP");
        // Another row, another key, a flipped byte: refused.
        assert_eq!(k.open(&sealed, "user2"), Err(SealError::WrongKey));
        assert_eq!(
            SealKey::generate().open(&sealed, "user1"),
            Err(SealError::WrongKey)
        );
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert!(k
            .open(&String::from_utf8(flipped).unwrap(), "user1")
            .is_err());
        // Two seals of one value differ (random nonces).
        assert_ne!(sealed, k.seal("JBSWY3DPEHPK3PXP", "user1"));
        // Values from before sealing read as they are.
        assert_eq!(
            k.open("JBSWY3DPEHPK3PXP", "user1").unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        // Keys round-trip through base64; bad keys are refused.
        assert_eq!(
            SealKey::from_base64(&k.to_base64())
                .unwrap()
                .open(&sealed, "user1")
                .unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        assert_eq!(
            SealKey::from_base64("c2hvcnQ=").unwrap_err(),
            SealError::BadKey
        );
    }
}
