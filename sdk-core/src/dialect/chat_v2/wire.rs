//! chat-v2 wire format (`chat-v2-websocket-architecture.md`): one WebSocket at
//! `/v2/chat/{session_id}` carrying JSON text frames tagged by `type`.
//!
//! Seed, "Message Flow": the client sends `text` and `audio` (PCM16, base64) messages; the
//! backend streams response `token`s and "sends final message with is_final flag"; tools are
//! announced with status `start` and `end`; audio input is answered with a `transcript`;
//! `ping`/`pong` keep the connection alive. Field names vary between backend revisions, so
//! each is read through a list of aliases (`content`/`text`/`token`/`delta`, `message_id`/
//! `messageId`/`id`, ...).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::dialect::codec_kit::{
    ErrorBody, bool_field, int_field, parse_json, str_field, timestamp_field,
};

/// One parsed server frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    /// The frame's `type`.
    pub name: String,
    /// The frame's fields (`data` merged in when the server wraps them).
    pub fields: Map<String, Value>,
    /// Server timestamp in Unix milliseconds, when present.
    pub timestamp_ms: Option<i64>,
    /// What the frame means.
    pub kind: Inbound,
    /// The frame as received.
    pub raw: Value,
}

/// The meaning of a chat-v2 server frame.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub(crate) enum Inbound {
    /// The session is open (`connected`, `session_started`, `ready`).
    Connected { session_id: Option<String> },
    /// The server stored a client message (`ack`, `message_received`); `duplicate` when the id
    /// was known (a re-send).
    Ack {
        client_id: Option<String>,
        message_id: Option<String>,
        duplicate: bool,
    },
    /// The turn answering user message `message_id` was cancelled.
    Cancelled { message_id: Option<String> },
    /// A streamed token; `is_final` marks the end of the message.
    Token(Token),
    /// A complete (non-streamed or final) assistant message.
    Message {
        message_id: Option<String>,
        content: String,
        is_final: bool,
    },
    /// A tool call changed state (`status`: `start` | `end` | `error`).
    Tool(Tool),
    /// Speech-to-text of an audio message.
    Transcript { text: String, is_final: bool },
    /// Synthesized speech (TTS) or other audio.
    Audio { format: String, data: String },
    /// Agent status (`thinking`, `processing`, ...).
    Status { stage: String },
    /// The server's liveness probe; answered with `pong`.
    Ping,
    /// The answer to our `ping`.
    Pong,
    /// `error` frames; `message_id` names the user message of a failed turn.
    Error {
        body: ErrorBody,
        message_id: Option<String>,
    },
    /// Anything else.
    Unknown,
}

/// A streamed token.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Token {
    pub message_id: Option<String>,
    pub content: String,
    /// Position of this token in its message, when the server numbers them.
    pub index: Option<i64>,
    /// `true` on the last frame of the message.
    pub is_final: bool,
}

/// A tool frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tool {
    pub tool_id: Option<String>,
    pub name: String,
    pub status: ToolStatus,
    pub args: Option<Value>,
    pub output: Value,
    pub error: Option<String>,
}

/// The `status` of a tool frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolStatus {
    Start,
    Progress,
    End,
    Error,
}

