//! Where an upstream call goes: the Region (checked, since it becomes part
//! of a host name), the endpoint override, and the host that serves it.

/// A fixed upstream endpoint (the `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` or
/// `AWS_ENDPOINT_URL_BEDROCK_MANTLE` override).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `true` for `https`.
    pub tls: bool,
    /// `host[:port]`, sent as `:authority` and signed as `host`.
    pub authority: String,
}

impl Endpoint {
    /// Parses `http(s)://host[:port][/]`; anything else is refused (the
    /// message starts with the URL, for the caller to say whose it is).
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("{url:?} must start with http:// or https://"));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
            _ => (authority, None),
        };
        let host_ok = !host.is_empty()
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':')
            });
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
        if !host_ok || !port_ok {
            return Err(format!("{url:?} must be scheme://host[:port] with no path"));
        }
        let default_port = if tls { "443" } else { "80" };
        let authority = match port {
            Some(p) if p == default_port => host.to_string(),
            _ => authority.to_string(),
        };
        Ok(Endpoint { tls, authority })
    }
}

/// Checks that `region` has the shape of an AWS region (`us-east-1`, `us-gov-west-1`).
///
/// The region becomes part of a host name, so anything else (dots, slashes,
/// CR/LF, upper case) is refused.
pub fn is_valid_region(region: &str) -> bool {
    if region.len() > 32 {
        return false;
    }
    let parts: Vec<&str> = region.split('-').collect();
    let Some((last, first)) = parts.split_last() else {
        return false;
    };
    first.len() >= 2
        && first.first().is_some_and(|p| p.len() == 2)
        && first
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&last.len())
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// The `:authority` of the upstream call for `region`.
pub fn authority(endpoint: Option<&Endpoint>, region: &str) -> String {
    match endpoint {
        Some(e) => e.authority.clone(),
        None => format!("bedrock-runtime.{region}.amazonaws.com"),
    }
}

/// The `:authority` of a call to bedrock-mantle for `region` (its hosts are
/// under `api.aws`, not `amazonaws.com`), or of `endpoint`, the
/// `AWS_ENDPOINT_URL_BEDROCK_MANTLE` override.
pub fn mantle_authority(endpoint: Option<&Endpoint>, region: &str) -> String {
    match endpoint {
        Some(e) => e.authority.clone(),
        None => format!("bedrock-mantle.{region}.api.aws"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-central-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "il-central-1",
        ] {
            assert!(is_valid_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east-1.evil.example",
            "us-east-1/..",
            "us-east-1\r\nx: y",
            "US-EAST-1",
            "us-east",
            "us--1",
            "-east-1",
            "us-east-123",
            "u-east-1",
        ] {
            assert!(!is_valid_region(bad), "{bad:?}");
        }
    }

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:9099").unwrap();
        assert_eq!((e.tls, e.authority.as_str()), (false, "127.0.0.1:9099"));
        let e = Endpoint::parse("https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com:443/")
            .unwrap();
        assert_eq!(
            (e.tls, e.authority.as_str()),
            (true, "vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com")
        );
        for bad in [
            "127.0.0.1:9099",
            "http://",
            "http://h/path",
            "http://h:0",
            "http://h:x",
            "http://a b",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            authority(None, "eu-west-1"),
            "bedrock-runtime.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            mantle_authority(None, "us-gov-west-1"),
            "bedrock-mantle.us-gov-west-1.api.aws"
        );
        let e = Endpoint::parse("http://127.0.0.1:9100").unwrap();
        assert_eq!(mantle_authority(Some(&e), "us-east-1"), "127.0.0.1:9100");
    }
}
