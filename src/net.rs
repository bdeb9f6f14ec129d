//! The client's IP address, believing `X-Forwarded-For` only from trusted proxies
//! (`CC_TRUSTED_PROXIES`), so nobody can forge their address into the audit trail or
//! around login throttling.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `::1/128`, or a bare address (a /32 or /128).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (address, prefix) = match raw.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (raw, None),
        };
        let network: IpAddr = address.parse().map_err(|_| format!("{raw:?} is not an IP address or CIDR"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{raw:?} has an invalid prefix length"))?,
            None => max,
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

pub fn parse_list(raw: &str) -> Result<Vec<Cidr>, String> {
    raw.split(',').filter(|s| !s.trim().is_empty()).map(Cidr::parse).collect()
}

/// The peer address, or — when the peer is a trusted proxy — the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[Cidr]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let Some(chain) = forwarded_for else {
        return Some(peer);
    };
    let mut client = peer;
    for hop in chain.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => client = ip,
            Ok(ip) => return Some(ip),
            Err(_) => break,
        }
    }
    Some(client)
}

pub fn request_client_ip(req: &actix_web::HttpRequest, trusted: &[Cidr]) -> Option<IpAddr> {
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    client_ip(req.peer_addr().map(|a| a.ip()), forwarded, trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.1.2.3")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(Cidr::parse("::1").unwrap().contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["", "10.0.0.0/33", "nope", "1.2.3.4/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = parse_list("10.0.0.0/8").unwrap();
        assert_eq!(client_ip(Some(ip("203.0.113.9")), Some("1.1.1.1"), &trusted), Some(ip("203.0.113.9")));
        assert_eq!(client_ip(Some(ip("10.0.0.2")), Some("1.1.1.1, 198.51.100.7"), &trusted), Some(ip("198.51.100.7")));
        assert_eq!(client_ip(Some(ip("10.0.0.2")), Some("198.51.100.7, 10.0.0.9"), &trusted), Some(ip("198.51.100.7")));
        assert_eq!(client_ip(Some(ip("10.0.0.2")), None, &trusted), Some(ip("10.0.0.2")));
        assert_eq!(client_ip(Some(ip("10.0.0.2")), Some("garbage"), &trusted), Some(ip("10.0.0.2")));
    }
}
