//! A consumer of `chatwire` without default features: options from JSON, a [`Session`], one
//! connect and the transport operations it asks for. Built for `wasm32-unknown-unknown` by the
//! test command; its native test runs the same code.

use chatwire::session::{Session, SessionInput, SessionOutput, Transport};
use chatwire::{ClientOptions, Command, Instant};

/// Builds a session from `options_json`, connects, and returns the URLs of the transports it
/// asks the host to open.
///
/// Errors: the options' validation error, as text.
pub fn first_transports(options_json: &str) -> Result<Vec<String>, String> {
    let options = ClientOptions::from_json(options_json).map_err(|e| e.to_string())?;
    let mut session = Session::from_options(&options, 7, 0).map_err(|e| e.to_string())?;
    session
        .handle(Instant::ZERO, SessionInput::from(Command::Connect))
        .map_err(|e| e.to_string())?;
    let mut urls = Vec::new();
    while let Some(output) = session.poll() {
        match output {
            SessionOutput::Transport(Transport::OpenSocket { url, .. }) => urls.push(url),
            SessionOutput::Transport(Transport::Http(request)) => urls.push(request.url),
            _ => {}
        }
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    #[test]
    fn native_opens_its_socket_and_bad_options_are_refused() {
        let urls =
            super::first_transports(r#"{"dialect":"native","baseUrl":"http://127.0.0.1:9"}"#);
        assert!(matches!(urls.as_deref(), Ok([url]) if url.starts_with("ws://127.0.0.1:9")));
        let bad = super::first_transports(r#"{"dialect":"native","baseUrl":"http://example.com"}"#);
        assert!(bad.is_err());
    }
}
