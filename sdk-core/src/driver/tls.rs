//! TLS for the tokio driver: rustls with the `ring` provider and the Mozilla roots from
//! `webpki-roots`, shared by the WebSocket connector and the HTTP client.
//!
//! One `ClientConfig` per client: no process-wide default provider is installed, so an app that
//! configures rustls differently elsewhere is not affected. ALPN offers `http/1.1` only, which
//! both WebSocket upgrades and the HTTP/1.1-only HTTP client require.

use std::sync::Arc;

/// The TLS client configuration (certificate verification always on).
pub(super) fn client_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
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
    #[test]
    fn config_builds_with_roots_and_http1_alpn() {
        let config = super::client_config().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(!config.crypto_provider().cipher_suites.is_empty());
    }
}
