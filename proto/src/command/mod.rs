//! The Raft log entry: one [`Command`] with everything nondeterministic already decided by the
//! proposer (names, timestamps, password hashes), so apply is a pure function of the entry and
//! the current view.
//!
//! Entries are versioned: [`LogEntry`] is an enum whose variant is the format version, encoded
//! with msgpack (field names kept). A node must decode every version it may find in a log or a
//! snapshot; add `V2` beside `V1` when the format changes, and keep the `V1` decoding test.

use serde::{Deserialize, Serialize};

mod kind;
mod reply;

pub use reply::{Outcome, Reply};

use crate::account::{AccountChange, AccountInput, AccountPatch, Custom};
use crate::channel::{MessageEdit, MessageInput, ReactionRecord};
use crate::gs2::models::NotificationType;
use crate::gs2::records::{ActiveCategoryModel, GatewaySettings, NamespaceSettings};

/// A replicated log entry, tagged with its format version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LogEntry {
    V1(Box<EntryV1>),
    /// Several writes proposed together by the leader (group commit): one log entry, one
    /// fsync, one reply per write ([`Reply::Many`]).
    Batch(Vec<EntryV1>),
}

impl LogEntry {
    pub fn new(meta: EntryMeta, cmd: Command) -> Self {
        LogEntry::V1(Box::new(EntryV1 { meta, cmd }))
    }

    /// The writes this entry carries, in order.
    pub fn parts(&self) -> &[EntryV1] {
        match self {
            LogEntry::V1(e) => std::slice::from_ref(e.as_ref()),
            LogEntry::Batch(v) => v,
        }
    }

    pub fn parts_mut(&mut self) -> &mut [EntryV1] {
        match self {
            LogEntry::V1(e) => std::slice::from_mut(e.as_mut()),
            LogEntry::Batch(v) => v,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("log entries always encode")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, rmp_serde::decode::Error> {
        rmp_serde::from_slice(bytes)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryV1 {
    pub meta: EntryMeta,
    pub cmd: Command,
}

/// Decided by the proposer, identical on every replica.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// Wall-clock time of the proposal (ms), stamped by the leader; used for `createdAt`,
    /// `updatedAt` and expiry decisions in apply.
    pub now_ms: i64,
    /// `X-GS2-DUPLICATION-AVOIDER` scope and value: a retried write returns the first reply.
    pub dedup: Option<String>,
}

/// Who asked: a player (access token) or the backend (project token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    Player(String),
    Backend(Option<String>),
}

impl Actor {
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Actor::Player(u) => Some(u),
            Actor::Backend(u) => u.as_deref(),
        }
    }
}

