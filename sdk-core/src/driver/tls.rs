//! TLS for the tokio driver: rustls with the `ring` provider and the Mozilla roots from
//! `webpki-roots`, shared by the WebSocket connector and the HTTP client.
//!
//! One `ClientConfig` per process, built on first use and shared by every client (an idle
//! client then costs no root store of its own). No process-wide default provider is installed,
//! so an app that configures rustls differently elsewhere is not affected. ALPN offers
//! `http/1.1` only, which both WebSocket upgrades and the HTTP/1.1-only HTTP client require.

use std::sync::{Arc, OnceLock};

/// The process's TLS client configuration (certificate verification always on); the same
/// `Arc` for every caller. An error building it is kept and returned to every caller too.
pub(super) fn client_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| build().map_err(|e| e.to_string()))
        .clone()
}

fn build() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    #[test]
    fn config_builds_with_roots_and_http1_alpn() {
        let config = super::client_config().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(!config.crypto_provider().cipher_suites.is_empty());
    }

    #[test]
    fn every_client_shares_one_config() {
        let (a, b) = (
            super::client_config().unwrap(),
            super::client_config().unwrap(),
        );
        assert!(Arc::ptr_eq(&a, &b));
    }
}
