//! A small parser for the absolute `http`/`https`/`ws`/`wss` URLs the client is given as its base
//! URL: scheme, user info, host, port and path, enough to check a base URL and to redact one for
//! logs. It replaces a general URL library so that the WebAssembly build carries no IDNA or
//! Unicode tables (about 200 KB); the URL itself is passed on as written.
//!
//! What it follows of the WHATWG URL Standard (<https://url.spec.whatwg.org/>), for the special
//! schemes: "A URL-scheme string must be one ASCII alpha, followed by zero or more of ASCII
//! alphanumeric, U+002B (+), U+002D (-), and U+002E (.)"; `\` counts as `/` before the host;
//! a host is a domain, an IPv4 address or a bracketed IPv6 address; "A forbidden host code point
//! is U+0000 NULL, U+0009 TAB, U+000A LF, U+000D CR, U+0020 SPACE, U+0023 (#), U+002F (/),
//! U+003A (:), U+003C (<), U+003E (>), U+003F (?), U+0040 (@), U+005B ([), U+005C (\), U+005D
//! (]), U+005E (^), or U+007C (|)"; "If the last label [of a domain] is numeric, the host is an
//! IPv4 address" (dotted decimal is the only form accepted here); a port is at most 65535 and
//! the scheme's default port is not reported. Domains are compared in ASCII lowercase; a non-ASCII
//! domain is kept as written (the transport applies IDNA when it resolves it).
//!
//! Guarantees: never panics on any input; a URL with a special scheme and no host is refused.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The host of a parsed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// A domain name, ASCII-lowercased.
    Domain(String),
    /// A dotted-decimal IPv4 address.
    Ipv4(Ipv4Addr),
    /// A bracketed IPv6 address.
    Ipv6(Ipv6Addr),
}

/// The parts of an absolute URL that the client checks or shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebUrl<'a> {
    /// The scheme, ASCII-lowercased (`https`).
    pub scheme: String,
    /// The host; `None` only for schemes other than http(s)/ws(s)/ftp/file that have none.
    pub host: Option<Host>,
    /// The port, unless absent or the scheme's default.
    pub port: Option<u16>,
    /// The path (`/` when a special scheme's URL has none).
    pub path: &'a str,
}

impl WebUrl<'_> {
    /// Parses `raw` (leading and trailing spaces and control characters ignored). The error is
    /// a short reason for [`BuildError::InvalidUrl`](crate::error::BuildError::InvalidUrl).
    pub(crate) fn parse(raw: &str) -> Result<WebUrl<'_>, &'static str> {
        let raw = raw.trim_matches(|c: char| c <= ' ');
        let colon = raw.find(':').ok_or("relative URL without a base")?;
        let scheme = &raw[..colon];
        let mut chars = scheme.chars();
        let valid_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return Err("relative URL without a base");
        }
        let scheme = scheme.to_ascii_lowercase();
        let rest = &raw[colon + 1..];
        let default_port = match scheme.as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            "ftp" => Some(21),
            "file" => None,
            // Not a special scheme: nothing more to check (the caller refuses the scheme).
            _ => {
                let path_end = rest.find(['?', '#']).unwrap_or(rest.len());
                return Ok(WebUrl {
                    scheme,
                    host: None,
                    port: None,
                    path: &rest[..path_end],
                });
            }
        };
        let rest = rest.trim_start_matches(['/', '\\']);
        let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
        let path = match &tail[..path_end] {
            "" => "/",
            path => path,
        };
        // User info ends at the last `@` of the authority.
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let (host, port) = split_port(host_port)?;
        if host.is_empty() {
            return Err("empty host");
        }
        let host = parse_host(host)?;
        Ok(WebUrl {
            scheme,
            host: Some(host),
            port: port.filter(|p| Some(*p) != default_port),
            path,
        })
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(name) => f.write_str(name),
            Host::Ipv4(ip) => write!(f, "{ip}"),
            Host::Ipv6(ip) => write!(f, "[{ip}]"),
        }
    }
}

