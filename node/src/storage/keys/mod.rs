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

    fn hex(key: &[u8]) -> String {
        key.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The on-disk format: existing databases and snapshots hold these bytes, so a change here
    /// is a migration, not a refactor. Expected values computed independently of this code.
    #[test]
    fn key_bytes_are_pinned() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (log(7, 0x0102_0304_0506_0708), "000000070102030405060708"),
            (meta(7, "m"), "000000076d00"),
            (namespace(7, "ns"), "000000076e7300"),
            (room(7, "ns", "r1"), "000000076e7300723100"),
            (
                message(7, "ns", "r1", 1234, "m1"),
                "000000076e730072310000000000000004d26d31",
            ),
            (
                message(7, "ns", "r1", -5, "m1"),
                "000000076e730072310000000000000000006d31",
            ),
            (
                message_name(7, "ns", "r1", "m1"),
                "000000076e73007231006d3100",
            ),
            (
                message_by_user(7, "u1", "ns", "r1", 1234, "m1"),
                "000000077531006e730072310000000000000004d26d31",
            ),
            (
                sub_by_room(7, "ns", "r1", "u1"),
                "000000076e7300723100753100",
            ),
            (
                sub_by_user(7, "ns", "u1", "r1"),
                "000000076e7300753100723100",
            ),
            (
                category_master(7, "ns", 42),
                "000000076e7300000000000000002a",
            ),
            (outbox(7, 9, 3), "0000000700000000000000090000000000000003"),
            (firebase_token(7, "gw", "u1"), "00000007677700753100"),
            (token(7, "tok"), "00000007746f6b00"),
            (token(7, "p:k"), "00000007703a6b00"),
            (message_room_prefix(7, "ns", "r1"), "000000076e7300723100"),
            (KeyBuf::new(7).build(), "00000007"),
            (KeyBuf::new(7).prefix("n").build(), "000000076e"),
            (
                KeyBuf::new(7).s("ns").prefix("r").build(),
                "000000076e730072",
            ),
            (
                KeyBuf::new(7).s("ns").s("r1").ts(1234).build(),
                "000000076e730072310000000000000004d2",
            ),
            (
                KeyBuf::new(7).s("ns").s("u1").prefix("r").build(),
                "000000076e730075310072",
            ),
            (KeyBuf::new(7).s("u1").build(), "00000007753100"),
            (KeyBuf::new(7).prefix("~").build(), "000000077e"),
            (
                KeyBuf::new(7).prefix(&format!("~{:016x}", 0x1234)).build(),
                "000000077e30303030303030303030303031323334",
            ),
            (KeyBuf::new(7).prefix("p:").build(), "00000007703a"),
        ];
        for (i, (key, want)) in cases.iter().enumerate() {
            assert_eq!(hex(key), *want, "case {i}");
        }
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
