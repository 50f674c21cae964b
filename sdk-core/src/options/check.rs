//! The checks behind [`ClientOptions::validate`](super::ClientOptions::validate) that are not
//! engine config: the base URL (scheme, host, transport security), header names and values, and
//! the redaction rules for `Debug` output (which params are secrets, what of a URL may be shown).
//!
//! Loopback means `localhost`, `*.localhost`, `127.0.0.0/8` and `::1` (RFC 6761 §6.3 reserves
//! `localhost` names for loopback); only there is clear-text `http`/`ws` accepted by default.

use super::weburl::{Host, WebUrl};
use crate::error::BuildError;

/// Checks scheme, host and transport security; returns the URL without a trailing `/`.
pub(super) fn url(raw: &str, allow_insecure: bool) -> Result<String, BuildError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = WebUrl::parse(trimmed).map_err(|e| BuildError::InvalidUrl(e.to_string()))?;
    let scheme = url.scheme;
    if !matches!(scheme.as_str(), "http" | "https" | "ws" | "wss") {
        return Err(BuildError::UnsupportedScheme(scheme));
    }
    let host = url
        .host
        .ok_or_else(|| BuildError::InvalidUrl("the URL has no host".into()))?;
    let loopback = match &host {
        Host::Domain(name) => name == "localhost" || name.ends_with(".localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    };
    if matches!(scheme.as_str(), "http" | "ws") && !loopback && !allow_insecure {
        return Err(BuildError::Insecure {
            scheme,
            host: host.to_string(),
        });
    }
    Ok(trimmed.to_string())
}

/// Header names must be HTTP tokens (RFC 9110 §5.6.2: `tchar`); values must not hold CR, LF or
/// NUL (RFC 9110 §5.5), which would split the request.
pub(super) fn headers(headers: &[(String, String)]) -> Result<(), BuildError> {
    for (name, value) in headers {
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token || value.contains(['\r', '\n', '\0']) {
            return Err(BuildError::InvalidHeader(name.clone()));
        }
    }
    Ok(())
}

/// Param keys whose values are credentials (hidden in `Debug`).
pub(super) fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("header.")
        || ["key", "token", "secret", "password", "auth"]
            .iter()
            .any(|s| key.contains(s))
}

/// The URL without user info, query or fragment (which may hold credentials).
pub(crate) fn redact_url(raw: &str) -> String {
    match WebUrl::parse(raw) {
        Ok(u) => {
            let host = u.host.map(|h| h.to_string()).unwrap_or_default();
            let port = u.port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{host}{port}{}", u.scheme, u.path)
        }
        Err(_) => "<invalid url>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_for_scheme_host_and_security() {
        assert_eq!(
            url("http://127.0.0.1:8080/", false),
            Ok("http://127.0.0.1:8080".into())
        );
        assert!(url("ws://localhost:1", false).is_ok());
        assert!(url("ws://a.b.localhost:1", false).is_ok());
        assert!(url("http://[::1]:1", false).is_ok());
        assert!(url("http://127.9.9.9", false).is_ok());
        assert!(url("https://chat.example.com/api", false).is_ok());
        assert_eq!(
            url("http://10.0.0.8", false),
            Err(BuildError::Insecure {
                scheme: "http".into(),
                host: "10.0.0.8".into()
            })
        );
        assert!(matches!(
            url("ws://localhost.example.com", false),
            Err(BuildError::Insecure { .. })
        ));
        assert!(url("http://10.0.0.8", true).is_ok());
        assert_eq!(
            url("ftp://x.example", false),
            Err(BuildError::UnsupportedScheme("ftp".into()))
        );
        assert!(matches!(
            url("://nope", false),
            Err(BuildError::InvalidUrl(_))
        ));
        assert!(matches!(url("", false), Err(BuildError::InvalidUrl(_))));
    }

    #[test]
    fn header_names_are_tokens_and_values_single_lines() {
        let ok = |n: &str, v: &str| headers(&[(n.to_string(), v.to_string())]);
        assert_eq!(ok("X-Trace", "on; q=1"), Ok(()));
        assert_eq!(ok("", "v"), Err(BuildError::InvalidHeader(String::new())));
        assert_eq!(ok("X Y", "v"), Err(BuildError::InvalidHeader("X Y".into())));
        assert_eq!(ok("X:", "v"), Err(BuildError::InvalidHeader("X:".into())));
        assert_eq!(
            ok("X-A", "v\r\nEvil: 1"),
            Err(BuildError::InvalidHeader("X-A".into()))
        );
        assert_eq!(
            ok("X-A", "v\0"),
            Err(BuildError::InvalidHeader("X-A".into()))
        );
    }

    #[test]
    fn redaction_keeps_only_scheme_host_port_and_path() {
        assert_eq!(
            redact_url("https://u:pw@h.example:8443/x?key=s3#frag"),
            "https://h.example:8443/x"
        );
        assert_eq!(redact_url("not a url"), "<invalid url>");
        assert!(is_secret("api_key") && is_secret("session_token") && is_secret("header.X"));
        assert!(!is_secret("slug") && !is_secret("model"));
    }
}
