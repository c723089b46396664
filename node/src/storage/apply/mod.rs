//! Apply: a deterministic function of (log entry, current view) to writes and a reply.
//!
//! Everything nondeterministic (names, clocks, password hashes) is in the entry. Business
//! rejections are [`Reply::Rejected`]; only storage failures are errors. The caller puts the
//! writes of a whole batch, with `last_applied`, into one `WriteBatch`.
//!
//! This file owns the entry loop, idempotency (the duplication-avoider records) and the
//! outbox; each command is applied by its model's file (`namespace`, `room`, `message`,
//! `subscription`, `master`, `user`, `maintenance`, `gateway`, `account`, `channel`, `edit`, `reaction`).

use proto::command::{Command, EntryMeta, EntryV1, LogEntry, Outcome, Reply};
use proto::event::{Envelope, ENVELOPE_VERSION};
use proto::gs2::ChatError;

use super::cf;
use super::db::StoreError;
use super::keys;
use super::txn::Txn;

/// The record at `$key` in `$cf`, or a rejection with `$err`.
macro_rules! load_or_reject {
    ($txn:expr, $cf:expr, $key:expr, $ty:ty, $err:expr) => {
        match $txn.get::<$ty>($cf, &$key)? {
            Some(v) => v,
            None => return $crate::storage::apply::rejected($err),
        }
    };
}

/// The namespace's record, or a rejection "namespace not found".
macro_rules! load_namespace {
    ($txn:expr, $key:expr) => {
        load_or_reject!(
            $txn,
            $crate::storage::cf::NAMESPACES,
            $key,
            proto::gs2::records::NamespaceRecord,
            proto::gs2::ChatError::not_found("namespace", "namespace")
        )
    };
}

/// The record of room `$room` of namespace `$ns`, or a rejection "room not found" (also when
/// the namespace is gone and the room row waits for its cascade).
macro_rules! load_room {
    ($txn:expr, $ns:expr, $room:expr) => {{
        if !$crate::storage::apply::room_live($txn, $ns, $room)? {
            return $crate::storage::apply::rejected(proto::gs2::ChatError::not_found(
                "room", "room",
            ));
        }
        load_or_reject!(
            $txn,
            $crate::storage::cf::ROOMS,
            $crate::storage::keys::room($txn.group, $ns, $room),
            proto::gs2::records::RoomRecord,
            proto::gs2::ChatError::not_found("room", "room")
        )
    }};
}

/// The subscription's record, or a rejection "subscribe not found".
macro_rules! load_subscribe {
    ($txn:expr, $key:expr) => {
        load_or_reject!(
            $txn,
            $crate::storage::cf::SUBS_BY_ROOM,
            $key,
            proto::gs2::records::SubscribeRecord,
            proto::gs2::ChatError::not_found("subscribe", "subscribe")
        )
    };
}

/// The category master's record, or a rejection "categoryModelMaster not found".
macro_rules! load_category {
    ($txn:expr, $key:expr) => {
        load_or_reject!(
            $txn,
            $crate::storage::cf::CATEGORY_MASTERS,
            $key,
            proto::gs2::records::CategoryMasterRecord,
            proto::gs2::ChatError::not_found("categoryModelMaster", "categoryModel")
        )
    };
}

mod account;
mod cascade;
mod channel;
mod edit;
mod gateway;
mod maintenance;
mod master;
mod message;
mod namespace;
mod reaction;
mod room;
mod subscription;
#[cfg(test)]
mod tests;
mod user;

pub use user::collect_user;

/// How long a duplication-avoider record answers retries.
pub const DEDUP_TTL_MS: i64 = 24 * 3600 * 1000;
/// How long the internal key of a forwarded write (retried only by the forwarding node) lives.
pub const INTERNAL_DEDUP_TTL_MS: i64 = 10 * 60 * 1000;

type Applied = Result<Reply, StoreError>;

/// Whether the room and its namespace both exist. Rows of a deleted room or namespace stay
/// until their cascade task (`cascade.rs`) removes them: every read and write that reaches a
/// room's rows without loading the room first asks here.
pub(crate) fn room_live(txn: &Txn, ns: &str, room: &str) -> Result<bool, StoreError> {
    let g = txn.group;
    Ok(txn
        .get_raw(cf::NAMESPACES, &keys::namespace(g, ns))?
        .is_some()
        && txn.get_raw(cf::ROOMS, &keys::room(g, ns, room))?.is_some())
}

