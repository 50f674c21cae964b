//! MIPTech wire format: the REST bodies and WebSocket frames of
//! `miptech-websocket-integration.md`, parsed tolerantly into typed frames.
//!
//! Seed, "Event Normalization": the platform's frames vary across backend versions, so before
//! anything reads a frame it is normalised:
//!
//! - the event name comes from `type` (or legacy `event` / `event_type`);
//! - the fields of the `data` object and the top-level fields are merged into one map
//!   (`data` wins), so flat legacy frames (`{"type":"response_chunk","message_id":..}`) read
//!   the same as wrapped ones;
//! - every key is rewritten to camelCase, recursively ("`message_id` -> `messageId`");
//! - the timestamp is taken from `eventTs`, `timestamp`, `ts` or `createdAt`, in seconds,
//!   milliseconds or RFC 3339, and left `None` when absent (the engine stamps it).
//!
//! Outbound frames follow the seed's "Outgoing Message Format":
//! `{"type":"chat_message","data":{"message","chat_id","tenant_id"},"timestamp","clientId"}`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::dialect::codec_kit::{
    ErrorBody, bool_field, int_field, parse_json, str_field, timestamp_field,
};

/// One server frame after normalisation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    /// The event name as sent (`response_chunk`, ...).
    pub name: String,
    /// Merged, camelCased fields.
    pub fields: Map<String, Value>,
    /// Server timestamp in Unix milliseconds, when the frame had one.
    pub timestamp_ms: Option<i64>,
    /// The server's event id (`event_id`, `{chat_id}:{seq}`), stable across replays.
    pub event_id: Option<String>,
    /// What the frame means.
    pub kind: Inbound,
    /// The frame as received (before normalisation).
    pub raw: Value,
}

/// The meaning of a server frame.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub(crate) enum Inbound {
    /// `connection_established`: the socket is open (not yet ready).
    Established { client_id: Option<String> },
    /// `connection_ready`: the platform can take messages (seed: within 10 s).
    Ready,
    /// The answer to `join_chat` (`chat_joined`, `join_chat_ack`, `joined`, ...).
    Joined { chat_id: Option<String> },
    /// `message_received`: the user message is stored (the ack).
    MessageReceived {
        message_id: Option<String>,
        client_id: Option<String>,
    },
    /// `processing`: the AI started working on a message.
    Processing {
        message_id: Option<String>,
        stage: Option<String>,
    },
    /// `response_start`: a streamed assistant message begins.
    ResponseStart {
        message_id: Option<String>,
        reply_to: Option<String>,
    },
    /// `response_chunk`: a piece of the streamed message.
    ResponseChunk {
        message_id: Option<String>,
        content: String,
        index: Option<i64>,
    },
    /// `response_complete`: the final assistant message.
    ResponseComplete(Completed),
    /// A tool call began (`tool_call_start`, `tool_start`, `tool_call_started`).
    ToolStart {
        /// The user message whose turn runs the tool (`message_id`), when the frame names it.
        message_id: Option<String>,
        tool_id: Option<String>,
        name: String,
        args: Value,
    },
    /// Progress of a tool call (`processing` with stage `tool_progress`).
    ToolProgress {
        message_id: Option<String>,
        tool_id: Option<String>,
        message: String,
    },
    /// A tool call ended (`tool_call_complete`, `tool_end`, `tool_result`, ...).
    ToolEnd {
        message_id: Option<String>,
        tool_id: Option<String>,
        name: Option<String>,
        output: Value,
        error: Option<String>,
    },
    /// `typing_start` / `typing_stop` / `typing` from another participant.
    Typing { participant: String, active: bool },
    /// `ping` from the server (answer with `pong`).
    Ping,
    /// `pong` (answer to our ping).
    Pong,
    /// `error` with the seed's body `{detail,type,code,retryable}`.
    Error(ErrorBody),
    /// Any other event name.
    Unknown,
}

/// The fields of `response_complete` (`data.message` in the seed).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Completed {
    pub message_id: Option<String>,
    /// The user message this answers.
    pub reply_to: Option<String>,
    pub content: String,
    pub role: String,
    pub model: Option<String>,
    pub total_tokens: Option<i64>,
    pub response_time_ms: Option<i64>,
}

/// Why a frame could not be read at all.
pub(crate) type FrameError = String;

