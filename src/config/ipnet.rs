//! IP networks in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or one address), for
//! `trusted_proxies`: a load balancer's addresses change (an AWS ALB's move within its
//! subnets), so an operator names the networks its proxies live in. std only.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IP network: an address and a prefix length. A bare address is a network of
/// one (`/32`, `/128`). IPv4-mapped IPv6 networks (`::ffff:10.0.0.0/104`) are kept
/// as the IPv4 network they name, and addresses are compared the same way, so a
/// dual-stack listener's `::ffff:10.1.2.3` peer matches `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The network `addr/prefix`; refused when the prefix is too long for the address
    /// family or `addr` has bits set after the prefix (`10.0.0.1/8` is a typo for
    /// either `10.0.0.0/8` or `10.0.0.1`, and guessing which would trust the wrong
    /// peers).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, String> {
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (addr, prefix),
            },
            _ => (addr, prefix),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(format!(
                "{addr}/{prefix}: the prefix length of an IPv{} network is at most {max}",
                if addr.is_ipv4() { 4 } else { 6 }
            ));
        }
        let net = IpNet { addr, prefix };
        let base = net.network();
        if base != addr {
            return Err(format!(
                "{addr}/{prefix} has bits set after its /{prefix} prefix: write the network ({base}/{prefix}) or the single address ({addr})"
            ));
        }
        Ok(net)
    }

    /// The first address of the network.
    fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(self.prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(self.prefix))),
        }
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as its
    /// IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                (u32::from(net) ^ u32::from(ip)) & mask32(self.prefix) == 0
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                (u128::from(net) ^ u128::from(ip)) & mask128(self.prefix) == 0
            }
            _ => false,
        }
    }
}

/// Whether any of `nets` contains `ip`.
pub fn any_contains(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.iter().any(|net| net.contains(ip))
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl From<IpAddr> for IpNet {
    fn from(addr: IpAddr) -> Self {
        let addr = addr.to_canonical();
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        IpNet { addr, prefix }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| {
            format!("{text:?} is not an IP address or a network such as 10.0.0.0/8 or fd00::/8")
        })?;
        match prefix {
            None => Ok(IpNet::from(addr)),
            Some(prefix) => {
                let prefix: u8 = prefix.parse().map_err(|_| {
                    format!("{text:?}: the prefix length {prefix:?} is not a number")
                })?;
                IpNet::new(addr, prefix)
            }
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let single = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == single {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let private = net("10.0.0.0/8");
        assert!(private.contains(ip("10.0.0.1")));
        assert!(private.contains(ip("10.255.255.255")));
        assert!(!private.contains(ip("11.0.0.0")));
        assert!(!private.contains(ip("9.255.255.255")));
        assert!(private.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped peer");
        assert!(!private.contains(ip("::1")));
        let subnet = net("172.31.16.0/20");
        assert!(subnet.contains(ip("172.31.31.254")));
        assert!(!subnet.contains(ip("172.31.32.0")));
        let loopback6 = net("::1/128");
        assert!(loopback6.contains(ip("::1")));
        assert!(!loopback6.contains(ip("::2")));
        assert!(!loopback6.contains(ip("127.0.0.1")));
        let ula = net("fd00::/8");
        assert!(ula.contains(ip("fd12:3456::1")));
        assert!(!ula.contains(ip("fe80::1")));
        let one = net("127.0.0.1");
        assert!(one.contains(ip("127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.7")));
        assert!(!net("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(net("::/0").contains(ip("2001:db8::1")));
        assert!(net("::ffff:10.0.0.0/104").contains(ip("10.9.9.9")));
    }

    #[test]
    fn bad_networks_are_refused_with_the_reason() {
        let error = "10.0.0.1/8".parse::<IpNet>().unwrap_err();
        assert!(
            error.contains("10.0.0.0/8") && error.contains("10.0.0.1"),
            "{error}"
        );
        let error = "10.0.0.0/33".parse::<IpNet>().unwrap_err();
        assert!(error.contains("at most 32"), "{error}");
        assert!(
            "::/129"
                .parse::<IpNet>()
                .unwrap_err()
                .contains("at most 128")
        );
        assert!(
            "10.0.0.0/x"
                .parse::<IpNet>()
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            "proxy.local"
                .parse::<IpNet>()
                .unwrap_err()
                .contains("not an IP address")
        );
        assert!("10.0.0.0/-1".parse::<IpNet>().is_err());
    }

    #[test]
    fn networks_print_as_written() {
        for text in ["10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8", "0.0.0.0/0"] {
            assert_eq!(net(text).to_string(), text);
        }
        assert_eq!(net("::1/128").to_string(), "::1");
        assert_eq!(net("127.0.0.1/32").to_string(), "127.0.0.1");
    }
}
