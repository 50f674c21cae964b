//! The README's Rust example: connect, send, print the streamed reply.
//! Run `cargo run -p chatwire-cli -- mock` in one terminal, then
//! `cargo run -p chatwire-cli --example quickstart -- http://127.0.0.1:8080` in another.

use chatwire::client::{Client, DialectKind};
use chatwire::event::{Event, TextUpdate};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or("http://127.0.0.1:8080".into());
    let client = Client::builder(DialectKind::Native, url).build()?;
    let mut events = client.events(); // subscribe first: nothing is missed
    let receipt = client.send("hello").await?;
    while let Some(envelope) = events.next().await {
        match envelope.event {
            Event::TextDelta {
                update: TextUpdate::Append { text, .. },
                ..
            } => print!("{text}"),
            Event::TextDelta {
                update: TextUpdate::Replace { text },
                ..
            } => print!("\r{text}"),
            Event::ToolStarted { name, .. } => println!("[calling {name}]"),
            event if event.is_turn_terminal() => break,
            _ => {}
        }
    }
    println!(
        "\nmessage {} -> {:?}",
        receipt.client_id(),
        receipt.acked().await?
    );
    client.close().await;
    Ok(())
}
