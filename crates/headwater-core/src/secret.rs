//! Credential secrets: management tokens, authtokens, delivery tokens and one-time link tokens.
//!
//! Shape: `<prefix>_<22 base62 chars of CSPRNG output><6 base62 chars of CRC32>`. The random
//! part carries 131 bits; the prefix lets secret scanners find a leaked token; the checksum lets
//! the server refuse typos and junk without touching the database. Only the SHA-256 of a
//! token is ever stored.

use rand::Rng;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 22;
const CHECK_LEN: usize = 6;

/// What a secret authorizes; each kind has its own recognizable prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    ManagementToken,
    AuthToken,
    DeliveryToken,
    /// A one-time link token: an invitation, a password reset or an ownership transfer.
    LinkToken,
    /// A browser session (the `hw_session` cookie) and its CSRF token.
    BrowserSession,
}

impl SecretKind {
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::ManagementToken => "hwmt",
            SecretKind::AuthToken => "hwat",
            SecretKind::DeliveryToken => "hwdt",
            SecretKind::LinkToken => "hwlk",
            SecretKind::BrowserSession => "hwbs",
        }
    }
}

/// A freshly minted secret. The plaintext is shown to its owner once; `Debug` never prints it.
pub struct NewSecret {
    pub plaintext: String,
    pub hash: String,
}

impl fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSecret")
            .field("plaintext", &"<redacted>")
            .field("hash", &self.hash)
            .finish()
    }
}

fn base62_fixed(mut n: u64, len: usize) -> String {
    let mut out = vec![b'0'; len];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out).expect("alphabet is ASCII")
}

fn checksum(body: &str) -> String {
    base62_fixed(u64::from(crc32fast::hash(body.as_bytes())), CHECK_LEN)
}

/// Mints a new secret of the given kind.
pub fn generate(kind: SecretKind) -> NewSecret {
    let mut rng = rand::rngs::OsRng;
    let random: String = (0..RANDOM_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..62)] as char)
        .collect();
    let body = format!("{}_{}", kind.prefix(), random);
    let plaintext = format!("{body}{}", checksum(&body));
    let hash = hash(&plaintext);
    NewSecret { plaintext, hash }
}

/// True when `candidate` has the shape of a `kind` secret and its checksum matches. This is
/// the cheap first gate: anything failing it is refused without a database lookup.
pub fn well_formed(kind: SecretKind, candidate: &str) -> bool {
    let prefix = kind.prefix();
    let expected_len = prefix.len() + 1 + RANDOM_LEN + CHECK_LEN;
    if candidate.len() != expected_len
        || !candidate.starts_with(prefix)
        || candidate.as_bytes()[prefix.len()] != b'_'
    {
        return false;
    }
    let (body, check) = candidate.split_at(expected_len - CHECK_LEN);
    if !body[prefix.len() + 1..]
        .bytes()
        .chain(check.bytes())
        .all(|b| b.is_ascii_alphanumeric())
    {
        return false;
    }
    let expected = checksum(body);
    expected.as_bytes().ct_eq(check.as_bytes()).into()
}

/// The stored form of a secret: lowercase hex SHA-256.
pub fn hash(plaintext: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(plaintext.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Constant-time equality of two stored hashes.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_unique() {
        let a = generate(SecretKind::ManagementToken);
        let b = generate(SecretKind::ManagementToken);
        assert!(a.plaintext.starts_with("hwmt_"));
        assert_eq!(a.plaintext.len(), 5 + 22 + 6);
        assert!(well_formed(SecretKind::ManagementToken, &a.plaintext));
        assert_ne!(a.plaintext, b.plaintext);
        assert_eq!(a.hash, hash(&a.plaintext));
        assert_eq!(a.hash.len(), 64);
    }

    #[test]
    fn a_flipped_character_or_wrong_prefix_is_refused() {
        let t = generate(SecretKind::ManagementToken).plaintext;
        let mut chars: Vec<char> = t.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let flipped: String = chars.into_iter().collect();
        assert!(!well_formed(SecretKind::ManagementToken, &flipped));
        assert!(!well_formed(SecretKind::AuthToken, &t));
        assert!(!well_formed(SecretKind::ManagementToken, ""));
        assert!(!well_formed(SecretKind::ManagementToken, "hwmt_short"));
        assert!(!well_formed(
            SecretKind::ManagementToken,
            "hwmt_ééééééééééééééééééééééééééé"
        ));
    }

    #[test]
    fn debug_never_prints_the_plaintext() {
        let s = generate(SecretKind::AuthToken);
        let shown = format!("{s:?}");
        assert!(!shown.contains(&s.plaintext));
    }

    #[test]
    fn hash_comparison() {
        let h = hash("x");
        assert!(hashes_equal(&h, &hash("x")));
        assert!(!hashes_equal(&h, &hash("y")));
        assert!(!hashes_equal(&h, "short"));
    }
}
