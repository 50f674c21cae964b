//! chat-interfaces wire format (`chat-interfaces-phase2-sse.md`): REST under
//! `/api/public/chat-interfaces/{slug}` plus one SSE stream of agent events.
//!
//! Seed, Steps 4-6: `POST .../messages` with `{message, attachments?}` answers
//! `{executionId, threadId, status: "running"}`; `GET .../stream` sends a `connected` event,
//! then `token`, `message`, `tool_call_started/completed/failed` and
//! `execution:completed/failed`, with a keep-alive heartbeat every 15 s;
//! `GET .../sessions/{token}/messages` returns the thread history as
//! `{id, role, content, timestamp, toolCalls}`. Responses may come wrapped in the frontend's
//! `ApiResponse` (`{"success":true,"data":{..}}`); both shapes are accepted.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::dialect::codec_kit::{ErrorBody, int_field, parse_json, str_field, timestamp_field};

/// The meaning of one SSE event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub(crate) enum Inbound {
    /// `connected`: the stream is subscribed.
    Connected,
    /// `token`: a piece of the assistant's answer (`message_id` names the reply).
    Token {
        execution_id: Option<String>,
        message_id: Option<String>,
        text: String,
        index: Option<i64>,
    },
    /// `message`: a complete thread message.
    Message(HistoryMessage),
    /// `tool_call_started`.
    ToolStarted {
        tool_id: String,
        name: String,
        args: Option<Value>,
    },
    /// `tool_call_completed`.
    ToolCompleted { tool_id: String, output: Value },
    /// `tool_call_failed`.
    ToolFailed { tool_id: String, error: String },
    /// `execution:started` / `execution:running` (not in the seed, accepted).
    ExecutionStarted { execution_id: Option<String> },
    /// `execution:completed`.
    ExecutionCompleted {
        execution_id: Option<String>,
        final_text: Option<String>,
        usage: Option<(Option<i64>, Option<i64>, Option<i64>)>,
    },
    /// `execution:failed`.
    ExecutionFailed {
        execution_id: Option<String>,
        error: String,
    },
    /// `heartbeat` / `ping` / `keepalive` events (comments never reach the codec).
    Heartbeat,
    /// `error` events with an error body.
    Error(ErrorBody),
    /// Anything else.
    Unknown,
}

/// One message of the thread (`message` events and the history endpoint).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct HistoryMessage {
    pub id: Option<String>,
    pub role: String,
    pub content: String,
    pub timestamp_ms: Option<i64>,
    pub execution_id: Option<String>,
    /// The client id the message was sent with, when the server echoes it.
    pub client_id: Option<String>,
}

/// A parsed SSE event: its effective name, its JSON fields and its meaning.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parsed {
    pub name: String,
    pub fields: Map<String, Value>,
    pub timestamp_ms: Option<i64>,
    pub kind: Inbound,
}

/// Parses an SSE event given its `event:` name (empty means `message`) and `data:`. The data
/// must be JSON for every event but heartbeats; a `type` field in the data names the event when
/// the `event:` line is missing.
pub(crate) fn parse_event(event: &str, data: &str) -> Result<Parsed, String> {
    let mut name = if event.is_empty() { "message" } else { event }.to_string();
    let fields = match data.trim() {
        "" => Map::new(),
        text => match parse_json(text.as_bytes()) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(format!("`{name}` data is not a JSON object")),
            Err(e) if is_heartbeat(&name) => {
                let _ = e;
                Map::new()
            }
            Err(e) => return Err(format!("`{name}` event: {e}")),
        },
    };
    if name == "message" {
        if let Some(t) = str_field(&fields, &["type", "event"]) {
            if t != "message" && !t.is_empty() && KNOWN.contains(&t.as_str()) {
                name = t;
            }
        }
    }
    let inner = unwrap_data(&fields);
    let timestamp_ms = timestamp_field(&inner, &["timestamp", "createdAt", "created_at", "ts"]);
    let kind = classify(&name, &inner);
    Ok(Parsed {
        name,
        fields,
        timestamp_ms,
        kind,
    })
}

const KNOWN: &[&str] = &[
    "connected",
    "token",
    "tool_call_started",
    "tool_call_completed",
    "tool_call_failed",
    "execution:started",
    "execution:completed",
    "execution:failed",
    "heartbeat",
    "error",
];

fn is_heartbeat(name: &str) -> bool {
    matches!(name, "heartbeat" | "ping" | "keepalive" | "keep-alive")
}

