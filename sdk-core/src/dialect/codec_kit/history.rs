//! Reading a backend's message history to recover replies cut by a dropped connection (miptech
//! `GET /api/v1/chat/{id}/messages`, chat-v2 `GET /v2/chat/{session}/history`), instead of
//! sending the user's message again.
//!
//! Guarantees: parsing is tolerant and total (a list under `messages`, `data.messages`, `data`
//! or at the top; ids and `reply_to` under their usual aliases; entries that are not objects or
//! have no content are skipped). [`reply_for`] only pairs a reply with a user message when the
//! history says so — the reply's `reply_to` names the user message, or its id is the reply id
//! the client already saw streaming — never by position: turns of one conversation can
//! interleave in a history (a second message accepted while the first is answered), and a
//! failed turn leaves no reply, so guessing by position could show the wrong answer.

use serde_json::{Map, Value};

use super::errors::http_failure;
use super::{int_field, parse_json, str_field};
use crate::dialect::{Failure, FailureKind};

/// A history answer as the dialect got it: `Ok((status, headers, body))`, or the error of a
/// request that failed.
pub(crate) type Answer<'a> = Result<(u16, &'a [(String, String)], &'a [u8]), &'a str>;

/// What a dialect does with a history answer.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The listing, oldest first.
    Entries(Vec<Entry>),
    /// A passing failure (a rate limit, a busy, restarting or unreachable server, a token that
    /// expired: the session asks for a new one before reconnecting): the dialect
    /// fails the connection with it, so the engine's backoff, honouring `Retry-After`, paces
    /// the next connection, which asks the history again. Giving up instead would lose a reply
    /// that only the history still holds.
    Retry(Failure),
    /// A failure another try cannot mend (a 4xx other than 429, a body that is not a listing):
    /// reported, and the cut turns end with the turn timeout.
    GiveUp(String),
}

/// Reads a history answer.
pub(crate) fn read(answer: Answer<'_>) -> Outcome {
    match answer {
        Ok((status, _, body)) if (200..300).contains(&status) => match parse(body) {
            Some(entries) => Outcome::Entries(entries),
            None => Outcome::GiveUp("the history answer is not a message list".into()),
        },
        Ok((status, headers, body)) => {
            let mut failure = http_failure(status, headers, body);
            failure.message = format!("the history answered {}", failure.message);
            match failure.kind {
                FailureKind::RateLimited
                | FailureKind::Auth
                | FailureKind::Server
                | FailureKind::ServerRestart
                | FailureKind::Initializing => Outcome::Retry(failure),
                _ => Outcome::GiveUp(format!("the history answered HTTP {status}")),
            }
        }
        Err(error) => Outcome::Retry(Failure::network(format!(
            "the history request failed: {error}"
        ))),
    }
}

/// One message of a history listing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub id: Option<String>,
    pub role: String,
    pub content: String,
    /// For a reply: the server id of the user message it answers.
    pub reply_to: Option<String>,
    pub timestamp_ms: Option<i64>,
    /// The entry as listed.
    pub raw: Value,
}

/// The entries of a history response body, oldest first; `None` when the body is not a
/// history listing at all.
pub(crate) fn parse(body: &[u8]) -> Option<Vec<Entry>> {
    let top = parse_json(body).ok()?;
    let list = match &top {
        Value::Array(list) => list,
        Value::Object(o) => match (o.get("messages"), o.get("data")) {
            (Some(Value::Array(list)), _) | (_, Some(Value::Array(list))) => list,
            (_, Some(Value::Object(d))) => match d.get("messages") {
                Some(Value::Array(list)) => list,
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    };
    Some(list.iter().filter_map(entry).collect())
}

/// The reply to user message `user_msg` (server id) in `entries`: an assistant entry whose
/// `reply_to` is `user_msg`, or whose id is `known_reply` (the reply id seen streaming).
pub(crate) fn reply_for<'a>(
    entries: &'a [Entry],
    user_msg: Option<&str>,
    known_reply: Option<&str>,
) -> Option<&'a Entry> {
    entries.iter().find(|e| {
        e.role != "user"
            && ((user_msg.is_some() && e.reply_to.as_deref() == user_msg)
                || (known_reply.is_some() && e.id.as_deref() == known_reply))
    })
}

