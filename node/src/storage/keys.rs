//! Key codecs. Every key starts with the Raft group id (4 bytes, big-endian) so several groups
//! can later share one database. String components are terminated by `0x00`: names are
//! `[A-Za-z0-9_.-]` and user ids carry no control characters (both validated in `proto`), so a
//! terminator never occurs inside a component, and prefix scans stop at component boundaries.
//! Integers are big-endian so byte order is numeric order.

pub type GroupId = u32;

#[derive(Debug, Clone, Default)]
pub struct KeyBuf(Vec<u8>);

impl KeyBuf {
    pub fn new(group: GroupId) -> Self {
        KeyBuf(group.to_be_bytes().to_vec())
    }
    pub fn s(mut self, part: &str) -> Self {
        self.0.extend_from_slice(part.as_bytes());
        self.0.push(0);
        self
    }
    /// A string component without its terminator: a prefix filter on the last component.
    pub fn prefix(mut self, part: &str) -> Self {
        self.0.extend_from_slice(part.as_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn ts(self, ms: i64) -> Self {
        self.u64(ms.max(0) as u64)
    }
    pub fn build(self) -> Vec<u8> {
        self.0
    }
}

/// Reads components back out of a key.
pub struct KeyReader<'a> {
    rest: &'a [u8],
}

impl<'a> KeyReader<'a> {
    /// Skips the group id.
    pub fn new(key: &'a [u8]) -> Self {
        KeyReader {
            rest: key.get(4..).unwrap_or(&[]),
        }
    }
    pub fn s(&mut self) -> Option<String> {
        let end = self.rest.iter().position(|b| *b == 0)?;
        let s = std::str::from_utf8(&self.rest[..end]).ok()?.to_string();
        self.rest = &self.rest[end + 1..];
        Some(s)
    }
    pub fn u64(&mut self) -> Option<u64> {
        let bytes: [u8; 8] = self.rest.get(..8)?.try_into().ok()?;
        self.rest = &self.rest[8..];
        Some(u64::from_be_bytes(bytes))
    }
    /// The remaining bytes as a string (a final unterminated component).
    pub fn tail(&mut self) -> Option<String> {
        let s = std::str::from_utf8(self.rest).ok()?.to_string();
        self.rest = &[];
        Some(s)
    }
}

pub fn log(group: GroupId, index: u64) -> Vec<u8> {
    KeyBuf::new(group).u64(index).build()
}
pub fn meta(group: GroupId, name: &str) -> Vec<u8> {
    KeyBuf::new(group).s(name).build()
}
pub fn namespace(group: GroupId, ns: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).build()
}
pub fn room(group: GroupId, ns: &str, room: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(room).build()
}
/// Messages by time; the final component is the name, unterminated.
pub fn message(group: GroupId, ns: &str, room: &str, created_at: i64, name: &str) -> Vec<u8> {
    KeyBuf::new(group)
        .s(ns)
        .s(room)
        .ts(created_at)
        .prefix(name)
        .build()
}
pub fn message_room_prefix(group: GroupId, ns: &str, room: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(room).build()
}
pub fn message_name(group: GroupId, ns: &str, room: &str, name: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(room).s(name).build()
}
pub fn message_by_user(
    group: GroupId,
    user: &str,
    ns: &str,
    room: &str,
    created_at: i64,
    name: &str,
) -> Vec<u8> {
    KeyBuf::new(group)
        .s(user)
        .s(ns)
        .s(room)
        .ts(created_at)
        .prefix(name)
        .build()
}
pub fn sub_by_room(group: GroupId, ns: &str, room: &str, user: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(room).s(user).build()
}
pub fn sub_by_user(group: GroupId, ns: &str, user: &str, room: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(user).s(room).build()
}
pub fn category_master(group: GroupId, ns: &str, category: i64) -> Vec<u8> {
    KeyBuf::new(group).s(ns).ts(category).build()
}
pub fn outbox(group: GroupId, index: u64, seq: u32) -> Vec<u8> {
    KeyBuf::new(group).u64(index).u64(seq as u64).build()
}
pub fn firebase_token(group: GroupId, ns: &str, user: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(user).build()
}
pub fn token(group: GroupId, token: &str) -> Vec<u8> {
    KeyBuf::new(group).s(token).build()
}

/// The smallest key greater than every key starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_key_round_trips_and_sorts_by_time() {
        let k = message(7, "ns", "room-1", 1234, "abc-def");
        let mut r = KeyReader::new(&k);
        assert_eq!(r.s().as_deref(), Some("ns"));
        assert_eq!(r.s().as_deref(), Some("room-1"));
        assert_eq!(r.u64(), Some(1234));
        assert_eq!(r.tail().as_deref(), Some("abc-def"));
        assert!(message(7, "ns", "r", 9, "z") < message(7, "ns", "r", 10, "a"));
        assert!(k.starts_with(&message_room_prefix(7, "ns", "room-1")));
        assert!(!k.starts_with(&message_room_prefix(7, "ns", "room")));
    }

    #[test]
    fn user_and_sub_keys_round_trip() {
        let k = message_by_user(0, "user 1", "ns", "r", 5, "m");
        let mut r = KeyReader::new(&k);
        assert_eq!(r.s().as_deref(), Some("user 1"));
        assert_eq!(r.s().as_deref(), Some("ns"));
        assert_eq!(r.s().as_deref(), Some("r"));
        assert_eq!(r.u64(), Some(5));
        assert_eq!(r.tail().as_deref(), Some("m"));
        let k = sub_by_user(0, "ns", "u", "room");
        let mut r = KeyReader::new(&k);
        assert_eq!(
            (r.s(), r.s(), r.s()),
            (Some("ns".into()), Some("u".into()), Some("room".into()))
        );
        let k = category_master(1, "ns", 42);
        let mut r = KeyReader::new(&k);
        assert_eq!((r.s(), r.u64()), (Some("ns".into()), Some(42)));
        assert_eq!(&log(3, 9)[..4], &3u32.to_be_bytes());
    }

    #[test]
    fn prefix_end_bounds_prefix() {
        let p = namespace(0, "ns");
        let end = prefix_end(&p);
        assert!(room(0, "ns", "zzz") < end);
        assert!(p < end);
        assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
    }
}
