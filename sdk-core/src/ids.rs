//! Identifiers shared by the engine, the dialects and the app: client message ids (UUIDv7),
//! transport handles, resume cursors and dedup keys.
//!
//! Client ids are generated from the engine's seeded RNG and the driver-supplied wall clock, never
//! from a global RNG or a clock read, so a replayed run produces the same ids.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The id of one outbound message, chosen by the client (UUIDv7) and used as the idempotency key
/// towards backends that support one. Serialised as the hyphenated UUID string.
///
/// ```
/// use chatwire::ClientId;
/// let id = ClientId::from_parts(1_763_800_000_000, [7; 10]);
/// let text = id.to_string();
/// assert_eq!(text.parse::<ClientId>().unwrap(), id);
/// assert_eq!(id.unix_millis(), 1_763_800_000_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(uuid::Uuid);

impl ClientId {
    /// A UUIDv7 from a Unix timestamp in milliseconds and 10 random bytes.
    pub fn from_parts(unix_millis: u64, random: [u8; 10]) -> ClientId {
        ClientId(uuid::Builder::from_unix_timestamp_millis(unix_millis, &random).into_uuid())
    }

    /// Wraps an existing UUID (for ids that come back from storage or a foreign caller).
    pub fn from_uuid(uuid: uuid::Uuid) -> ClientId {
        ClientId(uuid)
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }

    /// The millisecond timestamp embedded in a v7 id (0 for other versions).
    pub fn unix_millis(&self) -> u64 {
        let b = self.0.as_bytes();
        if self.0.get_version_num() != 7 {
            return 0;
        }
        b[..6]
            .iter()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for ClientId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(ClientId)
    }
}

impl Serialize for ClientId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.hyphenated())
    }
}

impl<'de> Deserialize<'de> for ClientId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A handle to one WebSocket the engine asked the driver to open. Never reused within an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnId(pub u64);

/// A handle to one HTTP request the engine asked the driver to perform. Never reused within an
/// engine (and never equal to a [`ConnId`] value of the same engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "req#{}", self.0)
    }
}

/// An opaque resume position chosen by the dialect: native `since_seq`, SSE `Last-Event-ID`,
/// Parlant offset, a history timestamp. The engine stores the latest one it delivered and hands it
/// back to the dialect when it reconnects. Serialised as a plain string.
///
/// A sequence number ([`Cursor::seq`]) is held inline, so remembering one per event costs no
/// heap allocation; it compares, hashes and serialises exactly like its decimal text.
///
/// ```
/// use chatwire::Cursor;
/// let c = Cursor::new("17");
/// assert_eq!(c.as_str(), "17");
/// assert_eq!(serde_json::to_string(&c).unwrap(), "\"17\"");
/// assert_eq!(Cursor::seq(17), c);
/// ```
#[derive(Clone)]
pub struct Cursor(CursorRepr);

#[derive(Clone)]
enum CursorRepr {
    Text(String),
    /// The decimal digits of a `u64` (at most 20), left-aligned.
    Seq {
        digits: [u8; 20],
        len: u8,
    },
}

impl Cursor {
    /// A cursor from its textual form.
    pub fn new(s: impl Into<String>) -> Cursor {
        Cursor(CursorRepr::Text(s.into()))
    }

    /// A cursor that is a sequence number, in decimal (no allocation).
    ///
    /// ```
    /// use chatwire::Cursor;
    /// assert_eq!(Cursor::seq(0).as_str(), "0");
    /// assert_eq!(Cursor::seq(u64::MAX).as_str(), "18446744073709551615");
    /// ```
    pub fn seq(n: u64) -> Cursor {
        let mut rev = [0u8; 20];
        let (mut n, mut len) = (n, 0);
        loop {
            rev[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut digits = [0u8; 20];
        for (d, r) in digits.iter_mut().zip(rev[..len].iter().rev()) {
            *d = *r;
        }
        Cursor(CursorRepr::Seq {
            digits,
            len: len as u8, // at most 20
        })
    }

    /// The textual form.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            CursorRepr::Text(s) => s,
            // ASCII digits only, written by `seq`: never invalid UTF-8.
            CursorRepr::Seq { digits, len } => {
                std::str::from_utf8(&digits[..usize::from(*len)]).unwrap_or_default()
            }
        }
    }

