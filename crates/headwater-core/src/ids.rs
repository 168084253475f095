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

/// A request id for logs and the `x-request-id` header: a version-4 UUID drawn from the
/// thread's CSPRNG (seeded from the OS and reseeded by it), so a request costs no system call.
/// Request ids are correlation handles, never credentials.
pub fn new_request_id() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_version_4_uuids_and_differ() {
        let a = new_request_id();
        assert_eq!(a.len(), 36);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('4'));
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_ne!(a, new_request_id());
    }

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