/// Parses one text frame. Malformed JSON, invalid UTF-8, a non-object or a frame without an
/// event name are errors (the codec turns them into `Protocol` error events).
pub(crate) fn parse_frame(bytes: &[u8]) -> Result<Frame, FrameError> {
    let Value::Object(top) = parse_json(bytes)? else {
        return Err("frame is not a JSON object".into());
    };
    let name = str_field(&top, &["type", "event", "event_type", "eventType"])
        .ok_or_else(|| "frame has no `type`".to_string())?;
    let fields = normalize(&top);
    let timestamp_ms = timestamp_field(&fields, &["eventTs", "timestamp", "ts", "createdAt"]);
    let event_id = str_field(&fields, &["eventId"]);
    let kind = classify(&name, &fields);
    Ok(Frame {
        name,
        fields,
        timestamp_ms,
        event_id,
        kind,
        raw: Value::Object(top),
    })
}

/// Merges `data` into the top level (data wins) and camelCases every key, recursively.
pub(crate) fn normalize(top: &Map<String, Value>) -> Map<String, Value> {
    let mut merged = Map::new();
    for (k, v) in top {
        if k != "data" {
            merged.insert(camel_case(k), camel_value(v));
        }
    }
    if let Some(Value::Object(data)) = top.get("data") {
        for (k, v) in data {
            merged.insert(camel_case(k), camel_value(v));
        }
    }
    merged
}

fn camel_value(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (camel_case(k), camel_value(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(camel_value).collect()),
        other => other.clone(),
    }
}

