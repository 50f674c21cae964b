//! Parlant wire format: the REST API of the Parlant server (sessions and events), as used by
//! `parlant-react-chat-architecture.md`.
//!
//! - `POST /sessions?allow_greeting=false` with `{"agent_id", "customer_id"?, "title"?}` creates a
//!   session and answers `{"id", "agent_id", "customer_id", "creation_utc", ...}`.
//! - `POST /sessions/{id}/events?moderation=auto` with
//!   `{"kind":"message","source":"customer","message":"hi"}` appends a customer message and
//!   answers the stored event.
//! - `GET /sessions/{id}/events?min_offset=N&wait_for_data=S` long-polls: it answers the events
//!   with `offset >= N` (inclusive) as soon as there is at least one, or `504` after `S`
//!   seconds with nothing new.
//! - An event is `{"id","source","kind","offset","creation_utc","correlation_id","data",
//!   "deleted"}`; `kind` is `message`, `status`, `tool` or `custom`; `source` is `customer`,
//!   `ai_agent`, `human_agent`, `human_agent_on_behalf_of_ai_agent` or `system`.
//! - `status` data: `{"status": "acknowledged"|"cancelled"|"processing"|"typing"|"ready"|"error",
//!   "acknowledged_offset", "data": {"stage"?, "exception"?}}`.
//! - `tool` data: `{"tool_calls": [{"tool_id", "arguments", "result": {"data", ..}}]}`.
//! - streamed `message` data carries `chunks`: the same event (same id and offset) is served
//!   again with more chunks, and the list ends with `null` once the message is complete.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::dialect::codec_kit::{int_field, parse_json, str_field, timestamp_field};

/// One Parlant event, read tolerantly.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub id: String,
    pub offset: u64,
    pub kind: String,
    pub source: String,
    pub correlation_id: Option<String>,
    pub timestamp_ms: Option<i64>,
    pub deleted: bool,
    pub data: Value,
    /// The event as received, for the envelope's `raw`.
    pub raw: Value,
}

/// Parses the answer of the events endpoint: a JSON array of events (or `{"events": [...]}`).
/// Entries that are not objects or lack an offset are reported as errors alongside the good
/// ones, so one bad entry does not hide the rest.
pub(crate) fn parse_events(body: &[u8]) -> Result<Vec<Result<Event, String>>, String> {
    let list = match parse_json(body)? {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("events") {
            Some(Value::Array(a)) => a,
            _ => return Err("events answer is an object without `events`".into()),
        },
        _ => return Err("events answer is not a JSON array".into()),
    };
    Ok(list.into_iter().map(parse_event).collect())
}

/// Reads the one event of a `POST /sessions/{id}/events` answer.
pub(crate) fn parse_json_event(body: &[u8]) -> Option<Event> {
    parse_event(parse_json(body).ok()?).ok()
}

/// Reads one event object.
pub(crate) fn parse_event(v: Value) -> Result<Event, String> {
    let Value::Object(o) = &v else {
        return Err("event is not a JSON object".into());
    };
    let offset = int_field(o, &["offset"])
        .filter(|n| *n >= 0)
        .ok_or_else(|| "event has no valid `offset`".to_string())? as u64;
    Ok(Event {
        id: str_field(o, &["id"]).unwrap_or_else(|| format!("offset-{offset}")),
        offset,
        kind: str_field(o, &["kind"]).unwrap_or_default(),
        source: str_field(o, &["source"]).unwrap_or_default(),
        correlation_id: str_field(o, &["correlation_id", "correlationId"]),
        timestamp_ms: timestamp_field(o, &["creation_utc", "creationUtc", "created_at"]),
        deleted: matches!(o.get("deleted"), Some(Value::Bool(true))),
        data: o.get("data").cloned().unwrap_or(Value::Null),
        raw: v.clone(),
    })
}

/// What a message event's data says about its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageText {
    /// The text so far (the chunks joined, or `message`).
    pub text: String,
    /// `false` while more chunks will follow (chunks present and not ended by `null`).
    pub complete: bool,
    /// How many chunks the event had (0 for a non-streamed message).
    pub chunks: usize,
}

/// Reads the text of a `message` event's data.
pub(crate) fn message_text(data: &Value) -> MessageText {
    let obj = data.as_object();
    let chunks = obj.and_then(|o| o.get("chunks")).and_then(Value::as_array);
    let message = obj
        .and_then(|o| str_field(o, &["message"]))
        .unwrap_or_default();
    match chunks {
        Some(list) if !list.is_empty() => {
            let complete = matches!(list.last(), Some(Value::Null));
            let text: String = list.iter().filter_map(Value::as_str).collect();
            // A finished message also carries the full `message`; prefer it when longer.
            let text = if complete && message.chars().count() > text.chars().count() {
                message
            } else {
                text
            };
            MessageText {
                text,
                complete,
                chunks: list.len(),
            }
        }
        Some(_) => MessageText {
            text: message,
            complete: false,
            chunks: 0,
        },
        None => MessageText {
            text: message,
            complete: true,
            chunks: 0,
        },
    }
}

/// A `status` event's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub status: String,
    pub stage: Option<String>,
    pub exception: Option<String>,
}

/// Reads a `status` event's data.
pub(crate) fn status(data: &Value) -> Status {
    let empty = Map::new();
    let o = data.as_object().unwrap_or(&empty);
    let inner = o.get("data").and_then(Value::as_object).unwrap_or(&empty);
    Status {
        status: str_field(o, &["status"]).unwrap_or_default(),
        stage: str_field(inner, &["stage"]),
        exception: str_field(inner, &["exception", "error", "message"]),
    }
}

/// One call of a `tool` event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolCall {
    pub tool_id: String,
    pub arguments: Value,
    pub result: Value,
    pub error: Option<String>,
}

/// Reads the `tool_calls` of a `tool` event's data.
pub(crate) fn tool_calls(data: &Value) -> Vec<ToolCall> {
    let calls = data.get("tool_calls").and_then(Value::as_array);
    calls
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|c| {
            let result = c.get("result").cloned().unwrap_or(Value::Null);
            let error = result
                .as_object()
                .and_then(|r| str_field(r, &["error", "exception"]))
                .or_else(|| str_field(c, &["error"]));
            ToolCall {
                tool_id: str_field(c, &["tool_id", "toolId", "name"])
                    .unwrap_or_else(|| "tool".into()),
                arguments: c.get("arguments").cloned().unwrap_or(Value::Null),
                result: result.get("data").cloned().unwrap_or(result),
                error,
            }
        })
        .collect()
}

/// The body of `POST /sessions`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct CreateSession<'a> {
    pub agent_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<&'a str>,
}

/// The body of `POST /sessions/{id}/events` for a customer message.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct CreateMessageEvent<'a> {
    pub kind: &'static str,
    pub source: &'static str,
    pub message: &'a str,
}

/// Serialises a request body (cannot fail for these plain structs; `{}` is the fallback).
pub(crate) fn encode<T: Serialize>(body: &T) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec())
}

/// The session id from the answer of `POST /sessions`.
pub(crate) fn parse_session_id(body: &[u8]) -> Option<String> {
    match parse_json(body).ok()? {
        Value::Object(o) => str_field(&o, &["id", "session_id"]),
        _ => None,
    }
}
