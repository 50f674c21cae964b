//! The frames the bench servers send, built once before any clock starts, in the exact wire
//! shapes the dialects accept (`sdk-core/src/dialect/native.rs`, `sdk-core/src/dialect/openai`).
//!
//! Native: turns of [`TURN`] `event` frames (`turn_started`, `message_started`, `text_delta`s,
//! `message_completed`, `turn_completed`) with gapless `seq` from 1, about 130 bytes per
//! `text_delta` frame, as the Node flood bench (`bindings/js/bench/flood.mjs`) sends them:
//!
//! ```json
//! {"type":"event","seq":7,"ts":1763800000005,"kind":"text_delta","turn_id":"t-1","message_id":"m-1","offset":20,"text":"word "}
//! ```
//!
//! OpenAI: one completion: a role chunk, then one `delta.content` chunk of `"word "` per token,
//! a `finish_reason` chunk and `data: [DONE]`, each `data:` line followed by a blank line.

/// Events per native turn.
pub const TURN: usize = 1000;
/// The text of every streamed token.
pub const WORD: &str = "word ";
const TS: u64 = 1_763_800_000_000;

/// A native flood of `events` conversation events (at least 5).
#[derive(Debug, Clone)]
pub struct NativeFlood {
    /// The first `turn_started` without its closing `,"reply_to":"<client id>"}` (added per send).
    pub first_open: String,
    /// Every other frame.
    pub rest: Vec<String>,
    /// Text deltas in the flood (checked by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub deltas: usize,
}

impl NativeFlood {
    /// Builds the frames of `events` events, in turns of [`TURN`] (the last one may be shorter).
    pub fn new(events: usize) -> NativeFlood {
        let events = events.max(5);
        let mut rest = Vec::with_capacity(events);
        let mut first_open = String::new();
        let (mut seq, mut left, mut deltas, mut t) = (0u64, events, 0usize, 0usize);
        while left > 0 {
            t += 1;
            let size = if left < TURN + 5 { left } else { TURN };
            left -= size;
            let ids = format!("\"turn_id\":\"t-{t}\"");
            let msg = format!("{ids},\"message_id\":\"m-{t}\"");
            seq += 1;
            let started = format!(
                "{{\"type\":\"event\",\"seq\":{seq},\"ts\":{TS},\"kind\":\"turn_started\",{ids}"
            );
            if t == 1 {
                first_open = started;
            } else {
                rest.push(format!("{started}}}"));
            }
            seq += 1;
            rest.push(format!("{{\"type\":\"event\",\"seq\":{seq},\"ts\":{TS},\"kind\":\"message_started\",{msg},\"role\":\"assistant\"}}"));
            let n = size - 4;
            for i in 0..n {
                seq += 1;
                let (ts, offset) = (TS + i as u64, i * WORD.len());
                rest.push(format!("{{\"type\":\"event\",\"seq\":{seq},\"ts\":{ts},\"kind\":\"text_delta\",{msg},\"offset\":{offset},\"text\":\"{WORD}\"}}"));
            }
            deltas += n;
            seq += 1;
            let text = WORD.repeat(n);
            rest.push(format!("{{\"type\":\"event\",\"seq\":{seq},\"ts\":{TS},\"kind\":\"message_completed\",{msg},\"text\":\"{text}\"}}"));
            seq += 1;
            rest.push(format!("{{\"type\":\"event\",\"seq\":{seq},\"ts\":{TS},\"kind\":\"turn_completed\",{ids},\"finish_reason\":\"stop\"}}"));
        }
        NativeFlood {
            first_open,
            rest,
            deltas,
        }
    }

    /// The first frame, answering the message `client_id`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn first(&self, client_id: &str) -> String {
        format!("{},\"reply_to\":\"{client_id}\"}}", self.first_open)
    }

    /// Conversation events in the flood.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn events(&self) -> usize {
        self.rest.len() + 1
    }
}

/// A native `event` frame of `kind` with `seq` in turn `t-<turn>` and extra JSON fields.
pub fn native_event(seq: u64, turn: u64, kind: &str, extra: &str) -> String {
    format!(
        "{{\"type\":\"event\",\"seq\":{seq},\"ts\":{TS},\"kind\":\"{kind}\",\"turn_id\":\"t-{turn}\"{extra}}}"
    )
}

/// An OpenAI streamed completion of `tokens` content chunks, as one SSE body.
pub fn openai_body(tokens: usize) -> Vec<u8> {
    let head = r#""id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"mock-gpt""#;
    let mut body = String::with_capacity(tokens * 190 + 512);
    body.push_str(&format!(
        "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"finish_reason\":null}}]}}\n\n"
    ));
    for _ in 0..tokens {
        body.push_str(&openai_chunk(head, WORD));
    }
    body.push_str(&format!(
        "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}\n\ndata: [DONE]\n\n"
    ));
    body.into_bytes()
}

fn openai_chunk(head: &str, text: &str) -> String {
    format!(
        "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":null}}]}}\n\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn native_flood_has_gapless_seq_and_whole_turns() {
        let flood = NativeFlood::new(2_003);
        assert_eq!(flood.events(), 2_003);
        let first: Value = serde_json::from_str(&flood.first("c-1")).expect("valid JSON");
        assert_eq!(first["reply_to"], "c-1");
        let mut seq = 1;
        let mut ends = 0;
        for frame in &flood.rest {
            let v: Value = serde_json::from_str(frame).expect("valid JSON");
            seq += 1;
            assert_eq!(v["seq"], seq);
            ends += usize::from(v["kind"] == "turn_completed");
        }
        assert_eq!(ends, 2);
        assert_eq!(flood.deltas, 2_003 - 8);
    }

    #[test]
    fn openai_body_is_sse_of_chunks() {
        let body = String::from_utf8(openai_body(3)).expect("utf-8");
        let datas: Vec<&str> = body
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .collect();
        assert_eq!(datas.len(), 6);
        assert_eq!(datas[5], "[DONE]");
        let v: Value = serde_json::from_str(datas[1]).expect("valid JSON");
        assert_eq!(v["choices"][0]["delta"]["content"], WORD);
    }
}
