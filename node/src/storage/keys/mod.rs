//! Key codecs: the layout of every key, in one place. Call sites never assemble or pick apart
//! key bytes; they call a helper here for a row's key or a scan bound, and a typed decoder
//! (`decode_*`, in `decode.rs`) to read a key back.
//!
//! Every key starts with the Raft group id (4 bytes, big-endian) so several groups can later
//! share one database. String components are terminated by `0x00`: names are `[A-Za-z0-9_.-]`
//! and user ids carry no control characters (both validated in `proto`), so a terminator never
//! occurs inside a component, and prefix scans stop at component boundaries. Integers are
//! big-endian so byte order is numeric order; times (`ts`, ms) are stored as `u64`, negative
//! times as 0. Layouts below write `s\0` for a terminated string, `s` for an unterminated one
//! (last component or prefix filter), `n:u64` for an integer.
//!
//! These bytes are the on-disk and snapshot format: `tests::key_bytes_are_pinned` holds one key
//! of each shape.

mod decode;
#[cfg(test)]
mod tests;

pub use decode::{
    decode_member_by_user, decode_message, decode_message_by_user, decode_outbox, decode_room,
    decode_sub_by_user, decode_task, MemberByUserKey, MessageByUserKey, MessageKey, OutboxKey,
    RoomKey, SubByUserKey, TaskKey,
};

pub type GroupId = u32;

/// Length of the group id that starts every key (page tokens leave it out).
pub const GROUP_LEN: usize = 4;

/// The metadata name under which cascade tasks are kept, and their kinds.
const TASK: &str = "task";
const TASK_NAMESPACE: &str = "namespace";
const TASK_ROOM: &str = "room";
const TASK_CHANNEL: &str = "channel";

/// The dedup scope of internal keys (writes forwarded without a client key).
pub const INTERNAL_DEDUP_SCOPE: &str = "~";

/// Builds a key component by component.
#[derive(Debug, Clone, Default)]
struct KeyBuf(Vec<u8>);

impl KeyBuf {
    fn new(group: GroupId) -> Self {
        KeyBuf(group.to_be_bytes().to_vec())
    }
    fn s(mut self, part: &str) -> Self {
        self.0.extend_from_slice(part.as_bytes());
        self.0.push(0);
        self
    }
    /// A string component without its terminator: a prefix filter on the last component.
    fn prefix(mut self, part: &str) -> Self {
        self.0.extend_from_slice(part.as_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn ts(self, ms: i64) -> Self {
        self.u64(ms.max(0) as u64)
    }
    fn build(self) -> Vec<u8> {
        self.0
    }
}

/// `group`: every key of the group, in any column family (snapshots, full scans).
pub fn group_prefix(group: GroupId) -> Vec<u8> {
    KeyBuf::new(group).build()
}

/// Raft log entry: `group | index:u64`.
pub fn log(group: GroupId, index: u64) -> Vec<u8> {
    KeyBuf::new(group).u64(index).build()
}
/// Raft and state-machine metadata: `group | name\0`.
pub fn meta(group: GroupId, name: &str) -> Vec<u8> {
    KeyBuf::new(group).s(name).build()
}

/// A pending cascade (state-machine metadata): every task row, `group | task\0`.
pub fn tasks(group: GroupId) -> Vec<u8> {
    KeyBuf::new(group).s(TASK).build()
}
/// The cascade of a deleted namespace: `group | task\0 | namespace\0 | ns\0`. Decoded by
/// [`decode_task`].
pub fn namespace_task(group: GroupId, ns: &str) -> Vec<u8> {
    KeyBuf::new(group).s(TASK).s(TASK_NAMESPACE).s(ns).build()
}
/// The cascade of a deleted channel: `group | task\0 | channel\0 | type\0 | id\0`. Decoded
/// by [`decode_task`].
pub fn channel_task(group: GroupId, ctype: &str, id: &str) -> Vec<u8> {
    KeyBuf::new(group)
        .s(TASK)
        .s(TASK_CHANNEL)
        .s(ctype)
        .s(id)
        .build()
}
/// The cascade of a deleted room: `group | task\0 | room\0 | ns\0 | room\0`. Decoded by
/// [`decode_task`].
pub fn room_task(group: GroupId, ns: &str, room: &str) -> Vec<u8> {
    KeyBuf::new(group)
        .s(TASK)
        .s(TASK_ROOM)
        .s(ns)
        .s(room)
        .build()
}

/// Namespace, its current master, gateway namespace: `group | ns\0`.
pub fn namespace(group: GroupId, ns: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).build()
}
/// Namespaces (or gateway namespaces) whose name starts with `name_prefix`:
/// `group | name_prefix`.
pub fn namespace_name_prefix(group: GroupId, name_prefix: &str) -> Vec<u8> {
    KeyBuf::new(group).prefix(name_prefix).build()
}

/// Room: `group | ns\0 | room\0`. Decoded by [`decode_room`].
pub fn room(group: GroupId, ns: &str, room: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(room).build()
}
/// Every room of a namespace: `group | ns\0`.
pub fn rooms_of(group: GroupId, ns: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).build()
}
/// Rooms of a namespace whose name starts with `name_prefix`: `group | ns\0 | name_prefix`.
pub fn room_name_prefix(group: GroupId, ns: &str, name_prefix: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).prefix(name_prefix).build()
}