    /// The textual form, by value.
    pub fn into_string(self) -> String {
        match self.0 {
            CursorRepr::Text(s) => s,
            CursorRepr::Seq { .. } => self.as_str().to_string(),
        }
    }
}

impl PartialEq for Cursor {
    fn eq(&self, other: &Cursor) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Cursor {}

impl std::hash::Hash for Cursor {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for Cursor {
    fn partial_cmp(&self, other: &Cursor) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cursor {
    fn cmp(&self, other: &Cursor) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cursor").field(&self.as_str()).finish()
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Cursor, D::Error> {
        String::deserialize(deserializer).map(Cursor::new)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What makes an inbound event unique, as far as the dialect can tell. The engine drops an event
/// whose key it has seen among the last `dedup_capacity` keys.
///
/// Prefer the strongest key the backend offers: a server event id, then an offset or sequence
/// number, and a content hash only as a last resort.
///
/// ```
/// use chatwire::DedupKey;
/// assert_eq!(DedupKey::Seq(3), DedupKey::Seq(3));
/// assert_ne!(DedupKey::Seq(3), DedupKey::Id("3".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DedupKey {
    /// A server-assigned event id.
    Id(String),
    /// A server-assigned sequence number or offset.
    Seq(u64),
    /// A content hash computed by the dialect (last resort).
    Hash(u64),
}

impl DedupKey {
    /// A stable 64-bit fingerprint of the key (FNV-1a over a type tag and the value).
    pub fn fingerprint(&self) -> u64 {
        let number;
        let (tag, bytes): (u8, &[u8]) = match self {
            DedupKey::Id(s) => (1, s.as_bytes()),
            DedupKey::Seq(n) => {
                number = n.to_le_bytes();
                (2, &number)
            }
            DedupKey::Hash(h) => {
                number = h.to_le_bytes();
                (3, &number)
            }
        };
        let mut h = fnv1a(0xcbf2_9ce4_8422_2325, &[tag]);
        h = fnv1a(h, bytes);
        // final avalanche (splitmix64 finalizer) so nearby sequence numbers spread in the table
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A content-hash key over arbitrary bytes (FNV-1a), for backends without ids.
    pub fn content_hash(bytes: &[u8]) -> DedupKey {
        DedupKey::Hash(fnv1a(0xcbf2_9ce4_8422_2325, bytes))
    }
}

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_is_v7_and_round_trips_through_json() {
        let id = ClientId::from_parts(42, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(id.as_uuid().get_version_num(), 7);
        let json = serde_json::to_string(&id).unwrap();
        let back: ClientId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert_eq!(back.unix_millis(), 42);
        assert!(serde_json::from_str::<ClientId>("\"nope\"").is_err());
    }

    #[test]
    fn fingerprints_differ_by_kind_and_value() {
        let a = DedupKey::Seq(1).fingerprint();
        let b = DedupKey::Seq(2).fingerprint();
        let c = DedupKey::Hash(1).fingerprint();
        assert!(a != b && a != c && b != c);
        assert_eq!(a, DedupKey::Seq(1).fingerprint());
    }

    #[test]
    fn sequence_cursors_behave_like_their_text() {
        use std::collections::HashSet;
        for n in [0, 7, 10, 99, 1_000_000, u64::MAX] {
            let text = Cursor::new(n.to_string());
            let seq = Cursor::seq(n);
            assert_eq!(seq.as_str(), text.as_str());
            assert_eq!(seq, text);
            assert_eq!(seq.cmp(&text), std::cmp::Ordering::Equal);
            assert_eq!(format!("{seq:?}"), format!("{text:?}"));
            assert_eq!(
                serde_json::to_string(&seq).unwrap(),
                serde_json::to_string(&text).unwrap()
            );
            assert_eq!(seq.clone().into_string(), n.to_string());
            let set: HashSet<Cursor> = [seq, text].into_iter().collect();
            assert_eq!(set.len(), 1);
        }
        assert!(Cursor::seq(9) > Cursor::seq(10)); // textual order, as before
        let back: Cursor = serde_json::from_str("\"42\"").unwrap();
        assert_eq!(back, Cursor::seq(42));
    }
}