/// Splits `host[:port]` (the host may be `[v6]`); an empty port counts as none.
fn split_port(host_port: &str) -> Result<(&str, Option<u16>), &'static str> {
    let colon = if host_port.starts_with('[') {
        let close = host_port.find(']').ok_or("invalid IPv6 address")?;
        match &host_port[close + 1..] {
            "" => None,
            after if after.starts_with(':') => Some(close + 1),
            _ => return Err("invalid IPv6 address"),
        }
    } else {
        host_port.rfind(':')
    };
    let Some(colon) = colon else {
        return Ok((host_port, None));
    };
    let digits = &host_port[colon + 1..];
    let port = if digits.is_empty() {
        None
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        Some(digits.parse::<u16>().map_err(|_| "invalid port number")?)
    } else {
        return Err("invalid port number");
    };
    Ok((&host_port[..colon], port))
}

fn parse_host(host: &str) -> Result<Host, &'static str> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or("invalid IPv6 address")?;
        return inner
            .parse::<Ipv6Addr>()
            .map(Host::Ipv6)
            .map_err(|_| "invalid IPv6 address");
    }
    const FORBIDDEN: &[char] = &[
        '\0', '\t', '\n', '\r', ' ', '#', '/', ':', '<', '>', '?', '@', '[', '\\', ']', '^', '|',
        '%', '\u{7f}',
    ];
    if host.contains(|c: char| FORBIDDEN.contains(&c) || c.is_control()) {
        return Err("invalid domain character");
    }
    let domain = host.to_ascii_lowercase();
    let last = domain
        .strip_suffix('.')
        .unwrap_or(&domain)
        .rsplit('.')
        .next()
        .unwrap_or("");
    let numeric = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || (last.starts_with("0x") && last[2..].bytes().all(|b| b.is_ascii_hexdigit())));
    if numeric {
        let dotted = domain.strip_suffix('.').unwrap_or(&domain);
        return dotted
            .parse::<Ipv4Addr>()
            .map(Host::Ipv4)
            .map_err(|_| "invalid IPv4 address");
    }
    Ok(Host::Domain(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(raw: &str) -> (String, Option<Host>, Option<u16>, String) {
        let u = WebUrl::parse(raw).unwrap();
        (u.scheme, u.host, u.port, u.path.to_string())
    }

    #[test]
    fn special_urls_split_into_scheme_host_port_path() {
        let d = |s: &str| Some(Host::Domain(s.into()));
        assert_eq!(
            parts("HTTPS://U:pw@Chat.Example.com:8443/api/v1?key=1#f"),
            (
                "https".into(),
                d("chat.example.com"),
                Some(8443),
                "/api/v1".into()
            )
        );
        assert_eq!(
            parts("  ws://localhost  "),
            ("ws".into(), d("localhost"), None, "/".into())
        );
        assert_eq!(parts("http://h:80/x").2, None);
        assert_eq!(parts("wss://h:443").2, None);
        assert_eq!(parts("ws://h:443").2, Some(443));
        assert_eq!(parts("http://h:/p").2, None);
        assert_eq!(
            parts("http://127.0.0.1:8080").1,
            Some(Host::Ipv4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(
            parts("http://[::1]:9/").1,
            Some(Host::Ipv6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(parts("http:\\\\h\\p").1, d("h"));
        assert_eq!(parts("http://bücher.example").1, d("bücher.example"));
        assert_eq!(parts("mailto:x@y?k=s3").1, None);
        assert_eq!(parts("mailto:x@y?k=s3").3, "x@y");
    }

    #[test]
    fn malformed_urls_are_refused_with_a_reason() {
        for (raw, why) in [
            ("", "relative URL without a base"),
            ("://nope", "relative URL without a base"),
            ("1http://h", "relative URL without a base"),
            ("http://", "empty host"),
            ("http://:80", "empty host"),
            ("http://u@/x", "empty host"),
            ("http://h:99999", "invalid port number"),
            ("http://h:8o", "invalid port number"),
            ("http://[::1", "invalid IPv6 address"),
            ("http://[::g]", "invalid IPv6 address"),
            ("http://[::1]x", "invalid IPv6 address"),
            ("http://10.0.0.300", "invalid IPv4 address"),
            ("http://a b", "invalid domain character"),
            ("http://a^b", "invalid domain character"),
        ] {
            assert_eq!(WebUrl::parse(raw), Err(why), "{raw}");
        }
    }

    #[test]
    fn hosts_display_as_in_urls() {
        assert_eq!(Host::Ipv6(Ipv6Addr::LOCALHOST).to_string(), "[::1]");
        assert_eq!(
            Host::Ipv4(Ipv4Addr::new(10, 0, 0, 8)).to_string(),
            "10.0.0.8"
        );
        assert_eq!(Host::Domain("a.test".into()).to_string(), "a.test");
    }
}
