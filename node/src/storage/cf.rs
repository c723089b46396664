//! Column-family names: the whole on-disk schema in one place.

/// Raft log entries: `group | index`.
pub const LOG: &str = "raft_log";
/// Raft vote, committed and purged ids: `group | name`.
pub const RAFT_META: &str = "raft_meta";
/// State-machine metadata (last applied, membership): `group | name`.
pub const SM_META: &str = "sm_meta";
pub const NAMESPACES: &str = "namespaces";
pub const ROOMS: &str = "rooms";
/// Messages by time: `group | ns | room | createdAt | name`.
pub const MESSAGES: &str = "messages";
/// Message name index: `group | ns | room | name` → createdAt.
pub const MESSAGE_NAMES: &str = "message_names";
/// Messages by poster: `group | user | ns | room | createdAt | name`.
pub const MESSAGES_BY_USER: &str = "messages_by_user";
/// Subscriptions by room: `group | ns | room | user` → record.
pub const SUBS_BY_ROOM: &str = "subs_by_room";
/// Subscriptions by user: `group | ns | user | room` → empty.
pub const SUBS_BY_USER: &str = "subs_by_user";
pub const CATEGORY_MASTERS: &str = "category_masters";
pub const CURRENT_MASTERS: &str = "current_masters";
/// Idempotency records (`X-GS2-DUPLICATION-AVOIDER`): `group | scope:key` → (time, reply).
pub const DEDUP: &str = "dedup";
/// Uploaded documents (preUpload master data, imports): `group | token`.
pub const UPLOADS: &str = "uploads";
/// User-data dumps: `group | user` → JSON text.
pub const DUMPS: &str = "dumps";

/// Events for the outside world, written by apply: `group | index | seq` → envelope JSON.
pub const OUTBOX: &str = "outbox";
pub const GATEWAY_NAMESPACES: &str = "gateway_namespaces";
/// Firebase tokens: `group | gateway ns | user` → record.
pub const FIREBASE_TOKENS: &str = "firebase_tokens";

/// Accounts (the Stream face's users): `group | id` → record.
pub const ACCOUNTS: &str = "accounts";

/// Channels: `group | type | id` → record.
pub const CHANNELS: &str = "channels";
/// Channel members: `group | type | id | user` → record.
pub const MEMBERS: &str = "members";
/// Channels of a member: `group | user | type | id` → empty.
pub const MEMBERS_BY_USER: &str = "members_by_user";
/// Channel messages by time: `group | type | id | created_at | message id` → record.
pub const CHANNEL_MESSAGES: &str = "channel_messages";
/// Channel message by id: `group | message id` → (type, id, created_at).
pub const MESSAGE_IDS: &str = "message_ids";

/// Reactions: `group | message id | user | type` → record.
pub const REACTIONS: &str = "reactions";
/// Read state of members: `group | type | id | user` → record.
pub const READS: &str = "reads";
/// Thread replies by parent: `group | parent id | created_at | reply id` → empty.
pub const REPLIES: &str = "replies";

/// Column families of the replicated state machine: what a snapshot carries.
pub const STATE: &[&str] = &[
    SM_META,
    NAMESPACES,
    ROOMS,
    MESSAGES,
    MESSAGE_NAMES,
    MESSAGES_BY_USER,
    SUBS_BY_ROOM,
    SUBS_BY_USER,
    CATEGORY_MASTERS,
    CURRENT_MASTERS,
    DEDUP,
    UPLOADS,
    DUMPS,
    OUTBOX,
    GATEWAY_NAMESPACES,
    FIREBASE_TOKENS,
    ACCOUNTS,
    CHANNELS,
    MEMBERS,
    MEMBERS_BY_USER,
    CHANNEL_MESSAGES,
    MESSAGE_IDS,
    REACTIONS,
    READS,
    REPLIES,
];

/// Column families apply reads by whole key on every post (a memtable filter pays off).
pub const POINT_READ: &[&str] = &[NAMESPACES, ROOMS, MESSAGE_NAMES, CURRENT_MASTERS, DEDUP];

/// Every column family of the database.
pub fn all() -> Vec<&'static str> {
    let mut v = vec![LOG, RAFT_META];
    v.extend_from_slice(STATE);
    v
}
