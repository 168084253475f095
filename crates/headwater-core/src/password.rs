//! Password hashing with Argon2id. These functions are CPU-heavy on purpose: callers on an
//! async runtime run them on a blocking thread.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, PasswordVerifier, Version};
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// Hashes a password into a PHC string (`$argon2id$…`).
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail on a valid salt")
        .to_string()
}

/// Verifies a password against a stored PHC string. A malformed stored hash verifies nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same effort as a real verification, for logins with an unknown email, so the
/// response time does not reveal which emails exist.
pub fn verify_dummy(password: &str) {
    let _ = verify(password, dummy_hash());
}

/// The stored hash that [`verify_dummy`] checks against.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash("headwater-dummy-password"))
}

/// Argon2 working memory that [`verify_with_memory`] reuses.
pub type Memory = Vec<Block>;

/// The largest Argon2 memory a stored hash may ask for (64 MiB); a hash asking for more
/// verifies nothing rather than allocating it.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// [`verify`] with the Argon2 working memory supplied by the caller, who keeps it for the
/// next verification: a server that reuses a few of these buffers holds a bounded amount of
/// memory however many logins it has served, instead of leaving freed 19 MiB blocks in the
/// allocator of every thread that ever hashed.
pub fn verify_with_memory(password: &str, stored: &str, memory: &mut Memory) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let ok = Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_ok();
    ok && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// The minimum length Headwater accepts for a new password.
pub const MIN_LENGTH: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = hash("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("x", "not-a-hash"));
        let mut memory = Vec::new();
        assert!(verify_with_memory("correct horse", &h, &mut memory));
        assert!(!verify_with_memory("wrong horse", &h, &mut memory));
        assert!(!verify_with_memory("x", "not-a-hash", &mut memory));
        assert_eq!(memory.len(), Params::DEFAULT_M_COST as usize);
    }
}
