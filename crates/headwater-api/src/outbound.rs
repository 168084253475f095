//! Where webhooks may be delivered (SEC-1).
//!
//! Webhook targets are chosen by stack users, so a delivery must not reach the server's own
//! network: loopback, private, link-local (cloud metadata included), shared (CGNAT),
//! unspecified, multicast, broadcast, documentation and other reserved addresses are refused,
//! also when they hide in an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address. An
//! operator opens chosen ranges with `--webhook-allow-cidr` ([`Cidr`]).
//!
//! The check runs on the address actually connected to: [`GuardedResolver`] resolves a host
//! name and keeps only permitted addresses (so a name cannot resolve to a public address when
//! saved and to an internal one when sent), and [`check_literal`] covers URLs whose host is an
//! IP address, which the HTTP client connects to without resolving. Webhooks are also checked
//! when saved ([`check_target`]), for an early, clear refusal.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub use headwater_core::cidr::Cidr;
use headwater_core::cidr::{mask128, mask32};

fn in4(ip: Ipv4Addr, net: [u8; 4], prefix: u8) -> bool {
    u32::from(ip) & mask32(prefix) == u32::from(Ipv4Addr::from(net))
}

fn in6(ip: Ipv6Addr, net: u128, prefix: u8) -> bool {
    u128::from(ip) & mask128(prefix) == net
}

/// What kind of internal or reserved address `ip` is; `None` for an ordinary public address.
fn kind_v4(ip: Ipv4Addr) -> Option<&'static str> {
    Some(if ip.is_broadcast() {
        "broadcast"
    } else if in4(ip, [0, 0, 0, 0], 8) {
        "unspecified (\"this network\")"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local (cloud metadata)"
    } else if in4(ip, [100, 64, 0, 0], 10) {
        "shared (CGNAT)"
    } else if ip.is_multicast() {
        "multicast"
    } else if ip.is_documentation() {
        "documentation"
    } else if in4(ip, [198, 18, 0, 0], 15) {
        "benchmarking"
    } else if in4(ip, [192, 0, 0, 0], 24) || in4(ip, [192, 88, 99, 0], 24) {
        "reserved (IETF)"
    } else if in4(ip, [240, 0, 0, 0], 4) {
        "reserved"
    } else {
        return None;
    })
}

fn kind_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let n = u128::from(ip);
    // Forms that carry an IPv4 address: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d),
    // NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
    let low_v4 = Ipv4Addr::from((n & 0xffff_ffff) as u32);
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if in6(ip, 0xffff_0000_0000, 96) || in6(ip, 0, 96) {
        // IPv4-compatible addresses are deprecated: refused even when the IPv4 one is public.
        let compatible = in6(ip, 0, 96);
        return kind_v4(low_v4).or(compatible.then_some("reserved (IPv4-compatible)"));
    }
    if in6(ip, 0x0064_ff9b << 96, 96) {
        return kind_v4(low_v4);
    }
    if in6(ip, 0x2002 << 112, 16) {
        return kind_v4(Ipv4Addr::from(((n >> 80) & 0xffff_ffff) as u32));
    }
    Some(if in6(ip, 0xfc00 << 112, 7) || in6(ip, 0xfec0 << 112, 10) {
        "private (unique local)"
    } else if in6(ip, 0xfe80 << 112, 10) {
        "link-local"
    } else if in6(ip, 0xff00 << 112, 8) {
        "multicast"
    } else if in6(ip, 0x2001_0db8 << 96, 32) || in6(ip, 0x3fff << 112, 20) {
        "documentation"
    } else if in6(ip, 0x0064_ff9b_0001 << 80, 48) {
        "reserved (local NAT64)"
    } else if in6(ip, 0x0100 << 112, 64) {
        "reserved (discard)"
    } else if in6(ip, 0x2001 << 112, 23) {
        "reserved (IETF)"
    } else {
        return None;
    })
}

/// What kind of internal or reserved address `ip` is; `None` for an ordinary public address.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => kind_v4(a),
        IpAddr::V6(a) => kind_v6(a),
    }
}

/// A webhook target refused because of where it leads.
#[derive(Debug, Clone)]
pub struct Refused {
    pub host: String,
    pub ip: IpAddr,
    pub kind: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.trim_matches(|c| c == '[' || c == ']') == self.ip.to_string() {
            write!(f, "{} is a {} address", self.ip, self.kind)?;
        } else {
            write!(
                f,
                "{} resolves to {}, a {} address",
                self.host, self.ip, self.kind
            )?;
        }
        write!(
            f,
            ", where webhooks are not delivered unless the server allows its range \
             (--webhook-allow-cidr)"
        )
    }
}

impl std::error::Error for Refused {}

