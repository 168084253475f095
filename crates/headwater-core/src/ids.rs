//! Identifiers in the shape Contentstack clients expect: `blt` followed by 16 hex digits.

use rand::RngCore;

fn blt_hex(random_bytes: usize) -> String {
    let mut bytes = vec![0u8; random_bytes];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut out = String::with_capacity(3 + random_bytes * 2);
    out.push_str("blt");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A new object uid (`blt` + 16 hex digits), used for every stored object.
pub fn new_uid() -> String {
    blt_hex(8)
}

/// A new stack API key. API keys are public identifiers, not secrets, but they are random so
/// that one stack's key cannot be guessed from another's.
pub fn new_api_key() -> String {
    blt_hex(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_have_the_contentstack_shape_and_differ() {
        let a = new_uid();
        let b = new_uid();
        assert_eq!(a.len(), 19);
        assert!(a.starts_with("blt"));
        assert!(a[3..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
