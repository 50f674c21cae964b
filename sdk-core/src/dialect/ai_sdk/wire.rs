//! The AI SDK's UI message stream (`ai` package, `ui-message-stream/ui-message-chunks.ts`) and
//! the request `DefaultChatTransport` posts (`ui/http-chat-transport.ts`).
//!
//! Request: `POST {api}` with `Content-Type: application/json` and
//!
//! ```text
//! { ...body, id: options.chatId, messages: options.messages,
//!   trigger: options.trigger, messageId: options.messageId }
//! ```
//!
//! where `messages` are UI messages `{id, role, parts: [{type: "text", text}]}`, `trigger` is
//! `'submit-message' | 'regenerate-message'` and `messageId` is `this.lastMessage?.id` (the user
//! message being answered). Resume: `GET ${api}/${chatId}/stream`; "no active stream found, so
//! we do not resume" when `response.status === 204`.
//!
//! Response headers (`UI_MESSAGE_STREAM_HEADERS`): `content-type: text/event-stream`,
//! `x-vercel-ai-ui-message-stream: v1`. Body (`JsonToSseTransformStream`): each chunk as
//! `data: ${JSON.stringify(part)}\n\n`, and on flush `data: [DONE]\n\n`.
//!
//! The chunk schema (`uiMessageChunkSchema`, every object `z.looseObject`, unknown keys kept):
//!
//! ```text
//! text-start {id, providerMetadata?}          text-delta {id, delta}        text-end {id}
//! reasoning-start {id}   reasoning-delta {id, delta}   reasoning-end {id}
//! error {errorText}
//! tool-input-start {toolCallId, toolName, providerExecuted?, dynamic?, title?}
//! tool-input-delta {toolCallId, inputTextDelta}
//! tool-input-available {toolCallId, toolName, input, ...}
//! tool-input-error {toolCallId, toolName, input, errorText, ...}
//! tool-approval-request {approvalId, toolCallId}   tool-approval-response {approvalId, approved}
//! tool-output-available {toolCallId, output, preliminary?, ...}
//! tool-output-error {toolCallId, errorText, ...}   tool-output-denied {toolCallId}
//! custom {kind}   source-url {sourceId, url, title?}
//! source-document {sourceId, mediaType, title, filename?}
//! file {url, mediaType}   reasoning-file {url, mediaType}
//! data-${string} {id?, data, transient?}
//! start-step {}   finish-step {}   reset-step {}
//! start {messageId?, messageMetadata?}
//! finish {finishReason?: 'stop'|'length'|'content-filter'|'tool-calls'|'error'|'other',
//!         messageMetadata?}
//! abort {reason?}   message-metadata {messageMetadata}
//! ```

use serde::Serialize;
use serde_json::{Map, Value};

use crate::dialect::codec_kit::parse_json;

/// One `data:` payload of the stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    /// A chunk: its `type` and the whole object.
    Chunk(Chunk),
    /// The closing `[DONE]`.
    Done,
}

/// A UI message chunk, typed by its `type` field. Fields the mapping reads are pulled out; the
/// whole object stays in `raw`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chunk {
    /// The `type` field.
    pub kind: String,
    /// The chunk object.
    pub raw: Map<String, Value>,
}

impl Chunk {
    /// A string field (`id`, `delta`, `toolCallId`, ...).
    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        self.raw.get(key).and_then(Value::as_str)
    }

    /// A required string field, or why the chunk is malformed.
    pub(crate) fn need(&self, key: &str) -> Result<&str, String> {
        self.str(key)
            .ok_or_else(|| format!("`{}` chunk without a string `{key}`", self.kind))
    }

    /// A field of any JSON type (`input`, `output`, `data`), `null` when absent.
    pub(crate) fn value(&self, key: &str) -> Value {
        self.raw.get(key).cloned().unwrap_or(Value::Null)
    }

    /// The chunk without its `type`: the content of a `data`-like part.
    pub(crate) fn body(&self) -> Value {
        let mut obj = self.raw.clone();
        obj.remove("type");
        Value::Object(obj)
    }
}

/// Parses one `data:` payload: `[DONE]`, or a JSON object with a string `type`.
pub(crate) fn parse_data(data: &str) -> Result<Data, String> {
    if data.trim() == "[DONE]" {
        return Ok(Data::Done);
    }
    let value = parse_json(data.as_bytes())?;
    let Value::Object(raw) = value else {
        return Err("chunk is not a JSON object".into());
    };
    let Some(kind) = raw.get("type").and_then(Value::as_str) else {
        return Err("chunk without a string `type`".into());
    };
    Ok(Data::Chunk(Chunk {
        kind: kind.to_string(),
        raw,
    }))
}

/// A text part of a UI message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TextPart {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
}

/// A UI message `{id, role, parts}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct UiMessage {
    pub id: String,
    pub role: &'static str,
    pub parts: Vec<TextPart>,
}

impl UiMessage {
    /// A message with one text part.
    pub(crate) fn text(id: String, role: &'static str, text: String) -> UiMessage {
        UiMessage {
            id,
            role,
            parts: vec![TextPart { kind: "text", text }],
        }
    }
}

/// The chat request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Request<'a> {
    pub id: &'a str,
    pub messages: &'a [UiMessage],
    pub trigger: &'static str,
    pub message_id: &'a str,
}

/// Serialises the request body (cannot fail for these plain structs; `{}` is the fallback).
pub(crate) fn encode(body: &Request<'_>) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec())
}
