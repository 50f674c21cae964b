//! SSE parser tests: WHATWG rules, each checked at every split point of its input (and with
//! byte-by-byte feeding), so chunk boundaries can never change the result.

use super::*;

fn ev(event: &str, data: &str, id: Option<&str>) -> Event {
    Event {
        event: event.into(),
        data: data.into(),
        id: id.map(str::to_string),
    }
}

/// Parses `input` whole, split in two at every position, split in three at every pair of
/// positions (for short inputs) and byte by byte; all must give `expected`.
fn check(input: &[u8], expected: &[Event]) {
    let whole = Parser::new().feed(input);
    assert_eq!(whole, expected, "whole input");
    for split in 0..=input.len() {
        let mut p = Parser::new();
        let mut got = p.feed(&input[..split]);
        got.extend(p.feed(&input[split..]));
        assert_eq!(got, expected, "split at {split}");
    }
    if input.len() <= 64 {
        for a in 0..=input.len() {
            for b in a..=input.len() {
                let mut p = Parser::new();
                let mut got = p.feed(&input[..a]);
                got.extend(p.feed(&input[a..b]));
                got.extend(p.feed(&input[b..]));
                assert_eq!(got, expected, "splits at {a},{b}");
            }
        }
    }
    let mut p = Parser::new();
    let got: Vec<Event> = input.iter().flat_map(|b| p.feed(&[*b])).collect();
    assert_eq!(got, expected, "byte by byte");
}

#[test]
fn basic_event_and_default_type() {
    check(b"data: hello\n\n", &[ev("message", "hello", None)]);
    check(b"event: add\ndata: 1\n\n", &[ev("add", "1", None)]);
}

#[test]
fn all_line_endings() {
    let expected = [ev("message", "a", None), ev("message", "b", None)];
    check(b"data:a\n\ndata:b\n\n", &expected);
    check(b"data:a\r\rdata:b\r\r", &expected);
    check(b"data:a\r\n\r\ndata:b\r\n\r\n", &expected);
    check(b"data:a\r\n\ndata:b\n\r\n", &expected);
}

#[test]
fn data_lines_join_with_newline() {
    check(
        b"data: a\ndata:b\ndata\n\n",
        &[ev("message", "a\nb\n", None)],
    );
    check(b"data\n\n", &[ev("message", "", None)]);
    check(b"data:\ndata:\n\n", &[ev("message", "\n", None)]);
}

#[test]
fn only_one_leading_space_is_removed() {
    check(b"data:  two\n\n", &[ev("message", " two", None)]);
    check(b"data:\tx\n\n", &[ev("message", "\tx", None)]);
    check(b"data:x:y\n\n", &[ev("message", "x:y", None)]);
}

#[test]
fn bom_is_skipped_once() {
    check(b"\xEF\xBB\xBFdata: x\n\n", &[ev("message", "x", None)]);
    // a second BOM is part of the field name, which is then unknown
    check(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n", &[]);
    // a partial BOM is not a BOM
    check(b"\xEF\xBBdata: x\n\n", &[]);
    check(b"\xEFdata: y\n\ndata: z\n\n", &[ev("message", "z", None)]);
}

#[test]
fn ids_persist_and_nul_is_ignored() {
    check(
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\nid\ndata: d\n\n",
        &[
            ev("message", "a", Some("1")),
            ev("message", "b", Some("1")),
            ev("message", "c", Some("1")),
            ev("message", "d", None),
        ],
    );
}

#[test]
fn id_updates_last_event_id_even_without_data() {
    let mut p = Parser::new();
    assert!(p.feed(b"id: 9\n\n").is_empty());
    assert_eq!(p.last_event_id(), Some("9"));
    // an id in an unterminated event does not count
    assert!(p.feed(b"id: 10\ndata: x\n").is_empty());
    p.finish();
    assert_eq!(p.last_event_id(), Some("9"));
    assert_eq!(p.feed(b"data: y\n\n"), vec![ev("message", "y", Some("9"))]);
}

#[test]
fn retry_requires_only_digits() {
    let mut p = Parser::new();
    p.feed(b"retry: 1500\n\n");
    assert_eq!(p.retry(), Some(Duration::from_millis(1500)));
    p.feed(b"retry: 15x\nretry: -1\nretry:\nretry: 1.5\n\n");
    assert_eq!(p.retry(), Some(Duration::from_millis(1500)));
    p.feed(b"retry:99999999999999999999999\n");
    assert_eq!(p.retry(), Some(Duration::from_millis(u64::MAX)));
}

#[test]
fn comments_and_unknown_fields_are_ignored() {
    check(
        b": keep-alive\n:\nfoo: bar\ndata: x\n\n",
        &[ev("message", "x", None)],
    );
    check(b": only comments\n\n\n", &[]);
}

#[test]
fn event_type_resets_after_dispatch_and_on_empty_data() {
    check(
        b"event: a\n\nevent: b\ndata: 1\n\ndata: 2\n\n",
        &[ev("b", "1", None), ev("message", "2", None)],
    );
}

#[test]
fn unterminated_event_at_eof_is_discarded() {
    check(
        b"data: done\n\ndata: partial\n",
        &[ev("message", "done", None)],
    );
    let mut p = Parser::new();
    assert!(p.feed(b"data: partial").is_empty());
    p.finish();
    assert_eq!(p.feed(b"\n\n"), vec![]);
}

#[test]
fn multibyte_utf8_split_anywhere_and_invalid_bytes_replaced() {
    check(
        "data: héllo 🌍 \u{4e16}\n\n".as_bytes(),
        &[ev("message", "héllo 🌍 \u{4e16}", None)],
    );
    check(b"data: \xFFok\n\n", &[ev("message", "\u{FFFD}ok", None)]);
}

#[test]
fn field_without_colon_and_empty_event_name() {
    check(b"event\ndata\n\n", &[ev("message", "", None)]);
    check(b"event:\ndata: x\n\n", &[ev("message", "x", None)]);
}

#[test]
fn long_mixed_stream() {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for i in 0..50 {
        let ending: &[u8] = match i % 3 {
            0 => b"\n",
            1 => b"\r",
            _ => b"\r\n",
        };
        input.extend_from_slice(format!("id: {i}").as_bytes());
        input.extend_from_slice(ending);
        input.extend_from_slice(format!("event: e{i}").as_bytes());
        input.extend_from_slice(ending);
        input.extend_from_slice(b": c");
        input.extend_from_slice(ending);
        input.extend_from_slice(format!("data: {i}").as_bytes());
        input.extend_from_slice(ending);
        input.extend_from_slice(ending);
        expected.push(ev(&format!("e{i}"), &i.to_string(), Some(&i.to_string())));
    }
    check(&input, &expected);
}

#[test]
fn line_end_search_finds_the_first_terminator_at_any_position() {
    for len in 0..40 {
        for at in 0..len {
            for t in [b'\n', b'\r'] {
                let mut v = vec![b'a'; len];
                v[at] = t;
                if at + 1 < len {
                    v[len - 1] = b'\n';
                }
                assert_eq!(find_eol(&v), Some(at), "len {len} at {at}");
            }
        }
        assert_eq!(find_eol(&vec![0x8a; len]), None);
    }
}
