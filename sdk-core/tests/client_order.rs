//! Message order on the REST dialects, through the real client and `chatwire-mock` over real
//! sockets: a burst of messages sent back to back reaches the server in send order, each once,
//! even when the server answers every request after a random delay (which reorders concurrent
//! requests).

#![allow(clippy::unwrap_used)] // tests may unwrap

use chatwire::Client;
use chatwire::client::DialectKind;
use chatwire_mock::{FaultSpec, MockConfig};
use std::time::Duration;

/// Sends five messages without waiting in between, waits for every ack, and checks the server's
/// record of the dialect: the five texts, each once, in send order.
async fn burst_arrives_in_send_order(kind: DialectKind, seed: u64) {
    let mock = chatwire_mock::spawn(MockConfig::default().seed(seed))
        .await
        .unwrap();
    mock.set_faults(FaultSpec {
        dialect: Some(kind.name().to_string()),
        seed: Some(seed),
        jitter_ms: Some(60),
        ..FaultSpec::default()
    })
    .unwrap();
    let client = Client::builder(kind, mock.base_url())
        .seed(seed)
        .build()
        .unwrap();
    let texts: Vec<String> = (1..=5).map(|n| format!("burst {n}")).collect();
    let mut receipts = Vec::new();
    for text in &texts {
        receipts.push(client.send(text.as_str()).await.unwrap());
    }
    for (text, receipt) in texts.iter().zip(&receipts) {
        let acked = tokio::time::timeout(Duration::from_secs(30), receipt.acked()).await;
        assert!(matches!(acked, Ok(Ok(_))), "{kind}: {text:?} not acked");
    }
    let received: Vec<_> = mock
        .received()
        .into_iter()
        .filter(|r| serde_json::to_value(r.dialect).ok() == Some(kind.name().into()))
        .collect();
    let order: Vec<&str> = received.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(order, texts, "{kind}: server-side order");
    assert!(
        received.iter().all(|r| r.times_received == 1),
        "{kind}: {received:?}"
    );
    client.close().await;
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_interfaces_burst_arrives_in_send_order() {
    burst_arrives_in_send_order(DialectKind::ChatInterfaces, 11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parlant_burst_arrives_in_send_order() {
    burst_arrives_in_send_order(DialectKind::Parlant, 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_burst_arrives_in_send_order() {
    burst_arrives_in_send_order(DialectKind::Openai, 13).await;
}