/// `{"data": {...}}` (event bus envelope) -> the inner object, merged over the outer fields.
fn unwrap_data(fields: &Map<String, Value>) -> Map<String, Value> {
    let mut out = fields.clone();
    if let Some(Value::Object(inner)) = fields.get("data") {
        out.extend(inner.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out
}

const TOOL_ID: &[&str] = &["toolCallId", "tool_call_id", "id", "callId"];

fn classify(name: &str, f: &Map<String, Value>) -> Inbound {
    let execution_id = || str_field(f, &["executionId", "execution_id"]);
    match name {
        "connected" => Inbound::Connected,
        "token" | "delta" => Inbound::Token {
            execution_id: execution_id(),
            message_id: str_field(f, &["messageId", "message_id"]),
            text: str_field(f, &["token", "content", "delta", "text"]).unwrap_or_default(),
            index: int_field(f, &["index", "seq", "sequence", "tokenIndex"]),
        },
        "message" => {
            // `{message: {id, role, content, ..}, executionId}` or the flat message itself.
            let mut m = match f.get("message") {
                Some(Value::Object(inner)) => history_message(inner),
                _ => history_message(f),
            };
            m.execution_id = m.execution_id.or_else(execution_id);
            Inbound::Message(m)
        }
        "tool_call_started" => Inbound::ToolStarted {
            tool_id: str_field(f, TOOL_ID).unwrap_or_else(|| "tool".into()),
            name: str_field(f, &["toolName", "tool_name", "name"]).unwrap_or_else(|| "tool".into()),
            args: f
                .get("arguments")
                .or_else(|| f.get("args"))
                .or_else(|| f.get("input"))
                .cloned(),
        },
        "tool_call_completed" => Inbound::ToolCompleted {
            tool_id: str_field(f, TOOL_ID).unwrap_or_else(|| "tool".into()),
            output: f
                .get("result")
                .or_else(|| f.get("output"))
                .cloned()
                .unwrap_or(Value::Null),
        },
        "tool_call_failed" => Inbound::ToolFailed {
            tool_id: str_field(f, TOOL_ID).unwrap_or_else(|| "tool".into()),
            error: error_text(f).unwrap_or_else(|| "tool call failed".into()),
        },
        "execution:started" | "execution:running" => Inbound::ExecutionStarted {
            execution_id: execution_id(),
        },
        "execution:completed" => Inbound::ExecutionCompleted {
            execution_id: execution_id(),
            final_text: str_field(f, &["finalMessage", "final_message", "content", "output"])
                .or_else(|| match f.get("message").or_else(|| f.get("result")) {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Object(m)) => str_field(m, &["content", "text"]),
                    _ => None,
                }),
            usage: match f.get("usage") {
                Some(Value::Object(u)) => Some((
                    int_field(
                        u,
                        &[
                            "promptTokens",
                            "prompt_tokens",
                            "inputTokens",
                            "input_tokens",
                        ],
                    ),
                    int_field(
                        u,
                        &[
                            "completionTokens",
                            "completion_tokens",
                            "outputTokens",
                            "output_tokens",
                        ],
                    ),
                    int_field(u, &["totalTokens", "total_tokens"]),
                )),
                _ => None,
            },
        },
        "execution:failed" => Inbound::ExecutionFailed {
            execution_id: execution_id(),
            error: error_text(f).unwrap_or_else(|| "execution failed".into()),
        },
        n if is_heartbeat(n) => Inbound::Heartbeat,
        "error" => Inbound::Error(ErrorBody::from_object(f)),
        _ => Inbound::Unknown,
    }
}

fn error_text(f: &Map<String, Value>) -> Option<String> {
    match f.get("error") {
        Some(Value::Object(e)) => str_field(e, &["message", "detail"]),
        _ => str_field(f, &["error", "message", "detail"]),
    }
}

fn history_message(m: &Map<String, Value>) -> HistoryMessage {
    HistoryMessage {
        id: str_field(m, &["id", "messageId", "message_id"]),
        role: str_field(m, &["role", "sender"]).unwrap_or_else(|| "assistant".into()),
        content: str_field(m, &["content", "text", "message"]).unwrap_or_default(),
        timestamp_ms: timestamp_field(m, &["timestamp", "createdAt", "created_at"]),
        execution_id: str_field(m, &["executionId", "execution_id"]),
        client_id: str_field(
            m,
            &["clientMessageId", "client_message_id", "idempotencyKey"],
        ),
    }
}

/// The body of `POST .../messages` (seed `SendChatMessageInput`, plus the session token and the
/// client id for servers that read them from the body rather than the headers).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendMessage<'a> {
    pub message: &'a str,
    pub session_token: &'a str,
    pub client_message_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Value>,
}

/// Serialises a request body (cannot fail for these plain structs; `{}` is the fallback).
pub(crate) fn encode<T: Serialize>(body: &T) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec())
}

/// `POST .../messages` answer: `(executionId, threadId)`.
pub(crate) fn parse_send_response(body: &[u8]) -> Option<(String, Option<String>)> {
    let obj = unwrap_api_response(body)?;
    let exec = str_field(&obj, &["executionId", "execution_id"])?;
    Some((exec, str_field(&obj, &["threadId", "thread_id"])))
}

/// `POST .../sessions` answer: the session token (`sessionToken`, `token`, `session.token`).
pub(crate) fn parse_session_response(body: &[u8]) -> Option<String> {
    let obj = unwrap_api_response(body)?;
    str_field(&obj, &["sessionToken", "session_token", "token"]).or_else(|| {
        match obj.get("session") {
            Some(Value::Object(s)) => str_field(s, &["sessionToken", "token", "id"]),
            _ => None,
        }
    })
}

/// History endpoint answer: `{messages: [...]}` (or a bare array).
pub(crate) fn parse_history(body: &[u8]) -> Option<Vec<HistoryMessage>> {
    let list = match parse_json(body).ok()? {
        Value::Array(a) => a,
        Value::Object(top) => {
            let obj = match top.get("data") {
                Some(Value::Object(d)) => d.clone(),
                Some(Value::Array(a)) => return Some(objects(a).map(history_message).collect()),
                _ => top,
            };
            match obj.get("messages") {
                Some(Value::Array(a)) => a.clone(),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(objects(&list).map(history_message).collect())
}

fn objects(list: &[Value]) -> impl Iterator<Item = &Map<String, Value>> {
    list.iter().filter_map(Value::as_object)
}

fn unwrap_api_response(body: &[u8]) -> Option<Map<String, Value>> {
    let Value::Object(top) = parse_json(body).ok()? else {
        return None;
    };
    match top.get("data") {
        Some(Value::Object(d)) => Some(d.clone()),
        _ => Some(top),
    }
}
