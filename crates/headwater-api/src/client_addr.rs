//! The client's address, for token IP binding (MT-16), usage (MT-19) and the leak-report rate
//! limit (MT-17): the socket's peer address, or, when the peer is one of the operator's trusted
//! proxies (`--trusted-proxy`), the address that proxy reports in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is read from the right: each proxy appends the address it received the
//! request from, so the first address (from the right) that is not a trusted proxy is the
//! client. Without trusted proxies the header is ignored: anyone can send it.

use axum::http::HeaderMap;
use headwater_core::cidr::Cidr;
use std::net::{IpAddr, SocketAddr};

/// The resolved client address of a request (a request extension set by the authentication
/// middleware); `None` when the connection has no peer address (in-process tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, from dual-stack sockets) as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The client address of a request from `peer` with `headers`.
pub fn resolve(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[Cidr]) -> Option<IpAddr> {
    let mut candidate = canonical(peer?.ip());
    if trusted.is_empty() {
        return Some(candidate);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        if !trusted.iter().any(|c| c.contains(candidate)) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => candidate = canonical(ip),
            Err(_) => break,
        }
    }
    Some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_header_counts_only_behind_trusted_proxies() {
        let peer: Option<SocketAddr> = Some("127.0.0.1:5000".parse().unwrap());
        let h = headers(&["198.51.100.9, 203.0.113.7"]);
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // No trusted proxies: the header is ignored.
        assert_eq!(resolve(peer, &h, &[]), ip("127.0.0.1"));
        let local: Vec<Cidr> = vec!["127.0.0.0/8".parse().unwrap()];
        // The rightmost hop not a trusted proxy is the client.
        assert_eq!(resolve(peer, &h, &local), ip("203.0.113.7"));
        let both: Vec<Cidr> = vec![
            "127.0.0.0/8".parse().unwrap(),
            "203.0.113.0/24".parse().unwrap(),
        ];
        assert_eq!(resolve(peer, &h, &both), ip("198.51.100.9"));
        // A peer that is not a trusted proxy cannot speak for anyone else.
        let other: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(resolve(peer, &h, &other), ip("127.0.0.1"));
        // Garbage stops the walk at the last trusted hop's report.
        assert_eq!(
            resolve(peer, &headers(&["junk, 203.0.113.7"]), &both),
            ip("203.0.113.7")
        );
        assert_eq!(resolve(None, &h, &local), None);
        let mapped: Option<SocketAddr> = Some("[::ffff:127.0.0.1]:1".parse().unwrap());
        assert_eq!(resolve(mapped, &HeaderMap::new(), &[]), ip("127.0.0.1"));
    }
}