/// Applies the entry at log `index`: one write, or a batch of them (then the reply is
/// [`Reply::Many`]).
pub fn apply_entry(txn: &mut Txn, index: u64, entry: &LogEntry) -> Applied {
    txn.start_entry(index);
    match entry {
        LogEntry::V1(e) => apply_write(txn, index, e),
        LogEntry::Batch(parts) => {
            let mut replies = Vec::with_capacity(parts.len());
            for e in parts {
                replies.push(apply_write(txn, index, e)?);
            }
            Ok(Reply::Many(replies))
        }
    }
}

/// Applies one write, answering a retried write (same duplication avoider) with its first
/// reply, and writes the events it emitted to the outbox.
fn apply_write(txn: &mut Txn, index: u64, entry: &EntryV1) -> Applied {
    let meta = &entry.meta;
    let dedup_key = meta.dedup.as_ref().map(|key| keys::dedup(txn.group, key));
    if let Some(k) = &dedup_key {
        if let Some((_, reply)) = txn.get::<(i64, Reply)>(cf::DEDUP, k)? {
            return Ok(reply);
        }
    }
    let reply = apply_command(txn, meta, &entry.cmd)?;
    if let Some(k) = dedup_key {
        txn.put(cf::DEDUP, k, &(meta.now_ms, reply.clone()));
    }
    write_outbox(txn, index, meta.now_ms);
    tracing::debug!(log_index = index, dedup = meta.dedup.as_deref(), "applied");
    Ok(reply)
}

fn write_outbox(txn: &mut Txn, index: u64, at: i64) {
    let g = txn.group;
    for (namespace_name, room_name, event) in txn.take_events() {
        let seq = txn.next_outbox_seq();
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            id: format!("{g}-{index}-{seq}"),
            index,
            seq,
            at,
            namespace_name,
            room_name,
            event,
        };
        let json = serde_json::to_vec(&envelope).expect("envelopes always encode");
        txn.put_raw(cf::OUTBOX, keys::outbox(g, index, seq), json);
    }
}

fn ok(o: Outcome) -> Applied {
    Ok(Reply::Ok(o))
}

fn rejected(e: ChatError) -> Applied {
    Ok(Reply::Rejected(e))
}