/// Message by time: `group | ns\0 | room\0 | created_at:u64 | name`. Decoded by
/// [`decode_message`].
pub fn message(group: GroupId, ns: &str, room: &str, created_at: i64, name: &str) -> Vec<u8> {
    KeyBuf::new(group)
        .s(ns)
        .s(room)
        .ts(created_at)
        .prefix(name)
        .build()
}
/// Every message of a room: `group | ns\0 | room\0`.
pub fn message_room_prefix(group: GroupId, ns: &str, room: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(room).build()
}
/// The first message key of a room at time `ts`: `group | ns\0 | room\0 | ts:u64`. Seek here
/// to read from `ts`; stop here to read what came before `ts`.
pub fn messages_at(group: GroupId, ns: &str, room: &str, ts: i64) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(room).ts(ts).build()
}
/// Message name index: `group | ns\0 | room\0 | name\0`.
pub fn message_name(group: GroupId, ns: &str, room: &str, name: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(room).s(name).build()
}
/// Message by poster: `group | user\0 | ns\0 | room\0 | created_at:u64 | name`. Decoded by
/// [`decode_message_by_user`].
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
/// Every message of a poster: `group | user\0`.
pub fn messages_by_user_prefix(group: GroupId, user: &str) -> Vec<u8> {
    KeyBuf::new(group).s(user).build()
}

/// Subscription by room: `group | ns\0 | room\0 | user\0`.
pub fn sub_by_room(group: GroupId, ns: &str, room: &str, user: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(room).s(user).build()
}
/// Every subscription of a room: `group | ns\0 | room\0`.
pub fn subs_by_room_prefix(group: GroupId, ns: &str, room: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(room).build()
}
/// Subscription by user: `group | ns\0 | user\0 | room\0`. Decoded by [`decode_sub_by_user`].
pub fn sub_by_user(group: GroupId, ns: &str, user: &str, room: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(user).s(room).build()
}
/// Subscriptions of a user in a namespace to rooms whose name starts with `room_prefix`
/// (`""`: every room): `group | ns\0 | user\0 | room_prefix`.
pub fn subs_by_user_prefix(group: GroupId, ns: &str, user: &str, room_prefix: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(user).prefix(room_prefix).build()
}

/// Category master: `group | ns\0 | category:u64`.
pub fn category_master(group: GroupId, ns: &str, category: i64) -> Vec<u8> {
    KeyBuf::new(group).s(ns).ts(category).build()
}
/// Every category master of a namespace: `group | ns\0`.
pub fn category_masters_of(group: GroupId, ns: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).build()
}

/// Idempotency record: `group | scope:key\0` (`key` is the whole `scope:…` string).
pub fn dedup(group: GroupId, key: &str) -> Vec<u8> {
    KeyBuf::new(group).s(key).build()
}
/// Idempotency records of one scope (`"p:"`, `"u:"`, [`INTERNAL_DEDUP_SCOPE`]):
/// `group | scope`.
pub fn dedup_scope_prefix(group: GroupId, scope: &str) -> Vec<u8> {
    KeyBuf::new(group).prefix(scope).build()
}
/// The dedup key of a write forwarded without a client key: `~<now_ms as 16 hex digits><id>`,
/// so internal records sort by time (see [`internal_dedup_before`]).
pub fn internal_dedup(now_ms: i64, id: impl std::fmt::Display) -> String {
    format!("{INTERNAL_DEDUP_SCOPE}{now_ms:016x}{id}")
}
/// End bound of internal idempotency records made before `ms` (negative: 0):
/// `group | ~<ms as 16 hex digits>`.
pub fn internal_dedup_before(group: GroupId, ms: i64) -> Vec<u8> {
    KeyBuf::new(group)
        .prefix(&format!("{INTERNAL_DEDUP_SCOPE}{:016x}", ms.max(0)))
        .build()
}