/// Parses one text frame; malformed input is an `Err` with a readable reason.
pub(crate) fn parse_frame(bytes: &[u8]) -> Result<Frame, String> {
    let Value::Object(top) = parse_json(bytes)? else {
        return Err("frame is not a JSON object".into());
    };
    let name = str_field(&top, &["type", "event"]).ok_or("frame has no `type`")?;
    let mut fields = top.clone();
    if let Some(Value::Object(data)) = top.get("data") {
        fields.extend(data.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let timestamp_ms = timestamp_field(&fields, &["timestamp", "ts", "created_at", "createdAt"]);
    let kind = classify(&name, &fields);
    Ok(Frame {
        name,
        fields,
        timestamp_ms,
        kind,
        raw: Value::Object(top),
    })
}

const TEXT: &[&str] = &["content", "text", "token", "delta", "message"];
const MESSAGE_ID: &[&str] = &["message_id", "messageId", "response_id", "responseId"];

fn classify(name: &str, f: &Map<String, Value>) -> Inbound {
    let is_final = bool_field(f, &["is_final", "isFinal", "final", "done"]).unwrap_or(false);
    match name {
        "connected" | "session_started" | "ready" | "welcome" => Inbound::Connected {
            session_id: str_field(f, &["session_id", "sessionId"]),
        },
        "ack" | "message_received" | "received" => Inbound::Ack {
            client_id: str_field(f, &["client_id", "clientId", "client_message_id", "id"]),
            message_id: str_field(f, MESSAGE_ID),
            duplicate: bool_field(f, &["duplicate"]).unwrap_or(false),
        },
        "cancelled" | "canceled" => Inbound::Cancelled {
            message_id: str_field(f, MESSAGE_ID),
        },
        "token" | "stream" | "chunk" | "text_delta" => Inbound::Token(Token {
            message_id: str_field(f, MESSAGE_ID),
            content: str_field(f, TEXT).unwrap_or_default(),
            index: int_field(f, &["index", "seq", "token_index", "tokenIndex", "offset"]),
            is_final,
        }),
        "message" | "text" | "response" | "final" => Inbound::Message {
            message_id: str_field(f, MESSAGE_ID).or_else(|| str_field(f, &["id"])),
            content: str_field(f, TEXT).unwrap_or_default(),
            is_final: bool_field(f, &["is_final", "isFinal", "final"]).unwrap_or(true),
        },
        "tool" | "tool_start" | "tool_end" | "tool_call" | "tool_progress" => {
            let status = str_field(f, &["status", "state", "phase"]).unwrap_or_default();
            let failed = f.get("error").is_some_and(|e| !e.is_null());
            let status = match (name, status.as_str()) {
                ("tool_start", _) | (_, "start" | "started" | "running") => ToolStatus::Start,
                ("tool_progress", _) | (_, "progress") => ToolStatus::Progress,
                (_, "error" | "failed") => ToolStatus::Error,
                _ if failed => ToolStatus::Error,
                _ => ToolStatus::End,
            };
            Inbound::Tool(Tool {
                tool_id: str_field(
                    f,
                    &[
                        "tool_call_id",
                        "toolCallId",
                        "tool_id",
                        "toolId",
                        "call_id",
                        "id",
                    ],
                ),
                name: str_field(f, &["name", "tool", "tool_name", "toolName"])
                    .unwrap_or_else(|| "tool".into()),
                status,
                args: f
                    .get("args")
                    .or_else(|| f.get("arguments"))
                    .or_else(|| f.get("input"))
                    .cloned(),
                output: f
                    .get("result")
                    .or_else(|| f.get("output"))
                    .cloned()
                    .unwrap_or(Value::Null),
                error: str_field(f, &["error", "message"]).filter(|_| status == ToolStatus::Error),
            })
        }
        "transcript" | "transcription" => Inbound::Transcript {
            text: str_field(f, TEXT).unwrap_or_default(),
            is_final: bool_field(f, &["is_final", "isFinal", "final"]).unwrap_or(true),
        },
        "audio" | "audio_chunk" | "tts" => Inbound::Audio {
            format: str_field(f, &["format", "encoding"]).unwrap_or_else(|| "pcm16".into()),
            data: str_field(f, &["data", "audio", "chunk"]).unwrap_or_default(),
        },
        "status" | "thinking" | "processing" => Inbound::Status {
            stage: str_field(f, &["status", "stage"]).unwrap_or_else(|| name.to_string()),
        },
        "ping" => Inbound::Ping,
        "pong" | "heartbeat" => Inbound::Pong,
        "error" => Inbound::Error {
            body: ErrorBody::from_object(f),
            message_id: str_field(f, MESSAGE_ID),
        },
        _ => Inbound::Unknown,
    }
}

/// `{"type":"text","content":..,"id":..,"client_id":..}`: a user text message. `id` and
/// `client_id` both carry the client id, the idempotency key.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct TextMessage<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub content: &'a str,
    pub id: String,
    pub client_id: String,
}

/// `{"type":"audio","data":<base64 PCM16>,"format":"pcm16","sample_rate":16000,..}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct AudioMessage {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub data: String,
    pub format: &'static str,
    pub sample_rate: u32,
    pub id: String,
    pub client_id: String,
}

/// `{"type":"ping"}` / `{"type":"pong"}` / `{"type":"cancel"}`: frames with only a type.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Bare {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// Serialises a client frame (cannot fail for these plain structs; `{}` is the fallback).
pub(crate) fn encode<T: Serialize>(frame: &T) -> String {
    serde_json::to_string(frame).unwrap_or_else(|_| "{}".into())
}