fn entry(v: &Value) -> Option<Entry> {
    let o: &Map<String, Value> = v.as_object()?;
    let content = match o.get("content").or_else(|| o.get("message")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) => str_field(m, &["content", "text"])?,
        _ => str_field(o, &["text"])?,
    };
    Some(Entry {
        id: str_field(o, &["id", "message_id", "messageId"]),
        role: str_field(o, &["role", "sender", "source"]).unwrap_or_else(|| "assistant".into()),
        content,
        reply_to: str_field(
            o,
            &[
                "reply_to",
                "replyTo",
                "in_reply_to",
                "inReplyTo",
                "parent_id",
            ],
        ),
        timestamp_ms: int_field(o, &["created_at", "timestamp", "ts"]),
        raw: v.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_shapes_and_pairs_only_what_the_history_pairs() {
        let body = br#"{"chat_id":"c","messages":[
            {"id":"msg-3","role":"user","content":"one","created_at":1,"reply_to":null},
            {"id":"msg-5","role":"user","content":"two","created_at":2},
            {"id":"msg-4","role":"assistant","content":"You said: one","reply_to":"msg-3"},
            {"id":"msg-9","role":"assistant","content":"streamed"},
            7, {"id":"x"}]}"#;
        let entries = parse(body).unwrap();
        assert_eq!(
            entries.len(),
            4,
            "non-objects and entries without content are skipped"
        );
        let one = reply_for(&entries, Some("msg-3"), None).unwrap();
        assert_eq!(one.content, "You said: one");
        assert_eq!(
            reply_for(&entries, Some("msg-5"), None),
            None,
            "the reply after it answers another message: never paired by position"
        );
        let by_id = reply_for(&entries, Some("msg-5"), Some("msg-9")).unwrap();
        assert_eq!(by_id.content, "streamed");
        assert_eq!(
            reply_for(&entries, None, Some("msg-5")),
            None,
            "a user message is never a reply"
        );
        for body in [
            &br#"[{"role":"assistant","content":"a","replyTo":"u"}]"#[..],
            br#"{"data":{"messages":[{"role":"assistant","content":"a","replyTo":"u"}]}}"#,
            br#"{"data":[{"role":"assistant","message":{"content":"a"},"in_reply_to":"u"}]}"#,
        ] {
            let e = parse(body).unwrap();
            assert_eq!(
                reply_for(&e, Some("u"), None).map(|e| e.content.as_str()),
                Some("a")
            );
        }
        assert_eq!(parse(b"<html>"), None);
        assert_eq!(parse(br#"{"detail":"not found"}"#), None);
    }

    /// A listing is read; a passing failure is retried on a new connection, with the server's
    /// hint; one another try cannot mend is given up.
    #[test]
    fn answers_are_read_retried_or_given_up() {
        let listing = br#"{"messages":[{"id":"a","role":"assistant","content":"x"}]}"#;
        assert!(matches!(read(Ok((200, &[], listing))), Outcome::Entries(e) if e.len() == 1));
        assert!(matches!(
            read(Ok((200, &[], b"<html>"))),
            Outcome::GiveUp(_)
        ));
        let hint = [("retry-after".to_string(), "3".to_string())];
        match read(Ok((429, &hint, b""))) {
            Outcome::Retry(f) => {
                assert_eq!(f.kind, FailureKind::RateLimited);
                assert_eq!(f.retry_after, Some(std::time::Duration::from_secs(3)));
                assert!(
                    f.message.starts_with("the history answered HTTP 429"),
                    "{}",
                    f.message
                );
            }
            other => panic!("429: {other:?}"),
        }
        for status in [500, 502, 503] {
            assert!(
                matches!(read(Ok((status, &[], b""))), Outcome::Retry(_)),
                "{status}"
            );
        }
        assert!(
            matches!(read(Ok((401, &[], b""))), Outcome::Retry(f) if f.kind == FailureKind::Auth)
        );
        for status in [400, 404, 422] {
            assert!(
                matches!(read(Ok((status, &[], b""))), Outcome::GiveUp(_)),
                "{status}"
            );
        }
        assert!(matches!(
            read(Err("timed out")),
            Outcome::Retry(f) if f.kind == FailureKind::Network
        ));
    }
}
