//! OpenAI Chat Completions streaming format (the "OpenAI-style API" of
//! `nextchat-sillytavern-architecture.md`, spoken by most OpenAI-compatible backends).
//!
//! Request: `POST /v1/chat/completions` with
//! `{"model", "messages": [{"role","content"}..], "stream": true,
//!   "stream_options": {"include_usage": true}}`.
//!
//! Response: an SSE stream whose `data:` lines are `chat.completion.chunk` objects:
//!
//! ```text
//! data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m",
//!        "choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}
//! data: {"id":"chatcmpl-1",...,"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,
//!        "id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q"}}]}}]}
//! data: {"id":"chatcmpl-1",...,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}
//! data: {"id":"chatcmpl-1",...,"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,
//!        "total_tokens":8}}
//! data: [DONE]
//! ```
//!
//! Tool-call fragments are keyed by their `index`; only the first carries `id` and `name`.
//! A mid-stream failure arrives as `data: {"error": {"message","type","code"}}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dialect::codec_kit::{ErrorBody, parse_json};

/// One `data:` payload of the stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    /// A `chat.completion.chunk`.
    Chunk(Chunk),
    /// The `[DONE]` sentinel.
    Done,
    /// An error object sent in the stream.
    Error(ErrorBody),
}

/// A `chat.completion.chunk` (unknown fields ignored, everything optional).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct Chunk {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<UsageWire>,
}

/// One choice of a chunk.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct Choice {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub delta: Delta,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// The delta of a choice.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct Delta {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    /// Reasoning text of reasoning models (`reasoning_content` or `reasoning`).
    #[serde(default, alias = "reasoning")]
    pub reasoning_content: Option<String>,
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<ToolCallDelta>,
}

/// A fragment of a streamed tool call.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct ToolCallDelta {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

/// The function part of a tool-call fragment.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

/// The usage object.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub(crate) struct UsageWire {
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    #[serde(default)]
    pub completion_tokens: Option<u64>,
    #[serde(default)]
    pub total_tokens: Option<u64>,
}

/// Parses one `data:` payload.
pub(crate) fn parse_data(data: &str) -> Result<Data, String> {
    if data.trim() == "[DONE]" {
        return Ok(Data::Done);
    }
    let value = parse_json(data.as_bytes())?;
    let Value::Object(obj) = &value else {
        return Err("chunk is not a JSON object".into());
    };
    if obj.contains_key("error") && !obj.contains_key("choices") {
        return Ok(Data::Error(ErrorBody::from_object(obj)));
    }
    serde_json::from_value(value)
        .map(Data::Chunk)
        .map_err(|e| format!("chunk has unexpected shape: {e}"))
}

/// One message of the request's conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ChatMessage {
    pub role: &'static str,
    pub content: String,
}

/// `stream_options` of the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StreamOptions {
    pub include_usage: bool,
}

/// The request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Request<'a> {
    pub model: &'a str,
    pub messages: &'a [ChatMessage],
    pub stream: bool,
    pub stream_options: StreamOptions,
    /// End-user identifier (OpenAI's `user` field), when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
}

/// Serialises the request body (cannot fail for these plain structs; `{}` is the fallback).
pub(crate) fn encode(body: &Request<'_>) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec())
}
