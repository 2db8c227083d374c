//! Who is calling, as far as the network says: the address the throttle counts.
//!
//! It is the TCP peer's address, unless the peer is one of the operator's reverse proxies
//! (`server.trusted_proxies`). Then `X-Forwarded-For` is read from the right, where each
//! trusted proxy appended the address it saw, and the first entry that is not itself a
//! trusted proxy is the client. Entries further left were written by the client and are
//! ignored: anyone can send the header, so believing it from an untrusted peer, or
//! believing its left-most entry, would let a caller choose their own address.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;

/// An address block: an address and how many leading bits of it count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    addr: IpAddr,
    prefix: u8,
}

impl Block {
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr =
            normalise(addr.parse::<IpAddr>().map_err(|_| format!("`{text}` is not an IP address or CIDR block"))?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix must be 0 to {max}"))?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, normalise(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(u128::from(net.to_bits()) << 96, u128::from(ip.to_bits()) << 96, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(net.to_bits(), ip.to_bits(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - u32::from(prefix));
    a & mask == b & mask
}

/// An IPv4 address seen through an IPv6 socket is the IPv4 address.
fn normalise(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The operator's reverse proxies, parsed once at start-up.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Block>);

impl TrustedProxies {
    /// Each entry an address (`10.0.0.7`) or a block (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries.iter().map(|e| Block::parse(e)).collect::<Result<Vec<_>, _>>().map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|b| b.contains(ip))
    }

    /// The client's address for a request from `peer` carrying these `X-Forwarded-For`
    /// values (in the order received).
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> Option<IpAddr> {
        let peer = normalise(peer?);
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        for entry in forwarded_for.iter().rev().flat_map(|h| h.rsplit(',')) {
            // Something a trusted proxy would not write: the chain cannot be followed
            // further, so the last hop known is the answer.
            let Some(hop) = parse_hop(entry) else { return Some(client) };
            client = hop;
            if !self.trusts(hop) {
                return Some(hop);
            }
        }
        Some(client)
    }

    pub fn client_of(&self, req: &HttpRequest) -> Option<IpAddr> {
        let forwarded: Vec<&str> = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect();
        self.client(req.peer_addr().map(|a| a.ip()), &forwarded)
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry.parse::<IpAddr>().or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip())).ok().map(normalise)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap_or_default()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(Some(ip("203.0.113.9")), &["1.1.1.1"]), Some(ip("203.0.113.9")));
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(p.client(Some(ip("203.0.113.9")), &["10.1.1.1, 1.1.1.1"]), Some(ip("203.0.113.9")));
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "192.0.2.1"]);
        // The client wrote "6.6.6.6"; the edge proxy appended what it saw, 198.51.100.4.
        let xff = ["6.6.6.6, 198.51.100.4, 10.0.0.3"];
        assert_eq!(p.client(Some(ip("192.0.2.1")), &xff), Some(ip("198.51.100.4")));
        // Several headers are one list, in order.
        assert_eq!(p.client(Some(ip("10.9.9.9")), &["6.6.6.6", "198.51.100.4:5555"]), Some(ip("198.51.100.4")));
        // All trusted: the left-most proxy's peer is unknown, the last hop stands.
        assert_eq!(p.client(Some(ip("10.9.9.9")), &["10.1.1.1"]), Some(ip("10.1.1.1")));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(p.client(Some(ip("10.9.9.9")), &[]), Some(ip("10.9.9.9")));
        // Garbage stops the walk.
        assert_eq!(p.client(Some(ip("10.9.9.9")), &["6.6.6.6, nonsense"]), Some(ip("10.9.9.9")));
    }

    #[test]
    fn blocks_parse_and_match_both_families() {
        let p = proxies(&["fd00::/8", "127.0.0.1"]);
        assert!(p.trusts(ip("fd12::1")));
        assert!(!p.trusts(ip("fe80::1")));
        assert!(p.trusts(ip("::ffff:127.0.0.1")));
        assert!(!p.trusts(ip("127.0.0.2")));
        assert!(proxies(&["0.0.0.0/0"]).trusts(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", "::/129"] {
            assert!(TrustedProxies::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
