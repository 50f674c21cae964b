//! The uniffi surface of the client against `chatwire-mock` over real sockets, exactly as a
//! foreign caller drives it: a client from options JSON, a pulled subscription, a receipt, a
//! token provider (answering, failing, never answering), shutdown and cancel.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chatwire::ErrorCode;
use chatwire_ffi::{
    ChatClient, ConnectionState, DeliveryStatus, Event, EventSubscription, TextUpdate, TokenError,
    TokenProvider,
};
use chatwire_mock::{MockConfig, MockServer};

async fn mock(config: MockConfig) -> MockServer {
    chatwire_mock::spawn(config.seed(1)).await.unwrap()
}

fn options(dialect: &str, mock: &MockServer) -> String {
    format!(
        r#"{{"dialect":"{dialect}","baseUrl":"{}","seed":7}}"#,
        mock.base_url()
    )
}

/// Pulls events until the turn ends; returns the assembled reply text and the event types seen.
async fn reply(events: &EventSubscription) -> (String, Vec<&'static str>) {
    let (mut text, mut kinds) = (String::new(), Vec::new());
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), events.next());
        let env = next
            .await
            .expect("an event within 10 s")
            .expect("not closed");
        kinds.push(env.event.type_name());
        match &env.event {
            Event::TextDelta {
                update: TextUpdate::Append { text: t, .. },
                ..
            } => text.push_str(t),
            Event::TextDelta {
                update: TextUpdate::Replace { text: t },
                ..
            } => text.clone_from(t),
            _ => {}
        }
        let parsed: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
        assert_eq!(parsed["seq"], env.seq, "the JSON is the same envelope");
        if env.is_turn_terminal() {
            return (text, kinds);
        }
    }
}

async fn hello_on(dialect: &str) {
    let mock = mock(MockConfig::default()).await;
    let client = ChatClient::new(options(dialect, &mock)).unwrap();
    let events = client.subscribe();
    let receipt = client.send("hello".into()).await.unwrap();
    assert_eq!(receipt.client_id().len(), 36, "a UUID");
    let (text, kinds) = reply(&events).await;
    assert_eq!(text, "You said: hello", "{dialect}: {kinds:?}");
    assert_eq!(kinds.last(), Some(&"turnCompleted"), "{dialect}");
    assert_eq!(
        receipt.acked().await,
        Ok(DeliveryStatus::Acked),
        "{dialect}"
    );
    assert_eq!(receipt.status(), DeliveryStatus::Acked);
    assert_eq!(client.state(), ConnectionState::Ready);
    let stats = client.stats();
    assert_eq!(
        (stats.sent, stats.acked, stats.failed),
        (1, 1, 0),
        "{dialect}"
    );
    client.shutdown().await;
    assert_eq!(client.state(), ConnectionState::Closed);
    // After shutdown the subscription drains what is left, then ends, and stays ended.
    while events.next().await.is_some() {}
    assert!(events.next().await.is_none());
    let err = client.send("late".into()).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_streams_the_reply() {
    hello_on("native").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_interfaces_streams_the_reply() {
    hello_on("chat-interfaces").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_streams_the_reply() {
    hello_on("openai").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_wakes_a_pending_next_and_ends_the_subscription() {
    let json = r#"{"dialect":"native","baseUrl":"http://127.0.0.1:9"}"#;
    let client = ChatClient::new(json.into()).unwrap();
    let events = client.subscribe();
    let pending = tokio::spawn({
        let events = events.clone();
        async move { events.next().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    events.cancel();
    let woke = tokio::time::timeout(Duration::from_secs(5), pending).await;
    assert_eq!(woke.unwrap().unwrap(), None);
    assert!(events.next().await.is_none());
    events.cancel(); // idempotent
}

struct Tokens {
    token: Option<&'static str>,
    calls: AtomicU32,
}

#[async_trait::async_trait]
impl TokenProvider for Tokens {
    async fn token(&self) -> Result<String, TokenError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.token {
            Some(t) => Ok(t.into()),
            None => std::future::pending().await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_provider_authenticates_the_client() {
    let mock = mock(MockConfig::default().bearer_token("t-1")).await;
    let provider = Arc::new(Tokens {
        token: Some("t-1"),
        calls: AtomicU32::new(0),
    });
    let client =
        ChatClient::with_token_provider(options("native", &mock), provider.clone(), 0).unwrap();
    let events = client.subscribe();
    client.send("hello".into()).await.unwrap();
    assert_eq!(reply(&events).await.0, "You said: hello");
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_provider_that_never_answers_times_out_instead_of_wedging() {
    let mock = mock(MockConfig::default().bearer_token("t-1")).await;
    let provider = Arc::new(Tokens {
        token: None,
        calls: AtomicU32::new(0),
    });
    let json = format!(
        r#"{{"dialect":"native","baseUrl":"{}","backoff":{{"baseMs":10,"capMs":20,"networkMinMs":10}}}}"#,
        mock.base_url()
    );
    let client = ChatClient::with_token_provider(json, provider.clone(), 50).unwrap();
    client.send("hello".into()).await.unwrap();
    // Each call times out after 50 ms and is retried: the client keeps asking instead of
    // hanging on the first call.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while provider.calls.load(Ordering::SeqCst) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            client.state()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Shutdown still completes promptly.
    tokio::time::timeout(Duration::from_secs(5), client.shutdown())
        .await
        .unwrap();
    assert_eq!(client.state(), ConnectionState::Closed);
}