/// `message_id` -> `messageId`, `chat-id` -> `chatId`; camelCase keys are kept as they are.
pub(crate) fn camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for (i, c) in key.chars().enumerate() {
        if (c == '_' || c == '-') && i > 0 {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn classify(name: &str, f: &Map<String, Value>) -> Inbound {
    let message_id = || str_field(f, &["messageId", "responseId", "id"]);
    let nested = |key: &str| match f.get(key) {
        Some(Value::Object(m)) => Some(m.clone()),
        _ => None,
    };
    match name {
        "connection_established" | "connected" => Inbound::Established {
            client_id: str_field(f, &["clientId", "connectionId"]),
        },
        "connection_ready" | "ready" => Inbound::Ready,
        "chat_joined" | "join_chat_ack" | "joined_chat" | "joined" | "join_chat" => {
            Inbound::Joined {
                chat_id: str_field(f, &["chatId"]),
            }
        }
        "message_received" | "message_ack" => {
            let inner = nested("message").unwrap_or_default();
            Inbound::MessageReceived {
                message_id: str_field(f, &["messageId"]).or_else(|| str_field(&inner, &["id"])),
                client_id: str_field(f, &["clientMessageId", "clientId", "idempotencyKey"])
                    .or_else(|| str_field(&inner, &["clientMessageId", "clientId"])),
            }
        }
        "processing" | "ai_processing" => match (tool_stage(f), nested("tool")) {
            (Some(stage), Some(tool)) => tool_frame(stage, &tool, str_field(f, &["messageId"])),
            _ => Inbound::Processing {
                message_id: str_field(f, &["messageId"]),
                stage: str_field(f, &["stage", "step"]),
            },
        },
        "response_start" | "stream_start" => Inbound::ResponseStart {
            message_id: message_id(),
            reply_to: str_field(f, &["replyTo"]),
        },
        "response_chunk" | "stream_chunk" => Inbound::ResponseChunk {
            message_id: message_id(),
            content: str_field(f, &["content", "chunk", "delta", "text"]).unwrap_or_default(),
            index: int_field(f, &["chunkIndex", "index", "seq", "sequence"]),
        },
        "response_complete" | "response" | "message_response" => {
            let m = nested("message").unwrap_or_else(|| f.clone());
            Inbound::ResponseComplete(Completed {
                message_id: str_field(&m, &["id", "messageId"]).or_else(message_id),
                reply_to: str_field(f, &["replyTo"]),
                content: str_field(&m, &["content", "text", "message"]).unwrap_or_default(),
                role: str_field(&m, &["role"]).unwrap_or_else(|| "assistant".into()),
                model: str_field(&m, &["llmModel", "model"]),
                total_tokens: int_field(&m, &["totalTokens", "tokens"]),
                response_time_ms: int_field(&m, &["responseTimeMs"]),
            })
        }
        "tool_call_start" | "tool_call_started" | "tool_start" | "tool_call" => {
            Inbound::ToolStart {
                message_id: str_field(f, &["messageId"]),
                tool_id: str_field(f, &["toolCallId", "toolId", "callId", "id"]),
                name: str_field(f, &["name", "toolName", "tool"]).unwrap_or_else(|| "tool".into()),
                args: f
                    .get("arguments")
                    .or_else(|| f.get("args"))
                    .cloned()
                    .unwrap_or(Value::Null),
            }
        }
        "tool_call_complete"
        | "tool_call_completed"
        | "tool_end"
        | "tool_result"
        | "tool_call_failed"
        | "tool_error" => Inbound::ToolEnd {
            message_id: str_field(f, &["messageId"]),
            tool_id: str_field(f, &["toolCallId", "toolId", "callId", "id"]),
            name: str_field(f, &["name", "toolName", "tool"]),
            output: f
                .get("result")
                .or_else(|| f.get("output"))
                .cloned()
                .unwrap_or(Value::Null),
            error: str_field(f, &["error", "detail"])
                .or_else(|| name.ends_with("failed").then(|| "tool failed".to_string()))
                .or_else(|| name.ends_with("error").then(|| "tool failed".to_string())),
        },
        "typing_start" | "typing_stop" | "typing" | "typing_indicator" => Inbound::Typing {
            participant: str_field(f, &["userId", "participant", "role", "sender"])
                .unwrap_or_else(|| "assistant".into()),
            active: bool_field(f, &["isTyping", "active", "typing"])
                .unwrap_or(name != "typing_stop"),
        },
        "ping" => Inbound::Ping,
        "pong" | "heartbeat" => Inbound::Pong,
        "error" => Inbound::Error(ErrorBody::from_object(f)),
        _ => Inbound::Unknown,
    }
}

/// The tool stage of a `processing` frame (`tool_call`, `tool_progress`, `tool_result`).
fn tool_stage(f: &Map<String, Value>) -> Option<&'static str> {
    match str_field(f, &["stage"])?.as_str() {
        "tool_call" | "tool_start" => Some("tool_call"),
        "tool_progress" => Some("tool_progress"),
        "tool_result" | "tool_end" | "tool_error" => Some("tool_result"),
        _ => None,
    }
}

/// A tool frame from its fields (`{id, name, args}`, `{id, message}`, `{id, output | error}`);
/// `message_id` is the `processing` frame's own `message_id` (the turn the tool belongs to).
fn tool_frame(stage: &str, t: &Map<String, Value>, message_id: Option<String>) -> Inbound {
    let tool_id = str_field(t, &["id", "toolCallId", "toolId", "callId"]);
    let name = str_field(t, &["name", "toolName", "tool"]);
    match stage {
        "tool_call" => Inbound::ToolStart {
            message_id,
            tool_id,
            name: name.unwrap_or_else(|| "tool".into()),
            args: t
                .get("args")
                .or_else(|| t.get("arguments"))
                .cloned()
                .unwrap_or(Value::Null),
        },
        "tool_progress" => Inbound::ToolProgress {
            message_id,
            tool_id,
            message: str_field(t, &["message", "progress", "status"]).unwrap_or_default(),
        },
        _ => Inbound::ToolEnd {
            message_id,
            tool_id,
            name,
            output: t
                .get("output")
                .or_else(|| t.get("result"))
                .cloned()
                .unwrap_or(Value::Null),
            error: str_field(t, &["error"]),
        },
    }
}

/// A client frame: `{"type", "data", "timestamp", "clientId"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Outbound<T: Serialize> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub data: T,
    /// Milliseconds; omitted when the engine gave no wall clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(rename = "clientId", skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// `data` of `chat_message`. `client_message_id` repeats the top-level `clientId` inside `data`
/// for servers that only look there; both carry the idempotency key.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct ChatMessageData {
    pub message: String,
    pub chat_id: Option<String>,
    pub tenant_id: String,
    pub client_message_id: String,
}

/// `data` of `join_chat` / `leave_chat`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct ChatRef {
    pub chat_id: String,
}

/// Serialises a client frame (serialisation of these plain structs cannot fail; an empty
/// object is the defensive fallback).
pub(crate) fn encode<T: Serialize>(frame: &Outbound<T>) -> String {
    serde_json::to_string(frame).unwrap_or_else(|_| "{}".into())
}

/// The answer of `POST /api/v1/chat`: `{"id": "chat_123", ...}` or a variant
/// (`chat_id`, `chatId`, wrapped in `data` or `chat`). `None` when no id is found.
pub(crate) fn parse_created_chat(body: &[u8]) -> Option<String> {
    let Value::Object(top) = parse_json(body).ok()? else {
        return None;
    };
    let flat = normalize(&top);
    str_field(&flat, &["chatId", "id"]).or_else(|| match flat.get("chat") {
        Some(Value::Object(c)) => str_field(c, &["id", "chatId"]),
        _ => None,
    })
}
