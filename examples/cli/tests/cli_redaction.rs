//! Logs that never leak: `chatwire events` runs real turns on every dialect at trace level
//! (`RUST_LOG=trace`) with a bearer token, an API key, a secret header and a token in the
//! URL's query, against a mock that checks the bearer token, and through failures (a wrong
//! token, a query-carrying URL the backend does not know, a port nobody listens on). None of
//! the secrets may appear in the log output, in what the CLI prints, in `Debug` output or in
//! error messages.

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::Client;
use chatwire::client::DialectKind;
use chatwire_mock::MockConfig;
use std::process::Command;

const BEARER: &str = "bearer-Zq81-secret";
const WRONG_BEARER: &str = "wrong-Jd55-secret";
const API_KEY: &str = "apikey-Xk27-secret";
const HEADER_VALUE: &str = "header-Pv40-secret";
const URL_TOKEN: &str = "urltoken-Wm93-secret";
const SECRETS: [&str; 5] = [BEARER, WRONG_BEARER, API_KEY, HEADER_VALUE, URL_TOKEN];

/// Runs the CLI at trace level; returns (exit success, stdout + stderr).
fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chatwire"))
        .args(args)
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        .env_remove("CHATWIRE_API_KEY")
        .env_remove("CHATWIRE_TOKEN")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{what}: {secret:?} leaked into:\n{text}"
        );
    }
}

/// `events` with every credential option the dialect takes (native takes no API key; OpenAI and
/// the AI SDK dialect send their API key as the bearer token, so they get the token only: the
/// mock checks that one).
fn events(kind: DialectKind, url: &str, token: &str, extra: &[&str]) -> (bool, String) {
    let header = format!("X-Trace-Key: {HEADER_VALUE}");
    let mut args = vec![
        "events",
        "--dialect",
        kind.name(),
        "--url",
        url,
        "--message",
        "hello",
        "--token",
        token,
        "--header",
        &header,
        "--max-attempts",
        "1",
        "--timeout",
        "20",
    ];
    if !matches!(
        kind,
        DialectKind::Native | DialectKind::Openai | DialectKind::AiSdk
    ) {
        args.extend_from_slice(&["--api-key", API_KEY]);
    }
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn trace_logs_of_real_turns_show_no_credential() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime
        .block_on(chatwire_mock::spawn(
            MockConfig::default().seed(5).bearer_token(BEARER),
        ))
        .unwrap();
    let base = mock.base_url();
    for kind in DialectKind::ALL {
        for extra in [&[][..], &["--json"][..]] {
            let (ok, text) = events(kind, &base, BEARER, extra);
            assert!(ok, "{kind} {extra:?}: the turn did not complete:\n{text}");
            // the logs really were at trace level and told the connection's story
            assert!(text.contains("TRACE chatwire::engine"), "{kind}: {text}");
            assert!(text.contains("to=Ready"), "{kind}: {text}");
            assert_no_secret(&format!("{kind} {extra:?}"), &text);
        }
        let (ok, text) = events(kind, &base, WRONG_BEARER, &[]);
        // the mock checks bearer tokens on these dialects' connections
        let checked = matches!(
            kind,
            DialectKind::Native | DialectKind::ChatV2 | DialectKind::Openai | DialectKind::AiSdk
        );
        if checked {
            assert!(!ok, "{kind}: a wrong token was accepted:\n{text}");
            assert!(text.contains("WARN chatwire::engine"), "{kind}: {text}");
        }
        assert_no_secret(&format!("{kind} with a wrong token"), &text);
    }
    runtime.block_on(mock.shutdown());
}

#[test]
fn failing_urls_with_a_token_in_the_query_show_no_credential() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime
        .block_on(chatwire_mock::spawn(MockConfig::default().seed(6)))
        .unwrap();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let urls = [
        format!("{}/?access_token={URL_TOKEN}", mock.base_url()),
        format!("http://user:{URL_TOKEN}@127.0.0.1:{closed}/?access_token={URL_TOKEN}"),
    ];
    for kind in DialectKind::ALL {
        for url in &urls {
            let (ok, text) = events(kind, url, BEARER, &[]);
            assert!(!ok, "{kind} {url}: expected a failure:\n{text}");
            assert!(text.contains("error"), "{kind}: no error shown:\n{text}");
            assert_no_secret(&format!("{kind} failing"), &text);
        }
    }
    runtime.block_on(mock.shutdown());
}

#[test]
fn debug_output_and_build_errors_show_no_credential() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let query_url = format!("http://127.0.0.1:9/?access_token={URL_TOKEN}");
    for kind in DialectKind::ALL {
        let everything = Client::builder(kind, query_url.clone())
            .api_key(API_KEY)
            .bearer_token(BEARER)
            .header("X-Trace-Key", HEADER_VALUE)
            .param("token", URL_TOKEN);
        assert_no_secret("builder Debug", &format!("{everything:?}"));
        // the build refuses what the dialect does not take (an API key on native, a token
        // given twice): its error shows no credential either
        if let Err(e) = everything.build() {
            assert_no_secret("build error", &format!("{e} {e:?}"));
        }
        let mut builder = Client::builder(kind, query_url.clone())
            .bearer_token(BEARER)
            .header("X-Trace-Key", HEADER_VALUE);
        if kind != DialectKind::Native {
            builder = builder.api_key(API_KEY);
        }
        let client = builder.build().unwrap();
        assert_no_secret("client Debug", &format!("{client:?}"));
        for url in [
            format!("http://chat.example.com/?access_token={URL_TOKEN}"),
            format!("http://[::1/?access_token={URL_TOKEN}"),
            format!("ftp://x.example/?access_token={URL_TOKEN}"),
        ] {
            let err = Client::builder(kind, url)
                .api_key(API_KEY)
                .bearer_token(BEARER)
                .build()
                .unwrap_err();
            assert_no_secret("build error", &format!("{err} {err:?}"));
        }
        drop(client);
    }
    let json = format!(
        r#"{{"dialect":"chat-v2","baseUrl":"{query_url}","apiKey":"{API_KEY}","bearerToken":"{BEARER}","headers":{{"X-Trace-Key":"{HEADER_VALUE}"}}"#
    );
    let options = chatwire::ClientOptions::from_json(&format!("{json}}}")).unwrap();
    assert_no_secret("options Debug", &format!("{options:?}"));
    for bad in [
        format!("{json},\"noSuchKey\":1}}"),
        format!("{json},\"maxAttempts\":0}}"),
        json.clone(),
    ] {
        let shown = match chatwire::ClientOptions::from_json(&bad) {
            Ok(options) => format!("{:?}", options.validate()),
            Err(e) => format!("{e} {e:?}"),
        };
        assert_no_secret("options error", &shown);
    }
}
