//! Typed decoders: the keys call sites read back, one struct per shape.
//!
//! A decoder checks the key's structure (a group id, terminated UTF-8 components, whole
//! integers, nothing left over) and returns `None` for anything else, never panicking. It
//! cannot tell apart shapes with the same structure (a room key and a firebase-token key are
//! both `group | a\0 | b\0`), so it is meant for keys of the column family it names.

use super::{GROUP_LEN, TASK, TASK_CHANNEL, TASK_NAMESPACE, TASK_ROOM};

/// Reads components back out of a key, after its group id.
struct KeyReader<'a> {
    rest: &'a [u8],
}

impl<'a> KeyReader<'a> {
    /// `None` if the key is too short to hold a group id.
    fn new(key: &'a [u8]) -> Option<Self> {
        Some(KeyReader {
            rest: key.get(GROUP_LEN..)?,
        })
    }
    fn s(&mut self) -> Option<String> {
        let end = self.rest.iter().position(|b| *b == 0)?;
        let s = std::str::from_utf8(&self.rest[..end]).ok()?.to_string();
        self.rest = &self.rest[end + 1..];
        Some(s)
    }
    fn u64(&mut self) -> Option<u64> {
        let bytes: [u8; 8] = self.rest.get(..8)?.try_into().ok()?;
        self.rest = &self.rest[8..];
        Some(u64::from_be_bytes(bytes))
    }
    /// A time written by `KeyBuf::ts` (never above `i64::MAX`).
    fn ts(&mut self) -> Option<i64> {
        i64::try_from(self.u64()?).ok()
    }
    /// The remaining bytes as a string (a final unterminated component).
    fn tail(&mut self) -> Option<String> {
        let s = std::str::from_utf8(self.rest).ok()?.to_string();
        self.rest = &[];
        Some(s)
    }
    /// `Some(v)` if the whole key was read.
    fn done<T>(self, v: T) -> Option<T> {
        self.rest.is_empty().then_some(v)
    }
}

/// A room key, `group | ns\0 | room\0` ([`super::room`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomKey {
    pub ns: String,
    pub room: String,
}

pub fn decode_room(key: &[u8]) -> Option<RoomKey> {
    let mut r = KeyReader::new(key)?;
    let (ns, room) = (r.s()?, r.s()?);
    r.done(RoomKey { ns, room })
}

/// A message key, `group | ns\0 | room\0 | created_at:u64 | name` ([`super::message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageKey {
    pub ns: String,
    pub room: String,
    pub created_at: i64,
    pub name: String,
}

pub fn decode_message(key: &[u8]) -> Option<MessageKey> {
    let mut r = KeyReader::new(key)?;
    let (ns, room, created_at, name) = (r.s()?, r.s()?, r.ts()?, r.tail()?);
    r.done(MessageKey {
        ns,
        room,
        created_at,
        name,
    })
}

/// A message-by-poster key, `group | user\0 | ns\0 | room\0 | created_at:u64 | name`
/// ([`super::message_by_user`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageByUserKey {
    pub user: String,
    pub ns: String,
    pub room: String,
    pub created_at: i64,
    pub name: String,
}

pub fn decode_message_by_user(key: &[u8]) -> Option<MessageByUserKey> {
    let mut r = KeyReader::new(key)?;
    let (user, ns, room, created_at, name) = (r.s()?, r.s()?, r.s()?, r.ts()?, r.tail()?);
    r.done(MessageByUserKey {
        user,
        ns,
        room,
        created_at,
        name,
    })
}

/// A subscription-by-user key, `group | ns\0 | user\0 | room\0` ([`super::sub_by_user`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubByUserKey {
    pub ns: String,
    pub user: String,
    pub room: String,
}

pub fn decode_sub_by_user(key: &[u8]) -> Option<SubByUserKey> {
    let mut r = KeyReader::new(key)?;
    let (ns, user, room) = (r.s()?, r.s()?, r.s()?);
    r.done(SubByUserKey { ns, user, room })
}

/// An outbox key, `group | index:u64 | seq:u64` ([`super::outbox`]; `seq` fits a `u32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxKey {
    pub index: u64,
    pub seq: u32,
}

pub fn decode_outbox(key: &[u8]) -> Option<OutboxKey> {
    let mut r = KeyReader::new(key)?;
    let (index, seq) = (r.u64()?, u32::try_from(r.u64()?).ok()?);
    r.done(OutboxKey { index, seq })
}

/// A cascade task key ([`super::namespace_task`], [`super::room_task`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKey {
    Namespace { ns: String },
    Room { ns: String, room: String },
    Channel { ctype: String, id: String },
}

pub fn decode_task(key: &[u8]) -> Option<TaskKey> {
    let mut r = KeyReader::new(key)?;
    if r.s()? != TASK {
        return None;
    }
    let kind = r.s()?;
    let task = match kind.as_str() {
        TASK_NAMESPACE => TaskKey::Namespace { ns: r.s()? },
        TASK_ROOM => TaskKey::Room {
            ns: r.s()?,
            room: r.s()?,
        },
        TASK_CHANNEL => TaskKey::Channel {
            ctype: r.s()?,
            id: r.s()?,
        },
        _ => return None,
    };
    r.done(task)
}

/// A channel-of-member key, `group | user\0 | type\0 | id\0` ([`super::member_by_user`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberByUserKey {
    pub user: String,
    pub ctype: String,
    pub id: String,
}

pub fn decode_member_by_user(key: &[u8]) -> Option<MemberByUserKey> {
    let mut r = KeyReader::new(key)?;
    let (user, ctype, id) = (r.s()?, r.s()?, r.s()?);
    r.done(MemberByUserKey { user, ctype, id })
}
