//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), the
//! "totp_authenticator" second factor.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

const STEP_SECONDS: u64 = 30;
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random secret, base32-encoded (160 bits) as authenticator apps expect.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base32_encode(&bytes)
}

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(B32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=' && *c != b' ') {
        let v = B32.iter().position(|x| *x == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// The code for a given unix time.
pub fn code_at(secret: &str, unix_seconds: u64) -> Option<String> {
    let key = base32_decode(secret)?;
    let counter = unix_seconds / STEP_SECONDS;
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let bin = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    Some(format!("{:06}", bin % 1_000_000))
}

/// Accepts the code of the current step or of one step either side (clock drift).
pub fn verify(secret: &str, code: &str, unix_seconds: u64) -> bool {
    verify_step(secret, code, unix_seconds).is_some()
}

/// Like [`verify`], and says which time step (unix seconds / 30) the code belongs to, so
/// that a code once accepted can be refused the next time (with the drift window, a code
/// stays valid for up to 90 seconds). The earliest matching step is returned.
pub fn verify_step(secret: &str, code: &str, unix_seconds: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 {
        return None;
    }
    [-1i64, 0, 1].iter().find_map(|d| {
        let t = unix_seconds as i64 + d * STEP_SECONDS as i64;
        (t >= 0 && code_at(secret, t as u64).as_deref() == Some(code))
            .then_some(t as u64 / STEP_SECONDS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 → 94287082 (8 digits).
        let secret = base32_encode(b"12345678901234567890");
        assert_eq!(code_at(&secret, 59).unwrap(), "287082");
        assert_eq!(code_at(&secret, 1111111109).unwrap(), "081804");
    }

    #[test]
    fn drift_window() {
        let s = new_secret();
        let now = 1_700_000_000;
        let c = code_at(&s, now).unwrap();
        assert!(verify(&s, &c, now + 29));
        assert!(!verify(&s, &c, now + 120));
        assert!(!verify(&s, "12345", now));
        assert_eq!(verify_step(&s, &c, now + 29), Some(now / 30));
    }
}
