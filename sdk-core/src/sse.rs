//! An incremental, WHATWG-conformant parser for `text/event-stream` (server-sent events).
//!
//! Implements "9.2.6 Interpreting an event stream" of the HTML standard for arbitrary chunking:
//! a leading UTF-8 BOM is skipped, lines end at CRLF, LF or CR (a CRLF split across two chunks
//! counts once), `data` lines are joined with `\n`, one leading space after the colon is dropped,
//! an `id` containing NUL is ignored, `retry` is honoured only when it is all ASCII digits,
//! comment lines (`:`) are skipped, and an event still unterminated at end of stream is discarded.
//! Invalid UTF-8 decodes to U+FFFD, as the standard's UTF-8 decode does. Usable on its own:
//!
//! ```
//! use chatwire::sse::{Event, Parser};
//! let mut p = Parser::new();
//! assert!(p.feed(b"data: hel").is_empty());
//! let events = p.feed(b"lo\nid: 7\n\n");
//! assert_eq!(events, vec![Event { event: "message".into(), data: "hello".into(), id: Some("7".into()) }]);
//! assert_eq!(p.last_event_id(), Some("7"));
//! ```

use std::time::Duration;

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The event type; `"message"` when the stream gave none.
    pub event: String,
    /// The data lines joined with `\n`.
    pub data: String,
    /// The last event id in effect when the event was dispatched (`None` if never set or reset
    /// to empty).
    pub id: Option<String>,
}

/// Incremental parser state. Feed it bytes as they arrive, split anywhere.
#[derive(Debug, Clone, Default)]
pub struct Parser {
    /// Bytes of the current, not yet terminated line.
    line: Vec<u8>,
    /// The previous chunk ended with CR: a leading LF in the next chunk belongs to it.
    after_cr: bool,
    /// Up to 3 leading bytes held back until we know whether they are a BOM.
    bom: BomState,
    data: String,
    event_type: String,
    /// The standard's "last event ID buffer" (set by `id:` lines).
    id_buf: String,
    /// The standard's "last event ID string" (updated on dispatch).
    last_id: String,
    retry: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq)]
enum BomState {
    #[default]
    Start,
    Partial(u8),
    Done,
}

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

