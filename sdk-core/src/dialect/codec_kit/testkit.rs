//! Test helpers for the codecs: run a dialect call and look at what it decided.

use serde_json::Value;

use crate::dialect::{Action, Actions, Decoded, HttpSpec};
use crate::event::{Event, TextUpdate};
use crate::ids::{ClientId, ConnId, RequestId};

/// The decoded events among `actions`.
pub(crate) fn emitted(actions: &[Action]) -> Vec<&Decoded> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(d) => Some(d),
            _ => None,
        })
        .collect()
}

/// The event type names of the decoded events (`"textDelta"`, ...).
pub(crate) fn names(actions: &[Action]) -> Vec<&'static str> {
    emitted(actions)
        .iter()
        .map(|d| d.event.type_name())
        .collect()
}

/// The HTTP requests among `actions`.
pub(crate) fn requests(actions: &[Action]) -> Vec<(RequestId, &HttpSpec)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Http { id, spec } => Some((*id, spec)),
            _ => None,
        })
        .collect()
}

/// The only HTTP request among `actions` (panics otherwise: tests only).
pub(crate) fn one_request(actions: &[Action]) -> (RequestId, &HttpSpec) {
    let r = requests(actions);
    assert_eq!(r.len(), 1, "expected one request in {actions:#?}");
    r[0]
}

/// A socket opening: handle, URL, headers.
pub(crate) type Opened<'a> = (ConnId, &'a str, &'a [(String, String)]);

/// The socket opened among `actions`.
pub(crate) fn opened(actions: &[Action]) -> Option<Opened<'_>> {
    actions.iter().find_map(|a| match a {
        Action::OpenSocket { conn, url, headers } => {
            Some((*conn, url.as_str(), headers.as_slice()))
        }
        _ => None,
    })
}

/// The text frames sent, parsed as JSON.
pub(crate) fn sent_json(actions: &[Action]) -> Vec<Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendText { text, .. } => serde_json::from_str(text).ok(),
            _ => None,
        })
        .collect()
}

/// The assembled text of `TextDelta`s, applying appends at their offsets and replaces.
pub(crate) fn assembled(decoded: &[&Decoded]) -> String {
    let mut text: Vec<char> = Vec::new();
    for d in decoded {
        if let Event::TextDelta { update, .. } = &d.event {
            match update {
                TextUpdate::Append { text: t, .. } => {
                    let at = d.offset.map_or(text.len(), |o| o as usize);
                    text.truncate(at);
                    text.extend(t.chars());
                }
                TextUpdate::Replace { text: t } => text = t.chars().collect(),
            }
        }
    }
    text.into_iter().collect()
}

/// A header's value in a request or socket header list.
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A deterministic client id for tests.
pub(crate) fn client(n: u8) -> ClientId {
    ClientId::from_parts(1_763_800_000_000 + u64::from(n), [n; 10])
}

/// A fresh collector whose handles start at `first`.
pub(crate) fn actions(first: u64) -> Actions {
    Actions::new(first)
}
