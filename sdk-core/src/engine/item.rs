//! An event on its way to the app, before it gets its envelope `seq`: the event plus the ids,
//! cursor, timestamp and raw wire data the envelope will carry. Also a small deterministic
//! string-keyed hasher for the engine's maps (no per-process random state).

use crate::dialect::Decoded;
use crate::event::Event;
use crate::ids::Cursor;
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub(crate) event: Event,
    pub(crate) conversation_id: Option<String>,
    pub(crate) turn_id: Option<String>,
    pub(crate) message_id: Option<String>,
    pub(crate) part_id: Option<String>,
    pub(crate) cursor: Option<Cursor>,
    pub(crate) timestamp_ms: Option<u64>,
    pub(crate) raw: Option<serde_json::Value>,
}

impl Item {
    pub(crate) fn new(event: Event) -> Item {
        Item {
            event,
            conversation_id: None,
            turn_id: None,
            message_id: None,
            part_id: None,
            cursor: None,
            timestamp_ms: None,
            raw: None,
        }
    }

    pub(crate) fn from_decoded(d: Decoded) -> (Item, Option<u64>) {
        let item = Item {
            event: d.event,
            conversation_id: d.conversation_id,
            turn_id: d.turn_id,
            message_id: d.message_id,
            part_id: d.part_id,
            cursor: d.cursor,
            timestamp_ms: d.timestamp_ms,
            raw: d.raw,
        };
        (item, d.offset)
    }
}

/// FNV-1a for string-keyed maps: deterministic across runs and platforms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

pub(crate) type FnvBuild = BuildHasherDefault<Fnv>;