/// How a room update treats the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasswordChange {
    Keep,
    Clear,
    Set(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    CreateNamespace {
        name: String,
        settings: NamespaceSettings,
    },
    UpdateNamespace {
        name: String,
        settings: NamespaceSettings,
    },
    DeleteNamespace {
        name: String,
        /// True in entries written since cascades were chunked (see `Command::delete_namespace`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        chunked: bool,
    },
    CreateRoom {
        namespace: String,
        name: String,
        actor: Actor,
        metadata: Option<String>,
        password_hash: Option<String>,
        white_list_user_ids: Vec<String>,
    },
    UpdateRoom {
        namespace: String,
        name: String,
        actor: Actor,
        metadata: Option<String>,
        password: PasswordChange,
        white_list_user_ids: Vec<String>,
    },
    DeleteRoom {
        namespace: String,
        name: String,
        actor: Actor,
        /// True in entries written since cascades were chunked (see `Command::delete_namespace`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        chunked: bool,
    },
    Post {
        namespace: String,
        room: String,
        /// Server-generated UUID.
        name: String,
        actor: Actor,
        user_id: String,
        category: i64,
        metadata: Option<String>,
        /// The room revision against which the proposer verified the password; apply refuses
        /// the post if the room changed since (its password may have changed).
        checked_room_revision: Option<i64>,
    },
    DeleteMessage {
        namespace: String,
        room: String,
        name: String,
    },
    Subscribe {
        namespace: String,
        room: String,
        user_id: String,
        notification_types: Vec<NotificationType>,
    },
    UpdateNotificationType {
        namespace: String,
        room: String,
        user_id: String,
        notification_types: Vec<NotificationType>,
    },
    Unsubscribe {
        namespace: String,
        room: String,
        user_id: String,
    },
    CreateCategoryMaster {
        namespace: String,
        category: i64,
        description: Option<String>,
        reject_access_token_post: Option<String>,
    },
    UpdateCategoryMaster {
        namespace: String,
        category: i64,
        description: Option<String>,
        reject_access_token_post: Option<String>,
    },
    DeleteCategoryMaster {
        namespace: String,
        category: i64,
    },
    UpdateCurrentMaster {
        namespace: String,
        settings: String,
        models: Vec<ActiveCategoryModel>,
    },
    /// Stores an uploaded document (preUpload master data, user-data import) under its token.
    StoreUpload {
        token: String,
        body: String,
    },
    DumpUser {
        user_id: String,
    },
    CleanUser {
        user_id: String,
        /// True in entries written since cascades were chunked (see `Command::delete_namespace`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        chunked: bool,
    },
    ImportUser {
        user_id: String,
        upload_token: String,
    },
    /// Deletes, on every replica alike, messages expired at `meta.now_ms` and idempotency
    /// records older than `dedup_before_ms`: at most `limit` rows, the reply saying whether
    /// more remain ([`Outcome::Swept`]). Entries written before the limit existed have none and
    /// sweep everything, as they did then.
    Sweep {
        dedup_before_ms: i64,
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Removes outbox rows up to `upto_index` (relayed to the bus) on every replica alike.
    TrimOutbox {
        upto_index: u64,
        /// Rows before this index are known trimmed already (0: look from the start), so the
        /// scan does not walk over the tombstones of earlier trims.
        #[serde(default)]
        from_index: u64,
    },
    CreateGatewayNamespace {
        name: String,
        settings: GatewaySettings,
    },
    UpdateGatewayNamespace {
        name: String,
        settings: GatewaySettings,
    },
    DeleteGatewayNamespace {
        name: String,
    },
    SetFirebaseToken {
        namespace: String,
        user_id: String,
        token: String,
        locale: Option<String>,
    },
    DeleteFirebaseToken {
        namespace: String,
        user_id: String,
    },
    /// Creates or replaces accounts (the Stream face's users), in order.
    UpsertAccounts {
        accounts: Vec<AccountInput>,
    },
    /// Partially updates existing accounts, all or none: an unknown id or a field of the wrong
    /// type rejects the whole command.
    PatchAccounts {
        patches: Vec<AccountPatch>,
    },
    /// Deactivates, reactivates or deletes existing accounts, all or none: an unknown id (or a
    /// soft-deleted one, for anything but a delete) rejects the whole command.
    ChangeAccounts {
        ids: Vec<String>,
        change: AccountChange,
    },
    /// Creates an account whose id must be free (a guest): an existing id is refused.
    CreateAccount {
        account: AccountInput,
    },
    /// Creates a channel with its first members, or returns it as it is (members given for an
    /// existing channel are not added: that is an update).
    GetOrCreateChannel {
        ctype: String,
        id: String,
        created_by: Option<String>,
        custom: Custom,
        members: Vec<String>,
    },
    /// Posts a message to a channel. An id already used is rejected (idempotent sends with a
    /// client id); `require_member`: the sender must be a member (user-token calls).
    SendChannelMessage {
        ctype: String,
        id: String,
        message: MessageInput,
        require_member: bool,
    },
    /// Adds (or, same user and type, replaces) a reaction; `enforce_unique` first removes the
    /// user's other reactions to the message.
    SendReaction {
        reaction: ReactionRecord,
        enforce_unique: bool,
        require_member: bool,
    },
    DeleteReaction {
        message_id: String,
        user_id: String,
        kind: String,
    },
    /// Marks a channel read by a member, up to a message (or the latest).
    MarkRead {
        ctype: String,
        id: String,
        user_id: String,
        message_id: Option<String>,
    },
    /// Updates a channel: its custom data replaced (`custom` given) or patched (`set`,
    /// `unset`), `frozen`, members added and removed.
    UpdateChannel {
        ctype: String,
        id: String,
        custom: Option<Custom>,
        set: Custom,
        unset: Vec<String>,
        frozen: Option<bool>,
        add_members: Vec<String>,
        remove_members: Vec<String>,
        /// Slow mode in seconds (0 turns it off).
        #[serde(default)]
        cooldown: Option<u32>,
    },
    /// Hides a channel for one member until a newer message arrives (`hidden`), or shows it;
    /// `clear_history` also hides its messages so far from that member.
    SetChannelHidden {
        ctype: String,
        id: String,
        user_id: String,
        hidden: bool,
        clear_history: bool,
    },
    /// Hides the channel's messages up to now from every read (Stream's soft truncate).
    TruncateChannel {
        ctype: String,
        id: String,
    },
    /// A user came online (its first socket in the cluster) or went offline: relayed as an
    /// event to the watchers of its channels.
    SetPresence {
        user_id: String,
        online: bool,
    },
    /// Deletes a channel at once for every read; its members, messages and reactions go in
    /// bounded chunks by the sweeps that follow (a cascade task).
    DeleteChannel {
        ctype: String,
        id: String,
    },
    /// An event sent by a client to a channel (typing, custom): not stored, relayed in log
    /// order to the channel's sockets.
    SendChannelEvent {
        ctype: String,
        id: String,
        user_id: String,
        /// The event's JSON object as the client sent it (with `type`).
        event: String,
    },
    /// Edits a channel message. `editor`: the user of a user-token call, who must be its
    /// author; `None` for the server. A deleted message is refused.
    UpdateChannelMessage {
        message_id: String,
        editor: Option<String>,
        edit: MessageEdit,
    },
    /// Deletes a channel message: soft (kept as `deleted`, its text kept for an undelete) or
    /// `hard` (gone with its reactions and id). `deleter` as for an update.
    DeleteChannelMessage {
        message_id: String,
        deleter: Option<String>,
        hard: bool,
    },
    /// Restores a soft-deleted channel message (server calls).
    UndeleteChannelMessage {
        message_id: String,
    },
}

impl Command {
    /// Deletes a namespace. Its rooms, their messages and subscriptions and its category masters
    /// are removed in bounded chunks by the sweeps that follow (`chunked`): entries written
    /// before chunking existed carry `chunked: false` and cascade in the one apply, as they did.
    pub fn delete_namespace(name: String) -> Self {
        Command::DeleteNamespace {
            name,
            chunked: true,
        }
    }

    /// Deletes a room; its messages and subscriptions go in chunks (see
    /// [`Command::delete_namespace`]).
    pub fn delete_room(namespace: String, name: String, actor: Actor) -> Self {
        Command::DeleteRoom {
            namespace,
            name,
            actor,
            chunked: true,
        }
    }

    /// Deletes everything held about a user; the rooms they own go in chunks (see
    /// [`Command::delete_namespace`]).
    pub fn clean_user(user_id: String) -> Self {
        Command::CleanUser {
            user_id,
            chunked: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trips() {
        let e = LogEntry::new(
            EntryMeta {
                now_ms: 5,
                dedup: Some("k".into()),
            },
            Command::Post {
                namespace: "ns".into(),
                room: "r".into(),
                name: "m".into(),
                actor: Actor::Player("u".into()),
                user_id: "u".into(),
                category: 3,
                metadata: Some("hi".into()),
                checked_room_revision: None,
            },
        );
        assert_eq!(LogEntry::decode(&e.encode()).unwrap(), e);
        let batch = LogEntry::Batch(vec![e.parts()[0].clone(), e.parts()[0].clone()]);
        assert_eq!(LogEntry::decode(&batch.encode()).unwrap(), batch);
        assert_eq!(batch.parts().len(), 2);
    }

    /// A V1 entry as written by the first release; every later release must still decode it.
    #[test]
    fn decodes_v1_bytes() {
        let v1 = LogEntry::new(
            EntryMeta {
                now_ms: 1_700_000_000_000,
                dedup: None,
            },
            Command::DeleteNamespace {
                name: "ns".into(),
                chunked: false,
            },
        );
        let bytes = v1.encode();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, V1_DELETE_NAMESPACE_HEX);
        assert_eq!(LogEntry::decode(&bytes).unwrap(), v1);
    }

    const V1_DELETE_NAMESPACE_HEX: &str = "81a2563182a46d65746182a66e6f775f6d73cf0000018bcfe56800a56465647570c0a3636d6481af44656c6574654e616d65737061636581a46e616d65a26e73";
}