impl Parser {
    /// A parser at the start of a stream.
    ///
    /// ```
    /// let p = chatwire::sse::Parser::new();
    /// assert_eq!((p.buffered_len(), p.last_event_id(), p.retry()), (0, None, None));
    /// ```
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Parses `bytes` and returns the events they complete.
    ///
    /// ```
    /// let mut p = chatwire::sse::Parser::new();
    /// let events = p.feed(b"event: token\ndata: a\r\ndata: b\r\n\r\n: comment\ndata: c\n\n");
    /// assert_eq!(events.len(), 2);
    /// assert_eq!((events[0].event.as_str(), events[0].data.as_str()), ("token", "a\nb"));
    /// assert_eq!((events[1].event.as_str(), events[1].data.as_str()), ("message", "c"));
    /// ```
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        self.feed_into(bytes, &mut out);
        out
    }

    /// Like [`Parser::feed`], appending to `out` (lets callers reuse one vector).
    ///
    /// ```
    /// let mut p = chatwire::sse::Parser::new();
    /// let mut events = Vec::new();
    /// for chunk in [&b"data: 1\n"[..], b"\ndata: 2", b"\n\n"] {
    ///     p.feed_into(chunk, &mut events);
    /// }
    /// let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    /// assert_eq!(data, ["1", "2"]);
    /// ```
    pub fn feed_into(&mut self, mut bytes: &[u8], out: &mut Vec<Event>) {
        if self.bom != BomState::Done {
            bytes = self.skip_bom(bytes);
            if self.bom != BomState::Done {
                return;
            }
        }
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
        }
        while let Some(pos) = find_eol(bytes) {
            let (head, rest) = bytes.split_at(pos);
            if self.line.is_empty() {
                self.process_line(head, out);
            } else {
                self.line.extend_from_slice(head);
                let line = std::mem::take(&mut self.line);
                self.process_line(&line, out);
                self.line = line;
                self.line.clear();
            }
            // rest[0] is the terminator; CRLF counts once, even across chunks
            bytes = if rest[0] == b'\r' {
                match rest.get(1) {
                    Some(b'\n') => &rest[2..],
                    Some(_) => &rest[1..],
                    None => {
                        self.after_cr = true;
                        &rest[1..]
                    }
                }
            } else {
                &rest[1..]
            };
        }
        self.line.extend_from_slice(bytes);
    }

    /// Ends the stream: an unterminated event is discarded (per the standard) and the parser is
    /// ready for a new stream (the last event id and retry survive, as for a reconnection).
    ///
    /// ```
    /// let mut p = chatwire::sse::Parser::new();
    /// assert_eq!(p.feed(b"id: 4\ndata: done\n\ndata: cut off").len(), 1);
    /// p.finish(); // the stream ended: "cut off" is discarded
    /// assert_eq!(p.buffered_len(), 0);
    /// assert_eq!(p.last_event_id(), Some("4"));
    /// assert_eq!(p.feed(b"data: next\n\n")[0].data, "next");
    /// ```
    pub fn finish(&mut self) {
        self.line.clear();
        self.data.clear();
        self.event_type.clear();
        self.after_cr = false;
        self.bom = BomState::Start;
        self.id_buf.clone_from(&self.last_id);
    }

    /// The last event id seen (`id:` field), to send as `Last-Event-ID` when reconnecting.
    ///
    /// ```
    /// let mut p = chatwire::sse::Parser::new();
    /// p.feed(b"id: 41\ndata: a\n\n");
    /// assert_eq!(p.last_event_id(), Some("41"));
    /// p.feed(b"id\ndata: b\n\n"); // an empty id resets it
    /// assert_eq!(p.last_event_id(), None);
    /// ```
    pub fn last_event_id(&self) -> Option<&str> {
        (!self.last_id.is_empty()).then_some(self.last_id.as_str())
    }

    /// Bytes held for the event in progress (unterminated line plus collected data). Callers that
    /// read untrusted streams cap this to bound memory.
    ///
    /// ```
    /// let mut p = chatwire::sse::Parser::new();
    /// p.feed(b"data: 12345\ndata: 67");
    /// assert_eq!(p.buffered_len(), 14); // "12345\n" collected + "data: 67" unterminated
    /// p.feed(b"\n\n");
    /// assert_eq!(p.buffered_len(), 0);
    /// ```
    pub fn buffered_len(&self) -> usize {
        self.line.len() + self.data.len() + self.event_type.len()
    }

    /// The reconnection time set by the latest valid `retry:` field.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut p = chatwire::sse::Parser::new();
    /// p.feed(b"retry: 2500\n\n");
    /// assert_eq!(p.retry(), Some(Duration::from_millis(2500)));
    /// p.feed(b"retry: 3s\n\n"); // not all digits: ignored
    /// assert_eq!(p.retry(), Some(Duration::from_millis(2500)));
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    fn skip_bom<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        let mut seen = match self.bom {
            BomState::Start => 0usize,
            BomState::Partial(n) => usize::from(n),
            BomState::Done => return bytes,
        };
        let mut i = 0;
        while seen < 3 && i < bytes.len() {
            if bytes[i] != BOM[seen] {
                // not a BOM: give back the bytes held so far, then continue with these
                self.bom = BomState::Done;
                self.line.extend_from_slice(&BOM[..seen]);
                // held bytes never contain a line terminator, so appending to `line` is exact
                return &bytes[i..];
            }
            seen += 1;
            i += 1;
        }
        if seen == 3 {
            self.bom = BomState::Done;
        } else {
            self.bom = BomState::Partial(u8::try_from(seen).unwrap_or(0));
        }
        &bytes[i..]
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = value.strip_prefix(b" ").unwrap_or(value);
                (&line[..colon], value)
            }
            None => (line, &b""[..]),
        };
        match field {
            b"event" => {
                self.event_type.clear();
                push_utf8(&mut self.event_type, value);
            }
            b"data" => {
                push_utf8(&mut self.data, value);
                self.data.push('\n');
            }
            b"id" if !value.contains(&0) => {
                self.id_buf.clear();
                push_utf8(&mut self.id_buf, value);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let ms = value.iter().fold(0u64, |acc, &d| {
                    acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                });
                self.retry = Some(Duration::from_millis(ms));
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        if self.last_id != self.id_buf {
            self.last_id.clone_from(&self.id_buf);
        }
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the trailing '\n' added by the last data line
        let event = if self.event_type.is_empty() {
            "message".to_string()
        } else {
            std::mem::take(&mut self.event_type)
        };
        out.push(Event {
            event,
            data,
            id: self.last_event_id().map(str::to_string),
        });
    }
}

/// Position of the first CR or LF, scanning eight bytes at a time (SWAR) before the tail.
fn find_eol(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut start = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        if has_zero(w ^ (ONES * u64::from(b'\n'))) | has_zero(w ^ (ONES * u64::from(b'\r'))) != 0 {
            break;
        }
        start += 8;
    }
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|p| p + start)
}

fn push_utf8(dst: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => dst.push_str(s),
        Err(_) => dst.push_str(&String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests;