/// Applies one command: the dispatch to its model's file.
pub fn apply_command(txn: &mut Txn, meta: &EntryMeta, cmd: &Command) -> Applied {
    let now = meta.now_ms;
    match cmd {
        Command::CreateNamespace { name, settings } => namespace::create(txn, now, name, settings),
        Command::UpdateNamespace { name, settings } => namespace::update(txn, now, name, settings),
        Command::DeleteNamespace { name, chunked } => namespace::delete(txn, name, *chunked),
        Command::CreateRoom {
            namespace,
            name,
            actor,
            metadata,
            password_hash,
            white_list_user_ids,
        } => {
            let f = room::RoomFields {
                namespace,
                name,
                actor,
                metadata,
                white_list_user_ids,
            };
            room::create(txn, now, f, password_hash)
        }
        Command::UpdateRoom {
            namespace,
            name,
            actor,
            metadata,
            password,
            white_list_user_ids,
        } => {
            let f = room::RoomFields {
                namespace,
                name,
                actor,
                metadata,
                white_list_user_ids,
            };
            room::update(txn, now, f, password)
        }
        Command::DeleteRoom {
            namespace,
            name,
            actor,
            chunked,
        } => room::delete(txn, namespace, name, actor, *chunked),
        Command::Post {
            namespace,
            room,
            name,
            actor,
            user_id,
            category,
            metadata,
            checked_room_revision,
        } => {
            let f = message::PostFields {
                namespace,
                room,
                name,
                actor,
                user_id,
                category: *category,
                metadata,
                checked_room_revision: *checked_room_revision,
            };
            message::post(txn, now, f)
        }
        Command::DeleteMessage {
            namespace,
            room,
            name,
        } => message::delete(txn, namespace, room, name),
        Command::Subscribe {
            namespace,
            room,
            user_id,
            notification_types,
        } => subscription::subscribe(txn, now, namespace, room, user_id, notification_types),
        Command::UpdateNotificationType {
            namespace,
            room,
            user_id,
            notification_types,
        } => subscription::update_notification_type(
            txn,
            namespace,
            room,
            user_id,
            notification_types,
        ),
        Command::Unsubscribe {
            namespace,
            room,
            user_id,
        } => subscription::unsubscribe(txn, namespace, room, user_id),
        Command::CreateCategoryMaster {
            namespace,
            category,
            description,
            reject_access_token_post,
        } => master::create_category(
            txn,
            now,
            namespace,
            *category,
            description,
            reject_access_token_post,
        ),
        Command::UpdateCategoryMaster {
            namespace,
            category,
            description,
            reject_access_token_post,
        } => master::update_category(
            txn,
            now,
            namespace,
            *category,
            description,
            reject_access_token_post,
        ),
        Command::DeleteCategoryMaster {
            namespace,
            category,
        } => master::delete_category(txn, namespace, *category),
        Command::UpdateCurrentMaster {
            namespace,
            settings,
            models,
        } => master::update_current(txn, namespace, settings, models),
        Command::StoreUpload { token, body } => user::store_upload(txn, now, token, body),
        Command::DumpUser { user_id } => user::dump(txn, user_id),
        Command::UpsertAccounts { accounts } => account::upsert(txn, now, accounts),
        Command::PatchAccounts { patches } => account::patch(txn, now, patches),
        Command::ChangeAccounts { ids, change } => account::change(txn, now, ids, *change),
        Command::CreateAccount { account } => account::create(txn, now, account),
        Command::GetOrCreateChannel {
            ctype,
            id,
            created_by,
            custom,
            members,
        } => channel::get_or_create(txn, now, ctype, id, created_by, custom, members),
        Command::SendChannelMessage {
            ctype,
            id,
            message,
            require_member,
        } => channel::send_message(txn, now, ctype, id, message, *require_member),
        Command::SendReaction {
            reaction,
            enforce_unique,
            require_member,
        } => reaction::send(txn, now, reaction, *enforce_unique, *require_member),
        Command::DeleteReaction {
            message_id,
            user_id,
            kind,
        } => reaction::delete(txn, message_id, user_id, kind),
        Command::MarkRead {
            ctype,
            id,
            user_id,
            message_id,
        } => reaction::mark_read(txn, now, ctype, id, user_id, message_id),
        Command::UpdateChannel {
            ctype,
            id,
            custom,
            set,
            unset,
            frozen,
            add_members,
            remove_members,
            cooldown,
        } => {
            let u = channel::ChannelUpdate {
                custom,
                set,
                unset,
                frozen: *frozen,
                add_members,
                remove_members,
                cooldown: *cooldown,
            };
            channel::update(txn, now, ctype, id, u)
        }
        Command::DeleteChannel { ctype, id } => channel::delete(txn, ctype, id),
        Command::SetPresence { user_id, online } => account::presence(txn, user_id, *online),
        Command::TruncateChannel { ctype, id } => channel::truncate(txn, now, ctype, id),
        Command::SetChannelHidden {
            ctype,
            id,
            user_id,
            hidden,
            clear_history,
        } => channel::set_hidden(txn, now, ctype, id, user_id, *hidden, *clear_history),
        Command::SendChannelEvent {
            ctype,
            id,
            user_id,
            event,
        } => reaction::client_event(txn, ctype, id, user_id, event),
        Command::UpdateChannelMessage {
            message_id,
            editor,
            edit: e,
        } => edit::update(txn, now, message_id, editor, e),
        Command::DeleteChannelMessage {
            message_id,
            deleter,
            hard,
        } => edit::delete(txn, now, message_id, deleter, *hard),
        Command::UndeleteChannelMessage { message_id } => edit::undelete(txn, now, message_id),
        Command::CleanUser { user_id, chunked } => user::clean(txn, user_id, *chunked),
        Command::ImportUser {
            user_id,
            upload_token,
        } => user::import(txn, user_id, upload_token),
        Command::Sweep {
            dedup_before_ms,
            limit,
        } => maintenance::sweep(txn, now, *dedup_before_ms, *limit),
        Command::TrimOutbox {
            upto_index,
            from_index,
        } => maintenance::trim_outbox(txn, *upto_index, *from_index),
        Command::CreateGatewayNamespace { .. }
        | Command::UpdateGatewayNamespace { .. }
        | Command::DeleteGatewayNamespace { .. }
        | Command::SetFirebaseToken { .. }
        | Command::DeleteFirebaseToken { .. } => gateway::apply(txn, now, cmd),
    }
}