/// Outbox row: `group | index:u64 | seq:u64`. Decoded by [`decode_outbox`].
pub fn outbox(group: GroupId, index: u64, seq: u32) -> Vec<u8> {
    KeyBuf::new(group).u64(index).u64(seq as u64).build()
}
/// Firebase token: `group | gateway ns\0 | user\0`.
pub fn firebase_token(group: GroupId, ns: &str, user: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ns).s(user).build()
}
/// Account: `group | id\0`.
pub fn account(group: GroupId, id: &str) -> Vec<u8> {
    KeyBuf::new(group).s(id).build()
}
/// Channel: `group | type\0 | id\0`.
pub fn channel(group: GroupId, ctype: &str, id: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ctype).s(id).build()
}
/// Every channel: `group`; of one type: `group | type\0`.
pub fn channels_of_type(group: GroupId, ctype: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ctype).build()
}
/// Channel member: `group | type\0 | id\0 | user\0`.
pub fn member(group: GroupId, ctype: &str, id: &str, user: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ctype).s(id).s(user).build()
}
/// Every member of a channel, every message of a channel: `group | type\0 | id\0`.
pub fn channel_rows(group: GroupId, ctype: &str, id: &str) -> Vec<u8> {
    KeyBuf::new(group).s(ctype).s(id).build()
}
/// A channel of a member: `group | user\0 | type\0 | id\0`. Decoded by [`decode_member_by_user`].
pub fn member_by_user(group: GroupId, user: &str, ctype: &str, id: &str) -> Vec<u8> {
    KeyBuf::new(group).s(user).s(ctype).s(id).build()
}
/// Every channel of a member: `group | user\0`.
pub fn channels_of_member(group: GroupId, user: &str) -> Vec<u8> {
    KeyBuf::new(group).s(user).build()
}
/// Channel message by time: `group | type\0 | id\0 | created_at:u64 | message id`.
pub fn channel_message(
    group: GroupId,
    ctype: &str,
    id: &str,
    created_at: i64,
    msg: &str,
) -> Vec<u8> {
    KeyBuf::new(group)
        .s(ctype)
        .s(id)
        .ts(created_at)
        .prefix(msg)
        .build()
}
/// Channel message by id: `group | message id\0`.
pub fn message_id(group: GroupId, msg: &str) -> Vec<u8> {
    KeyBuf::new(group).s(msg).build()
}
/// Reaction: `group | message id\0 | user\0 | type\0`.
pub fn reaction(group: GroupId, msg: &str, user: &str, kind: &str) -> Vec<u8> {
    KeyBuf::new(group).s(msg).s(user).s(kind).build()
}
/// Every reaction to a message: `group | message id\0`; of one user: `… | user\0`.
pub fn reactions_of(group: GroupId, msg: &str, user: Option<&str>) -> Vec<u8> {
    let k = KeyBuf::new(group).s(msg);
    match user {
        Some(u) => k.s(u).build(),
        None => k.build(),
    }
}
/// Thread reply: `group | parent id\0 | created_at:u64 | reply id`.
pub fn reply(group: GroupId, parent: &str, created_at: i64, msg: &str) -> Vec<u8> {
    KeyBuf::new(group)
        .s(parent)
        .ts(created_at)
        .prefix(msg)
        .build()
}
/// Every reply to a message: `group | parent id\0`.
pub fn replies_of(group: GroupId, parent: &str) -> Vec<u8> {
    KeyBuf::new(group).s(parent).build()
}
/// Read state of a member (same shape as [`member`], another column family).
pub fn read_state(group: GroupId, ctype: &str, id: &str, user: &str) -> Vec<u8> {
    member(group, ctype, id, user)
}
/// Upload (by token) or user-data dump (by user id): `group | token\0`.
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