/// Ok when `ip` is a public address or in one of the `allow` ranges.
pub fn check_ip(host: &str, ip: IpAddr, allow: &[Cidr]) -> Result<(), Refused> {
    let mapped = match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    };
    if allow
        .iter()
        .any(|c| c.contains(ip) || mapped.is_some_and(|m| c.contains(m)))
    {
        return Ok(());
    }
    match internal_kind(ip) {
        None => Ok(()),
        Some(kind) => Err(Refused {
            host: host.to_string(),
            ip,
            kind,
        }),
    }
}

/// The IP address of a URL whose host is one. The URL parser has already turned decimal,
/// hexadecimal, octal and shortened IPv4 forms (`2130706433`, `0x7f000001`, `127.1`) into
/// IPv4 addresses.
pub fn literal(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        // A domain never looks like a dotted IPv4 address after parsing.
        None => host.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// Ok unless the URL's host is a refused IP address. The HTTP client connects to IP hosts
/// without resolving them, so this is the connect-time check for them.
pub fn check_literal(url: &Url, allow: &[Cidr]) -> Result<(), Refused> {
    match literal(url) {
        Some(ip) => check_ip(url.host_str().unwrap_or_default(), ip, allow),
        None => Ok(()),
    }
}

/// `localhost` and names under it are loopback (RFC 6761), whatever a resolver says.
fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// The addresses of `name` (port 0).
async fn lookup(name: &str) -> std::io::Result<Vec<SocketAddr>> {
    if is_localhost(name) {
        return Ok(vec![
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        ]);
    }
    Ok(tokio::net::lookup_host((name, 0)).await?.collect())
}

/// The save-time check of a target URL: its IP host, or the addresses its host name resolves
/// to within `timeout` (each must be permitted). A name that does not resolve in time is
/// accepted: the receiver may not exist yet, and every delivery is checked again when it
/// connects.
pub async fn check_target(url: &Url, allow: &[Cidr], timeout: Duration) -> Result<(), Refused> {
    check_literal(url, allow)?;
    let (Some(name), None) = (url.host_str(), literal(url)) else {
        return Ok(());
    };
    let Ok(Ok(addrs)) = tokio::time::timeout(timeout, lookup(name)).await else {
        return Ok(());
    };
    for a in addrs {
        check_ip(name, a.ip(), allow)?;
    }
    Ok(())
}

/// A resolver for the delivery client: resolves a name and keeps only the permitted
/// addresses, so the connection can only be made to one of them. When none is left the
/// connection fails with [`Refused`].
pub struct GuardedResolver {
    allow: Arc<[Cidr]>,
}

impl GuardedResolver {
    pub fn new(allow: &[Cidr]) -> GuardedResolver {
        GuardedResolver {
            allow: allow.into(),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = lookup(&host).await?;
            let mut refused = None;
            let mut ok = Vec::new();
            for a in addrs {
                match check_ip(&host, a.ip(), &allow) {
                    Ok(()) => ok.push(a),
                    Err(r) => {
                        refused.get_or_insert(r);
                    }
                }
            }
            match refused {
                Some(r) if ok.is_empty() => Err(Box::new(r) as _),
                _ => Ok(Box::new(ok.into_iter()) as Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        internal_kind(s.parse().unwrap())
    }

    #[test]
    fn internal_addresses_are_recognized() {
        for a in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "192.0.0.192",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::8.8.8.8",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(kind(a).is_some(), "{a} should be refused");
        }
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            assert_eq!(kind(a), None, "{a} should be allowed");
        }
    }

    #[test]
    fn ranges_parse_and_allow() {
        let c: Cidr = "127.0.0.0/8".parse().unwrap();
        assert_eq!(c.to_string(), "127.0.0.0/8");
        assert!(c.contains("127.1.2.3".parse().unwrap()));
        assert!(!c.contains("128.0.0.1".parse().unwrap()));
        let one: Cidr = " ::1 ".parse().unwrap();
        assert_eq!(one.to_string(), "::1/128");
        assert_eq!(
            "10.9.8.7/8".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert!("0.0.0.0/0"
            .parse::<Cidr>()
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        for bad in ["10.0.0.0/33", "::/129", "nope", "10.0.0/8", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        let allow = [c];
        assert!(check_ip("x", "127.0.0.1".parse().unwrap(), &allow).is_ok());
        assert!(check_ip("x", "::ffff:127.0.0.1".parse().unwrap(), &allow).is_ok());
        assert!(check_ip("x", "::1".parse().unwrap(), &allow).is_err());
        assert!(check_ip("x", "10.0.0.1".parse().unwrap(), &allow).is_err());
    }

    #[test]
    fn odd_ipv4_forms_are_ip_hosts() {
        for u in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://0177.0.0.1/",
            "http://127.0.0.1./",
        ] {
            let url = Url::parse(u).unwrap();
            assert_eq!(
                literal(&url),
                Some("127.0.0.1".parse().unwrap()),
                "{u} is 127.0.0.1"
            );
            assert!(check_literal(&url, &[]).is_err());
        }
        let v6 = Url::parse("http://[::ffff:127.0.0.1]:8080/").unwrap();
        assert!(check_literal(&v6, &[]).is_err());
    }
}
